"""The run-log index: one document per feed and run with its counts and failures, for Kibana
charts and for the summary at the end of a DAG run. Ids are ``<run_id>:<feed>`` so a retried task
overwrites its own entry instead of adding a second one."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.names import runlog_index

MAX_FAILURES_STORED = 200


def write_run_report(es: Elasticsearch, alias: str, report: dict[str, Any], *, kind: str = "ingest") -> None:
    doc = {**report, "kind": kind, "failed": len(report.get("failures", []))}
    doc["failures"] = doc.get("failures", [])[:MAX_FAILURES_STORED]
    es.index(index=runlog_index(alias), id=f"{report['run_id']}:{report['feed']}", document=doc)
