"""What discovery of a partition yields, and the fetcher every archive source reads through.

Sitemaps and archive pages yield :class:`Candidate` URLs (fetched later, like feed entries); WARC
files yield :class:`ArchivedPage` records that already hold the page. All HTTP goes through
:class:`pipeline.fetch.client.HttpClient` (SSRF guard, caps, retries, robots.txt, politeness), with one
per-host limiter shared by every client of a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, Self

from pipeline.backfill.sources import ArchiveSource
from pipeline.config import HttpSettings
from pipeline.fetch.client import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    HttpClient,
    HttpStatusError,
    Kind,
    Response,
    RobotsDisallowedError,
    TooLargeError,
)
from pipeline.fetch.ratelimit import HostLimiter


@dataclass(frozen=True)
class Candidate:
    """A URL listed for a day. ``version_at``: when the listing says it last changed (sitemap
    ``lastmod``), so an indexed copy fetched before that is fetched again."""

    url: str
    version_at: datetime | None = None
    title: str | None = None
    published_at: str | None = None


@dataclass(frozen=True)
class ArchivedPage:
    """A page captured in an archive: body, response headers (lower-case names) and capture time."""

    url: str
    content: bytes
    headers: Mapping[str, str]
    fetched_at: str


class DiscoveryError(Exception):
    """The partition's listing (sitemap, day page, WARC file) could not be read at all."""

    def __init__(self, url: str, reason: str, *, retryable: bool) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retryable = retryable


class PartitionLog(Protocol):
    """Where discovery records what it skipped and what failed (the partition's report)."""

    undated: int
    offsite: int
    skipped_records: int

    def fail(self, stage: str, url: str, reason: str, *, retryable: bool = False) -> None: ...


def is_retryable(exc: FetchError) -> bool:
    """Worth trying again in a later run: server errors, timeouts, connection failures. Not: 4xx
    answers, blocked addresses, robots.txt refusals, wrong types, oversized bodies."""
    if isinstance(exc, HttpStatusError):
        return exc.status >= 500 or exc.status in (408, 425, 429)
    return not isinstance(exc, BlockedAddressError | ContentTypeError | TooLargeError | RobotsDisallowedError)


class Fetcher:
    """HTTP clients for the sources of one run: one per (robots setting, size cap), all sharing
    one per-host limiter (``limiter``, e.g. the one shared through Elasticsearch with every other
    task), so politeness holds across sitemaps, pages and WARC downloads."""

    def __init__(self, http: HttpSettings, limiter: HostLimiter | None = None) -> None:
        self.http = http
        self.limiter = limiter or HostLimiter(http.per_host_min_interval_s, http.per_host_max_concurrent)
        self._clients: dict[tuple[bool, int], HttpClient] = {}
        self.source: ArchiveSource | None = None

    def for_source(self, source: ArchiveSource) -> Fetcher:
        self.source = source
        return self

    def client(self, max_bytes: int | None = None) -> HttpClient:
        robots = self.http.respect_robots if self.source is None or self.source.respect_robots is None \
            else self.source.respect_robots
        cap = max_bytes or self.http.max_bytes
        key = (robots, cap)
        if key not in self._clients:
            settings = replace(self.http, respect_robots=robots, max_bytes=cap)
            self._clients[key] = HttpClient(settings, limiter=self.limiter)
        return self._clients[key]

    def get(self, url: str, *, kind: Kind = "any", max_bytes: int | None = None) -> Response:
        allow = self.source.allow_networks if self.source else ()
        return self.client(max_bytes).get(url, allow_networks=allow, kind=kind)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
