"""Start, stop and inspect a project-managed local Elasticsearch node.

Several nodes can share one extracted install: each node gets its own ES_PATH_CONF directory
(elasticsearch.yml, jvm options, keystore) plus data/log dirs under the state dir, and the
shared install is never edited except for installing our analysis plugin.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .build_plugin import ensure_plugin_installed
from .download import ensure_extracted
from .errors import LocalNodeError
from .java import JavaHome, find_java
from .settings import ES_SYSTEM_USER, JIT_OPTIONS, NodeSettings, is_root

LOG_TAIL_LINES = 30
STOP_TIMEOUT = 30.0
#: Config files copied from the distribution; elasticsearch.yml is written by us instead.
_SKIP_CONFIG = {"elasticsearch.yml", "elasticsearch.keystore", "elasticsearch-plugins.example.yml"}


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialize installs/starts across processes (e.g. parallel test workers, make -j)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something already listens on ``host:port``.

    SO_REUSEADDR mirrors what Elasticsearch does, so lingering TIME_WAIT sockets from a previous
    run are not mistaken for a conflict.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie awaiting its reaper counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _proc_strings(pid: int, name: str) -> list[str] | None:
    """NUL-separated entries of /proc/<pid>/<name>; None if unreadable."""
    try:
        raw = Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


def is_node_process(pid: int, conf_dir: Path) -> bool:
    """Whether ``pid`` is an Elasticsearch server using ``conf_dir`` as ES_PATH_CONF.

    Guards against signalling an unrelated process that inherited a recycled PID. The config
    dir appears only in the environment, not on the command line.
    """
    cmdline = _proc_strings(pid, "cmdline") or []
    if not any(arg.startswith("-Des.path.home=") for arg in cmdline):
        return False
    environ = _proc_strings(pid, "environ")
    if environ is None:  # not readable: fall back to the command line check alone
        return True
    return f"ES_PATH_CONF={conf_dir}" in environ


def _world_traversable(path: Path, uid: int) -> bool:
    """Whether user ``uid`` can traverse every directory down to ``path`` (owner or o+x)."""
    p = path.resolve()
    for d in [p, *p.parents]:
        if not d.exists():
            continue
        st = d.stat()
        if d.is_dir() and not (st.st_uid == uid or st.st_mode & 0o001):
            return False
    return True


def ensure_system_user(name: str = ES_SYSTEM_USER) -> pwd.struct_passwd:
    """Create (once) the unprivileged system account that runs the node when we are root."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        raise LocalNodeError(f"Could not create system user {name!r}: {proc.stderr.strip()}")
    return pwd.getpwnam(name)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


