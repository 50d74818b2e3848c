"""news_backfill: ingest archive sources (config/backfill.yaml: sitemaps, date-templated archive
pages, WARC files) over a date range, partitioned by (source, day).

Trigger it with params ``from`` / ``to`` (YYYY-MM-DD, inclusive) and optionally ``sources`` (names;
empty: all). ``list_partitions`` registers the range's partitions in ``<alias>-backfill`` and
groups the ones not done yet into runs of consecutive days of one source (``partitions_per_task``,
at most ``max_tasks`` groups), ``backfill`` is mapped over the groups, ``summarize`` logs every
partition's counts and fails the run if a partition failed. Trigger it again with the same range to
resume: done partitions are skipped, failed ones redone. Safe beside news_ingest: same document ids,
same idempotent indexer, an archived copy never replaces a newer indexed version.

Thin by design: at parse time the file reads only the small config file (for the pool); XComs
carry partition ids and counts, never article bodies.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from pipeline.backfill.sources import load_backfill_config
from pipeline.config import ConfigError, load_settings

log = logging.getLogger(__name__)
ES_CONNECTION_ID = "news_es"


def _pool() -> str:
    try:
        return load_backfill_config(load_settings()).pool or "default_pool"
    except ConfigError as exc:  # a broken file must not break parsing; the tasks report it
        log.warning("backfill config: %s", exc)
        return "default_pool"


def _settings() -> Any:
    """Settings with the Elasticsearch endpoint of the Airflow connection ``news_es`` when one is
    defined (pipeline.airflow_settings), else from config and NEWS_ES_* variables."""
    from pipeline.airflow_settings import airflow_settings

    return airflow_settings(ES_CONNECTION_ID)


@dag(
    dag_id="news_backfill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    params={
        "from": Param(None, type=["null", "string"], format="date", description="first day, YYYY-MM-DD"),
        "to": Param(None, type=["null", "string"], format="date", description="last day (inclusive)"),
        "sources": Param([], type="array", items={"type": "string"}, description="source names; empty: all"),
        "partitions_per_task": Param(None, type=["null", "integer"], minimum=1,
                                     description="days of one source per task (default from config)"),
    },
    tags=["news", "backfill"],
    doc_md=__doc__,
)
def news_backfill() -> None:
    @task
    def list_partitions(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.backfill.cli import parse_day
        from pipeline.backfill.jobs import plan, prepare
        from pipeline.backfill.run import group_partitions
        from pipeline.index.client import es_client

        params = params or {}
        settings = _settings()
        try:
            if not params.get("from") or not params.get("to"):
                raise ConfigError("trigger news_backfill with the params 'from' and 'to' (YYYY-MM-DD)")
            config = load_backfill_config(settings)
            start, end = parse_day(params["from"], "from"), parse_day(params["to"], "to")
            es = es_client(settings.elasticsearch)
            prepare(es, settings)
            todo, done = plan(es, settings, config, start, end, params.get("sources") or ())
        except ConfigError as exc:  # retrying cannot fix a bad range or config
            raise AirflowFailException(str(exc)) from exc
        per_task = params.get("partitions_per_task") or config.partitions_per_task
        groups = group_partitions(todo, per_task, config.max_tasks)
        log.info("backfill %s..%s: %d partition(s) to run in %d task(s), %d already done",
                 start, end, len(todo), len(groups), done)
        return [
            {
                "label": f"{group[0][0]} {group[0][1]}..{group[-1][1]}" if group[0][0] == group[-1][0]
                else f"{group[0][0]} {group[0][1]}..{group[-1][0]} {group[-1][1]}",
                "partitions": [[name, day.isoformat()] for name, day in group],
            }
            for group in groups
        ]

    @task(map_index_template="{{ task.op_kwargs['group']['label'] }}", pool=_pool())
    def backfill(group: dict[str, Any], run_id: str | None = None) -> list[dict[str, Any]]:
        from datetime import date

        from pipeline.backfill.jobs import run_partitions
        from pipeline.backfill.sources import load_backfill_config
        from pipeline.index.client import es_client

        settings = _settings()
        config = load_backfill_config(settings)
        partitions = [(name, date.fromisoformat(day)) for name, day in group["partitions"]]
        reports = run_partitions(es_client(settings.elasticsearch), settings, config, partitions,
                                 run_id=run_id or "airflow")
        return [r.summary() for r in reports]

    @task(trigger_rule="none_failed")
    def summarize(results: list[list[dict[str, Any]]] | None) -> dict[str, int]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.backfill.run import totals

        reports = [report for group in (results or []) for report in group]
        for r in reports:
            log.info("partition %s: %s, %d listed, %d already indexed, %d fetched, %d created, %d updated, "
                     "%d unchanged, %d kept newer, %d failures", r["partition"], r["status"], r["candidates"],
                     r["skipped_seen"], r["fetched"], r["created"], r["updated"], r["unchanged"], r["kept_newer"],
                     r["failed"])
            for failure in r["failures"]:
                log.warning("partition %s: %s %s: %s", r["partition"], failure["stage"], failure["url"],
                            failure["reason"])
        result = totals(reports)
        log.info("news_backfill totals: %s", result)
        failed = [r for r in reports if r["status"] == "failed"]
        if failed:
            raise AirflowFailException(
                f"{len(failed)} partition(s) failed ({', '.join(r['partition'] for r in failed[:10])}); "
                "trigger news_backfill again with the same range to redo only those"
            )
        return result

    summarize(backfill.expand(group=list_partitions()))


news_backfill()
