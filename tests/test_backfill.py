"""Backfill end to end against the real local Elasticsearch and a real local sample site: three
archive days from a date-templated archive-page site, a sitemap index and a WARC file; counts per
partition; re-runs that create nothing; a failed partition that a re-run completes alone; the
archived copy that must not replace a newer indexed version."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pipeline.backfill import state
from pipeline.backfill.jobs import plan, prepare, run_partitions
from pipeline.backfill.run import PartitionReport
from pipeline.backfill.sources import load_backfill_config
from pipeline.cli import main as cli_main
from pipeline.config import load_settings
from pipeline.index.client import es_client
from pipeline.index.names import backfill_index, runlog_index
from pipeline.samplesite import SampleSite
from pipeline.samplesite.archive import archive_articles, day_entries, day_page_path, day_sitemap_path
from tests.backfill_helpers import (
    DAYS,
    FROM,
    TO,
    archive_source,
    backfill_config,
    day_of,
    sitemap_source,
    warc_source,
    write_warc,
)


@pytest.fixture
def site() -> Iterator[SampleSite]:
    """A sample site of this test alone, so request counts are this test's."""
    with SampleSite() as running:
        yield running


def _run(config_dir, *sources: str) -> tuple[list[PartitionReport], int]:
    settings = load_settings(config_dir, env={})
    config = load_backfill_config(settings, env={})
    es = es_client(settings.elasticsearch)
    prepare(es, settings)
    todo, done = plan(es, settings, config, DAYS[0], DAYS[-1], sources)
    return run_partitions(es, settings, config, todo, run_id="test-run"), done


def _by_partition(reports) -> dict[str, dict]:
    return {r["partition"]: r for r in reports}


def _article_hits(site: SampleSite, day) -> int:
    return sum(site.hits(e.path) for e in day_entries(day))


def test_cli_backfills_three_days_from_archive_pages_sitemap_and_warc(
    es, es_url, alias, site, tmp_path, capsys
) -> None:
    warc_urls = write_warc(tmp_path / "news.warc.gz")
    config_dir = backfill_config(
        tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
        sources=[archive_source(site.base_url), sitemap_source(site.base_url), warc_source(tmp_path / "news.warc.gz")],
    )
    args = ["--config", str(config_dir), "backfill", "--from", FROM, "--to", TO, "--json"]
    assert cli_main(args) == 0
    out = json.loads(capsys.readouterr().out)
    parts = _by_partition(out["partitions"])
    per_day = {d: len(day_entries(d)) for d in DAYS}
    assert per_day == {DAYS[0]: 6, DAYS[1]: 3, DAYS[2]: 3}
    for day in DAYS:
        # the archive pages list the day's articles (the first day on two pages): all new
        archive = parts[f"archive:{day}"]
        assert (archive["status"], archive["candidates"], archive["fetched"], archive["created"]) == \
            ("done", per_day[day], per_day[day], per_day[day])
        # the sitemap lists the same URLs (lastmod on the day): same ids, nothing fetched again
        sitemap = parts[f"sitemap:{day}"]
        assert (sitemap["status"], sitemap["candidates"], sitemap["skipped_seen"], sitemap["fetched"],
                sitemap["created"]) == ("done", per_day[day], per_day[day], 0, 0)
        # two pages per day captured in the WARC, indexed without being fetched
        warc = parts[f"warc:{day}"]
        assert (warc["status"], warc["candidates"], warc["fetched"], warc["extracted"], warc["created"]) == \
            ("done", 2, 0, 2, 2)
    assert parts[f"warc:{DAYS[0]}"]["skipped_records"] == 3  # the image, the 404 and the redirect
    assert out["totals"]["created"] == 12 + 6 and out["totals"]["partitions_done"] == 9
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 18

    # WARC pages: fetched_at is the capture time, the site is the page's publisher (JSON-LD) and the
    # host the archived one, dates come from the page
    doc = es.search(index=alias, query={"term": {"url": warc_urls[0]}})["hits"]["hits"][0]["_source"]
    assert doc["fetched_at"].startswith("2022-01-10T12:00:00") and doc["site"] == "Sample-Archiv"
    assert doc["host"] == "warc.example.net"
    assert doc["feed"] == "warc" and doc["lang"] == "de" and doc["published_at"].startswith("2022-01-10")
    # an archive article carries its own date (JSON-LD) and is German
    first = archive_articles()[0]
    hit = es.search(index=alias, query={"term": {"url": site.base_url + first.path}})["hits"]["hits"][0]["_source"]
    assert hit["published_at"].startswith("2022-01-10T06:15:00") and hit["published_source"] == "json-ld"

    # partition state and run log: counts per partition
    states = state.load_states(es, alias, [f"{s}:{d}" for s in ("archive", "sitemap", "warc") for d in DAYS])
    assert {doc["status"] for doc in states.values()} == {"done"} and len(states) == 9
    assert states[f"archive:{DAYS[0]}"]["created"] == 6 and states[f"archive:{DAYS[0]}"]["attempts"] == 1
    es.indices.refresh(index=runlog_index(alias))
    runs = es.search(index=runlog_index(alias), query={"term": {"kind": "backfill"}}, size=50)["hits"]["hits"]
    assert sorted(h["_source"]["partition"] for h in runs) == sorted(states)

    # the second day page and only the archived days' sitemaps were read; pruned by lastmod: the
    # static-pages sitemap (2021) is never read
    assert site.hits(day_page_path(DAYS[0]) + "?page=2") == 1
    assert site.hits("/sitemaps/pages.xml") == 0

    # a re-run has nothing to do: no request at all, nothing created
    before = site.hits()
    assert cli_main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["partitions"] == [] and again["totals"]["created"] == 0
    assert site.hits() == before
    assert es.count(index=alias)["count"] == 18


