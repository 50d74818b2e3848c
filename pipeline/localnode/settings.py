"""Settings for a project-managed local Elasticsearch node.

Everything that decides *where* things live (cache, state) and *how* the node is configured is
collected here so that ``make``, the test suite and CI all agree on one layout, and so that a
later change can run two nodes on 127.0.0.1 by building two ``NodeSettings`` that share a cache
but differ in ports, node names and seed hosts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_VERSION = "9.5.3"
DEFAULT_HTTP_PORT = 9200
DEFAULT_HEAP = "512m"
DEFAULT_CLUSTER_NAME = "news-pipeline-local"
#: JIT modes of the node's JVM. "quick": C1 only (-XX:TieredStopAtLevel=1); "tiered": the JVM's
#: default C1 + C2. A fresh node under tiered JIT spends more CPU in its JIT compiler threads than on
#: the pipeline's requests at first (8.4 of 14.6 ms of node CPU an article over the first 1,000
#: articles, still 0.9 of 2.9 ms after 7,000). C1-only code is slower (3.0 ms an article then,
#: tiered 2.0 without its compiler threads), so tiered wins once its compiler is done; over those
#: 8,000 articles quick used 22% less node CPU, and it starts faster. The local node serves tests,
#: the quick start and short runs, so "quick" is its default; a long-lived local node for big
#: backfills may prefer "tiered". Figures: docs/benchmarks.md (bench/node_jit.py).
JIT_OPTIONS = {"quick": ("-XX:TieredStopAtLevel=1",), "tiered": ()}
DEFAULT_JIT = "quick"
#: Distance between the HTTP and the transport port when the transport port is not given, so
#: ``--port 9251`` yields transport 9351 and never collides with the default 9300.
TRANSPORT_PORT_OFFSET = 100
#: System account that runs the node when the caller is root (Elasticsearch refuses root).
ES_SYSTEM_USER = "newsindex-es"
APP_DIR_NAME = "news-pipeline"


def is_root() -> bool:
    """True when running as root, which changes locations and requires a privilege drop."""
    return os.geteuid() == 0


def default_cache_dir() -> Path:
    """Where the downloaded zip, the extracted install and the built plugin are cached.

    As root we use /var/cache: the node runs as a system user that cannot traverse /root
    (mode 700), so a per-user cache below the home directory would be unusable.
    """
    env = os.environ.get("NEWS_PIPELINE_CACHE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if is_root():
        return Path("/var/cache") / APP_DIR_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR_NAME


def default_state_dir() -> Path:
    """Where per-node config, data, logs and pid files live (see ``default_cache_dir`` for root)."""
    env = os.environ.get("NEWS_PIPELINE_STATE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if is_root():
        return Path("/var/lib") / APP_DIR_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


def _env_port() -> int:
    raw = os.environ.get("NEWS_ES_LOCAL_PORT")
    if not raw:
        return DEFAULT_HTTP_PORT
    try:
        port = int(raw)
    except ValueError as exc:
        raise ValueError(f"NEWS_ES_LOCAL_PORT must be a port number, got {raw!r}") from exc
    return port


def _env_heap() -> str:
    return os.environ.get("NEWS_ES_LOCAL_HEAP") or DEFAULT_HEAP


def _env_jit() -> str:
    return os.environ.get("NEWS_ES_LOCAL_JIT") or DEFAULT_JIT


@dataclass
class NodeSettings:
    """Configuration of one local node.

    ``transport_port`` defaults to ``http_port + 100``. ``seed_hosts`` / ``initial_master_nodes``
    stay empty for the default single-node discovery; filling them switches the node to
    multi-node discovery (e.g. two nodes on 127.0.0.1 with different ports).
    """

    version: str = DEFAULT_VERSION
    http_port: int = field(default_factory=_env_port)
    transport_port: int | None = None
    heap: str = field(default_factory=_env_heap)
    jit: str = field(default_factory=_env_jit)
    cluster_name: str = DEFAULT_CLUSTER_NAME
    node_name: str | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    state_dir: Path = field(default_factory=default_state_dir)
    seed_hosts: list[str] = field(default_factory=list)
    initial_master_nodes: list[str] = field(default_factory=list)
    health_timeout: float = 120.0
    extra_settings: dict[str, str | int | bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self.state_dir = Path(self.state_dir)
        if self.transport_port is None:
            self.transport_port = self.http_port + TRANSPORT_PORT_OFFSET
        for name, port in (("http_port", self.http_port), ("transport_port", self.transport_port)):
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"{name} must be within 1..65535, got {port}")
        if not self.heap or not self.heap[:-1].isdigit() or self.heap[-1].lower() not in "kmg":
            raise ValueError(f"heap must look like 512m or 1g, got {self.heap!r}")
        if self.jit not in JIT_OPTIONS:
            raise ValueError(f"jit must be one of {', '.join(JIT_OPTIONS)} (NEWS_ES_LOCAL_JIT), got {self.jit!r}")

    @property
    def single_node(self) -> bool:
        """Single-node discovery unless a multi-node cluster was described."""
        return not self.seed_hosts and not self.initial_master_nodes

    @property
    def effective_node_name(self) -> str:
        return self.node_name or f"node-{self.http_port}"

    @property
    def node_dir(self) -> Path:
        """Per-node root: state_dir/<cluster_name>/<node_name or port>."""
        return self.state_dir / self.cluster_name / (self.node_name or str(self.http_port))

    @property
    def conf_dir(self) -> Path:
        return self.node_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.node_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.node_dir / "logs"

    @property
    def pid_file(self) -> Path:
        return self.node_dir / "node.pid"

    @property
    def log_file(self) -> Path:
        """The main server log Elasticsearch writes (named after the cluster)."""
        return self.logs_dir / f"{self.cluster_name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"
