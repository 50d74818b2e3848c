"""The news_ingest DAG, parsed by Airflow and run in-process with dag.test() against the real
local Elasticsearch and the real sample site."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, sample_feeds, write_config


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(ROOT / "dags"))


def test_dag_files_import_without_errors(airflow_db) -> None:
    started = time.perf_counter()
    bag = _dagbag()
    elapsed = time.perf_counter() - started
    assert bag.import_errors == {}
    assert "news_ingest" in bag.dag_ids
    dag = bag.get_dag("news_ingest")
    assert {t.task_id for t in dag.tasks} == {"prepare_index", "list_feeds", "ingest", "summarize"}
    assert dag.max_active_runs == 1 and dag.catchup is False
    print(f"DagBag parse of dags/: {elapsed:.2f}s")


def _run(dag, monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> dict:
    from airflow.models.xcom import XComModel  # noqa: F401  (imported for its side effect of mapping)
    from airflow.utils.state import DagRunState

    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    summary = run.get_task_instance("summarize").xcom_pull(task_ids="summarize")
    reports = run.get_task_instance("summarize").xcom_pull(task_ids="ingest", map_indexes=None)
    return {"summary": summary, "reports": list(reports)}


def test_dag_run_indexes_samples_reports_bad_feeds_and_is_idempotent(
    es, es_url, sample_site, alias, airflow_db, tmp_path, monkeypatch
) -> None:
    config_dir = write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=sample_feeds(sample_site))
    dag = _dagbag().get_dag("news_ingest")

    first = _run(dag, monkeypatch, config_dir)
    assert es.count(index=alias)["count"] == 5
    assert first["summary"]["created"] == 5

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

    hits = es.search(index=alias, query={"match": {"body": "Tokajew"}}, size=10)["hits"]["hits"]
    assert len(hits) == 5
    assert {h["_source"]["lang"] for h in hits} == {"de"}

    ids_before = {h["_id"] for h in hits}
    second = _run(dag, monkeypatch, config_dir)
    assert es.count(index=alias)["count"] == 5
    # conditional GET answers 304 for the unchanged feeds, and no article page is fetched again
    assert second["summary"]["created"] == 0 and second["summary"]["updated"] == 0
    # no page is fetched again; only the 404 page is tried again (a feed with a failed page keeps
    # no validators, so it is read in full while its good entry is skipped as already indexed)
    assert second["summary"]["fetched"] == 0
    again = {r["feed"]: r for r in second["reports"]}["broken-links"]
    assert again["skipped_seen"] == 1 and [f["reason"] for f in again["failures"]] == ["HTTP 404"]
    assert {r["feed"]: r["not_modified"] for r in second["reports"]}["rss"] is True
    hits = es.search(index=alias, query={"match": {"body": "Tokajew"}}, size=10)["hits"]["hits"]
    assert {h["_id"] for h in hits} == ids_before
