"""Partition state in Elasticsearch (``<alias>-backfill``), one document per (source, day), so any
worker of any run knows what is done: status ``pending`` / ``running`` / ``done`` / ``failed``,
attempts, counts, the error reason, timestamps.

A partition is claimed with optimistic concurrency (``if_seq_no``/``if_primary_term``): of two
workers claiming at once, one wins. A ``running`` partition of another run is left alone while
its heartbeat is younger than the lease; after that (a crashed worker) it may be claimed again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch
from elasticsearch.helpers import bulk

from pipeline.config import ElasticsearchSettings
from pipeline.index.names import backfill_index, runlog_index

KEYWORD = {"type": "keyword"}
DATE = {"type": "date"}
COUNT = {"type": "integer"}
COUNT_FIELDS = (
    "candidates", "skipped_seen", "fetched", "extracted", "created", "updated", "unchanged", "kept_newer",
    "skipped_not_article", "undated", "offsite", "skipped_records", "failed",
)
BACKFILL_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "partition": KEYWORD,
        "source": KEYWORD,
        "source_type": KEYWORD,
        "day": DATE,
        "status": KEYWORD,
        "attempts": COUNT,
        "run_id": KEYWORD,
        "created_at": DATE,
        "started_at": DATE,
        "heartbeat_at": DATE,
        "finished_at": DATE,
        "error": {"type": "text"},
        **{name: COUNT for name in COUNT_FIELDS},
        "failures": {"properties": {"stage": KEYWORD, "url": KEYWORD, "reason": {"type": "text"}}},
    },
}
# fields a backfill entry adds to the run-log index (additive, put on every ensure)
RUNLOG_BACKFILL_FIELDS: dict[str, Any] = {
    "partition": KEYWORD, "source": KEYWORD, "day": DATE, "status": KEYWORD, "attempts": COUNT,
    "candidates": COUNT, "kept_newer": COUNT, "undated": COUNT, "offsite": COUNT, "skipped_records": COUNT,
    "skipped_not_article": COUNT, "error": {"type": "text"},
}
MAX_FAILURES_STORED = 200


def partition_id(source: str, day: date) -> str:
    return f"{source}:{day.isoformat()}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def ensure_backfill_index(es: Elasticsearch, settings: ElasticsearchSettings) -> None:
    """Create ``<alias>-backfill`` if missing and add the backfill fields to the run-log index
    (which ``ensure_index`` creates). Idempotent, safe from many workers at once."""
    name = backfill_index(settings.index_alias)
    if not es.indices.exists(index=name):
        resp = es.options(ignore_status=400).indices.create(
            index=name, mappings=BACKFILL_MAPPINGS,
            settings={"number_of_shards": 1, "number_of_replicas": settings.number_of_replicas},
        )
        error = resp.get("error") if isinstance(resp.body, dict) else None
        if error and error.get("type") != "resource_already_exists_exception":
            raise RuntimeError(f"cannot create index {name}: {error.get('reason')}")
    else:
        es.indices.put_mapping(index=name, properties=BACKFILL_MAPPINGS["properties"])
    runs = runlog_index(settings.index_alias)
    if es.indices.exists(index=runs):
        es.indices.put_mapping(index=runs, properties=RUNLOG_BACKFILL_FIELDS)


def register(es: Elasticsearch, alias: str, partitions: Iterable[tuple[str, str, date]]) -> int:
    """Create ``pending`` documents for partitions (source, type, day) not known yet; existing
    ones are left as they are. Returns how many were new."""
    created_at = now_iso()
    actions = (
        {"_op_type": "create", "_index": backfill_index(alias), "_id": partition_id(name, day), "_source": {
            "partition": partition_id(name, day), "source": name, "source_type": kind, "day": day.isoformat(),
            "status": "pending", "attempts": 0, "created_at": created_at,
        }}
        for name, kind, day in partitions
    )
    created, errors = bulk(es, actions, raise_on_error=False, chunk_size=1000)
    unexpected = [e for e in errors if next(iter(e.values())).get("status") != 409]
    if unexpected:
        raise RuntimeError(f"cannot register backfill partitions: {unexpected[:3]}")
    return created


def load_states(es: Elasticsearch, alias: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Partition documents by id (realtime; missing ids are absent)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        resp = es.mget(index=backfill_index(alias), ids=chunk)
        for doc in resp["docs"]:
            if doc.get("found"):
                found[doc["_id"]] = doc["_source"]
    return found


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a partition: ``claimed`` (with the attempt number), ``done``, or
    ``busy`` (running in another run within its lease)."""

    outcome: str
    attempts: int = 0
    previous: dict[str, Any] | None = None


def _age_s(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()


def claim(
    es: Elasticsearch, alias: str, source: str, kind: str, day: date, *, run_id: str, lease_s: float
) -> Claim:
    pid = partition_id(source, day)
    index = backfill_index(alias)
    current = es.options(ignore_status=404).get(index=index, id=pid)
    previous = current.get("_source") if current.get("found") else None
    if previous and previous.get("status") == "done":
        return Claim("done", previous.get("attempts", 0), previous)
    if previous and previous.get("status") == "running" and previous.get("run_id") != run_id \
            and _age_s(previous.get("heartbeat_at")) < lease_s:
        return Claim("busy", previous.get("attempts", 0), previous)
    attempts = int((previous or {}).get("attempts") or 0) + 1
    stamp = now_iso()
    doc = {
        **(previous or {}), "partition": pid, "source": source, "source_type": kind, "day": day.isoformat(),
        "status": "running", "attempts": attempts, "run_id": run_id, "started_at": stamp, "heartbeat_at": stamp,
        "finished_at": None, "error": None,
    }
    doc.setdefault("created_at", stamp)
    try:
        if previous is None:
            es.index(index=index, id=pid, document=doc, op_type="create", refresh=False)
        else:
            es.index(index=index, id=pid, document=doc, if_seq_no=current["_seq_no"],
                     if_primary_term=current["_primary_term"])
    except ConflictError:
        return Claim("busy", attempts - 1, previous)
    return Claim("claimed", attempts, previous)


def heartbeat(es: Elasticsearch, alias: str, source: str, day: date) -> None:
    es.update(index=backfill_index(alias), id=partition_id(source, day), doc={"heartbeat_at": now_iso()})


def finish(es: Elasticsearch, alias: str, report: dict[str, Any]) -> None:
    """Store the partition's final status, counts, error and (bounded) failures."""
    doc = {k: v for k, v in report.items() if k != "failures"}
    doc["failures"] = report.get("failures", [])[:MAX_FAILURES_STORED]
    es.index(index=backfill_index(alias), id=report["partition"], document=doc)
