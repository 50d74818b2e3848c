"""The summary of one news_ingest run, from the group results (pipeline.run.group) and the run plan
(pipeline.run.plan): totals per stage, failures per stage, one row per feed. Logged line by line
for the task log and stored as one ``run-summary`` document in the run-log index, beside the
per-feed documents (pipeline.index.runlog)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

# the per-feed counts of a group's result (pipeline.run.group), summed per run. Defined here, not in
# pipeline.run.group, so that the summary task does not import the whole ingestion stack (spaCy, ...)
COUNTS = ("entries", "skipped_seen", "skipped_failed", "fetched", "extracted", "created", "updated", "unchanged")

STAGES = ("feed", "fetch", "extract", "index", "internal")


def summarize_run(run_id: str, plan: dict[str, Any], results: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """One document: ``totals`` (the per-feed counts added up, plus ``failed``),
    ``failures_by_stage``, ``feeds`` (one row per polled feed) and the plan's feed counts.
    Planned groups without a result (failed for good) are counted in ``groups_failed``."""
    feeds: list[dict[str, Any]] = []
    groups_done = 0
    for result in results:
        if result is not None:
            groups_done += 1
            feeds.extend(result.get("feeds") or [])
    planned = plan.get("groups")
    groups = planned if isinstance(planned, int) else len(planned or [])
    totals = dict.fromkeys((*COUNTS, "failed"), 0)
    by_stage = dict.fromkeys(STAGES, 0)
    for row in feeds:
        for key in totals:
            totals[key] += int(row.get(key) or 0)
        for stage, count in (row.get("failures_by_stage") or {}).items():
            by_stage[stage] = by_stage.get(stage, 0) + count
    return {
        "run_id": run_id,
        "kind": "run-summary",
        "mode": plan.get("mode"),
        "started_at": plan.get("planned_at"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feeds_configured": plan.get("feeds_configured", len(feeds)),
        "feeds_polled": len(feeds),
        "feeds_not_due": len(plan.get("not_due") or []),
        "not_due": list(plan.get("not_due") or []),
        "groups": groups,
        "groups_failed": max(0, groups - groups_done),
        "feeds_failed": sorted(r["feed"] for r in feeds if (r.get("failures_by_stage") or {}).get("feed")),
        # polled by another runner at the time (pipeline.feeds.lease): not this run's work, not a failure
        "feeds_skipped": sorted(r["feed"] for r in feeds if r.get("skipped")),
        "totals": totals,
        "failures_by_stage": by_stage,
        "feeds": feeds,
    }


def log_summary(summary: dict[str, Any], log: logging.Logger) -> None:
    """The task-log view: totals, failures per stage, one line per feed, one line per failure."""
    log.info(
        "run %s (%s): %d of %d feeds polled (%d not due) in %d groups",
        summary["run_id"], summary["mode"], summary["feeds_polled"], summary["feeds_configured"],
        summary["feeds_not_due"], summary["groups"],
    )
    log.info("totals: %s", ", ".join(f"{k} {v}" for k, v in summary["totals"].items()))
    log.info("failures by stage: %s", ", ".join(f"{k} {v}" for k, v in summary["failures_by_stage"].items()))
    for row in summary["feeds"]:
        if row.get("skipped"):
            log.info("feed %s: skipped: %s", row["feed"], row["skipped"])
            continue
        log.info(
            "feed %s: %s%s",
            row["feed"],
            ", ".join(f"{k} {row[k]}" for k in (*COUNTS, "failed")),
            " (304 not modified)" if row.get("not_modified") else "",
        )
        for failure in row.get("failures") or []:
            log.warning("feed %s: %s failed for %s: %s", row["feed"], failure["stage"], failure["url"], failure["reason"])


def run_failure(summary: dict[str, Any]) -> str | None:
    """Why the run as a whole failed, or None: every feed it polled failed to be read (a run
    where nothing could be ingested must not look green in Airflow; some failed feeds, or
    failed pages, are reported in the summary and leave the run green)."""
    polled = (summary.get("feeds_polled") or 0) - len(summary.get("feeds_skipped") or [])
    failed = summary.get("feeds_failed") or []
    if polled and len(failed) >= polled:
        return f"every polled feed failed ({len(failed)} of {polled}: {', '.join(failed[:10])})"
    return None
