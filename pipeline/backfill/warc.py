"""WARC files (Common Crawl News style) as an archive source: every ``response`` record of an HTML
page with status 200, captured on the partition's day (WARC-Date in the source's time zone),
becomes a page without being fetched again; the capture time is its ``fetched_at``.

Locations: a local path (glob patterns allowed), any fsspec URL (``s3://`` needs its fsspec
backend installed), or an http(s) URL, downloaded through the guarded HTTP client with a size cap
(``max_bytes``, default 200 MB; larger files belong on a local disk or an object store). A
``{date:...}`` template picks one file (or glob) per day. Records are streamed one at a time.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO
from zoneinfo import ZoneInfo

import fsspec
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.backfill.discovery import ArchivedPage, DiscoveryError, Fetcher, PartitionLog, is_retryable
from pipeline.backfill.sources import ArchiveSource
from pipeline.fetch.client import PAGE_TYPES, FetchError

MAX_WARC_DOWNLOAD_BYTES = 200_000_000
_GLOB = set("*?[")


def _open_streams(
    location: str, source: ArchiveSource, fetcher: Fetcher
) -> Iterator[tuple[str, IO[bytes], int | None]]:
    """(name, binary stream, size in bytes if known) of each file the location stands for."""
    if location.startswith(("http://", "https://")):
        try:
            response = fetcher.get(location, kind="any", max_bytes=source.max_bytes or MAX_WARC_DOWNLOAD_BYTES)
        except FetchError as exc:
            raise DiscoveryError(location, exc.reason, retryable=is_retryable(exc)) from exc
        yield location, io.BytesIO(response.content), len(response.content)
        return
    try:
        files = fsspec.open_files(location, mode="rb")
    except (ImportError, ValueError, OSError) as exc:
        raise DiscoveryError(location, f"cannot open: {type(exc).__name__}: {exc}", retryable=False) from exc
    if not files and not _GLOB & set(location):
        raise DiscoveryError(location, "no such file", retryable=True)
    for opened in files:
        try:
            stream = opened.open()
        except FileNotFoundError as exc:
            raise DiscoveryError(opened.path, "no such file", retryable=True) from exc
        except OSError as exc:
            raise DiscoveryError(opened.path, f"cannot open: {exc}", retryable=True) from exc
        try:
            size = opened.fs.size(opened.path)
        except (OSError, NotImplementedError):
            size = None
        with stream:
            yield opened.path, stream, size


def _warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def warc_pages(
    source: ArchiveSource, day: date, fetcher: Fetcher, log: PartitionLog, *, max_page_bytes: int
) -> Iterator[ArchivedPage]:
    """HTML pages captured on ``day``. Opening the file fails with DiscoveryError; a record that
    cannot be used is counted (``skipped_records``) or recorded; a file that breaks off in the
    middle is recorded as a failure that leaves the partition to be retried, and what was read
    before it is kept."""
    zone = ZoneInfo(source.timezone)
    for name, stream, size in _open_streams(source.location_for(day), source, fetcher):
        try:
            yield from _records(stream, day, zone, log, max_page_bytes)
            if size is not None and stream.tell() < size:  # warcio stops quietly at garbage
                raise ValueError(f"reading stopped at byte {stream.tell()} of {size}")
        except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError) as exc:
            log.fail("discover", name, f"unreadable WARC data: {type(exc).__name__}: {exc}", retryable=True)


def _records(stream: IO[bytes], day: date, zone: ZoneInfo, log: PartitionLog, cap: int) -> Iterator[ArchivedPage]:
    for record in ArchiveIterator(stream):
        if record.rec_type != "response":
            continue
        uri = record.rec_headers.get_header("WARC-Target-URI")
        captured = _warc_date(record.rec_headers.get_header("WARC-Date"))
        if not uri or captured is None:
            log.skipped_records += 1
            continue
        if captured.astimezone(zone).date() != day:
            continue
        http = record.http_headers
        content_type = (http.get_header("Content-Type") or "").split(";")[0].strip().lower() if http else ""
        if http is None or http.get_statuscode() != "200" or content_type not in PAGE_TYPES:
            log.skipped_records += 1  # redirects, errors, images, scripts: not article pages
            continue
        content = record.content_stream().read(cap + 1)
        if len(content) > cap:
            log.fail("fetch", uri, f"archived body exceeds the {cap}-byte cap", retryable=False)
            continue
        if getattr(record.raw_stream, "limit", 0):  # the file ended inside this record
            raise ValueError(f"record of {uri} is truncated")
        yield ArchivedPage(
            url=uri,
            content=content,
            headers={name.lower(): value for name, value in http.headers},
            fetched_at=captured.astimezone(UTC).isoformat(timespec="seconds"),
        )
