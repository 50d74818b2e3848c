"""The streaming loop: one long-running ingest task that polls its feeds as they fall due.

With ``schedule.streaming_run_s`` > 0, a streaming ``news_ingest`` run does not poll the due feeds
once and end (that is the ``streaming_cron`` mode: a new article waits for the next run, up to
the cron period plus the run's start-up). Instead each of its ``schedule.streaming_tasks``
ingest tasks keeps re-planning its group of feeds: read the poll schedules of the group (one
``mget`` on the feedstate index), poll every feed that is due, sleep until the next one falls due
(at most ``MAX_SLEEP_S``, so a poll made by another runner, whose schedule this loop reads again,
is noticed), and again. A run starts every ``streaming_run_s`` and its loop lasts
``streaming_run_s + streaming_overlap_s``: the next run's tasks start (scheduler, ``prepare_index``,
``list_feeds``, task start-up: 11 s median, 32 s at most in the freshness benchmark) while this
run's loop still polls, so polling never pauses. With the DAG's ``max_active_runs=1`` and
``@continuous`` instead, every hand-over left the feeds unpolled for 18-20 s and the next loop's
first pass had every feed overdue at once; the entries of those minutes took 55-106 s, and p95
was 97 s (docs/benchmarks.md, "Freshness").

Politeness is the poll schedule's (pipeline.feeds.schedule): a feed is never polled before its
``next_due_at`` (no early grace here: the loop is there when it falls due), so never more often
than its floor (the feed's ``min_interval_s`` or ``schedule.min_interval_s``), its ``<ttl>``,
its Cache-Control ``max-age`` or a ``Retry-After``; the poll is a conditional GET (ETag,
Last-Modified), and the robots.txt verdicts are kept for the whole loop instead of being
fetched again with every poll. All feeds of a site are in one task and share its per-host limiter.

Safe under the Celery and Kubernetes executors, with two runs' loops at once or a manual
``ingest`` beside them: every poll takes the feed's lease (pipeline.feeds.lease) and, holding it,
checks that the feed is still due (``ingest_feed(due_margin_s=...)``), so of two loops that
planned the same feed one polls it and the other skips it (held, or no longer due); the floor
holds across runners. The schedule lives in Elasticsearch, so whichever runner polls next starts
from it.

The task's result is the XCom of a group (``{"feeds": [row, ...]}``, pipeline.run.group) with one row
per feed polled during the loop: counts added up over its polls, ``polls``, the last poll's
schedule, at most ``XCOM_FAILURES_PER_FEED`` failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import FeedConfig, Settings
from pipeline.feeds.schedule import is_due
from pipeline.feeds.state import load_schedules
from pipeline.fetch.robots import RobotsCache
from pipeline.fetch.sharedlimit import SharedHostLimiter
from pipeline.index.client import es_client
from pipeline.run.group import XCOM_FAILURES_PER_FEED, ElasticsearchUnavailable, feed_result, poll_one
from pipeline.run.summary import COUNTS

log = logging.getLogger(__name__)

MAX_SLEEP_S = 5.0  # re-read the schedules at least this often
MIN_SLEEP_S = 0.2
# next_due_at is stored to the second (truncated): a feed counts as due this long after it, so a
# truncated due time never brings a poll before the floor
DUE_MARGIN_S = 1.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def merge_row(total: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, Any]:
    """One feed's row over several polls: counts added up, failures kept (at most
    XCOM_FAILURES_PER_FEED), the schedule, 304 and lease state of the last poll."""
    if total is None:
        return {**row, "polls": 0 if row.get("skipped") else 1}
    merged = dict(total)
    for key in (*COUNTS, "failed"):
        merged[key] = int(total.get(key) or 0) + int(row.get(key) or 0)
    stages = dict(total.get("failures_by_stage") or {})
    for stage, count in (row.get("failures_by_stage") or {}).items():
        stages[stage] = stages.get(stage, 0) + count
    merged["failures_by_stage"] = stages
    merged["failures"] = (list(total.get("failures") or []) + list(row.get("failures") or []))[:XCOM_FAILURES_PER_FEED]
    merged["polls"] = int(total.get("polls") or 0) + (0 if row.get("skipped") else 1)
    merged["not_modified"] = row.get("not_modified")
    merged["skipped"] = row.get("skipped") if merged["polls"] == 0 else None
    for key in ("next_due_at", "interval_s"):
        if row.get(key) is not None:
            merged[key] = row[key]
    return merged


def stream_group(
    feeds: Iterable[FeedConfig],
    settings: Settings,
    run_id: str,
    *,
    run_for_s: float,
    es: Elasticsearch | None = None,
    clock: Callable[[], datetime] = _utcnow,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the feeds as they fall due for ``run_for_s`` seconds (a poll started before the end
    is finished); ``{"feeds": [row, ...], "passes": n}``. Raises ElasticsearchUnavailable at the
    end of a pass in which Elasticsearch failed for a feed (Airflow retries the task)."""
    # one log line per Elasticsearch request (about ten per poll) would fill a loop's task log with
    # thousands of lines and cost the task its CPU in log forwarding; warnings still show
    transport_log = logging.getLogger("elastic_transport.transport")
    level = transport_log.level
    transport_log.setLevel(max(level, logging.WARNING))
    try:
        return _stream(list(feeds), settings, run_id, run_for_s=run_for_s, es=es, clock=clock,
                       monotonic=monotonic, sleep=sleep)
    finally:
        transport_log.setLevel(level)


