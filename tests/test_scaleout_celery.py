"""Scale-out for real: news_ingest triggered through the REST API of Airflow with the
CeleryExecutor on PostgreSQL and Redis, two Celery workers, the two-node cluster with one replica.

Everything runs on 127.0.0.1 from temporary directories (pipeline/scaleout): PostgreSQL (its own
initdb), Redis, the API server, scheduler, dag-processor and workers ``news-worker-1`` and ``-2``,
with the settings docker-compose.yml gives the same services (config/scaleout.env). The bench site
(4 hosts, 16 feeds, every feed its own ``site``, so every ingest task fetches from every host) logs
the requests it receives. The run must succeed, its ingest tasks run on both workers, its index
equal a single-process run's (same ids, same content hashes) and no two requests to one host come
closer than the configured interval (less a lag of the first requests, see JITTER_S) while both
workers ran. A worker killed mid-run is measured by
bench/scaleout_celery.py (it adds a heartbeat timeout and a retry delay, about two minutes).
4-5 minutes on 2 cores (load average 2-7; 9.5 at 10-13), about half of it starting the services
while the two-node cluster fixture starts its nodes.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.scaleout_celery import (
    SiteProcess,
    check,
    reference_run,
    snapshot,
    triggered_run,
    write_config,
)
from pipeline.scaleout.settings import ENV_FILE, read_env_file
from tests.conftest import ROOT
from tests.test_scaleout import CLUSTER_HTTP_PORT, cluster, cluster_es  # noqa: F401 - the two-node cluster fixtures

PAGES = 32
# per_host_min_interval_s, and how much closer than that two requests to one host may reach the
# site. The limiter spaces the reserved starts (pipeline/fetch/sharedlimit.py); a request is sent after
# its reserved start, late by what the process does in between: a few ms, but up to 0.24 s for the
# first request of task processes that start together on 2 cores (cold client, imports; measured
# robots.txt requests 0.262 s apart with a 0.5 s interval, none later in the run). Two workers that
# did not share the reservations would send their first requests to a host within milliseconds.
INTERVAL_S, JITTER_S = 0.5, 0.25
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "airflow-cli", "flower")


def test_compose_and_launcher_take_the_airflow_settings_from_one_file(tmp_path: Path) -> None:
    from pipeline.scaleout import CeleryStack

    shared = read_env_file()
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" and "NEWS_FETCH_POOL_SLOTS" in shared
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    env_file = ENV_FILE.relative_to(ROOT).as_posix()
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        files = service.get("env_file")
        files = [files] if isinstance(files, str) else [f if isinstance(f, str) else f["path"] for f in files or []]
        assert env_file in files, f"{name} does not read {env_file}"
        # compose's `environment:` wins over env_file: a key set in both would drift silently
        overridden = sorted(set(service.get("environment") or {}) & set(shared))
        assert not overridden, f"{name} sets {overridden} itself; they belong in {env_file} only"
    environ = CeleryStack(tmp_path, ROOT / "config").environ()
    assert {k: environ[k] for k in shared} == shared


def test_env_file_refuses_what_compose_would_read_differently(tmp_path: Path) -> None:
    for line in ('A="quoted"', "A=$HOME", "not a pair", "A=1\nA=2"):
        (tmp_path / "x.env").write_text(line + "\n")
        with pytest.raises(ValueError):
            read_env_file(tmp_path / "x.env")
    (tmp_path / "x.env").write_text("# comment\n\nA_B=c.d:e\n")
    assert read_env_file(tmp_path / "x.env") == {"A_B": "c.d:e"}


class Background:
    """The site, the Celery stack and the single-process reference run, started in threads before
    the cluster fixture starts the two nodes, so the services start while the nodes do."""

    def __init__(self, es_url: str) -> None:
        from pipeline.scaleout import CeleryStack

        # not pytest's tmp_path: PostgreSQL runs as its own user, which needs o+x on every parent,
        # and any later pytest session on the machine resets /tmp/pytest-of-<user> to 0700
        self.work = Path(tempfile.mkdtemp(prefix="news-scaleout-celery-test-"))
        self.alias = f"test-celery-{uuid.uuid4().hex[:8]}"
        self.request_log = self.work / "requests.log"
        self.site = SiteProcess(PAGES, 4, 4, self.request_log)  # 4 feeds per host: every group has every host
        cluster_url = f"http://127.0.0.1:{CLUSTER_HTTP_PORT}"  # the cluster fixture's first node
        self.stack = CeleryStack(self.work / "stack", write_config(
            self.work / "cluster", es_url=cluster_url, alias=self.alias, feeds=self.site.feeds(), groups=4,
            replicas=1, interval_s=INTERVAL_S))
        reference_dir = write_config(self.work / "single", es_url=es_url, alias=self.alias, feeds=self.site.feeds(),
                                     groups=4, replicas=0, interval_s=INTERVAL_S)
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._guard, args=(self.stack.start,)),
            threading.Thread(target=self._guard, args=(reference_run, reference_dir, self.work / "reference.log")),
        ]
        for thread in self.threads:
            thread.start()

    def _guard(self, func: Any, *args: Any) -> None:
        try:
            func(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
            self.failures.append(exc)

    def wait(self) -> None:
        for thread in self.threads:
            thread.join()
        if self.failures:
            raise self.failures[0]

    def stop(self) -> None:
        for thread in self.threads:
            thread.join()
        self.stack.stop()
        self.site.stop()


@pytest.fixture(scope="module")
def background(es_url: str, es: Any) -> Iterator[Background]:
    started = Background(es_url)
    try:
        yield started
    finally:
        started.stop()
        es.indices.delete(index=f"{started.alias}-*", ignore_unavailable=True, allow_no_indices=True)
        templates = es.options(ignore_status=404).indices.get_index_template(name=f"{started.alias}-v*")
        for template in templates.get("index_templates", []):
            es.indices.delete_index_template(name=template["name"])


def test_triggered_run_on_two_celery_workers_matches_single_process_run(
    es, background, cluster, cluster_es  # noqa: F811 - fixtures imported above; background before cluster
) -> None:
    work, alias, stack = background.work, background.alias, background.stack
    background.wait()
    expected = snapshot(es, alias)
    assert len(expected) == PAGES
    stack.api.patch("/api/v2/dags/news_ingest", {"is_paused": False})
    try:
        result = triggered_run("two workers", stack, cluster_es, alias, expected, background.request_log,
                               timeout=420)
    finally:
        background.stop()
    kept = f"logs in {work}"  # kept when the test fails
    tries = [(t.map_index, t.try_number, t.state, t.hostname) for t in result.tries]
    assert result.state == "success", f"run {result.run_id}: ingest tries {tries}; {kept}"
    # the four mapped ingest tasks ran on both workers, named by the task instances' hostname
    assert set(result.hosts) == {"news-worker-1", "news-worker-2"}, tries
    assert sum(result.hosts.values()) == 4, tries
    # nothing lost, nothing duplicated, nothing different: the single-process run's ids and hashes
    assert result.equality == {"reference": PAGES, "result": PAGES, "missing": [], "extra": [], "hash_differs": []}
    # every host was fetched by both workers at once; the starts reserved in Elasticsearch kept the
    # interval (without the shared reservation two workers' requests to one host arrive together)
    assert result.window is not None, tries
    assert result.polite["requests"] > 0 and len(result.polite["hosts"]) == 4, result.polite
    assert result.polite["min_gap_s"] >= INTERVAL_S - JITTER_S, result.polite
    assert check(result, workers=2, interval_s=INTERVAL_S, tolerance_s=JITTER_S) == []
    # the run's indices have their replicas on the other node
    cluster.wait_for("green", indices=f"{alias}*", timeout=60)
    cluster_es.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
    shutil.rmtree(work, ignore_errors=True)
