"""Airflow 3 with the CeleryExecutor on this machine, without Docker: PostgreSQL (metadata DB and
Celery result backend), Redis (broker), the API server, the scheduler, the dag-processor and N
Celery workers, each a child process on 127.0.0.1 with free ports, in one work directory.

The layout of docker-compose.yml, service for service: every Airflow process gets the settings of
``config/scaleout.env`` (the file the compose services read with ``env_file``), plus the
addresses and secrets of this machine. Two things differ on purpose, both because several
"machines" share one here:

- each worker has its own ``[core] hostname_callable`` answer (``NEWS_WORKER_HOSTNAME``, see
  :mod:`pipeline.scaleout.hostname`) and its own log-server port, as separate machines would;
- ``[scheduler] use_job_schedule = False``: DAGs run only when triggered, so unpausing
  ``news_ingest`` does not also start its nightly run for the last night.

Nothing here imports Airflow: it runs the ``airflow`` command of this virtualenv and talks to the
REST API (:class:`AirflowApi`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

from pipeline.scaleout.services import Postgres, Redis, Service, ServiceError, free_port, session_pids
from pipeline.scaleout.settings import ROOT, pool_slots, read_env_file

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ADMIN_USER = "admin"


class AirflowApi:
    """The public REST API v2 as the admin user (SimpleAuthManager token from ``/auth/token``)."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self._token: str | None = None

    def _request(self, method: str, path: str, body: Any = None, token: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            if self._token is None:
                self._token = self._request("POST", "/auth/token", {"username": self.user, "password": self.password},
                                            token=False)["access_token"]
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read() or b"null")

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", path, body)

    def dag(self, dag_id: str) -> dict | None:
        try:
            return self.get(f"/api/v2/dags/{dag_id}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        """A manual run, as the UI's trigger button makes it."""
        return self.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict]:
        """Every try of one task instance (the running or last one included), oldest first."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        return sorted(self.get(path)["task_instances"], key=lambda t: t["try_number"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 2.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(poll)


class CeleryStack:
    """Start with :meth:`start` (or ``with``), stop everything with :meth:`stop`.

    ``config_dir`` is the pipeline's config (``NEWS_CONFIG_DIR`` of the dag-processor and the
    workers: feeds, Elasticsearch URL, alias); ``work`` holds every service's data and log."""

    def __init__(self, work: Path, config_dir: Path, *, extra_env: dict[str, str] | None = None) -> None:
        self.work = work
        self.home = work / "airflow"
        self.config_dir = config_dir
        self.shared = read_env_file()
        self.extra_env = dict(extra_env or {})
        self.postgres = Postgres(work / "postgres")
        self.redis = Redis(work / "redis")
        self.api_port = free_port()
        self.health_port = free_port()
        self.jwt_secret = secrets.token_urlsafe(64)
        self.password = secrets.token_hex(12)
        self.api = AirflowApi(self.api_url, ADMIN_USER, self.password)
        self.components: dict[str, Service] = {}
        self.workers: dict[str, Service] = {}
        self._log_offsets: dict[str, int] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # ------------------------------------------------------------------------------ environment
    def environ(self) -> dict[str, str]:
        """The environment of every Airflow process: config/scaleout.env + this machine's addresses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(self.shared)
        env.update({
            "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.postgres.result_backend,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.health_port),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # runs only when triggered (module doc)
            "NEWS_CONFIG_DIR": str(self.config_dir),
        })
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------------------ life cycle
    def start(self, workers: int = 2, timeout: float = 240.0) -> None:
        """PostgreSQL, Redis, migrate, pool, API server, scheduler, dag-processor, ``workers``
        workers; returns when the API answers, ``news_ingest`` is parsed and every worker is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN_USER: self.password}))
        self.postgres.start()
        self.redis.start()
        env = self.environ()
        self._airflow(["db", "migrate"], env, "db-migrate.log")
        pool = self._pool_name()
        if pool:
            self._airflow(["pools", "set", pool, str(pool_slots(self.shared)), "news_ingest feed groups"], env,
                          "pools.log")
        self._component("api-server", ["api-server", "-H", "127.0.0.1", "-p", str(self.api_port), "-w", "1"])
        self._component("scheduler", ["scheduler"])
        self._component("dag-processor", ["dag-processor"])
        names = [f"news-worker-{n}" for n in range(1, workers + 1)]
        for name in names:
            self.start_worker(name, wait=False)
        deadline = time.monotonic() + timeout
        self.components["api-server"].wait_until(self._api_ready, _left(deadline), "answering /api/v2/version")
        self.components["scheduler"].wait_until(self._scheduler_healthy, _left(deadline), "healthy")
        self.components["dag-processor"].wait_until(lambda: self.api.dag("news_ingest") is not None,
                                                    _left(deadline), "done parsing news_ingest")
        for name in names:
            self.wait_for_worker(name, _left(deadline))

    def _pool_name(self) -> str | None:
        from pipeline.config import load_settings

        return load_settings(self.config_dir).ingest.pool

    def _airflow(self, args: list[str], env: dict[str, str], log_name: str) -> None:
        log = self.home / log_name
        with log.open("ab") as out:
            proc = subprocess.run([AIRFLOW, *args], env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
                                  stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise ServiceError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{tail}")

    def _component(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Service:
        service = Service(name, [AIRFLOW, *args], self.home / f"{name}.log", env=env or self.environ(), cwd=self.home)
        service.start()
        self.components[name] = service
        return service

    def start_worker(self, name: str, *, wait: bool = True, timeout: float = 180.0) -> Service:
        """``airflow celery worker --celery-hostname <name>``: its own hostname for the task
        instances and its own log-server port, as on a machine of its own."""
        env = self.environ()
        env.update({
            "NEWS_WORKER_HOSTNAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "pipeline.scaleout.hostname.worker_hostname",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        })
        worker = Service(name, [AIRFLOW, "celery", "worker", "--celery-hostname", name], self.home / f"{name}.log",
                         env=env, cwd=self.home)
        self._log_offsets[name] = worker.log_path.stat().st_size if worker.log_path.exists() else 0
        worker.start()
        self.workers[name] = worker
        if wait:
            self.wait_for_worker(name, timeout)
        return worker

    def wait_for_worker(self, name: str, timeout: float) -> None:
        worker = self.workers[name]
        marker = f"celery@{name} ready.".encode()
        offset = self._log_offsets.get(name, 0)  # a restarted worker: only this start's lines count

        def ready() -> bool:
            with worker.log_path.open("rb") as log:
                log.seek(offset)
                return marker in log.read()

        worker.wait_until(ready, timeout, "ready (connected to the broker)")

    def kill_worker(self, name: str) -> None:
        """SIGKILL to the worker and everything it started (its task processes): a lost machine."""
        worker = self.workers[name]
        worker.kill()
        if worker.proc is not None:
            worker.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while session_pids(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def pids(self) -> dict[str, list[int]]:
        """Every live process of each service (the leader and its descendants), for CPU accounting."""
        services = {"postgres": self.postgres, "redis": self.redis, **self.components, **self.workers}
        return {name: session_pids(s.pid) for name, s in services.items() if s.pid is not None}

    def stop(self) -> None:
        for service in [*self.workers.values(), *reversed(list(self.components.values()))]:
            with contextlib.suppress(Exception):
                service.stop()
        self.redis.stop()
        self.postgres.stop()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ readiness
    def _api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.api_url + "/api/v2/version", timeout=5) as resp:
                return resp.status == 200
        except urllib.error.HTTPError:
            return False

    def _scheduler_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/health", timeout=5) as resp:
                return resp.status == 200
        except urllib.error.HTTPError:
            return False


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())

