"""`make airflow`: Airflow 3 for this project, one command, on 127.0.0.1:$AIRFLOW_PORT.

It runs what `airflow standalone` runs (scheduler, DAG processor, triggerer, API server with the
UI), each component as its own process with its own log file, and avoids the two traps of the
plain command: standalone starts its components *by name*, so without the venv on PATH it fails
with "No such file or directory: 'airflow'" and keeps running without a UI; and on any port but
8080 tasks fail with "Connection refused" to localhost:8080/execution/ unless the base URL moves
too. The components are started directly rather than through standalone, which relays all their
output through pipes it must keep reading (a test run once saw every component fall silent at
once, blocked, with standalone never finishing its shutdown).

Before Airflow starts it makes sure the configured Elasticsearch answers (starting the local node
when the URL is on this machine) and serves the bundled sample site when the configured feeds point
at it, so the bundled config gives a run that succeeds. It prints where the UI is, the login (user
admin, the password SimpleAuthManager generates into $AIRFLOW_HOME) and where the logs go.
Ctrl-C (or SIGTERM) stops everything: SIGTERM to each component (their graceful shutdown), then
whatever is left of each one's process group. If a component exits, the others are stopped too.

Environment: AIRFLOW_PORT (default 8080), AIRFLOW_HOME (the Makefile: .airflow/, migrated by
`make airflow-db`), AIRFLOW_STARTUP_TIMEOUT (seconds, default 300), AIRFLOW__CORE__PARALLELISM
(default 4 here).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DAG_IDS = ("news_ingest", "news_backfill")
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


def say(line: str = "") -> None:
    print(line, file=sys.stderr, flush=True)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def airflow_environ(port: int, home: Path, bin_dir: Path) -> dict[str, str]:
    """The environment of every component and, through them, of every task."""
    env = dict(os.environ)
    base_url = f"http://127.0.0.1:{port}"
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",  # components start `airflow ...` by name
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,  # links in the UI, and the default of the next one
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",  # where task processes report
    })
    env.setdefault("PYTHONUNBUFFERED", "1")  # the log files show each component's lines as they come
    env.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")  # as standalone
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")  # default 32 worker processes, on 2 cores
    env.setdefault("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")  # docs/airflow.md, "Running standalone by hand"
    return env


def enable_wal(home: Path) -> None:
    """WAL mode for the SQLite metadata DB: in the default journal a reader blocks the writers, and
    scheduler, API server and task supervisors stall each other by seconds (tests/airflow_local.py)."""
    db = home / "airflow.db"
    if db.exists() and not os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")


def ensure_elasticsearch(bin_dir: Path) -> str:
    """The configured Elasticsearch URL; the local node is started when it is down and the URL is
    on this machine (as `make es-start`), anything else only gets a warning."""
    from pipeline.config import load_settings

    url = load_settings().elasticsearch.url
    if _answers(url.rstrip("/") + "/_cluster/health"):
        return url
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        say(f"warning: Elasticsearch at {url} does not answer; tasks will fail until it does")
        return url
    subprocess.run([str(bin_dir / "python"), "-m", "pipeline", "es", "start", "--port", str(parts.port or 9200)],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return url


def _answers(url: str) -> bool:
    """True if an HTTP server answers at ``url`` at all (401 from a secured cluster counts)."""
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def serve_sample_site() -> Any:
    """The bundled sample site on $NEWS_SAMPLE_PORT (default 8765) when a configured feed points
    at it and nothing serves that port yet; None otherwise."""
    from pipeline.config import load_settings
    from pipeline.samplesite import SampleSite

    port = int(os.environ.get("NEWS_SAMPLE_PORT") or 8765)
    prefixes = (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/")
    if not any(feed.url.startswith(prefixes) for feed in load_settings().feeds) or not port_free(port):
        return None
    site = SampleSite()
    site.start(port=port)
    return site


class Api:
    """The few REST calls the launcher needs (Airflow's public API v2, SimpleAuthManager login)."""

    def __init__(self, base_url: str, password_file: Path) -> None:
        self.base_url = base_url
        self.password_file = password_file
        self._token: str | None = None

    def login(self) -> tuple[str, str]:
        users = json.loads(self.password_file.read_text(encoding="utf-8"))
        user, password = next(iter(users.items()))
        return user, password

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if self._token is None and not path.startswith(("/auth/", "/api/v2/monitor/")):
            user, password = self.login()
            self._token = self.call("POST", "/auth/token", {"username": user, "password": password})["access_token"]
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token and not path.startswith("/auth/"):
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=20) as resp:
            return json.loads(resp.read() or b"null")