def test_injected_failure_fails_one_partition_and_a_rerun_completes_only_it(
    es, es_url, alias, site, tmp_path
) -> None:
    config_dir = backfill_config(tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
                                 sources=[archive_source(site.base_url)])
    site.fail_next(day_page_path(DAYS[1]))  # the second day's archive page answers 500 once

    reports, done_before = _run(config_dir)
    assert done_before == 0
    by_day = {r.day: r for r in reports}
    assert [by_day[d.isoformat()].status for d in DAYS] == ["done", "failed", "done"]
    failed = by_day[DAYS[1].isoformat()]
    assert "HTTP 500" in failed.error and failed.created == 0
    states = state.load_states(es, alias, [f"archive:{d}" for d in DAYS])
    assert states[f"archive:{DAYS[1]}"]["status"] == "failed"
    assert "HTTP 500" in states[f"archive:{DAYS[1]}"]["error"]
    assert es.count(index=alias)["count"] == 9
    hits_done = {d: (site.hits(day_page_path(d)), _article_hits(site, d)) for d in (DAYS[0], DAYS[2])}
    assert hits_done == {DAYS[0]: (1, 6), DAYS[2]: (1, 3)}
    assert _article_hits(site, DAYS[1]) == 0

    reports, done_before = _run(config_dir)
    assert done_before == 2
    [redo] = reports
    assert (redo.day, redo.status, redo.attempts, redo.created) == (DAYS[1].isoformat(), "done", 2, 3)
    # the done partitions were not touched: their day pages and articles were not requested again
    assert {d: (site.hits(day_page_path(d)), _article_hits(site, d)) for d in (DAYS[0], DAYS[2])} == hits_done
    assert site.hits(day_page_path(DAYS[1])) == 2 and _article_hits(site, DAYS[1]) == 3
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 12
    assert state.load_states(es, alias, [f"archive:{DAYS[1]}"])[f"archive:{DAYS[1]}"]["status"] == "done"


def test_sitemap_child_failure_lastmod_filter_gzip_and_resume(es, es_url, alias, site, tmp_path) -> None:
    config_dir = backfill_config(tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
                                 sources=[sitemap_source(site.base_url)])
    first_child, gz = day_sitemap_path(DAYS[0]), day_sitemap_path(DAYS[2])
    assert gz.endswith(".xml.gz")
    site.fail_next(first_child)  # the first day's child sitemap answers 500 once

    reports, _ = _run(config_dir)
    by_day = {r.day: r for r in reports}
    assert [by_day[d.isoformat()].status for d in DAYS] == ["failed", "done", "done"]
    assert [by_day[d.isoformat()].created for d in DAYS] == [0, 3, 3]
    [failure] = by_day[DAYS[0].isoformat()].failures
    assert (failure["stage"], failure["url"], failure["reason"]) == ("discover", site.url(first_child), "HTTP 500")
    # one run reads the index and each child once (cached across its partitions); children whose
    # lastmod is before a day are not read for it, the static-pages sitemap (2021) never
    assert site.hits("/sitemap.xml") == 1 and site.hits(gz) == 1 and site.hits("/sitemaps/pages.xml") == 0

    reports, done = _run(config_dir)
    assert done == 2 and [(r.day, r.status, r.created) for r in reports] == [(DAYS[0].isoformat(), "done", 6)]
    assert site.hits(first_child) == 2
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 12


