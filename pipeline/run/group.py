"""One mapped ingest task: the feeds of one group (pipeline.feeds.groups), one after another, with
one per-host limiter shared by all of them, so feeds of the same site are polite to it together;
its start times are also reserved in Elasticsearch (pipeline.fetch.sharedlimit), so other tasks (a
backfill beside the nightly run) keep the same per-site interval with it.

A feed's failure never costs the other feeds their run: bad feeds and pages are failures in the
feed's report already (pipeline.run.ingest), and an unexpected error in one feed (a bug, a config
value that only fails at use) becomes an ``internal`` failure of that feed. Only Elasticsearch
being unavailable fails the task, after every feed had its turn, so Airflow retries it with
backoff; the retry duplicates nothing (ids come from canonical URLs, indexed entries are skipped).

The result is the XCom of the task: ids and counts, failures with reasons (at most
``XCOM_FAILURES_PER_FEED`` per feed; the per-feed run-log document keeps more), never bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipeline.config import FeedConfig, Settings
from pipeline.fetch.robots import RobotsCache
from pipeline.fetch.sharedlimit import SharedHostLimiter
from pipeline.index.client import es_client
from pipeline.index.runlog import write_run_report
from pipeline.run.ingest import FeedReport, ingest_feed
from pipeline.run.summary import COUNTS

log = logging.getLogger(__name__)

XCOM_FAILURES_PER_FEED = 20


class ElasticsearchUnavailable(RuntimeError):
    """Elasticsearch failed during the group; the task should be retried."""


def _es_down(exc: Exception) -> bool:
    """Connection-level errors, and server answers that say "not now" (429, 5xx)."""
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, ApiError) and (exc.meta.status == 429 or exc.meta.status >= 500)


def feed_result(report: dict[str, Any]) -> dict[str, Any]:
    """The XCom-sized view of one feed's report: counts, failures per stage, a few failures."""
    failures = report.get("failures") or []
    by_stage: dict[str, int] = {}
    for failure in failures:
        by_stage[failure["stage"]] = by_stage.get(failure["stage"], 0) + 1
    return {
        "feed": report["feed"],
        "url": report["url"],
        "not_modified": bool(report.get("not_modified")),
        **{key: int(report.get(key) or 0) for key in COUNTS},
        "failed": len(failures),
        "failures_by_stage": by_stage,
        "failures": [
            {"stage": f["stage"], "url": f["url"], "reason": f["reason"]} for f in failures[:XCOM_FAILURES_PER_FEED]
        ],
        "next_due_at": report.get("next_due_at"),
        "interval_s": report.get("interval_s"),
        "skipped": report.get("skipped"),  # "leased by <holder> until <time>" (pipeline.feeds.lease)
    }


def _crashed(feed: FeedConfig, run_id: str, stage: str, exc: Exception) -> dict[str, Any]:
    report = FeedReport(feed=feed.name, url=feed.url, run_id=run_id)
    report.fail(stage, feed.url, f"{type(exc).__name__}: {exc}"[:500])
    report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    return report.to_dict()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ingest_group(
    feeds: Iterable[FeedConfig],
    settings: Settings,
    run_id: str,
    *,
    es: Elasticsearch | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> dict[str, Any]:
    """Ingest every feed of the group; ``{"feeds": [feed_result, ...]}``. Raises
    ElasticsearchUnavailable (after all feeds were tried) if Elasticsearch failed for any."""
    es = es or es_client(settings.elasticsearch)
    limiter = SharedHostLimiter(es, settings.elasticsearch.index_alias, settings.http.per_host_min_interval_s,
                                settings.http.per_host_max_concurrent)
    results: list[dict[str, Any]] = []
    es_failed: list[str] = []
    for feed in feeds:
        report, es_down = poll_one(feed, settings, run_id, es=es, limiter=limiter, clock=clock)
        if es_down:
            es_failed.append(feed.name)
        results.append(feed_result(report))
    if es_failed:
        raise ElasticsearchUnavailable(
            f"Elasticsearch was unavailable for feed(s) {', '.join(es_failed)}; retry the task"
        )
    return {"feeds": results}


def poll_one(
    feed: FeedConfig, settings: Settings, run_id: str, *, es: Elasticsearch, limiter: SharedHostLimiter,
    clock: Callable[[], datetime] = _utcnow, robots: RobotsCache | None = None, due_margin_s: float | None = None,
) -> tuple[dict[str, Any], bool]:
    """One feed through ``ingest_feed``: its report, and whether Elasticsearch was unavailable
    (the caller raises ElasticsearchUnavailable once the other feeds had their turn). Any other
    error becomes an ``internal`` failure of this feed."""
    try:
        extra: dict[str, Any] = {"robots": robots} if robots is not None else {}
        if due_margin_s is not None:
            extra["due_margin_s"] = due_margin_s
        return ingest_feed(feed, settings, es=es, run_id=run_id, limiter=limiter, clock=clock, **extra).to_dict(), False
    except (TransportError, ApiError) as exc:
        if not _es_down(exc):
            report = _crashed(feed, run_id, "internal", exc)
            log.exception("feed %s: Elasticsearch refused a request", feed.name)
            _record(es, settings, report)
            return report, False
        log.error("feed %s: Elasticsearch unavailable: %s", feed.name, exc)
        return _crashed(feed, run_id, "index", exc), True
    except Exception as exc:  # one feed's bug must not cost the other feeds their run
        log.exception("feed %s: unexpected error; the group goes on with the next feed", feed.name)
        report = _crashed(feed, run_id, "internal", exc)
        _record(es, settings, report)
        return report, False


def _record(es: Elasticsearch, settings: Settings, report: dict[str, Any]) -> None:
    """The run-log entry of a feed that crashed (ingest_feed writes it for every other feed)."""
    try:
        write_run_report(es, settings.elasticsearch.index_alias, report)
    except (TransportError, ApiError) as exc:
        log.warning("feed %s: run-log entry not written: %s", report["feed"], exc)
