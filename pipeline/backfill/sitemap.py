"""XML sitemaps and sitemap indexes: parsed safely (defusedxml, no DTDs or entities, streamed,
size-capped also after gunzip), filtered to one day by ``lastmod``.

A day's URLs are the ``<url>`` entries whose ``lastmod`` (else ``news:publication_date``) falls on
that day in the source's time zone. Child sitemaps of an index whose ``lastmod`` is before the day
are not read: they cannot list anything changed on it.
"""

from __future__ import annotations

import io
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import iterparse

from pipeline.backfill.discovery import Candidate, DiscoveryError, Fetcher, PartitionLog, is_retryable
from pipeline.backfill.sources import ArchiveSource
from pipeline.fetch.client import FetchError
from pipeline.fetch.urls import canonicalize, host_of

MAX_SITEMAP_BYTES = 50_000_000  # the sitemaps protocol's limit for one (uncompressed) file
MAX_INDEX_DEPTH = 3  # an index of indexes of sitemaps at most
_CACHE_SIZE = 64


class SitemapError(Exception):
    """A document that is not a usable sitemap; ``reason`` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | date | None = None
    published: datetime | date | None = None
    title: str | None = None


@dataclass(frozen=True)
class Sitemap:
    kind: str  # "urlset" | "sitemapindex"
    entries: tuple[SitemapEntry, ...]


def parse_w3c_datetime(text: str | None) -> datetime | date | None:
    """W3C datetime as sitemaps use it: a date, or a date and time with a zone (naive = UTC)."""
    if not text or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def local_day(value: datetime | date, zone: ZoneInfo) -> date:
    return value.astimezone(zone).date() if isinstance(value, datetime) else value


def as_instant(value: datetime | date, zone: ZoneInfo) -> datetime:
    """A date alone counts from the start of that day in the source's zone."""
    return value if isinstance(value, datetime) else datetime.combine(value, time(0), zone)


def gunzip_capped(data: bytes, cap: int) -> bytes:
    """Inflate a gzip file with a hard output bound (a bomb is cut off, never inflated)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise SitemapError(f"bad gzip data: {exc}") from exc
    if len(out) > cap or inflater.unconsumed_tail:
        raise SitemapError(f"decompressed sitemap exceeds the {cap}-byte cap")
    if not inflater.eof:
        raise SitemapError("bad gzip data: truncated")
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_sitemap(content: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> Sitemap:
    """A urlset or sitemapindex from raw (possibly gzipped) bytes. DTDs, entities and external
    references are refused; elements are cleared as they are read."""
    data = gunzip_capped(content, max_bytes) if content[:2] == b"\x1f\x8b" else content
    if len(data) > max_bytes:
        raise SitemapError(f"sitemap exceeds the {max_bytes}-byte cap")
    entries: list[SitemapEntry] = []
    kind = None
    fields: dict[str, str] = {}
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            name = _local(element.tag)
            if event == "start":
                if kind is None:
                    if name not in ("urlset", "sitemapindex"):
                        raise SitemapError(f"root element <{name}> is neither <urlset> nor <sitemapindex>")
                    kind = name
                elif name in ("url", "sitemap"):
                    fields = {}
                continue
            if name in ("loc", "lastmod", "publication_date", "title"):
                fields.setdefault(name, (element.text or "").strip())
            elif name in ("url", "sitemap"):
                if fields.get("loc"):
                    entries.append(SitemapEntry(
                        loc=fields["loc"], lastmod=parse_w3c_datetime(fields.get("lastmod")),
                        published=parse_w3c_datetime(fields.get("publication_date")), title=fields.get("title") or None,
                    ))
                element.clear()
    except DTDForbidden as exc:
        what = "an HTML page?" if (exc.name or "").lower() == "html" else "DTDs can declare entities (XXE)"
        raise SitemapError(f"refused: the document has a <!DOCTYPE {exc.name}> ({what}); sitemaps have none") from exc
    except (ParseError, DefusedXmlException) as exc:
        raise SitemapError(f"not a valid sitemap: {type(exc).__name__}: {exc}") from exc
    if kind is None:
        raise SitemapError("empty document")
    return Sitemap(kind, tuple(entries))


class SitemapCache:
    """Parsed sitemaps of one run, so the partitions (days) of one source read a sitemap index and
    its children once per task, not once per day. Bounded; failures are never cached."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[str, Sitemap] = OrderedDict()
        self._size = size

    def get(self, url: str) -> Sitemap | None:
        if url in self._items:
            self._items.move_to_end(url)
            return self._items[url]
        return None

    def put(self, url: str, sitemap: Sitemap) -> None:
        self._items[url] = sitemap
        while len(self._items) > self._size:
            self._items.popitem(last=False)


def _load(url: str, source: ArchiveSource, fetcher: Fetcher, cache: SitemapCache) -> Sitemap:
    cached = cache.get(url)
    if cached is not None:
        return cached
    cap = source.max_bytes or MAX_SITEMAP_BYTES
    response = fetcher.get(url, kind="any", max_bytes=cap)
    sitemap = parse_sitemap(response.content, max_bytes=cap)
    cache.put(url, sitemap)
    return sitemap


def sitemap_candidates(
    source: ArchiveSource, day: date, fetcher: Fetcher, log: PartitionLog, cache: SitemapCache
) -> list[Candidate]:
    """The URLs of ``day``. The top sitemap failing raises DiscoveryError; a failing child sitemap
    is recorded (retryable or not) and the others are still read."""
    zone = ZoneInfo(source.timezone)
    top = source.location_for(day)
    host = host_of(top)
    try:
        root = _load(top, source, fetcher, cache)
    except FetchError as exc:
        raise DiscoveryError(top, exc.reason, retryable=is_retryable(exc)) from exc
    except SitemapError as exc:
        raise DiscoveryError(top, exc.reason, retryable=False) from exc
    found: dict[str, Candidate] = {}
    queue: list[tuple[Sitemap, int]] = [(root, 0)]
    visited = {top}
    while queue:
        sitemap, depth = queue.pop(0)
        if sitemap.kind == "urlset":
            _collect(sitemap, day, zone, host, found, log)
            continue
        for child in sitemap.entries:
            if child.lastmod is not None and local_day(child.lastmod, zone) < day:
                continue  # last changed before the day: nothing of the day in it
            if child.loc in visited or depth + 1 > MAX_INDEX_DEPTH:
                continue
            if len(visited) > source.max_sitemaps:
                log.fail("discover", child.loc, f"more than {source.max_sitemaps} sitemaps (max_sitemaps)", retryable=False)
                break
            visited.add(child.loc)
            try:
                queue.append((_load(child.loc, source, fetcher, cache), depth + 1))
            except FetchError as exc:
                log.fail("discover", child.loc, exc.reason, retryable=is_retryable(exc))
            except SitemapError as exc:
                log.fail("discover", child.loc, exc.reason, retryable=False)
    return list(found.values())


def _collect(
    sitemap: Sitemap, day: date, zone: ZoneInfo, host: str, found: dict[str, Candidate], log: PartitionLog
) -> None:
    for entry in sitemap.entries:
        when = entry.lastmod or entry.published
        if when is None:
            log.undated += 1
            continue
        if local_day(when, zone) != day:
            continue
        if host_of(entry.loc) != host:
            log.offsite += 1  # the sitemaps protocol allows only URLs of the sitemap's own host
            continue
        published = entry.published
        found.setdefault(canonicalize(entry.loc), Candidate(
            url=entry.loc,
            version_at=as_instant(when, zone),
            title=entry.title,
            published_at=as_instant(published, zone).isoformat() if published else None,
        ))
