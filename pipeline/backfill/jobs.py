"""The backfill entry points the CLI and the ``news_backfill`` DAG call: :func:`prepare` (indices),
:func:`plan` (partitions still to do, registered as pending), :func:`run_partitions` (one task's
share of the partitions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from elasticsearch import Elasticsearch

from pipeline.backfill import state
from pipeline.backfill.run import Backfill, PartitionReport, pending_partitions, plan_partitions
from pipeline.backfill.sources import BackfillSettings
from pipeline.config import Settings


def prepare(es: Elasticsearch, settings: Settings) -> None:
    """Article template and indices, the run log, and the partition-state index."""
    from pipeline.index.template import ensure_index

    ensure_index(es, settings.elasticsearch)
    state.ensure_backfill_index(es, settings.elasticsearch)


def plan(
    es: Elasticsearch, settings: Settings, config: BackfillSettings, start: date, end: date,
    sources: Iterable[str] = (),
) -> tuple[list[tuple[str, date]], int]:
    """The partitions of the range that are not done yet, each registered as ``pending``; and how
    many of the range are done already."""
    alias = settings.elasticsearch.index_alias
    partitions = plan_partitions(config, start, end, sources)
    kinds = {s.name: s.type for s in config.sources}
    state.register(es, alias, [(name, kinds[name], day) for name, day in partitions])
    todo = pending_partitions(es, alias, partitions)
    return todo, len(partitions) - len(todo)


def run_partitions(
    es: Elasticsearch, settings: Settings, config: BackfillSettings, partitions: Iterable[tuple[str, date]],
    *, run_id: str, on_done: Callable[[PartitionReport], None] | None = None,
) -> list[PartitionReport]:
    """Run the partitions one after the other in this process (one Airflow task's share)."""
    with Backfill(settings, config, es, run_id=run_id) as backfill:
        return backfill.run(partitions, on_done=on_done)
