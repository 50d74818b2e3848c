"""Streaming mode under the real Airflow scheduler: an entry added to a feed becomes searchable on
its own, without a manual trigger (issue 20, "Freshness").

Airflow is started as `make airflow` starts it (tests/test_airflow_ui.py's launcher: scheduler, DAG
processor, triggerer, API server, LocalExecutor, the pool), with a config in streaming mode with
the streaming loop (``schedule.streaming_run_s``: a run every 90 s whose ingest task re-plans
itself, overlapping the next run's start by ``streaming_overlap_s``). The DAG is unpaused and never triggered. The feed is a real local feed
(tests/livefeed.py) on 127.0.0.1, allowed explicitly in its ``allow_networks``; its entries link to
pages of the sample site. Measured on this machine: about 2.5 minutes at a load average of 3.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from pipeline.article import doc_id_for
from pipeline.fetch.urls import canonicalize
from pipeline.samplesite.articles import load_articles
from tests.conftest import write_config
from tests.livefeed import LiveFeedServer
from tests.test_airflow_ui import Standalone, running_standalone

FIRST_RUN_TIMEOUT_S = 240  # unpause -> the first entry searchable (the first run's start-up on a busy machine)
FRESH_S = 60  # the target: a new entry searchable within a minute
SLACK_S = 30  # a loaded 2-core machine (the bench measures the real distribution)


@pytest.fixture
def streaming_airflow(tmp_path: Path, es_url: str, sample_site: str, alias: str) -> Iterator[tuple[Standalone, LiveFeedServer]]:

    with LiveFeedServer() as feed:
        feeds = [{"name": "live", "url": feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"],
                  "min_interval_s": 5}]
        config_dir = write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=feeds)
        main = yaml.safe_load((config_dir / "pipeline.yaml").read_text())
        main["schedule"] = {"mode": "streaming", "streaming_run_s": 90, "streaming_overlap_s": 15, "streaming_tasks": 1,
                            "min_interval_s": 5, "max_interval_s": 3600, "quiet_backoff_share": 0.1}
        (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main))
        with running_standalone(tmp_path, config_dir) as server:
            yield server, feed


def _searchable(es, alias: str, link: str) -> bool:
    from elasticsearch import ApiError

    try:
        hits = es.options(retry_on_status=()).search(
            index=alias, query={"ids": {"values": [doc_id_for(canonicalize(link))]}},
            ignore_unavailable=True, allow_no_indices=True)["hits"]["hits"]
    except ApiError as exc:  # 503 while prepare_index has just created the index and its shard starts
        if exc.meta.status != 503:
            raise
        return False
    return bool(hits)


def _wait_searchable(es, alias: str, link: str, timeout: float, standalone: Standalone) -> float:
    start = time.monotonic()
    while not _searchable(es, alias, link):
        assert time.monotonic() - start < timeout, (
            f"{link} not searchable after {timeout:.0f} s; the logs end:\n{standalone._log_tail()}")
        time.sleep(0.5)
    return time.monotonic() - start


def test_a_new_entry_becomes_searchable_without_a_trigger(streaming_airflow, es, alias, sample_site) -> None:
    standalone, feed = streaming_airflow
    pages = [sample_site + a.path for a in load_articles()]
    feed.update(links=pages[:1])
    standalone.start()
    user, password = next(iter(json.loads(
        (standalone.home / "simple_auth_manager_passwords.json.generated").read_text()).items()))
    with httpx.Client(base_url=standalone.url, timeout=30) as api:
        token = api.post("/auth/token", json={"username": user, "password": password}).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        dag = api.get("/api/v2/dags/news_ingest").json()
        assert (dag["timetable_summary"], dag["max_active_runs"]) == ("0:01:30", 2)  # a run every streaming_run_s
        assert api.patch("/api/v2/dags/news_ingest", json={"is_paused": False}).json()["is_paused"] is False

        _wait_searchable(es, alias, pages[0], FIRST_RUN_TIMEOUT_S, standalone)  # the first run polls it
        polls_before = feed.feed.polls
        feed.update(links=pages[:2])  # a new entry: nobody triggers anything
        waited = _wait_searchable(es, alias, pages[1], FRESH_S + SLACK_S, standalone)
        print(f"new entry searchable after {waited:.1f} s ({feed.feed.polls - polls_before} polls meanwhile)")

        runs = api.get("/api/v2/dags/news_ingest/dagRuns").json()["dag_runs"]
        assert runs and {r["run_type"] for r in runs} == {"scheduled"}  # no manual trigger, no backfill
    # never more often than the feed's floor (5 s; due times are kept to the second)
    polls = feed.poll_times
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert not gaps or min(gaps) >= 5 - 1.0, gaps
