"""Run a DAG under Airflow's LocalExecutor on this machine (the scale-out test and bench/dag_e2e.py).

``dag.test()`` runs every task in its own process; ``dag.test(use_executor=True)`` hands them to
the configured executor instead, so mapped tasks run in parallel worker processes exactly as a
scheduler would run them. In Airflow 3 a task process never opens the metadata DB itself: its
supervisor talks to the Execution API over HTTP (``[core] execution_api_server_url``), with a JWT
signed by ``[api_auth] jwt_secret``. So this module starts ``airflow api-server --apps execution``
on a free 127.0.0.1 port, sharing the metadata DB and the secret with the calling process.

The LocalExecutor works on SQLite in Airflow 3.3.2 (no Postgres needed), provided the DB is in
WAL mode: in SQLite's default rollback journal a reader blocks writers, and the dag.test loop
reading the DB in one process while the API server writes task states in another stalled every
task start and end by seconds (measured: two mapped 3-second tasks ran one after the other).
WAL is a property of the DB file, set once.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self
from unittest import mock

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def enable_wal(airflow_home: str | Path) -> str:
    """Switch the SQLite metadata DB of ``airflow_home`` to WAL mode (persistent in the file)."""
    with contextlib.closing(sqlite3.connect(Path(airflow_home) / "airflow.db")) as db:
        return db.execute("PRAGMA journal_mode=WAL").fetchone()[0]


def executor_environ(api_port: int, jwt_secret: str | None = None) -> dict[str, str]:
    """Variables the calling process and the API server must share (set them before the executor
    is loaded: the JWT signing key is read when the executor is created)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret or secrets.token_urlsafe(64),  # 86 chars: >= 64 bytes for HS512
    }


def stop_session(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGINT, timeout: float = 120.0) -> None:
    """Stop a process started with ``start_new_session=True`` and its group: ``sig`` to the group
    (SIGINT is Ctrl-C, as in a terminal: the Airflow launcher, scripts/airflow_standalone.py, stops
    its components on it), then SIGKILL if it is not gone after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def kill_leftovers(pids: dict[str, int]) -> list[str]:
    """The components (name -> process group, as in ``airflow.pids``) still alive after their
    launcher stopped; each is killed. An empty list when the launcher cleaned up after itself."""
    left = []
    for name, pid in pids.items():
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            continue
        left.append(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return left


class ExecutionApiServer:
    """``airflow api-server --apps execution`` on 127.0.0.1:``port``, one worker, stopped by PID."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path, startup_timeout: float = 120.0) -> None:
        self.port = port
        self.env = env
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the server process (also its session id: its workers share the session)."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        cmd = [AIRFLOW, "api-server", "--apps", "execution", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"]
        with self.log_path.open("ab") as log:
            # own session: the server's worker children are stopped with it, and nothing else is
            self._proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"api-server exited with {self._proc.returncode}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/execution/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"api-server not healthy after {self.startup_timeout:.0f}s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        stop_session(proc, signal.SIGTERM, timeout)  # the group this object started (start_new_session)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_with_local_executor(dag: Any, parallelism: int, **test_kwargs: Any) -> Any:
    """``dag.test(use_executor=True)`` with a LocalExecutor of ``parallelism`` worker processes.

    ``[core] parallelism`` is read once, when ``airflow.executors.base_executor`` is imported, so a
    process that imported Airflow earlier (a test session) cannot change it through the
    environment; the executor is loaded the normal way and given the parallelism here instead."""
    from airflow.executors.executor_loader import ExecutorLoader

    executor = ExecutorLoader.load_executor("LocalExecutor")
    executor.parallelism = parallelism
    with mock.patch.object(ExecutorLoader, "get_default_executor", return_value=executor):
        return dag.test(use_executor=True, **test_kwargs)


@dataclass(frozen=True)
class TaskSpan:
    task_id: str
    map_index: int
    state: str
    start: datetime
    end: datetime
    pid: int | None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def task_spans(dag_run: Any) -> list[TaskSpan]:
    """Start and end of every task instance of ``dag_run``, as recorded in the metadata DB."""
    spans = []
    for ti in dag_run.get_task_instances():
        if ti.start_date and ti.end_date:
            spans.append(TaskSpan(ti.task_id, ti.map_index, str(ti.state), ti.start_date, ti.end_date, ti.pid))
    return sorted(spans, key=lambda s: (s.start, s.task_id, s.map_index))


def overlaps(spans: list[TaskSpan]) -> list[tuple[TaskSpan, TaskSpan, float]]:
    """Pairs of spans that ran at the same time, with the overlap in seconds."""
    found = []
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            seconds = (min(a.end, b.end) - max(a.start, b.start)).total_seconds()
            if seconds > 0:
                found.append((a, b, seconds))
    return found
