"""Per-feed state kept in Elasticsearch (not on a worker's disk), so any worker of a distributed
Airflow can poll any feed: the conditional-GET validators of the last poll, the poll schedule of
streaming mode (pipeline.feeds.schedule: next_due_at, interval_s, last_changed_at), and which entries
are already indexed (so their pages are not fetched again).

Validators and schedule are written as partial updates of one document per feed, so writing one
never erases the other."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.article import doc_id_for
from pipeline.feeds.feeds import FeedEntry
from pipeline.feeds.schedule import PollSchedule
from pipeline.fetch.urls import canonicalize
from pipeline.index.names import article_pattern, feedstate_index


@dataclass(frozen=True)
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    schedule: PollSchedule | None = None


def state_id(feed_url: str) -> str:
    return hashlib.sha256(feed_url.encode("utf-8")).hexdigest()[:40]


def load_state(es: Elasticsearch, alias: str, feed_url: str) -> FeedState:
    resp = es.options(ignore_status=404).get(index=feedstate_index(alias), id=state_id(feed_url))
    source = resp.get("_source") if resp.get("found") else None
    if not source:
        return FeedState()
    return FeedState(source.get("etag"), source.get("last_modified"), PollSchedule.from_doc(source))


def save_state(
    es: Elasticsearch, alias: str, feed: str, feed_url: str, state: FeedState, *, status: int
) -> None:
    """The validators of a complete poll (the schedule is saved separately, after every poll)."""
    _upsert(es, alias, feed_url, {
        "feed": feed, "url": feed_url, "etag": state.etag, "last_modified": state.last_modified,
        "status": status, "polled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })


def save_schedule(es: Elasticsearch, alias: str, feed: str, feed_url: str, schedule: PollSchedule) -> None:
    _upsert(es, alias, feed_url, {"feed": feed, "url": feed_url, **schedule.to_doc()})


def _upsert(es: Elasticsearch, alias: str, feed_url: str, doc: dict[str, Any]) -> None:
    es.update(index=feedstate_index(alias), id=state_id(feed_url), doc=doc, doc_as_upsert=True, retry_on_conflict=3)


def load_schedules(es: Elasticsearch, alias: str, feed_urls: Iterable[str]) -> dict[str, PollSchedule | None]:
    """The poll schedule of each feed URL in one request; None for a feed never polled (or when
    the feedstate index does not exist yet)."""
    urls = list(dict.fromkeys(feed_urls))
    if not urls:
        return {}
    resp = es.options(ignore_status=404).mget(index=feedstate_index(alias), ids=[state_id(u) for u in urls])
    docs = resp.get("docs") or []
    found = {d["_id"]: d.get("_source") or {} for d in docs if d.get("found")}
    return {url: PollSchedule.from_doc(found[state_id(url)]) if state_id(url) in found else None for url in urls}


def unseen_entries(es: Elasticsearch, alias: str, entries: list[FeedEntry]) -> tuple[list[FeedEntry], int]:
    """Entries whose article is not indexed yet, or whose feed entry was updated after the article
    was last fetched. Returns them and how many were skipped."""
    if not entries:
        return [], 0
    ids = {doc_id_for(canonicalize(e.link)): e for e in entries}
    resp = es.search(
        index=article_pattern(alias), query={"ids": {"values": list(ids)}}, source_includes=["fetched_at"],
        size=len(ids), ignore_unavailable=True, allow_no_indices=True,
    )
    fetched: dict[str, Any] = {hit["_id"]: hit["_source"].get("fetched_at") for hit in resp["hits"]["hits"]}
    fresh = []
    for doc_id, entry in ids.items():
        seen_at = fetched.get(doc_id)
        if doc_id not in fetched or (entry.updated_at and seen_at and entry.updated_at > seen_at):
            fresh.append(entry)
    return fresh, len(ids) - len(fresh)