def _stream(
    feeds: list[FeedConfig], settings: Settings, run_id: str, *, run_for_s: float, es: Elasticsearch | None,
    clock: Callable[[], datetime], monotonic: Callable[[], float], sleep: Callable[[float], None],
) -> dict[str, Any]:
    es = es or es_client(settings.elasticsearch)
    alias = settings.elasticsearch.index_alias
    limiter = SharedHostLimiter(es, alias, settings.http.per_host_min_interval_s, settings.http.per_host_max_concurrent)
    robots = RobotsCache(settings.http.user_agent)
    by_url = {feed.url: feed for feed in feeds}
    rows: dict[str, dict[str, Any]] = {}
    deadline = monotonic() + run_for_s
    passes = 0
    while feeds and monotonic() < deadline:
        passes += 1
        now = clock()
        schedules = load_schedules(es, alias, by_url)
        due = [f for f in feeds if is_due(schedules.get(f.url), now, grace_s=-DUE_MARGIN_S)]
        # the longest overdue first; never polled (no schedule) before all
        due.sort(key=lambda f: (schedules.get(f.url) is not None,
                                schedules[f.url].next_due_at if schedules.get(f.url) else now))
        es_failed: list[str] = []
        for feed in due:
            if monotonic() >= deadline:
                break
            report, es_down = poll_one(feed, settings, run_id, es=es, limiter=limiter, clock=clock, robots=robots,
                                       due_margin_s=DUE_MARGIN_S)
            if es_down:
                es_failed.append(feed.name)
            rows[feed.name] = merge_row(rows.get(feed.name), feed_result(report))
        if es_failed:
            raise ElasticsearchUnavailable(
                f"Elasticsearch was unavailable for feed(s) {', '.join(es_failed)}; retry the task")
        left = deadline - monotonic()
        if left <= 0:
            break
        sleep(min(left, max(MIN_SLEEP_S, min(MAX_SLEEP_S, _until_next_due(es, alias, feeds, clock())))))
    polls = sum(r.get("polls", 0) for r in rows.values())
    log.info("streaming loop: %d polls of %d feeds in %d passes over %.0f s", polls, len(rows), passes, run_for_s)
    return {"feeds": list(rows.values()), "passes": passes}


def _until_next_due(es: Elasticsearch, alias: str, feeds: list[FeedConfig], now: datetime) -> float:
    """Seconds until the first of the feeds falls due (plus the margin); 0 when one is due."""
    schedules = load_schedules(es, alias, (f.url for f in feeds))
    waits = [0.0 if s is None else (s.next_due_at - now).total_seconds() + DUE_MARGIN_S
             for s in schedules.values()]
    return max(0.0, min(waits, default=MAX_SLEEP_S))
