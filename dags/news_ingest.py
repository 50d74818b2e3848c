"""news_ingest: poll the configured feeds, clean their articles, index them into Elasticsearch.

- ``prepare_index``: index template, auxiliary indices, the read alias.
- ``list_feeds``: the run plan: every feed (``schedule.mode: nightly``), or only the feeds that
  are due (``streaming``), packed into at most ``ingest.max_feed_groups`` groups; all feeds of
  one site share a group, so the pipeline's per-host limiter keeps that site's politeness. The
  streaming loop (``schedule.streaming_run_s`` > 0): every feed, in ``schedule.streaming_tasks``
  groups; a run starts every ``streaming_run_s`` and its loop overlaps the next run's start.
- ``ingest_group``: one mapped task per group (in the Airflow pool ``ingest.pool``); a feed's
  failure never fails the other feeds. In the streaming loop each task polls its feeds as they
  fall due for ``streaming_run_s + streaming_overlap_s`` seconds (pipeline.run.streamloop).
- ``summarize``: logs the run summary (per stage, per feed) and writes it to ``<alias>-runs``.
- ``announce_articles``: emits the asset named after the read alias (``news-articles``) when
  articles were created or updated (skipped otherwise), so DAGs with
  ``schedule=[Asset.ref(name="news-articles")]`` run on fresh data only.

Thin by design: each task calls one entry point of the ``pipeline`` library. At parse time the
file only reads the small config (schedule, pool, alias); XComs carry feed configs, ids and
counts, never article bodies.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task

from pipeline.config import load_settings

log = logging.getLogger(__name__)
_CONFIG = load_settings()
ES_CONNECTION_ID = "news_es"
# Named after the read alias the articles are searched through, so another alias (another
# deployment, a test) is another asset: Airflow activates an asset only while its name and URI
# are both unique, and refuses to run a task whose outlet is inactive. "x-" scheme: a custom URI
# Airflow does not normalise (no provider lookup at parse time); host part: the Airflow connection.
NEWS_ARTICLES = Asset(
    name=_CONFIG.elasticsearch.index_alias,
    uri=f"x-elasticsearch://{ES_CONNECTION_ID}/{_CONFIG.elasticsearch.index_alias}",
)


def _settings() -> Any:
    """Settings with the Elasticsearch endpoint of the Airflow connection ``news_es`` when one is
    defined (pipeline.airflow_settings), else from config and NEWS_ES_* variables."""
    from pipeline.airflow_settings import airflow_settings

    return airflow_settings(ES_CONNECTION_ID)


@dag(
    dag_id="news_ingest",
    # nightly: schedule.cron; streaming: streaming_cron, or every streaming_run_s for the streaming
    # loop, whose runs overlap by streaming_overlap_s (two active runs; leases keep them apart)
    schedule=_CONFIG.schedule.dag_schedule,
    start_date=pendulum.datetime(2026, 1, 1, tz=_CONFIG.schedule.timezone),
    catchup=False,
    max_active_runs=_CONFIG.schedule.max_active_runs,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
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
    def list_feeds(ti: Any = None) -> list[dict[str, Any]]:
        """Returns the groups to map over; the rest of the plan goes to the XCom key "plan"."""
        from pipeline.index.client import es_client
        from pipeline.run.plan import plan_run

        settings = _settings()
        streaming = settings.schedule.mode == "streaming"
        plan = plan_run(settings, es=es_client(settings.elasticsearch) if streaming else None)
        groups = plan.pop("groups")
        log.info(
            "%s run: %d of %d feeds in %d groups; not due: %s", plan["mode"],
            sum(len(g["feeds"]) for g in groups), plan["feeds_configured"], len(groups),
            ", ".join(plan["not_due"]) or "none",
        )
        ti.xcom_push(key="plan", value={**plan, "groups": len(groups)})
        return groups

    @task(pool=_CONFIG.ingest.pool, map_index_template="{{ task.op_kwargs['group']['label'] }}")
    def ingest_group(group: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
        from pipeline.config import FeedConfig
        from pipeline.run.group import ingest_group as run_group

        feeds = [FeedConfig.from_dict(feed) for feed in group["feeds"]]
        settings = _settings()
        if settings.schedule.streaming_loop:  # poll the group's feeds as they fall due, for streaming_run_s
            from pipeline.run.streamloop import stream_group

            run_for_s = settings.schedule.streaming_run_s + settings.schedule.streaming_overlap_s
            result = stream_group(feeds, settings, run_id or "airflow", run_for_s=run_for_s)
            return {"group": group["index"], **result}
        return {"group": group["index"], **run_group(feeds, settings, run_id or "airflow")}

    # none_failed: a streaming run with no due feed maps zero ingest tasks (skipped); the run is
    # still summarised.
    @task(trigger_rule="none_failed")
    def summarize(plan: dict[str, Any], results: list[dict[str, Any]], run_id: str | None = None) -> dict[str, Any]:
        from pipeline.index.client import es_client
        from pipeline.index.runlog import write_run_summary
        from pipeline.run.summary import log_summary, run_failure, summarize_run

        settings = _settings()
        # one slice request (iterating would probe index after index until one is missing)
        summary = summarize_run(run_id or "airflow", plan, results[:])
        log_summary(summary, log)
        write_run_summary(es_client(settings.elasticsearch), settings.elasticsearch.index_alias, summary)
        if reason := run_failure(summary):
            raise RuntimeError(f"{reason}: the run summary is in the runs index and the log above")
        return {key: value for key, value in summary.items() if key not in ("feeds", "not_due")}

    @task(outlets=[NEWS_ARTICLES])
    def announce_articles(summary: dict[str, Any], outlet_events: Any = None) -> None:
        from airflow.sdk.exceptions import AirflowSkipException

        created, updated = summary["totals"]["created"], summary["totals"]["updated"]
        if not created and not updated:
            raise AirflowSkipException("no article created or updated: no asset event")
        outlet_events[NEWS_ARTICLES].extra = {"run_id": summary["run_id"], "created": created, "updated": updated}

    groups = list_feeds()
    results = ingest_group.expand(group=groups)
    # the plan needs no index (streaming reads poll schedules with ignore_unavailable): both run at
    # once, and the ingest tasks wait for the two
    prepare_index() >> results
    announce_articles(summarize(groups["plan"], results))


news_ingest()
