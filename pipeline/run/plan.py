"""What one news_ingest run polls: every configured feed (nightly), or only the feeds that are due
(streaming), packed into groups for the mapped ingest tasks (pipeline.feeds.groups).

The plan is small on purpose (feed configs, names and counts), because it travels as an XCom.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.feeds.groups import group_feeds
from pipeline.feeds.schedule import is_due
from pipeline.feeds.state import load_schedules


def _utcnow() -> datetime:
    return datetime.now(UTC)


def plan_run(
    settings: Settings, *, es: Elasticsearch | None = None, clock: Callable[[], datetime] = _utcnow
) -> dict[str, Any]:
    """``groups`` (one dict per mapped task), ``mode``, ``feeds_configured``, ``not_due`` (names
    of the feeds a streaming run leaves for later) and ``planned_at``. Elasticsearch is read only
    in streaming mode (the poll schedules in the feedstate index). The streaming loop
    (``schedule.streaming_run_s`` > 0) plans every feed into ``schedule.streaming_tasks`` groups
    and reads nothing: its tasks pick the due feeds themselves, again and again (pipeline.run.streamloop)."""
    feeds = list(settings.feeds)
    now = clock()
    not_due: list[str] = []
    if settings.schedule.streaming_loop:
        # every feed, in streaming_tasks long-running tasks that poll each one when it is due
        # (pipeline.run.streamloop): nothing is left for a later run
        groups = group_feeds(feeds, settings.schedule.streaming_tasks)
        return {
            "mode": "streaming", "loop_s": settings.schedule.streaming_run_s,
            "planned_at": now.isoformat(timespec="seconds"), "feeds_configured": len(settings.feeds),
            "not_due": [], "groups": [g.to_dict() for g in groups],
        }
    if settings.schedule.mode == "streaming" and feeds:
        if es is None:
            raise ValueError("streaming mode needs Elasticsearch to read the poll schedules")
        schedules = load_schedules(es, settings.elasticsearch.index_alias, (f.url for f in feeds))
        due = [f for f in feeds if is_due(schedules.get(f.url), now)]
        not_due = [f.name for f in feeds if f not in due]
        feeds = due
    groups = group_feeds(feeds, settings.ingest.max_feed_groups)
    return {
        "mode": settings.schedule.mode,
        "planned_at": now.isoformat(timespec="seconds"),
        "feeds_configured": len(settings.feeds),
        "not_due": not_due,
        "groups": [g.to_dict() for g in groups],
    }
