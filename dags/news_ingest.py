"""news_ingest: poll every configured feed, clean its articles, index them into Elasticsearch.

Thin by design: each task calls one entry point of the ``pipeline`` library. At parse time the
file only reads the small config (for the schedule); XComs carry feed configs and counts, never
article bodies.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

from pipeline.config import load_settings

log = logging.getLogger(__name__)
_SCHEDULE = load_settings().schedule
ES_CONNECTION_ID = "news_es"


def _settings() -> Any:
    """Settings with the Elasticsearch connection taken from the Airflow connection ``news_es``
    (e.g. AIRFLOW_CONN_NEWS_ES) when one is defined, else from config and NEWS_ES_* variables."""
    from dataclasses import replace

    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    settings = load_settings()
    try:
        conn = BaseHook.get_connection(ES_CONNECTION_ID)
    except AirflowNotFoundException:  # not defined: config and environment decide
        return settings
    scheme = conn.schema or (conn.conn_type if conn.conn_type in ("http", "https") else "http")
    es = replace(
        settings.elasticsearch,
        url=f"{scheme}://{conn.host}:{conn.port or 9200}",
        username=conn.login or None,
        password=conn.password or None,
        api_key=(conn.extra_dejson or {}).get("api_key") or settings.elasticsearch.api_key,
    )
    return replace(settings, elasticsearch=es)


@dag(
    dag_id="news_ingest",
    schedule=_SCHEDULE.cron,
    start_date=pendulum.datetime(2026, 1, 1, tz=_SCHEDULE.timezone),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["news"],
    doc_md=__doc__,
)
def news_ingest() -> None:
    @task
    def prepare_index() -> bool:
        from pipeline.index.client import es_client
        from pipeline.index.template import ensure_index

        settings = _settings()
        return ensure_index(es_client(settings.elasticsearch), settings.elasticsearch)

    @task
    def list_feeds() -> list[dict[str, Any]]:
        return [feed.to_dict() for feed in load_settings().feeds]

    @task(map_index_template="{{ task.op_kwargs['feed']['name'] }}")
    def ingest(feed: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        from pipeline.config import FeedConfig
        from pipeline.ingest import ingest_feed

        report = ingest_feed(FeedConfig.from_dict(feed), _settings(), run_id=run_id or "airflow")
        return report.to_dict()

    @task
    def summarize(reports: list[dict[str, Any]]) -> dict[str, int]:
        keys = ("entries", "skipped_seen", "fetched", "extracted", "created", "updated", "unchanged", "failures")
        totals = dict.fromkeys(keys, 0)
        for report in reports:
            for key in totals:
                totals[key] += len(report["failures"]) if key == "failures" else report[key]
            for failure in report["failures"]:
                log.warning("feed %s: %s %s: %s", report["feed"], failure["stage"], failure["url"], failure["reason"])
        log.info("news_ingest totals: %s", totals)
        return totals

    reports = ingest.expand(feed=list_feeds())
    prepare_index() >> reports
    summarize(reports)


news_ingest()
