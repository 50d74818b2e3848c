"""`make airflow`: Airflow on a chosen port, a run triggered through the REST API.

Started the way a user starts it (``make airflow AIRFLOW_PORT=N``), with its own AIRFLOW_HOME and
without the venv on PATH (the failure of issue 17: standalone starts its components by name), on a
port other than 8080 (the other failure: tasks reach the execution API through the base URL). The
run is triggered through the public API, not ``airflow dags test``, so the scheduler, the pool,
the LocalExecutor and the task processes all take part. The config schedules news_ingest on
29 February only, so unpausing it creates no run of a missed slot and the triggered run is the
only one (the README: unpausing starts the run of the last missed slot at once).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.airflow_local import free_port, kill_leftovers, stop_session
from tests.conftest import ROOT, sample_feeds, write_config

# generous: migrate (about 45 s) + Airflow's start-up (1-3 minutes on a 2-core machine that other
# jobs share) + one run; the whole test took 3.8 and 5.4 minutes at load averages of 12-14 on 2 cores
STARTUP_TIMEOUT_S = 600
RUN_TIMEOUT_S = 420


def _listeners(port: int) -> set[str]:
    """Local addresses listening on TCP ``port`` (IPv4 and IPv6), from /proc/net."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


class Standalone:
    """`make airflow` in its own session, its output in a file."""

    def __init__(self, env: dict[str, str], port: int, out: Path) -> None:
        self.env, self.port, self.out = env, port, out
        self.home = Path(env["AIRFLOW_HOME"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def start(self) -> str:
        with self.out.open("wb") as out:
            # -o: the venv is the one running this test; never reinstall it from here
            cmd = ["make", "-s", "-o", ".venv/.installed", "airflow", f"AIRFLOW_PORT={self.port}"]
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while "Airflow is up" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make airflow did not come up:\n{self.output()}\n{self._log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                self.pids = json.loads((self.home / "airflow.pids").read_text())
            time.sleep(1)
        self.pids = json.loads((self.home / "airflow.pids").read_text())
        time.sleep(0.5)  # the rest of the banner
        return self.output()

    def logs(self) -> str:
        return "".join((self.home / f"{name}.log").read_text(errors="replace")
                       for name in ("scheduler", "dag-processor", "triggerer", "api-server")
                       if (self.home / f"{name}.log").exists())

    def _log_tail(self, lines: int = 20) -> str:
        tails = []
        for name in ("scheduler", "api-server"):
            with contextlib.suppress(OSError):
                text = (self.home / f"{name}.log").read_text(errors="replace")
                tails.append(f"--- {name}.log\n" + "".join(text.splitlines(True)[-lines:]))
        return "\n".join(tails) or "(no logs)"

    def stop(self) -> None:
        """Ctrl-C, as in a terminal: SIGINT to make's process group (make and the launcher; the
        launcher stops the components, each in a session of its own)."""
        stop_session(self.proc)

    def leftovers(self) -> list[str]:
        """Components (or their process groups) that outlived the launcher; they are killed here."""
        return kill_leftovers(self.pids)


@pytest.fixture
def standalone(tmp_path: Path, es_url: str, sample_site: str, alias: str) -> Iterator[Standalone]:
    config_dir = write_config(tmp_path / "config", es_url=es_url, alias=alias,
                              feeds=sample_feeds(sample_site, "rss", "atom"))
    main = yaml.safe_load((config_dir / "pipeline.yaml").read_text())
    main["schedule"] = {"cron": "0 0 29 2 *"}  # no slot since start_date: unpausing starts nothing
    (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main))
    with running_standalone(tmp_path, config_dir) as server:
        yield server


def standalone_env(tmp_path: Path, config_dir: Path) -> dict[str, str]:
    """The environment `make airflow` gets here: a fresh AIRFLOW_HOME, the test's config, no
    venv on PATH (the Makefile finds it), none of the caller's AIRFLOW_/NEWS_ settings but the
    local node's state and cache folders."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_"))}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        NEWS_CONFIG_DIR=str(config_dir),
        PATH=os.pathsep.join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin),
        AIRFLOW__CORE__PARALLELISM="3",
        AIRFLOW_STARTUP_TIMEOUT=str(STARTUP_TIMEOUT_S - 120),
    )
    for name in ("NEWS_PIPELINE_STATE_DIR", "NEWS_PIPELINE_CACHE_DIR"):  # the local node's, if moved
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@contextlib.contextmanager
def running_standalone(tmp_path: Path, config_dir: Path) -> Iterator[Standalone]:
    """`make airflow` on a free port for the test's config (not started yet: ``start`` it);
    stopped afterwards, with nothing of it left running or listening."""
    server = Standalone(standalone_env(tmp_path, config_dir), free_port(), tmp_path / "make-airflow.out")
    try:
        yield server
    finally:
        server.stop()
        assert server.leftovers() == [], "Airflow processes outlived make airflow"
        assert _listeners(server.port) == set(), "something still listens on the Airflow port"


def test_make_airflow_runs_a_triggered_dag_run(standalone: Standalone, es, alias: str) -> None:
    banner = standalone.start()
    assert f"Airflow is up: {standalone.url}" in banner
    assert "login:         admin / " in banner
    assert "news_ingest (paused), news_backfill (paused)" in banner
    assert "api-server}.log" in banner
    assert set(standalone.pids) == {"scheduler", "dag-processor", "triggerer", "api-server"}
    assert "No such file or directory" not in banner + standalone.logs()
    assert _listeners(standalone.port) == {"0100007F"}  # 127.0.0.1 only

    user, password = next(iter(json.loads(
        (standalone.home / "simple_auth_manager_passwords.json.generated").read_text()).items()))
    with httpx.Client(base_url=standalone.url, timeout=30) as api:
        token = api.post("/auth/token", json={"username": user, "password": password}).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        dags = {d["dag_id"]: d for d in api.get("/api/v2/dags", params={"dag_id_pattern": "news_"}).json()["dags"]}
        assert {"news_ingest", "news_backfill"} <= set(dags)
        assert api.get("/api/v2/importErrors").json()["total_entries"] == 0

        # a paused DAG queues a triggered run and says nothing
        created = api.post("/api/v2/dags/news_ingest/dagRuns", json={"logical_date": None})
        assert created.status_code == 200, created.text
        run_id = created.json()["dag_run_id"]
        time.sleep(5)
        assert api.get(f"/api/v2/dags/news_ingest/dagRuns/{run_id}").json()["state"] == "queued"

        assert api.patch("/api/v2/dags/news_ingest", json={"is_paused": False}).json()["is_paused"] is False
        deadline, state = time.monotonic() + RUN_TIMEOUT_S, "queued"
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline, (
                f"run {run_id} still {state} after {RUN_TIMEOUT_S} s; the logs end:\n{standalone._log_tail()}")
            time.sleep(2)
            try:  # a busy machine can hold up one answer; the deadline decides
                state = api.get(f"/api/v2/dags/news_ingest/dagRuns/{run_id}").json()["state"]
            except httpx.TransportError:
                continue
        tasks = api.get(f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        states = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
        assert state == "success", f"{states}\n{standalone._log_tail()}"
        assert set(states.values()) == {"success"}
        assert {task for task, _ in states} == {"prepare_index", "list_feeds", "ingest_group", "summarize",
                                                "announce_articles"}
        runs = api.get("/api/v2/dags/news_ingest/dagRuns").json()["dag_runs"]
        assert [r["dag_run_id"] for r in runs] == [run_id]  # unpausing added no run of a missed slot

    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 5  # the five sample articles, from both feeds