class LocalNode:
    """One local Elasticsearch node described by ``NodeSettings``."""

    def __init__(self, settings: NodeSettings | None = None) -> None:
        self.settings = settings or NodeSettings()
        self._java: JavaHome | None = None
        self._install: Path | None = None

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def _run_as(self) -> pwd.struct_passwd | None:
        return ensure_system_user() if is_root() else None

    # ------------------------------------------------------------------ install
    def ensure_installed(self) -> Path:
        """Download/extract the distribution, pick a Java, build+install the plugin; return install dir."""
        s = self.settings
        account = self._run_as
        with _file_lock(s.cache_dir / ".install.lock"):
            if account is not None:
                s.cache_dir.chmod(s.cache_dir.stat().st_mode | 0o755)
            install = ensure_extracted(s.version, s.cache_dir)
            if account is not None and not _world_traversable(install, account.pw_uid):
                raise LocalNodeError(
                    f"{install} is not reachable by system user {account.pw_name!r} (a parent "
                    "directory lacks o+x). Set NEWS_PIPELINE_CACHE_DIR to a system location "
                    "such as /var/cache/news-pipeline."
                )
            java = self._find_java(account)
            ensure_plugin_installed(install, s.version, s.cache_dir, java)
        self._install = install
        return install

    def _find_java(self, account: pwd.struct_passwd | None) -> JavaHome:
        if self._java is None:
            accept = None
            if account is not None:
                uid = account.pw_uid

                def accept(jh: JavaHome) -> bool:
                    return _world_traversable(jh.java, uid)

            self._java = find_java(accept=accept)
        return self._java

    # ------------------------------------------------------------------ pid handling
    def _read_pid(self) -> int | None:
        try:
            return int(self.settings.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _our_pid(self) -> int | None:
        """PID of our running node, cleaning a stale pid file (process gone or PID reused)."""
        pid = self._read_pid()
        if pid is None:
            if self.settings.pid_file.exists():
                self.settings.pid_file.unlink(missing_ok=True)
            return None
        if pid_alive(pid) and is_node_process(pid, self.settings.conf_dir):
            return pid
        print(f"Removing stale pid file {self.settings.pid_file} (pid {pid} is gone)", file=sys.stderr)
        self.settings.pid_file.unlink(missing_ok=True)
        return None

    # ------------------------------------------------------------------ http
    def _get(self, path: str, timeout: float = 5.0) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return json.loads(resp.read())

    def _health(self, timeout: float = 5.0) -> dict[str, Any] | None:
        try:
            return self._get("/_cluster/health?wait_for_status=yellow&timeout=1s", timeout)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    # ------------------------------------------------------------------ config
    def _write_config(self, install: Path, account: pwd.struct_passwd | None) -> None:
        s = self.settings
        for d in (s.conf_dir, s.data_dir, s.logs_dir, s.conf_dir / "jvm.options.d"):
            d.mkdir(parents=True, exist_ok=True)
        for src in (install / "config").iterdir():
            dst = s.conf_dir / src.name
            if src.name in _SKIP_CONFIG or dst.exists():
                continue
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)
        (s.conf_dir / "elasticsearch.yml").write_text(self._elasticsearch_yml())
        (s.conf_dir / "jvm.options.d" / "heap.options").write_text(f"-Xms{s.heap}\n-Xmx{s.heap}\n")
        (s.conf_dir / "jvm.options.d" / "jit.options").write_text("".join(f"{o}\n" for o in JIT_OPTIONS[s.jit]))
        if account is not None:
            for d in (s.state_dir, s.state_dir / s.cluster_name):
                d.chmod(0o755)
            _chown_tree(s.node_dir, account.pw_uid, account.pw_gid)

    def _elasticsearch_yml(self) -> str:
        s = self.settings
        conf: dict[str, Any] = {
            "cluster.name": s.cluster_name,
            "node.name": s.effective_node_name,
            "network.host": "127.0.0.1",
            "http.port": s.http_port,
            "transport.port": s.transport_port,
            "path.data": str(s.data_dir),
            "path.logs": str(s.logs_dir),
            "xpack.security.enabled": False,
            "xpack.ml.enabled": False,
            # A laptop disk at 90% must not turn indices read-only in the middle of a test run.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            # Lets test teardown delete indices by wildcard (e.g. news-test-*).
            "action.destructive_requires_name": False,
        }
        if s.single_node:
            conf["discovery.type"] = "single-node"
        else:
            conf["discovery.seed_hosts"] = list(s.seed_hosts)
            conf["cluster.initial_master_nodes"] = list(s.initial_master_nodes)
        conf.update(s.extra_settings)
        lines = ["# Written by pipeline.localnode; regenerated on every start.\n"]
        for key, value in conf.items():
            lines.append(f"{key}: {json.dumps(value)}\n")
        return "".join(lines)

    # ------------------------------------------------------------------ logs
    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Last lines of the node's server log (for error messages)."""
        log = self.settings.log_file
        if not log.exists():
            logs = sorted(self.settings.logs_dir.glob("*.log"), key=lambda p: p.stat().st_mtime)
            if not logs:
                return "(no log written)"
            log = logs[-1]
        text = log.read_text(errors="replace").splitlines()
        return f"--- last {lines} lines of {log} ---\n" + "\n".join(text[-lines:])

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> bool:
        """Start the node and wait until it is yellow/green.

        Returns False (no-op) when our node is already running and healthy.
        """
        s = self.settings
        with _file_lock(s.state_dir / f".{s.cluster_name}-{s.http_port}.lock"):
            pid = self._our_pid()
            if pid is not None:
                self._wait_healthy(pid)
                print(f"Elasticsearch already running at {self.url} (pid {pid})", file=sys.stderr)
                return False
            self._check_ports()
            install = self.ensure_installed()
            account = self._run_as
            self._write_config(install, account)
            self._launch(install, account)
        return True

    def _check_ports(self) -> None:
        s = self.settings
        for label, port, env in (
            ("HTTP", s.http_port, "NEWS_ES_LOCAL_PORT / --port"),
            ("transport", s.transport_port, "--port (transport = port + 100)"),
        ):
            assert port is not None
            if port_in_use(port):
                raise LocalNodeError(
                    f"Port {port} ({label}) on 127.0.0.1 is already in use by another process, "
                    f"not by this project's node. Stop that process or choose another port via {env}, "
                    f"e.g. NEWS_ES_LOCAL_PORT={s.http_port + 1}."
                )

    def _launch(self, install: Path, account: pwd.struct_passwd | None) -> None:
        s = self.settings
        java = self._find_java(account)
        env = {k: v for k, v in os.environ.items() if k not in ("ES_JAVA_OPTS", "JAVA_HOME")}
        env.update(ES_PATH_CONF=str(s.conf_dir), ES_JAVA_HOME=str(java.home))
        kwargs: dict[str, Any] = {}
        if account is not None:
            env.update(HOME=str(s.node_dir), USER=account.pw_name, LOGNAME=account.pw_name)
            kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        print(
            f"Starting Elasticsearch {s.version} at {self.url} (Java {java.major}, "
            f"heap {s.heap}, state {s.node_dir})",
            file=sys.stderr,
        )
        started = time.monotonic()
        cmd = [str(install / "bin" / "elasticsearch"), "-d", "-p", str(s.pid_file)]
        try:
            proc = subprocess.run(
                cmd,
                env=env,
                cwd=s.node_dir,
                check=False,
                capture_output=True,
                text=True,
                timeout=s.health_timeout,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            self._kill_leftover()
            raise LocalNodeError(f"Elasticsearch launcher timed out.\n{self.log_tail()}") from exc
        if proc.returncode != 0:
            self._kill_leftover()
            out = (proc.stdout + proc.stderr).strip()
            raise LocalNodeError(
                f"Elasticsearch failed to start (exit {proc.returncode}):\n{out[-4000:]}\n{self.log_tail()}"
            )
        pid = self._read_pid()
        if pid is None:
            raise LocalNodeError(f"Elasticsearch started but wrote no pid file.\n{self.log_tail()}")
        try:
            self._wait_healthy(pid, started)
        except LocalNodeError:
            self._kill_leftover()
            raise
        print(
            f"Elasticsearch ready at {self.url} (pid {pid}) after {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )

    def _wait_healthy(self, pid: int, started: float | None = None) -> dict[str, Any]:
        started = started if started is not None else time.monotonic()
        deadline = started + self.settings.health_timeout
        last_report = time.monotonic()
        while True:
            health = self._health()
            if health and health.get("status") in ("yellow", "green"):
                return health
            if not pid_alive(pid):
                raise LocalNodeError(f"Elasticsearch (pid {pid}) exited during startup.\n{self.log_tail()}")
            now = time.monotonic()
            if now > deadline:
                raise LocalNodeError(
                    f"Elasticsearch at {self.url} not yellow/green after "
                    f"{self.settings.health_timeout:.0f}s.\n{self.log_tail()}"
                )
            if now - last_report >= 5:
                state = health.get("status") if health else "not responding"
                print(f"  waiting for cluster health ({state}, {now - started:.0f}s)", file=sys.stderr)
                last_report = now
            time.sleep(0.5)

    def _kill_leftover(self) -> None:
        """After a failed start, make sure nothing of ours keeps running."""
        pid = self._read_pid()
        if pid is not None and pid_alive(pid):
            self._terminate(pid, timeout=10)
        self.settings.pid_file.unlink(missing_ok=True)

    @staticmethod
    def _terminate(pid: int, timeout: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.2)
        print(f"pid {pid} ignored SIGTERM for {timeout:.0f}s; sending SIGKILL", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop our node by its recorded PID (SIGTERM, then SIGKILL). False if it was not running."""
        pid = self._our_pid()
        if pid is None:
            return False
        print(f"Stopping Elasticsearch (pid {pid})", file=sys.stderr)
        self._terminate(pid, timeout)
        self.settings.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any] | None:
        """Running node's pid, url, version and cluster health; None if not running."""
        pid = self._our_pid()
        if pid is None:
            return None
        info: dict[str, Any] = {
            "running": True,
            "pid": pid,
            "url": self.url,
            "node_dir": str(self.settings.node_dir),
        }
        try:
            # Not GET /: the integ-test distribution has no root info endpoint (405).
            nodes = self._get("/_nodes/_local?filter_path=cluster_name,nodes.*.name,nodes.*.version")
            local = next(iter(nodes.get("nodes", {}).values()), {})
            info["version"] = local.get("version")
            info["cluster_name"] = nodes.get("cluster_name")
            info["node_name"] = local.get("name")
        except (urllib.error.URLError, OSError, ValueError):
            info["health"] = "not responding"
            return info
        health = self._health()
        info["health"] = health.get("status") if health else "unknown"
        return info
