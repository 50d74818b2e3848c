"""The news_ingest DAG, parsed by Airflow and run in-process with dag.test() against the real
local Elasticsearch and the real sample site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, sample_feeds, write_config

INGEST_TASKS = {"prepare_index", "list_feeds", "ingest_group", "summarize", "announce_articles"}
# Run in a fresh interpreter, so the figure is the parse cost a DAG processor pays (Airflow itself
# already imported), and so the modules the DAG file pulls in at import time can be listed.
_PARSE_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
started = time.perf_counter()
bag = DagBag(sys.argv[1])
elapsed_ms = (time.perf_counter() - started) * 1000
heavy = ("pipeline.run.ingest", "elasticsearch", "trafilatura", "spacy", "feedparser", "httpx")
print(json.dumps({
    "ms": elapsed_ms,
    "files": {s.file: s.duration.total_seconds() * 1000 for s in bag.dagbag_stats},
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "heavy_imported": sorted(m for m in set(sys.modules) - before if m.split(".")[0] in heavy or m in heavy),
}))
"""


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(ROOT / "dags"))


def test_dag_files_import_without_errors_and_parse_fast(airflow_db, record_property) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(ROOT / "dags")],
        check=True, capture_output=True, text=True, env=os.environ.copy(),
    )
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert "news_ingest" in result["dag_ids"]
    # nothing heavy at import time: the DAG file reads config; tasks import the pipeline
    assert result["heavy_imported"] == []
    record_property("dagbag_parse_ms", round(result["ms"], 1))
    print(f"DagBag parse of dags/: {result['ms']:.0f} ms total; per file (ms): {result['files']}")
    assert result["ms"] < 20_000  # generous: a parse this slow would stall the DAG processor

    dag = _dagbag().get_dag("news_ingest")
    assert {t.task_id for t in dag.tasks} == INGEST_TASKS
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.get_task("ingest_group").pool == "news_fetch"  # config/pipeline.yaml ingest.pool
    # the index and the plan are prepared side by side; ingestion waits for both
    assert dag.get_task("list_feeds").upstream_task_ids == set()
    assert dag.get_task("prepare_index").upstream_task_ids == set()
    assert dag.get_task("ingest_group").upstream_task_ids == {"prepare_index", "list_feeds"}
    [asset] = dag.get_task("announce_articles").outlets
    assert (asset.name, asset.uri) == ("news-articles", "x-elasticsearch://news_es/news-articles")


# what the tasks other than ingest_group import (dags/news_ingest.py): each runs in a fresh task
# process, so an import of the ingestion stack there (spaCy alone is about a second) is paid per run
_LIGHT_TASK_IMPORTS = (
    "pipeline.airflow_settings", "pipeline.index.client", "pipeline.index.template", "pipeline.run.plan",
    "pipeline.index.runlog", "pipeline.run.summary",
)


def test_tasks_around_ingestion_do_not_import_the_ingestion_stack() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {_LIGHT_TASK_IMPORTS!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'trafilatura', 'thinc')"
        " or m in ('pipeline.run.ingest', 'pipeline.run.group', 'pipeline.enrich'))))"
    )
    probe = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=ROOT)
    assert json.loads(probe.stdout) == []


def test_schedule_follows_the_configured_mode(airflow_db, tmp_path, monkeypatch) -> None:
    # the repository's config: streaming runs the streaming loop (streaming_run_s > 0): a run every
    # 5 minutes, two at once while one's loop overlaps the next one's start
    monkeypatch.setenv("NEWS_SCHEDULE_MODE", "streaming")
    dag = _dagbag().get_dag("news_ingest")
    assert dag.timetable.delta == timedelta(minutes=5) and dag.max_active_runs == 2
    monkeypatch.setenv("NEWS_SCHEDULE_MODE", "nightly")
    dag = _dagbag().get_dag("news_ingest")
    assert dag.timetable.expression == "0 2 * * *" and dag.max_active_runs == 1
    # streaming_run_s: 0, one pass per streaming_cron run
    config_dir = write_config(tmp_path / "config", es_url="http://127.0.0.1:9", alias="a", feeds=[])
    main = yaml.safe_load((config_dir / "pipeline.yaml").read_text(encoding="utf-8"))
    main["schedule"] = {"mode": "streaming", "streaming_run_s": 0}
    (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("NEWS_SCHEDULE_MODE", "streaming")
    dag = _dagbag().get_dag("news_ingest")
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("*/5 * * * *", "Europe/Berlin")


def _run(dag, monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> dict:
    from airflow.utils.state import DagRunState

    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    ti = run.get_task_instance("summarize")
    summary = ti.xcom_pull(task_ids="summarize")
    groups = ti.xcom_pull(task_ids="ingest_group", map_indexes=None) or []
    if isinstance(groups, dict):  # one mapped task: Airflow hands back the value itself
        groups = [groups]
    reports = [feed for group in groups for feed in group["feeds"]]
    states = {t.task_id: t.state for t in run.get_task_instances()}
    return {"run": run, "summary": summary, "reports": reports, "groups": groups, "states": states}


def _asset_events(name: str, run_id: str) -> list:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == name, AssetEvent.source_run_id == run_id)
        ).all()
        return [(e.source_dag_id, e.source_task_id, dict(e.extra)) for e in rows]


