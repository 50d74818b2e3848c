"""``python -m pipeline.samplesite [--host 127.0.0.1] [--port 8765] [--quiet]``."""

from __future__ import annotations

import argparse
import os

from pipeline.samplesite.server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.samplesite", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEWS_SAMPLE_PORT") or 8765),
                        help="port (default $NEWS_SAMPLE_PORT or 8765, 0 = any free port)")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    args = parser.parse_args(argv)
    serve_forever(args.host, args.port, verbose=not args.quiet)


if __name__ == "__main__":
    main()
