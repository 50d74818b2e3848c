"""Raw-page archive: every fetched article page as a WARC ``response`` record (warcio), so pages
can be cleaned again later with better rules and profiles (``python -m pipeline reprocess``).

Off by default (``archive.enabled`` in ``config/pipeline.yaml``). ``archive.url`` is a local folder
(relative to the config directory) or any fsspec URL (``s3://bucket/news-raw``, ``gs://...``; the
matching fsspec backend package must be installed), so workers on several machines can share
one archive. Each feed run writes its own file, ``<root>/<YYYY-MM-DD>/<feed>-<run>-<random>.warc.gz``
(one gzip member per record, as WARC readers expect), so parallel workers never write to the
same file. The record carries the page's site in ``WARC-News-Site``.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.config import ArchiveSettings

log = logging.getLogger(__name__)

SITE_HEADER = "WARC-News-Site"
FEED_HEADER = "WARC-News-Feed"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def archive_root(settings: ArchiveSettings, config_dir: str | Path) -> str:
    """The archive's location: an fsspec URL as given, a relative path under the config dir."""
    if "://" in settings.url or Path(settings.url).is_absolute():
        return settings.url
    return str((Path(config_dir) / settings.url).resolve())


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name)[:60] or "x"


class RawArchive:
    """The WARC file of one feed run; opened on the first page, closed by :meth:`close`."""

    def __init__(self, root: str, *, run_id: str, feed: str, gzip: bool = True) -> None:
        self.root = root.rstrip("/")
        self.run_id = run_id
        self.feed = feed
        self.gzip = gzip
        self.path: str | None = None
        self.records = 0
        self._file: Any = None
        self._writer: WARCWriter | None = None

    def _open(self) -> None:
        fs, root = fsspec.core.url_to_fs(self.root)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        name = f"{_safe(self.feed)}-{_safe(self.run_id)}-{uuid.uuid4().hex[:8]}.warc" + (".gz" if self.gzip else "")
        folder = f"{root}/{day}"
        fs.makedirs(folder, exist_ok=True)
        self.path = f"{folder}/{name}"
        self._file = fs.open(self.path, "wb")
        self._writer = WARCWriter(self._file, gzip=self.gzip)

    def write(self, url: str, status: int, headers: Mapping[str, str], content: bytes, *, site: str) -> None:
        """Append one fetched page (the body as received, decompressed; headers as sent)."""
        if self._writer is None:
            self._open()
        assert self._writer is not None
        skip = {"content-length", "content-encoding", "transfer-encoding"}
        http_headers = StatusAndHeaders(
            f"{status} OK" if status == 200 else str(status),
            [(k, v) for k, v in headers.items() if k.lower() not in skip] + [("Content-Length", str(len(content)))],
            protocol="HTTP/1.1",
        )
        record = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(content), length=len(content), http_headers=http_headers,
            warc_headers_dict={SITE_HEADER: site, FEED_HEADER: self.feed},
        )
        self._writer.write_record(record)
        self._file.flush()
        self.records += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
            log.info("raw archive: %d page(s) in %s", self.records, self.path)


@dataclass(frozen=True)
class ArchivedPage:
    url: str
    site: str | None
    captured_at: str | None
    headers: dict[str, str]
    content: bytes
    file: str
    offset: int


def archive_files(root: str) -> list[str]:
    """Every WARC file under the archive root, oldest day first (names sort by day)."""
    fs, path = fsspec.core.url_to_fs(root)
    if not fs.exists(path):
        return []
    files = [f for f in fs.find(path) if f.endswith((".warc", ".warc.gz"))]
    return sorted(files)


def iter_pages(root: str) -> Iterator[ArchivedPage]:
    """Every archived response record. A damaged file (a worker killed mid-write) yields the
    complete records before the damage; a cut-short record (its body shorter than its
    Content-Length) and the rest are logged and skipped instead of stopping the whole scan."""
    fs, _ = fsspec.core.url_to_fs(root)
    for path in archive_files(root):
        with fs.open(path, "rb") as handle:
            records = ArchiveIterator(handle)
            try:
                for record in records:
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    content = record.content_stream().read()
                    declared = record.http_headers.get_header("Content-Length")
                    if declared and declared.isdigit() and int(declared) != len(content):
                        log.warning("raw archive: %s is damaged (record of %s cut short), record skipped",
                                    path, record.rec_headers.get_header("WARC-Target-URI"))
                        continue
                    yield ArchivedPage(
                        url=record.rec_headers.get_header("WARC-Target-URI") or "",
                        site=record.rec_headers.get_header(SITE_HEADER),
                        captured_at=record.rec_headers.get_header("WARC-Date"),
                        headers={k.lower(): v for k, v in record.http_headers.headers},
                        content=content,
                        file=path,
                        offset=records.get_record_offset(),
                    )
            except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
                log.warning("raw archive: %s is damaged after some records, rest skipped: %s", path, exc)