def _summary_doc(es, alias: str, run_id: str) -> dict:
    es.indices.refresh(index=f"{alias}-runs")
    return es.get(index=f"{alias}-runs", id=f"summary:{run_id}")["_source"]


def test_dag_run_indexes_samples_reports_bad_feeds_and_is_idempotent(
    es, es_url, sample_site, alias, airflow_db, tmp_path, monkeypatch
) -> None:
    from airflow.models.pool import Pool

    config_dir = write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=sample_feeds(sample_site))
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))  # parsed with the deployed config (asset URI)
    dag = _dagbag().get_dag("news_ingest")
    [asset] = dag.get_task("announce_articles").outlets
    assert (asset.name, asset.uri) == (alias, f"x-elasticsearch://news_es/{alias}")
    # The pool is not created in the test DB: dag.test() runs tasks without the scheduler's pool
    # check (a scheduler would leave them queued; docs/airflow.md: "The DAG").
    assert Pool.get_pool("news_fetch") is None

    first = _run(dag, monkeypatch, config_dir)
    assert es.count(index=alias)["count"] == 5
    assert first["summary"]["totals"]["created"] == 5
    # all six feeds are on one host (127.0.0.1): one group, one task, one per-host limiter
    assert len(first["groups"]) == 1 and first["summary"]["groups"] == 1

    by_feed = {r["feed"]: r for r in first["reports"]}
    assert set(by_feed) == {"rss", "atom", "http-500", "slow", "not-xml", "broken-links"}
    reasons = {name: [(f["stage"], f["url"], f["reason"]) for f in r["failures"]] for name, r in by_feed.items()}
    assert reasons["rss"] == [] and reasons["atom"] == []
    assert reasons["http-500"] == [("feed", sample_site + "/faults/500.xml", "HTTP 500")]
    assert reasons["slow"][0][0] == "feed" and "timed out" in reasons["slow"][0][2]
    assert reasons["not-xml"][0][0] == "feed" and "not a valid feed" in reasons["not-xml"][0][2]
    [(stage, url, reason)] = reasons["broken-links"]
    assert (stage, reason) == ("fetch", "HTTP 404") and url.endswith("/articles/does-not-exist.html")
    assert by_feed["broken-links"]["extracted"] + by_feed["broken-links"]["skipped_seen"] == 1  # DWN, maybe seen

    # the run summary: logged, returned (counts only), and one document in <alias>-runs
    doc = _summary_doc(es, alias, first["run"].run_id)
    assert doc["kind"] == "run-summary" and doc["mode"] == "nightly"
    assert doc["totals"] == first["summary"]["totals"]
    assert doc["failures_by_stage"] == {"feed": 3, "fetch": 1, "extract": 0, "index": 0, "internal": 0}
    assert doc["feeds_failed"] == ["http-500", "not-xml", "slow"]
    assert {row["feed"] for row in doc["feeds"]} == set(by_feed)
    assert "feeds" not in first["summary"]  # the XCom stays small
    # ... beside the per-feed documents
    per_feed = es.search(
        index=f"{alias}-runs", size=20,
        query={"bool": {"filter": [{"term": {"run_id": first["run"].run_id}}, {"term": {"kind": "ingest"}}]}},
    )
    assert sorted(h["_source"]["feed"] for h in per_feed["hits"]["hits"]) == sorted(by_feed)

    # fresh articles: one asset event for downstream DAGs
    assert first["states"]["announce_articles"] == "success"
    assert _asset_events(alias, first["run"].run_id) == [
        ("news_ingest", "announce_articles", {"run_id": first["run"].run_id, "created": 5, "updated": 0})
    ]

    hits = es.search(index=alias, query={"match": {"body_de": "Tokajew"}}, size=10)["hits"]["hits"]
    assert len(hits) == 5
    assert {h["_source"]["lang"] for h in hits} == {"de"}

    ids_before = {h["_id"] for h in hits}
    second = _run(dag, monkeypatch, config_dir)
    assert es.count(index=alias)["count"] == 5
    # the same documents, the same failed feeds; nothing new. The 404 page is not tried again: it
    # failed permanently, so it is remembered for a day (pipeline.run.pagefailures) and held back
    # while the feed's good entry is skipped as already indexed (issue 16.5)
    failed_before = {r["feed"]: r["failed"] for r in first["reports"]}
    assert {r["feed"]: r["failed"] for r in second["reports"]} == {**failed_before, "broken-links": 0}
    assert second["summary"]["totals"]["created"] == 0 and second["summary"]["totals"]["updated"] == 0
    assert second["summary"]["failures_by_stage"] == {**first["summary"]["failures_by_stage"], "fetch": 0}
    assert second["summary"]["totals"]["fetched"] == 0
    again = {r["feed"]: r for r in second["reports"]}
    assert again["broken-links"]["skipped_seen"] == 1 and again["broken-links"]["skipped_failed"] == 1
    assert again["broken-links"]["failures"] == []
    assert again["rss"]["not_modified"] is True and again["atom"]["not_modified"] is True
    # nothing new: no asset event (the task is skipped, the run still succeeds)
    assert second["states"]["announce_articles"] == "skipped"
    assert _asset_events(alias, second["run"].run_id) == []
    hits = es.search(index=alias, query={"match": {"body_de": "Tokajew"}}, size=10)["hits"]["hits"]
    assert {h["_id"] for h in hits} == ids_before


