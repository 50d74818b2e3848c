"""PostgreSQL, Redis and any long-running command as a child process of this one, on 127.0.0.1.

Each service runs in its own session (process group) with its output in a log file, and is stopped
by signalling that group: what a service started goes with it, and nothing else is touched.
PostgreSQL gets a fresh cluster (``initdb``) in a directory of its own; as root it runs as the
system user ``newsindex-pg`` (postgres refuses root), created once like the Elasticsearch node's.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PG_SYSTEM_USER = "newsindex-pg"
PG_DATABASE = "airflow"
PG_USER = "airflow"


class ServiceError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def find_binary(name: str, extra_globs: tuple[str, ...] = ()) -> str:
    """``name`` on PATH, else the newest match of ``extra_globs`` (Debian keeps PostgreSQL's
    server binaries in /usr/lib/postgresql/<major>/bin, off PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted((p for g in extra_globs for p in glob.glob(g)), key=_version_key)
    if candidates:
        return candidates[-1]
    hint = {"redis-server": "apt-get install -y redis-server",
            "postgres": "apt-get install -y postgresql", "initdb": "apt-get install -y postgresql"}
    raise ServiceError(f"{name} not found on PATH ({hint.get(name, 'install it')}; .ci/run does)")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(path).parts if part.isdigit())


class Service:
    """One command in its own session, output to ``log_path``, stopped by signalling its group."""

    stop_signal = signal.SIGTERM

    def __init__(self, name: str, cmd: list[str], log_path: Path, *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, user: pwd.struct_passwd | None = None) -> None:
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.user = user
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = self.proc.returncode if self.proc else None
                raise ServiceError(f"{self.name} exited ({code}) before {what}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if ready():
                    return
            time.sleep(0.5)
        raise ServiceError(f"{self.name}: not {what} after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def signal_group(self, sig: int) -> None:
        """Signal the service's process group (the leader and the children that stayed in it)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process of the service's session at once: its process group and the groups
        its children made (Airflow's task supervisor puts each task process in a group of its own).
        With SIGKILL: the machine is gone, nothing cleans up."""
        if self.proc is None:
            return
        for pid in session_pids(self.proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def stop(self, timeout: float = 30.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            self.signal_group(self.stop_signal)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                proc.wait(timeout=10)
        self.kill(signal.SIGKILL)  # whatever outlived the leader in its session
        self.proc = None


class Redis(Service):
    """redis-server on 127.0.0.1:``port``, no persistence, data dir ``directory``."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        cmd = [find_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory),
               "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"]
        super().__init__("redis", cmd, directory / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        super().start()
        self.wait_until(self._pong, timeout, "answering PING")

    def _pong(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")


def _pg_account() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    from pipeline.localnode.node import ensure_system_user

    return ensure_system_user(PG_SYSTEM_USER)


class Postgres(Service):
    """A fresh PostgreSQL cluster in ``directory`` on 127.0.0.1:``port`` with database and owner
    ``airflow`` (password authentication, like the compose file's postgres service)."""

    stop_signal = signal.SIGINT  # "fast" shutdown: abort sessions, checkpoint, exit

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.password = secrets.token_hex(16)  # letters and digits only: it goes into URLs
        self.account = _pg_account()
        globs = ("/usr/lib/postgresql/*/bin/{}",)
        self.initdb = find_binary("initdb", tuple(g.format("initdb") for g in globs))
        self.postgres = find_binary("postgres", tuple(g.format("postgres") for g in globs))
        self.data = directory / "data"
        super().__init__("postgres", [
            self.postgres, "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
            "-k", str(directory), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ], directory / "postgres.log", user=self.account, cwd=directory)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the metadata DB (the compose file's, with this host and port)."""
        return f"postgresql+psycopg2://{PG_USER}:{self.password}@127.0.0.1:{self.port}/{PG_DATABASE}"

    @property
    def result_backend(self) -> str:
        return f"db+postgresql+psycopg2://{PG_USER}:{self.password}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def start(self, timeout: float = 60.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.account is not None:
            os.chmod(self.directory, 0o700)
            for path in (self.directory, pwfile):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
            _make_traversable(self.directory.parent)
        init = subprocess.run(
            [self.initdb, "-D", str(self.data), "-U", PG_USER, "--pwfile", str(pwfile), "--auth", "scram-sha-256",
             "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"],
            capture_output=True, text=True, cwd=self.directory, check=False,
            **({"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
               if self.account is not None else {}),
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise ServiceError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
        super().start()
        self.wait_until(self._accepts, timeout, "accepting connections")
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=self.password,
                                dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {PG_DATABASE} OWNER {PG_USER}")
        finally:
            conn.close()

    def _accepts(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=self.password,
                             dbname="postgres", connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True


def _make_traversable(path: Path) -> None:
    """o+x on ``path`` and its parents below the temp directory (a mkdtemp directory is 0700), so
    the postgres user can reach its own directory; elsewhere a closed parent is an error."""
    import tempfile

    temp = Path(tempfile.gettempdir()).resolve()
    for directory in [path.resolve(), *path.resolve().parents]:
        mode = directory.stat().st_mode
        if mode & 0o001:
            continue
        if temp in directory.parents:
            os.chmod(directory, mode | 0o001)
        else:
            raise ServiceError(f"{directory} is closed to the postgres user {PG_SYSTEM_USER}: use a work "
                               f"directory below {temp}")


def session_pids(sid: int | None) -> list[int]:
    """PIDs of the live processes in session ``sid`` (a service started with its own session, and
    every process it started, whatever process group they moved to)."""
    if sid is None:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":  # after ")": state, ppid, pgrp, session
                found.append(int(entry.name))
    return found
