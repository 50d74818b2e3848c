"""Command line for the local node: ``start|stop|status [--port N] [--heap 512m] [--jit quick|tiered] [--nodes N]``.

``--nodes 2`` (or more) manages a local cluster instead (:class:`LocalCluster`): nodes on HTTP
ports ``port``, ``port + 1``, ... and transport ports ``transport-port``, ``transport-port + 1``,
... (default ``port + 100``), one cluster name; give the same ``--nodes``/``--port`` to ``stop``
and ``status``.

Expected failures (``LocalNodeError``) are printed as a message on stderr with exit code 1;
only genuine bugs produce a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .cluster import LocalCluster
from .errors import LocalNodeError
from .node import LocalNode
from .settings import JIT_OPTIONS, NodeSettings

# the commands and what each does, for both command lines (this one and `python -m pipeline es`)
COMMANDS = {
    "start": "start the node (set up on first use), wait until healthy, print its URL",
    "stop": "stop the node this project started on that port",
    "status": "print the node's state as JSON (pid, URL, version, health)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.localnode", description="Manage the project's local Elasticsearch node.",
        epilog="commands: " + "; ".join(f"{name}: {text}" for name, text in COMMANDS.items()),
    )
    parser.add_argument("command", choices=list(COMMANDS))
    add_node_options(parser)
    return parser


def add_node_options(parser: argparse.ArgumentParser) -> None:
    """The options every command takes (they name the node: give ``stop`` and ``status`` the same)."""
    parser.add_argument(
        "--port", type=int, help="HTTP port (default: $NEWS_ES_LOCAL_PORT or 9200); transport uses port + 100"
    )
    parser.add_argument("--heap", help="JVM heap, e.g. 512m (default: $NEWS_ES_LOCAL_HEAP or 512m)")
    parser.add_argument(
        "--jit", choices=sorted(JIT_OPTIONS),
        help="JVM JIT: quick = C1 only, least CPU for short runs; tiered = the JVM default, faster once warm "
        "(default: $NEWS_ES_LOCAL_JIT or quick)",
    )
    parser.add_argument(
        "--nodes", type=int, default=1,
        help="number of nodes; 2 or more form one local cluster on consecutive ports (default 1)",
    )
    parser.add_argument("--transport-port", type=int, help="first node's transport port (default: port + 100)")
    parser.add_argument("--cluster-name", help="cluster name (default: news-pipeline-local, with --nodes N: "
                        "news-pipeline-local-cluster); names the state directory, too")


def _cluster_main(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if args.heap:
        overrides["heap"] = args.heap
    if args.jit:
        overrides["jit"] = args.jit
    if args.cluster_name:
        overrides["cluster_name"] = args.cluster_name
    cluster = LocalCluster(args.nodes, http_port=args.port, transport_port=args.transport_port, **overrides)
    if args.command == "start":
        cluster.start()
        print(" ".join(cluster.urls))
    elif args.command == "stop":
        if not cluster.stop():
            print(f"No local cluster node running on ports {cluster.layout.http_ports}", file=sys.stderr)
    else:
        print(json.dumps(cluster.status(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 error)."""
    args = build_parser().parse_args(argv)
    return run(args.command, args)


def run(command: str, args: argparse.Namespace) -> int:
    """Run ``command`` (start, stop, status) with the options of :func:`add_node_options`."""
    args.command = command
    try:
        if args.nodes != 1:
            return _cluster_main(args)
        overrides: dict[str, object] = {}
        if args.port is not None:
            overrides["http_port"] = args.port
        if args.transport_port is not None:
            overrides["transport_port"] = args.transport_port
        if args.cluster_name:
            overrides["cluster_name"] = args.cluster_name
        if args.heap:
            overrides["heap"] = args.heap
        if args.jit:
            overrides["jit"] = args.jit
        node = LocalNode(NodeSettings(**overrides))  # type: ignore[arg-type]
        if args.command == "start":
            node.start()
            print(node.url)
        elif args.command == "stop":
            if not node.stop():
                print(f"No local node running for port {node.settings.http_port}", file=sys.stderr)
        else:
            info = node.status()
            print(json.dumps(info if info is not None else {"running": False, "url": node.url}, indent=2))
            return 0
    except (LocalNodeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0