def test_streaming_run_polls_only_due_feeds(es, es_url, sample_site, alias, airflow_db, tmp_path, monkeypatch) -> None:
    # Elasticsearch through the Airflow connection news_es: the config's URL is a closed port, so
    # every task that reached the index took the connection's endpoint (docs/airflow.md: "The DAG").
    config_dir = write_config(
        tmp_path / "config", es_url="http://127.0.0.1:9", alias=alias, feeds=sample_feeds(sample_site, "rss", "atom")
    )
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_ES", es_url)
    main = yaml.safe_load((config_dir / "pipeline.yaml").read_text(encoding="utf-8"))
    main["schedule"] = {"mode": "streaming", "min_interval_s": 600, "max_interval_s": 3600}
    (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    dag = _dagbag().get_dag("news_ingest")

    first = _run(dag, monkeypatch, config_dir)  # no schedule yet: every feed is due
    assert {r["feed"] for r in first["reports"]} == {"rss", "atom"}
    assert first["summary"]["mode"] == "streaming" and first["summary"]["totals"]["created"] == 5
    # changed on the first poll: the short interval (min 600 s; the sample site says max-age=300),
    # but never below the RSS feed's <ttl>15</ttl>
    assert {r["feed"]: r["interval_s"] for r in first["reports"]} == {"rss": 900.0, "atom": 600.0}
    es.indices.refresh(index=f"{alias}-feedstate")
    polled = es.search(index=f"{alias}-feedstate", size=10)["hits"]["hits"]
    last_polled = {h["_source"]["feed"]: h["_source"]["last_polled_at"] for h in polled}

    second = _run(dag, monkeypatch, config_dir)  # minutes later: nothing is due
    assert second["reports"] == []
    assert second["states"]["ingest_group"] == "skipped"  # zero mapped tasks
    assert second["summary"]["feeds_polled"] == 0 and second["summary"]["feeds_not_due"] == 2
    assert _summary_doc(es, alias, second["run"].run_id)["not_due"] == ["rss", "atom"]
    assert es.count(index=alias)["count"] == 5
    es.indices.refresh(index=f"{alias}-feedstate")
    polled = es.search(index=f"{alias}-feedstate", size=10)["hits"]["hits"]
    assert {h["_source"]["feed"]: h["_source"]["last_polled_at"] for h in polled} == last_polled
    assert second["states"]["announce_articles"] == "skipped"


def test_a_run_where_every_feed_failed_is_not_green(
    es, es_url, sample_site, alias, airflow_db, tmp_path, monkeypatch
) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState

    config_dir = write_config(tmp_path / "config", es_url=es_url, alias=alias,
                              feeds=sample_feeds(sample_site, "http-500", "not-xml"))
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    run = _dagbag().get_dag("news_ingest").test()
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert run.state == DagRunState.FAILED
    assert states["summarize"] == TaskInstanceState.FAILED
    assert states["ingest_group"] == TaskInstanceState.SUCCESS  # the feeds' failures are reported, not raised
    doc = _summary_doc(es, alias, run.run_id)  # the summary is written before the run is failed
    assert doc["feeds_failed"] == ["http-500", "not-xml"] and doc["feeds_polled"] == 2
