"""The raw-page archive: WARC records written with warcio and read back (gzip and plain, a local
folder and an fsspec URL), a damaged file does not stop a scan, and ``reprocess`` updates only the
documents whose cleaned text changed."""

from __future__ import annotations

import gzip
from pathlib import Path

import fsspec

from pipeline.config import ArchiveSettings
from pipeline.run.ingest import ingest_feed
from pipeline.run.rawarchive import RawArchive, archive_files, archive_root, iter_pages
from pipeline.run.reprocess import reprocess
from pipeline.samplesite.learnsite import LearnSite
from tests.learnsite_helpers import learn_feed, setup_config

PAGE = "<html><body><p>Grüße aus Köln</p></body></html>".encode()


def _write(root: str, gzipped: bool, n: int = 3) -> RawArchive:
    archive = RawArchive(root, run_id="run/1", feed="feed one", gzip=gzipped)
    for i in range(n):
        archive.write(f"http://example.org/{i}.html", 200, {"Content-Type": "text/html; charset=utf-8",
                                                              "Content-Encoding": "gzip"}, PAGE, site="example")
    archive.close()
    return archive


def test_pages_round_trip_in_gzip_and_plain_warc(tmp_path: Path) -> None:
    for gzipped in (True, False):
        root = str(tmp_path / f"raw-{gzipped}")
        archive = _write(root, gzipped)
        assert archive.path is not None and archive.path.endswith(".warc.gz" if gzipped else ".warc")
        assert "feed_one-run_1-" in archive.path  # names are safe for any file system
        pages = list(iter_pages(root))
        assert [p.url for p in pages] == [f"http://example.org/{i}.html" for i in range(3)]
        assert all(p.content == PAGE and p.site == "example" for p in pages)
        assert pages[0].headers["content-type"] == "text/html; charset=utf-8"
        assert "content-encoding" not in pages[0].headers  # the body is stored decompressed
        assert pages[0].captured_at and pages[1].offset > pages[0].offset
        if gzipped:
            with gzip.open(archive.path, "rb") as handle:
                assert handle.read(5) == b"WARC/"


def test_any_fsspec_url_works(tmp_path: Path) -> None:
    root = "memory://news-raw-test"
    _write(root, True, n=2)
    assert len(archive_files(root)) == 1
    assert len(list(iter_pages(root))) == 2
    fsspec.filesystem("memory").rm("/news-raw-test", recursive=True)
    assert archive_root(ArchiveSettings(url="s3://bucket/raw"), tmp_path) == "s3://bucket/raw"
    assert archive_root(ArchiveSettings(url="raw"), tmp_path) == str((tmp_path / "raw").resolve())


def test_a_damaged_file_yields_its_good_records(tmp_path: Path, caplog) -> None:
    root = str(tmp_path / "raw")
    archive = _write(root, True, n=3)
    assert archive.path is not None
    data = Path(archive.path).read_bytes()
    Path(archive.path).write_bytes(data[: len(data) - 40])  # a worker killed mid-write
    _write(root, True, n=1)  # a second, intact file of the same day
    pages = list(iter_pages(root))
    assert len(pages) == 3 and all(p.content == PAGE for p in pages)  # 2 good + 1 of the intact file
    assert "damaged" in caplog.text


def test_reprocess_updates_only_changed_documents(es, es_url, alias, tmp_path: Path) -> None:
    """Ingest 12 Kreisbote pages with a high min_articles (nothing learned during the run), then
    lower it: reprocess re-cleans all 12 from the archive with the learned profile and updates all
    of them once; a dry run before changes nothing, a second run finds nothing to do."""
    with LearnSite() as site:
        feeds = [learn_feed("k", site.feed_url(0, 12), "kb")]
        archive = {"enabled": True, "url": str(tmp_path / "raw")}
        settings, client = setup_config(tmp_path, es_url, alias, feeds, archive=archive,
                                        profiles={"min_articles": 50})
        report = ingest_feed(settings.feeds[0], settings, es=client, run_id="r1")
    assert report.created == 12
    before = {h["_id"]: h["_source"] for h in es.search(index=alias, size=20)["hits"]["hits"]}
    assert not any(r["rule"].startswith("learned:") for d in before.values() for r in d["removals"])

    same = reprocess(client, settings)  # still nothing learned: nothing changes
    assert (same.documents, same.changed, same.unchanged) == (12, 0, 12)

    settings, client = setup_config(tmp_path / "2", es_url, alias, feeds, archive=archive,
                                    profiles={"min_articles": 10})
    dry = reprocess(client, settings, dry_run=True)
    assert dry.changed == 12
    assert es.search(index=alias, size=20)["hits"]["hits"][0]["_source"]["body"] in [
        d["body"] for d in before.values()]
    result = reprocess(client, settings, site="kb")
    assert (result.records, result.documents, result.changed, result.unchanged) == (12, 12, 12, 0)
    after = {h["_id"]: h["_source"] for h in es.search(index=alias, size=20)["hits"]["hits"]}
    for doc_id, doc in after.items():
        old = before[doc_id]
        assert len(doc["body"]) < len(old["body"])
        assert doc["previous_hash"] == old["content_hash"] != doc["content_hash"]
        assert doc["body_de"] == doc["body"] and doc["content_changed_at"]
        assert doc["lsh_bands"] and doc["lsh_bands"] != old["lsh_bands"]
        assert any(r["rule"].startswith("learned:") for r in doc["removals"])
    assert reprocess(client, settings).changed == 0
    assert reprocess(client, settings, site="other-site").documents == 0
