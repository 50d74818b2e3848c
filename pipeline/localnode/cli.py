"""Command line for the local node: ``start|stop|status [--port N] [--heap 512m]``.

Expected failures (``LocalNodeError``) are printed as a message on stderr with exit code 1;
only genuine bugs produce a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import LocalNodeError
from .node import LocalNode
from .settings import NodeSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.localnode", description="Manage the project's local Elasticsearch node."
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port", type=int, help="HTTP port (default: $NEWS_ES_LOCAL_PORT or 9200); transport uses port + 100"
    )
    parser.add_argument("--heap", help="JVM heap, e.g. 512m (default: $NEWS_ES_LOCAL_HEAP or 512m)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 error)."""
    args = build_parser().parse_args(argv)
    try:
        overrides: dict[str, object] = {}
        if args.port is not None:
            overrides["http_port"] = args.port
        if args.heap:
            overrides["heap"] = args.heap
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