def test_archived_older_copy_does_not_overwrite_a_newer_version(es, es_url, alias, site, tmp_path) -> None:
    """The live page is indexed first (fetched now); a WARC captured in 2022 holds an older
    version of the same URL with another text: it is skipped and recorded, the index keeps the
    newer version. A WARC copy of a URL not indexed yet is written."""
    article = next(a for a in archive_articles() if a.day == DAYS[1])
    url = site.base_url + article.path
    old_body = f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{article.title}</title>
      <link rel="canonical" href="{url}"></head><body><main><article><h1>{article.title}</h1>
      {''.join(f'<p>ALTE FASSUNG. {p}</p>' for p in article.paragraphs)}</article></main></body></html>""".encode()
    from datetime import datetime

    warc = tmp_path / "old.warc.gz"
    write_warc(warc, per_day=1, extra=[(url, old_body, datetime(2022, 1, 11, 9, 30))])
    config_dir = backfill_config(
        tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
        sources=[archive_source(site.base_url), warc_source(warc)],
    )
    reports, _ = _run(config_dir, "archive")
    assert sum(r.created for r in reports) == 12
    es.indices.refresh(index=alias)
    before = es.search(index=alias, query={"term": {"url": url}})["hits"]["hits"][0]

    reports, _ = _run(config_dir, "warc")
    day2 = next(r for r in reports if r.day == DAYS[1].isoformat())
    assert day2.status == "done" and day2.candidates == 2 and day2.kept_newer == 1 and day2.created == 1
    [kept] = day2.kept_newer_urls
    assert kept["url"] == url and "fetched" in kept["reason"]
    after = es.search(index=alias, query={"term": {"url": url}})["hits"]["hits"][0]
    assert after["_source"]["content_hash"] == before["_source"]["content_hash"]
    assert after["_source"]["fetched_at"] == before["_source"]["fetched_at"]
    assert "ALTE FASSUNG" not in after["_source"]["body"]
    stored = state.load_states(es, alias, [f"warc:{DAYS[1]}"])[f"warc:{DAYS[1]}"]
    assert stored["kept_newer"] == 1 and stored["kept_newer_urls"][0]["url"] == url
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 12 + 3  # one WARC article per day, nothing duplicated


def test_backfill_beside_the_nightly_feeds_adds_no_duplicates(es, es_url, alias, site, tmp_path) -> None:
    """The RSS feed indexes three articles of the first archive day; the backfill finds them
    indexed (same ids) and neither fetches nor duplicates them."""
    from pipeline.run.ingest import ingest_feed

    config_dir = backfill_config(tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
                                 sources=[sitemap_source(site.base_url)])
    settings = load_settings(config_dir, env={})
    es_ = es_client(settings.elasticsearch)
    prepare(es_, settings)
    feed_report = ingest_feed(settings.feeds[0], settings, es=es_)
    assert feed_report.created == 4
    seeds_on_day_one = [e.path for e in day_entries(DAYS[0]) if not e.path.startswith("/archiv/")]
    fetched_by_feed = {p: site.hits(p) for p in seeds_on_day_one}

    reports, _ = _run(config_dir)
    first = next(r for r in reports if r.day == DAYS[0].isoformat())
    assert (first.candidates, first.skipped_seen, first.created) == (6, 3, 3)
    assert {p: site.hits(p) for p in seeds_on_day_one} == fetched_by_feed
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 4 + 9
    ids = [h["_id"] for h in es.search(index=alias, size=100, query={"match_all": {}})["hits"]["hits"]]
    assert len(ids) == len(set(ids))


def test_blocked_addresses_and_unreadable_warc_fail_their_partitions(es, es_url, alias, site, tmp_path) -> None:
    broken = tmp_path / "broken.warc.gz"
    write_warc(broken)
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 50)  # breaks off in the middle
    unguarded = sitemap_source(site.base_url, name="unguarded")
    del unguarded["allow_networks"]
    config_dir = backfill_config(
        tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
        sources=[unguarded, warc_source(broken, name="broken"), warc_source(tmp_path / "missing.warc", name="missing")],
    )
    reports, _ = _run(config_dir)
    by = {r.partition: r for r in reports}
    assert all(by[f"unguarded:{d}"].status == "failed" and "SSRF" in by[f"unguarded:{d}"].error for d in DAYS)
    assert site.hits("/sitemap.xml") == 0
    assert all(by[f"missing:{d}"].status == "failed" and "no such file" in by[f"missing:{d}"].error for d in DAYS)
    # the broken WARC: what was readable before the damage is indexed, the partition is failed
    broken_reports = [by[f"broken:{d}"] for d in DAYS]
    assert by[f"broken:{DAYS[0]}"].created >= 1
    assert any(r.status == "failed" and "unreadable WARC" in (r.error or "") for r in broken_reports)
    assert es.indices.exists(index=backfill_index(alias))


def test_dates_and_sources_are_validated_by_the_cli(es_url, alias, site, tmp_path, capsys) -> None:
    config_dir = backfill_config(tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
                                 sources=[archive_source(site.base_url)])
    base = ["--config", str(config_dir), "backfill"]
    assert cli_main([*base, "--from", "2022-01-12", "--to", "2022-01-10"]) == 2
    assert "after --to" in capsys.readouterr().err
    assert cli_main([*base, "--from", "2022-13-01", "--to", "2022-01-10"]) == 2
    assert "--from must be a date" in capsys.readouterr().err
    assert cli_main([*base, "--from", FROM, "--to", TO, "--source", "nope"]) == 2
    assert "no archive source named 'nope'" in capsys.readouterr().err
    assert cli_main([*base, "--from", FROM, "--to", FROM, "--status"]) == 0
    assert "archive:2022-01-10" in capsys.readouterr().out
    assert day_of(FROM) == DAYS[0]