class Components:
    """The Airflow components, each in a session of its own (its workers and task processes with
    it) and with its own log file ``$AIRFLOW_HOME/<component>.log``."""

    def __init__(self, bin_dir: Path, home: Path, env: dict[str, str]) -> None:
        self.bin_dir, self.home, self.env = bin_dir, home, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log_path(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def start(self) -> None:
        for name in COMPONENTS:
            with self.log_path(name).open("ab") as log:
                self.procs[name] = subprocess.Popen([str(self.bin_dir / "airflow"), name], env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)

    def exited(self) -> tuple[str, int] | None:
        """The first component that exited, with its status; None while all run."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    def stop(self, timeout: float = 45.0) -> None:
        """SIGTERM to each component (its graceful shutdown, as standalone does it), then to what is
        left of each one's process group (LocalExecutor workers, serve-logs, tasks), then SIGKILL."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = []
            for proc in self.procs.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                    alive.append(proc)
            if not alive:
                break
            time.sleep(3)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def wait_ready(components: Components, api: Api, timeout: float) -> dict[str, Any]:
    """Wait until scheduler and DAG processor are healthy and both DAGs are parsed; returns the
    DAGs by id. Shows one line of progress."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    stage = "starting"
    tty = sys.stderr.isatty()
    last_shown = 0.0
    while time.monotonic() < deadline:
        if (gone := components.exited()) is not None:
            raise RuntimeError(f"airflow {gone[0]} exited with {gone[1]}; see {_relative(components.log_path(gone[0]))}")
        with contextlib.suppress(urllib.error.URLError, OSError, ValueError, KeyError, StopIteration):
            stage = "waiting for the API server"
            health = api.call("GET", "/api/v2/monitor/health")
            down = [name for name in ("metadatabase", "scheduler", "dag_processor")
                    if (health.get(name) or {}).get("status") != "healthy"]
            stage = f"waiting for {', '.join(down)}" if down else "waiting for the DAGs to be parsed"
            if not down:
                dags = {d["dag_id"]: d for d in api.call("GET", "/api/v2/dags?dag_id_pattern=news_")["dags"]}
                if all(dag_id in dags for dag_id in DAG_IDS):
                    if tty:
                        say()
                    return dags
        elapsed = time.monotonic() - started
        if tty:
            print(f"\r  {elapsed:4.0f} s, {stage} ...   ", end="", file=sys.stderr, flush=True)
        elif elapsed - last_shown >= 15:
            say(f"  {elapsed:.0f} s, {stage} ...")
            last_shown = elapsed
        time.sleep(1)
    raise RuntimeError(f"Airflow not ready after {timeout:.0f} s ({stage}); see the logs in {_relative(components.home)}")


def import_errors(api: Api) -> list[str]:
    with contextlib.suppress(urllib.error.URLError, OSError, ValueError, KeyError):
        return [f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}"
                for e in api.call("GET", "/api/v2/importErrors")["import_errors"]]
    return []


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _running_pids(pid_file: Path) -> dict[str, int]:
    """The components in ``pid_file`` that still run as Airflow processes (PIDs get reused)."""
    running = {}
    with contextlib.suppress(OSError, ValueError):
        for name, pid in json.loads(pid_file.read_text()).items():
            with contextlib.suppress(OSError):
                if b"airflow" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    running[name] = pid
    return running


def _relative(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def main() -> int:
    # Ctrl-C and SIGTERM (a test, a service manager) stop alike. Set explicitly: a process started
    # in the background by a non-interactive shell inherits SIGINT *ignored*, and so would
    # the components (exec keeps an ignored signal ignored, but resets a handled one to the default).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main()
    except KeyboardInterrupt:
        return 130


def _main() -> int:
    port = int(os.environ.get("AIRFLOW_PORT") or 8080)
    home = Path(os.environ.get("AIRFLOW_HOME") or ROOT / ".airflow").resolve()
    timeout = float(os.environ.get("AIRFLOW_STARTUP_TIMEOUT") or 300)
    bin_dir = Path(sys.executable).parent
    home.mkdir(parents=True, exist_ok=True)
    pid_file = home / "airflow.pids"
    if running := _running_pids(pid_file):
        say(f"Airflow already runs for {home} ({', '.join(f'{n} pid {p}' for n, p in running.items())}); "
            "stop it first (Ctrl-C in its terminal)")
        return 1
    if not port_free(port):
        say(f"port {port} on 127.0.0.1 is in use; choose another: make airflow AIRFLOW_PORT={port + 10}")
        return 1

    try:
        es_url = ensure_elasticsearch(bin_dir)
    except subprocess.CalledProcessError as exc:  # `es start` said why on stderr
        say("airflow: not started, the local Elasticsearch node did not start")
        return exc.returncode or 1
    site = serve_sample_site()
    env = airflow_environ(port, home, bin_dir)
    enable_wal(home)
    base_url = env["AIRFLOW__API__BASE_URL"]
    api = Api(base_url, Path(env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE") or home / PASSWORDS_FILE))
    logs = _relative(home / ("{" + ",".join(COMPONENTS) + "}.log"))
    say(f"airflow: starting {', '.join(COMPONENTS)} on {base_url} (logs: {logs}) ...")
    components = Components(bin_dir, home, env)
    try:
        components.start()
        pid_file.write_text(json.dumps(components.pids()))
        dags = wait_ready(components, api, timeout)
        user, password = api.login()
        paused = {dag_id: "paused" if dags[dag_id]["is_paused"] else "active" for dag_id in DAG_IDS}
        say()
        say(f"Airflow is up: {base_url}")
        say(f"  login:         {user} / {password}   (generated, kept in {_relative(api.password_file)})")
        say(f"  DAGs:          {', '.join(f'{d} ({s})' for d, s in paused.items())}")
        say(f"  Elasticsearch: {es_url}")
        if site is not None:
            say(f"  sample site:   {site.base_url} (the configured feeds point at it)")
        say(f"  logs:          {logs}; task logs in {_relative(home / 'logs')}/")
        for error in import_errors(api):
            say(f"  import error:  {error}")
        say("Unpausing news_ingest starts the run of its last missed slot at once; a paused DAG queues")
        say("triggered runs without running them. Ctrl-C stops Airflow.")
        while (gone := components.exited()) is None:
            time.sleep(1)
        say(f"airflow {gone[0]} exited with {gone[1]}; stopping the others (see {_relative(components.log_path(gone[0]))})")
        return gone[1] or 1
    except KeyboardInterrupt:
        say("\nairflow: stopping ...")
        return 0
    except RuntimeError as exc:
        say(f"\nerror: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        components.stop()
        with contextlib.suppress(OSError):
            pid_file.unlink()
        if site is not None:
            site.stop()
        say("airflow: stopped")


if __name__ == "__main__":
    raise SystemExit(main())
