"""The news_backfill DAG, parsed by Airflow and run in-process with dag.test() against the real
local Elasticsearch and a real sample site: three archive days from archive pages, a sitemap
index and a WARC file; a partition failed by an injected 500, then a second run that redoes only
that partition."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pipeline.backfill import state
from pipeline.index.names import runlog_index
from pipeline.samplesite import SampleSite
from pipeline.samplesite.archive import day_entries, day_page_path
from tests.backfill_helpers import (
    DAYS,
    FROM,
    TO,
    archive_source,
    backfill_config,
    sitemap_source,
    warc_source,
    write_warc,
)
from tests.conftest import ROOT


@pytest.fixture
def site() -> Iterator[SampleSite]:
    with SampleSite() as running:
        yield running


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(str(ROOT / "dags"))
    assert bag.import_errors == {}
    print(f"DagBag parse of dags/: {time.perf_counter() - started:.2f}s")
    return bag.get_dag("news_backfill")


def test_backfill_dag_shape(airflow_db) -> None:
    dag = _dag()
    assert {t.task_id for t in dag.tasks} == {"list_partitions", "backfill", "summarize"}
    assert dag.schedule is None or str(dag.timetable.summary) == "None"
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert set(dag.params) == {"from", "to", "sources", "partitions_per_task"}


def _partitions(run) -> dict[str, dict]:
    groups = run.get_task_instance("summarize").xcom_pull(task_ids="backfill", map_indexes=None)
    return {report["partition"]: report for group in groups for report in group}


def test_dag_backfills_three_days_fails_one_partition_and_resumes(
    es, es_url, alias, site, airflow_db, tmp_path, monkeypatch
) -> None:
    from airflow.utils.state import DagRunState

    write_warc(tmp_path / "news.warc.gz")
    config_dir = backfill_config(
        tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url, partitions_per_task=2,
        sources=[archive_source(site.base_url), sitemap_source(site.base_url), warc_source(tmp_path / "news.warc.gz")],
    )
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(config_dir))
    dag = _dag()
    site.fail_next(day_page_path(DAYS[1]))  # the archive's second day page answers 500 once

    first = dag.test(run_conf={"from": FROM, "to": TO})
    assert first.state == DagRunState.FAILED  # summarize fails the run: one partition failed
    groups = first.get_task_instance("list_partitions").xcom_pull(task_ids="list_partitions")
    assert [len(g["partitions"]) for g in groups] == [2, 2, 2, 2, 1]  # 9 partitions, 2 per task
    parts = _partitions(first)
    assert len(parts) == 9
    assert {p: r["status"] for p, r in parts.items() if r["status"] != "done"} == {f"archive:{DAYS[1]}": "failed"}
    # archive pages and sitemap list the same URLs (same ids): whichever partition of a day runs
    # first (mapped tasks run in any order) creates them, the other finds them indexed
    for day in DAYS:
        listed = len(day_entries(day))
        archive, sitemap = parts[f"archive:{day}"], parts[f"sitemap:{day}"]
        assert sitemap["candidates"] == listed and sitemap["created"] + sitemap["skipped_seen"] == listed
        assert archive["created"] + sitemap["created"] == listed
        assert parts[f"warc:{day}"]["created"] == 2
    failed = parts[f"archive:{DAYS[1]}"]
    assert failed["candidates"] == 0 and failed["created"] == 0 and "HTTP 500" in failed["error"]
    es.indices.refresh(index=runlog_index(alias))
    logged = es.search(index=runlog_index(alias), size=50,
                       query={"bool": {"filter": [{"term": {"kind": "backfill"}}, {"term": {"run_id": first.run_id}}]}})
    assert {h["_source"]["partition"]: h["_source"]["created"] for h in logged["hits"]["hits"]} == \
        {p: r["created"] for p, r in parts.items()}
    hits_before = {d: site.hits(day_page_path(d)) for d in DAYS}
    articles_before = {d: sum(site.hits(e.path) for e in day_entries(d)) for d in DAYS}
    sitemap_before = site.hits("/sitemap.xml")

    second = dag.test(run_conf={"from": FROM, "to": TO})
    assert second.state == DagRunState.SUCCESS
    parts = _partitions(second)
    assert list(parts) == [f"archive:{DAYS[1]}"]
    redo = parts[f"archive:{DAYS[1]}"]
    assert (redo["status"], redo["attempts"], redo["candidates"], redo["skipped_seen"], redo["created"]) == \
        ("done", 2, 3, 3, 0)
    # only the failed partition's day page was requested again; no article page, no sitemap
    assert {d: site.hits(day_page_path(d)) for d in DAYS} == {**hits_before, DAYS[1]: hits_before[DAYS[1]] + 1}
    assert {d: sum(site.hits(e.path) for e in day_entries(d)) for d in DAYS} == articles_before
    assert site.hits("/sitemap.xml") == sitemap_before
    states = state.load_states(es, alias, [f"{s}:{d}" for s in ("archive", "sitemap", "warc") for d in DAYS])
    assert {doc["status"] for doc in states.values()} == {"done"}
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 12 + 6

    # a third run has nothing left to do: no task is mapped, the summary still runs, nothing is fetched
    requests = site.hits()
    third = dag.test(run_conf={"from": FROM, "to": TO})
    assert third.state == DagRunState.SUCCESS
    assert third.get_task_instance("list_partitions").xcom_pull(task_ids="list_partitions") == []
    summary = third.get_task_instance("summarize")
    assert summary.state == "success" and summary.xcom_pull(task_ids="summarize")["created"] == 0
    assert site.hits() == requests
    assert es.count(index=alias)["count"] == 12 + 6
