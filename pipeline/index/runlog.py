"""The run-log index: one document per feed and run with its counts and failures, for Kibana
charts, and one ``run-summary`` document per DAG run (pipeline.run.summary). Ids are
``<run_id>:<feed>`` and ``summary:<run_id>``, so a retried task overwrites its own entry instead of
adding a second one. The summary keeps its counts under ``totals``, so charts that add up the
per-feed documents do not count a run twice."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.names import runlog_index

MAX_FAILURES_STORED = 200


def write_run_report(es: Elasticsearch, alias: str, report: dict[str, Any], *, kind: str = "ingest") -> None:
    doc = {**report, "kind": kind, "failed": len(report.get("failures", []))}
    doc["failures"] = doc.get("failures", [])[:MAX_FAILURES_STORED]
    es.index(index=runlog_index(alias), id=f"{report['run_id']}:{report['feed']}", document=doc)


def write_run_summary(es: Elasticsearch, alias: str, summary: dict[str, Any]) -> None:
    doc = dict(summary)
    for row in doc.get("feeds") or []:
        row["failures"] = (row.get("failures") or [])[:MAX_FAILURES_STORED]
    es.index(index=runlog_index(alias), id=f"summary:{summary['run_id']}", document=doc)
