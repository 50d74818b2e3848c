"""Several local Elasticsearch nodes of the same distribution forming one cluster on 127.0.0.1.

Why: replicas, shard relocation and "does the pipeline give the same result on a real cluster"
cannot be tried on a single node (a replica is never allocated on the node holding its primary).
Each node is a plain :class:`LocalNode` with its own HTTP and transport port, data, log and config
directories under ``state_dir/<cluster_name>/<http port>``; all share the cluster name, the seed
hosts (every node's transport address) and ``cluster.initial_master_nodes`` (every node's name).

The nodes are launched at the same time: with ``initial_master_nodes`` naming all of them, the
first node cannot elect a master (and so never turns yellow) until the others are up.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LocalNodeError
from .node import LocalNode
from .settings import DEFAULT_CLUSTER_NAME, TRANSPORT_PORT_OFFSET, NodeSettings

#: Default cluster name of multi-node clusters: never the single node's, so their data dirs
#: (a single-node cluster's state cannot take in a second node cleanly) are never mixed up.
DEFAULT_MULTI_CLUSTER_NAME = f"{DEFAULT_CLUSTER_NAME}-cluster"
_STATUS_RANK = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True)
class ClusterLayout:
    """Ports and names of ``nodes`` nodes: HTTP ``http_port + i``, transport ``transport_port + i``."""

    nodes: int
    http_port: int
    transport_port: int
    cluster_name: str

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got {self.nodes}")
        http = set(range(self.http_port, self.http_port + self.nodes))
        transport = set(range(self.transport_port, self.transport_port + self.nodes))
        if http & transport:
            raise ValueError(
                f"HTTP ports {min(http)}-{max(http)} overlap transport ports {min(transport)}-{max(transport)}"
            )

    @property
    def http_ports(self) -> list[int]:
        return [self.http_port + i for i in range(self.nodes)]

    @property
    def transport_ports(self) -> list[int]:
        return [self.transport_port + i for i in range(self.nodes)]

    @property
    def node_names(self) -> list[str]:
        return [f"node-{port}" for port in self.http_ports]

    @property
    def seed_hosts(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.transport_ports]


class LocalCluster:
    """``nodes`` local nodes forming one cluster; ``start()`` / ``stop()`` / ``status()``.

    ``http_port`` is the first node's HTTP port (default ``$NEWS_ES_LOCAL_PORT`` or 9200),
    ``transport_port`` the first node's transport port (default ``http_port + 100``).
    """

    def __init__(
        self,
        nodes: int = 2,
        *,
        http_port: int | None = None,
        transport_port: int | None = None,
        cluster_name: str = DEFAULT_MULTI_CLUSTER_NAME,
        health_timeout: float = 180.0,
        **node_settings: Any,
    ) -> None:
        first = NodeSettings(**({"http_port": http_port} if http_port is not None else {}))
        base_http = first.http_port
        base_transport = transport_port if transport_port is not None else base_http + TRANSPORT_PORT_OFFSET
        self.layout = ClusterLayout(nodes, base_http, base_transport, cluster_name)
        self.health_timeout = health_timeout
        self.nodes = [
            LocalNode(
                NodeSettings(
                    http_port=http,
                    transport_port=transport,
                    cluster_name=cluster_name,
                    node_name=name,
                    seed_hosts=self.layout.seed_hosts,
                    initial_master_nodes=self.layout.node_names,
                    health_timeout=health_timeout,
                    **node_settings,
                )
            )
            for http, transport, name in zip(
                self.layout.http_ports, self.layout.transport_ports, self.layout.node_names, strict=True
            )
        ]

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        """HTTP URL of the first node (any node serves the whole cluster)."""
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    # ------------------------------------------------------------------ http
    def _get(self, path: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """GET ``path`` from the first node that answers; None when none does."""
        for url in self.urls:
            try:
                with urllib.request.urlopen(url + path, timeout=timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:  # e.g. 408 when a wait_for_* condition timed out
                try:
                    return json.loads(exc.read())
                except ValueError:
                    continue
            except (urllib.error.URLError, OSError, ValueError):
                continue
        return None

    def health(self, **params: str) -> dict[str, Any] | None:
        """``GET _cluster/health`` with the given query parameters; None if no node answers."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self._get("/_cluster/health" + (f"?{query}" if query else ""))

    def wait_for(self, status: str = "yellow", *, indices: str | None = None, timeout: float | None = None) -> dict:
        """Block until all nodes joined and the cluster (or ``indices``) is at least ``status``."""
        if status not in _STATUS_RANK:
            raise ValueError(f"status must be one of {sorted(_STATUS_RANK)}, got {status!r}")
        deadline = time.monotonic() + (timeout if timeout is not None else self.health_timeout)
        path = f"/_cluster/health/{indices}" if indices else "/_cluster/health"
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self._get(f"{path}?wait_for_nodes={self.layout.nodes}&wait_for_status={status}&timeout=2s")
            if (
                last
                and last.get("number_of_nodes") == self.layout.nodes
                and _STATUS_RANK.get(last.get("status", "red"), 0) >= _STATUS_RANK[status]
                and not last.get("timed_out")
            ):
                return last
            time.sleep(0.5)
        shown = {k: last.get(k) for k in ("status", "number_of_nodes", "unassigned_shards")} if last else None
        raise LocalNodeError(
            f"cluster {self.layout.cluster_name} not {status} with {self.layout.nodes} nodes after "
            f"{timeout or self.health_timeout:.0f}s (last health: {shown})\n{self.nodes[-1].log_tail()}"
        )

    # ------------------------------------------------------------------ lifecycle
    def running_nodes(self) -> list[LocalNode]:
        return [node for node in self.nodes if node.status() is not None]

    def start(self, *, fresh: bool = False) -> bool:
        """Start every node that is not running and wait until all joined (at least yellow).

        ``fresh`` first deletes the data of nodes that are not running, so a throwaway test
        cluster never inherits indices or cluster state. Returns False when all nodes were
        already running. On failure, the nodes this call started are stopped again."""
        missing = [node for node in self.nodes if node.status() is None]
        if not missing:
            self.wait_for("yellow")
            print(f"Elasticsearch cluster already running at {', '.join(self.urls)}", file=sys.stderr)
            return False
        if fresh:
            for node in missing:
                shutil.rmtree(node.settings.data_dir, ignore_errors=True)
        missing[0].ensure_installed()  # once, before the parallel launches
        started: list[LocalNode] = []
        try:
            with ThreadPoolExecutor(max_workers=len(missing)) as pool:
                futures = {pool.submit(node.start): node for node in missing}
                errors = []
                for future, node in futures.items():
                    try:
                        if future.result():
                            started.append(node)
                    except LocalNodeError as exc:
                        errors.append(f"{node.url}: {exc}")
                if errors:
                    raise LocalNodeError("cluster start failed:\n" + "\n".join(errors))
            health = self.wait_for("yellow")
        except BaseException:
            for node in started:
                node.stop()
            raise
        print(
            f"Elasticsearch cluster {health.get('cluster_name')} ready: {health.get('number_of_nodes')} nodes "
            f"at {', '.join(self.urls)}",
            file=sys.stderr,
        )
        return True

    def stop(self) -> bool:
        """Stop every node of the cluster by its recorded PID; False if none was running."""
        stopped = False
        for node in reversed(self.nodes):
            stopped = node.stop() or stopped
        return stopped

    def remove_data(self) -> None:
        """Delete the nodes' directories (config, data, logs); refuses while a node runs."""
        running = self.running_nodes()
        if running:
            raise LocalNodeError(f"stop the cluster first: {', '.join(n.url for n in running)} still running")
        for node in self.nodes:
            shutil.rmtree(node.settings.node_dir, ignore_errors=True)
        cluster_dir = self.nodes[0].settings.state_dir / self.layout.cluster_name
        if cluster_dir.is_dir() and not any(cluster_dir.iterdir()):
            cluster_dir.rmdir()

    def status(self) -> dict[str, Any]:
        """Per node status plus the cluster health as seen by the first node that answers."""
        nodes = [node.status() or {"running": False, "url": node.url} for node in self.nodes]
        info: dict[str, Any] = {
            "cluster_name": self.layout.cluster_name,
            "running": any(n.get("running") for n in nodes),
            "nodes": nodes,
        }
        health = self.health() if info["running"] else None
        if health:
            info["health"] = {k: health.get(k) for k in ("status", "number_of_nodes", "active_shards",
                                                         "unassigned_shards")}
        return info

    @property
    def node_dirs(self) -> list[Path]:
        return [node.settings.node_dir for node in self.nodes]
