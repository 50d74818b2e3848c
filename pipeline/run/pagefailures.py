"""Pages that fail permanently, remembered per URL so they are not fetched on every run.

A feed entry whose page answers 404 or 410, is not a page type (a PDF, an image), is not an
article (a section or tag page), or is refused by robots.txt or the SSRF guard fails the same way
on the next run. Fetching it again on every poll costs the site a request and used to keep the
feed from storing its validators (issue 16.5). Such a page is written to ``<alias>-pagefailures``,
one document per URL (id: the article id its canonical URL would have), with the reason, how many
times in a row it failed and ``retry_at``: after the first failure a day later, then a week, then
weekly (``ingest.failed_page_backoff_s``, the last step repeats). Before then the entry is held
back (counted as ``skipped_failed`` in the feed's report) and its page is not requested; at
``retry_at`` it is fetched again, and a page that now works is indexed and forgotten.

Because a permanent failure no longer stops the feed from storing its ETag/Last-Modified, the
next poll of an unchanged feed is a 304 that would never show the entry again; so when one of the
feed's remembered pages is due, the feed is polled without validators (:meth:`PageFailures.any_due`).

Transient failures (timeouts, 5xx, connection errors, a body over the size cap) are not remembered:
the page is retried on the next run and the feed keeps not storing validators until it went
through, as before. The state is in Elasticsearch, so any worker sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from pipeline.article import doc_id_for
from pipeline.feeds.feeds import FeedEntry
from pipeline.fetch.client import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    HttpStatusError,
    RobotsDisallowedError,
)
from pipeline.fetch.urls import canonicalize
from pipeline.index.names import pagefailures_index

log = logging.getLogger(__name__)

PERMANENT_STATUSES = frozenset({404, 410})
DEFAULT_BACKOFF_S = (86_400.0, 604_800.0)  # a day, then a week (repeated)


def permanent_kind(exc: FetchError) -> str | None:
    """What kind of permanent failure a fetch error is, or None when it is transient."""
    if isinstance(exc, HttpStatusError) and exc.status in PERMANENT_STATUSES:
        return f"http-{exc.status}"
    if isinstance(exc, ContentTypeError):
        return "not-a-page-type"
    if isinstance(exc, RobotsDisallowedError):
        return "robots"
    if isinstance(exc, BlockedAddressError):
        return "blocked"
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def page_key(url: str) -> str:
    return doc_id_for(canonicalize(url))


class PageFailures:
    """The remembered permanent failures of one feed's run: look up, hold back, record, forget,
    and write them all at the end (:meth:`flush`)."""

    def __init__(
        self,
        es: Elasticsearch,
        alias: str,
        *,
        feed: str,
        feed_url: str,
        backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.es = es
        self.index = pagefailures_index(alias)
        self.feed, self.feed_url = feed, feed_url
        self.backoff_s = tuple(backoff_s) or DEFAULT_BACKOFF_S
        self._clock = clock
        self._known: dict[str, dict[str, Any]] = {}  # page key -> stored document (entries looked up)
        self._actions: dict[str, dict[str, Any]] = {}  # page key -> index or delete action
        self.recorded = 0
        self.forgotten = 0

    def any_due(self) -> bool:
        """Whether a remembered page of this feed is due for another try (then the feed is
        polled without validators, so its entry is seen even if the feed did not change)."""
        resp = self.es.options(ignore_status=404).count(index=self.index, query={"bool": {"filter": [
            {"term": {"feed_url": self.feed_url}}, {"range": {"retry_at": {"lte": _iso(self._clock())}}}]}})
        return int(resp.get("count") or 0) > 0

    def hold_back(self, entries: list[FeedEntry]) -> tuple[list[FeedEntry], list[tuple[FeedEntry, str]]]:
        """The entries to fetch, and those held back with their ``retry_at`` (one request)."""
        if not entries:
            return [], []
        keys = {page_key(e.link): e for e in entries}
        resp = self.es.options(ignore_status=404).mget(index=self.index, ids=list(keys))
        for doc in resp.get("docs") or []:
            if doc.get("found"):
                self._known[doc["_id"]] = doc["_source"]
        now = self._clock()
        fetch: list[FeedEntry] = []
        held: list[tuple[FeedEntry, str]] = []
        for key, entry in keys.items():
            stored = self._known.get(key)
            retry_at = stored.get("retry_at") if stored else None
            if retry_at and datetime.fromisoformat(retry_at) > now:
                held.append((entry, retry_at))
                log.info("feed %s: not fetching %s before %s (%s)", self.feed, entry.link, retry_at,
                         stored.get("reason") if stored else "")
            else:
                fetch.append(entry)
        return fetch, held

    def record(self, url: str, kind: str, reason: str) -> str:
        """Remember a permanent failure of the page of entry ``url``; returns its ``retry_at``."""
        key = page_key(url)
        previous = self._known.get(key) or {}
        failures = int(previous.get("failures") or 0) + 1
        now = self._clock()
        retry_at = _iso(now + timedelta(seconds=self.backoff_s[min(failures, len(self.backoff_s)) - 1]))
        self._actions[key] = {"_op_type": "index", "_index": self.index, "_id": key, "_source": {
            "url": url, "feed": self.feed, "feed_url": self.feed_url, "kind": kind, "reason": reason[:1000],
            "failures": failures, "first_failed_at": previous.get("first_failed_at") or _iso(now),
            "last_failed_at": _iso(now), "retry_at": retry_at,
        }}
        self.recorded += 1
        return retry_at

    def forget(self, url: str) -> None:
        """The page of entry ``url`` worked: it is no longer remembered as failing."""
        key = page_key(url)
        if key in self._known and key not in self._actions:
            self._actions[key] = {"_op_type": "delete", "_index": self.index, "_id": key}
            self.forgotten += 1

    def flush(self) -> None:
        if not self._actions:
            return
        _written, errors = bulk(self.es, list(self._actions.values()), raise_on_error=False, max_retries=3)
        for error in errors:
            if "delete" not in error:  # a delete of a document already gone is fine
                log.warning("feed %s: page failure not remembered: %s", self.feed, error)
        self._actions.clear()
