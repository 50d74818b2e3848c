"""Poll one RSS/Atom feed: fetch it through the shared client, parse it with feedparser.

Feeds are untrusted XML. feedparser 6.0.14 on expat 2.5 neither resolves external entities (XXE)
nor survives a billion-laughs document (expat's amplification limit stops it, and the loose
fallback parser leaves the entity unexpanded) -- but both depend on the expat build underneath.
No legitimate news feed declares entities, so a DOCTYPE with ENTITY declarations is refused before
any parser sees it (see ``check_feed_safety``); that holds whatever the expat version.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from pipeline.config import FeedConfig
from pipeline.feeds.schedule import max_age_seconds, ttl_seconds
from pipeline.fetch.client import ContentTypeError, FetchError, HttpClient


class FeedError(Exception):
    """The feed as a whole is unusable (unreachable, not a feed); ``reason`` is safe to log;
    ``retry_after_s`` is the server's Retry-After when it refused with one."""

    def __init__(self, url: str, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str | None
    published_at: str | None
    summary: str | None
    lang: str | None
    updated_at: str | None = None


def _iso(parsed: object) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).isoformat()  # type: ignore[arg-type]


_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
UNSAFE_REASON = "unsafe feed: its DOCTYPE declares XML entities (refused: XXE / entity-expansion risk)"


def check_feed_safety(content: bytes, url: str) -> None:
    """Raise FeedError if the document declares entities. Checked in the byte encodings a feed can
    arrive in (ASCII-compatible ones, UTF-16 and UTF-32 in both byte orders)."""
    if _ENTITY_DECL.search(content):
        raise FeedError(url, UNSAFE_REASON)
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        if "<!ENTITY".encode(codec) in content or "<!entity".encode(codec) in content:
            raise FeedError(url, UNSAFE_REASON)


def parse_feed(content: bytes, url: str, *, content_type: str | None = None) -> list[FeedEntry]:
    """Entries that carry a link (see ``parse_feed_document``)."""
    return parse_feed_document(content, url, content_type=content_type)[0]


def parse_feed_document(
    content: bytes, url: str, *, content_type: str | None = None
) -> tuple[list[FeedEntry], float | None]:
    """Entries that carry a link, and the feed's RSS ``<ttl>`` in seconds (None if absent). A
    malformed ("bozo") feed still yields what parsed; a document with no entries and a parse error
    is not a feed at all.

    ``content_type`` is the raw Content-Type header; it is passed on only when it names a charset,
    because that is the one thing in it feedparser needs (a Windows-1252 feed that says so only in
    the header), and a bare ``text/xml`` would make feedparser assume US-ASCII (RFC 3023)."""
    check_feed_safety(content, url)
    headers = {"content-location": url}
    if content_type and "charset" in content_type.lower():
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers)
    if parsed.bozo and not parsed.entries:
        raise FeedError(url, f"not a valid feed: {parsed.get('bozo_exception')}")
    feed_lang = parsed.feed.get("language")
    entries = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        entries.append(
            FeedEntry(
                link=link,
                title=entry.get("title"),
                # an Atom <updated> is the last edit, not the publication: kept apart as
                # updated_at, a weak fallback that never outranks the page's own dateline
                published_at=_iso(dict.get(entry, "published_parsed")),
                summary=entry.get("summary"),
                lang=feed_lang,
                updated_at=_iso(dict.get(entry, "updated_parsed")),  # no fallback to published
            )
        )
    return entries, ttl_seconds(parsed.feed.get("ttl"))


@dataclass(frozen=True)
class FeedPoll:
    """One poll: the entries (empty when the server said 304 Not Modified), the validators
    to send next time, and what the publisher said about polling (RSS ``<ttl>``, Cache-Control
    ``max-age``, in seconds)."""

    entries: list[FeedEntry]
    not_modified: bool
    etag: str | None
    last_modified: str | None
    ttl_s: float | None = None
    max_age_s: float | None = None


def poll_feed_conditional(
    feed: FeedConfig, client: HttpClient, *, etag: str | None = None, last_modified: str | None = None
) -> FeedPoll:
    """Conditional GET: send the validators of the previous poll; a 304 costs no parsing."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = client.get(feed.url, allow_networks=feed.allow_networks, kind="feed", headers=headers)
    except ContentTypeError as exc:
        raise FeedError(feed.url, f"not a valid feed: {exc.reason}") from exc
    except FetchError as exc:
        raise FeedError(feed.url, exc.reason, retry_after_s=getattr(exc, "retry_after_s", None)) from exc
    new_etag = response.headers.get("etag") or etag
    new_modified = response.headers.get("last-modified") or last_modified
    max_age = max_age_seconds(response.headers.get("cache-control"))
    if response.status == 304:
        return FeedPoll([], True, new_etag, new_modified, max_age_s=max_age)
    entries, ttl = parse_feed_document(
        response.content, response.url, content_type=response.headers.get("content-type")
    )
    return FeedPoll(entries, False, new_etag, new_modified, ttl_s=ttl, max_age_s=max_age)


def poll_feed(feed: FeedConfig, client: HttpClient) -> list[FeedEntry]:
    return poll_feed_conditional(feed, client).entries
