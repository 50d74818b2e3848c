"""Poll one RSS/Atom feed: fetch it through the shared client, parse it with feedparser."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from pipeline.config import FeedConfig
from pipeline.fetch import FetchError, HttpClient


class FeedError(Exception):
    """The feed as a whole is unusable (unreachable, not a feed); ``reason`` is safe to log."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str | None
    published_at: str | None
    summary: str | None
    lang: str | None


def _iso(parsed: object) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).isoformat()  # type: ignore[arg-type]


def parse_feed(content: bytes, url: str) -> list[FeedEntry]:
    """Entries that carry a link. A malformed ("bozo") feed still yields what parsed; a document
    with no entries and a parse error is not a feed at all."""
    parsed = feedparser.parse(content, response_headers={"content-location": url})
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
                published_at=_iso(entry.get("published_parsed") or entry.get("updated_parsed")),
                summary=entry.get("summary"),
                lang=feed_lang,
            )
        )
    return entries


def poll_feed(feed: FeedConfig, client: HttpClient) -> list[FeedEntry]:
    try:
        response = client.get(feed.url, allow_networks=feed.allow_networks)
    except FetchError as exc:
        raise FeedError(feed.url, exc.reason) from exc
    return parse_feed(response.content, response.url)
