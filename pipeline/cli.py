"""Command line: ``python -m pipeline <command>`` (also installed as ``news-pipeline``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid

from pipeline.config import ConfigError, load_settings


def _cmd_es(args: argparse.Namespace) -> int:
    from pipeline.localnode.cli import main as localnode_main

    return localnode_main(args.rest)


def _cmd_setup_index(args: argparse.Namespace) -> int:
    from pipeline.index.client import es_client
    from pipeline.index.template import ensure_index

    settings = load_settings(args.config)
    changed = ensure_index(es_client(settings.elasticsearch), settings.elasticsearch)
    print("index template and write index: " + ("created/updated" if changed else "already up to date"))
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest the configured feeds in this process, without Airflow (small jobs, debugging)."""
    from pipeline.index.client import es_client
    from pipeline.index.template import ensure_index
    from pipeline.ingest import ingest_feed

    settings = load_settings(args.config)
    es = es_client(settings.elasticsearch)
    ensure_index(es, settings.elasticsearch)
    feeds = [f for f in settings.feeds if not args.feed or f.name in args.feed]
    if not feeds:
        print("no feeds configured (or none matches --feed)", file=sys.stderr)
        return 1
    run_id = f"cli-{uuid.uuid4().hex[:12]}"
    reports = []
    for n, feed in enumerate(feeds, 1):
        print(f"[{n}/{len(feeds)}] {feed.name}", file=sys.stderr)
        reports.append(ingest_feed(feed, settings, es=es, run_id=run_id).to_dict())
    print(json.dumps(reports, indent=2, ensure_ascii=False))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from elasticsearch import NotFoundError

    from pipeline.index.client import es_client
    from pipeline.search import SearchFilters, format_hits, search_articles

    settings = load_settings(args.config)
    filters = SearchFilters(
        lang=args.lang, site=args.site, entity=args.entity, date_from=args.date_from, date_to=args.date_to
    )
    try:
        resp = search_articles(
            es_client(settings.elasticsearch), settings.elasticsearch.index_alias, args.query,
            size=args.size, filters=filters, stories=args.stories,
        )
    except NotFoundError:
        print(f"no index {settings.elasticsearch.index_alias!r} yet: run an ingestion first", file=sys.stderr)
        return 1
    print(json.dumps(resp, ensure_ascii=False) if args.json else format_hits(resp))
    return 0


def _cmd_serve_sample(args: argparse.Namespace) -> int:
    from pipeline.samplesite.__main__ import main as serve_main

    return serve_main(["--host", args.host, "--port", str(args.port)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("--config", help="config directory (default: $NEWS_CONFIG_DIR or the repo's config/)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    es = sub.add_parser("es", help="manage the local development Elasticsearch node (start|stop|status)")
    es.add_argument("rest", nargs=argparse.REMAINDER)
    es.set_defaults(func=_cmd_es)

    sub.add_parser("setup-index", help="apply the index template and create the write index").set_defaults(
        func=_cmd_setup_index
    )

    ingest = sub.add_parser("ingest", help="ingest the configured feeds now, without Airflow")
    ingest.add_argument("--feed", action="append", help="only this feed (by name); repeatable")
    ingest.set_defaults(func=_cmd_ingest)

    search = sub.add_parser("search", help="full-text search over the indexed articles")
    search.add_argument("query")
    search.add_argument("--lang", help="only this language (ISO 639-1, e.g. de)")
    search.add_argument("--site", help="only this site (host)")
    search.add_argument("--entity", help="only articles mentioning this canonical entity name")
    search.add_argument("--from", dest="date_from", help="published on or after (e.g. 2022-01-01)")
    search.add_argument("--to", dest="date_to", help="published on or before")
    search.add_argument("--stories", action="store_true", help="one hit per story, with its outlet count")
    search.add_argument("--size", type=int, default=5)
    search.add_argument("--json", action="store_true", help="print the raw response")
    search.set_defaults(func=_cmd_search)

    serve = sub.add_parser("serve-sample", help="serve the bundled sample news site")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(func=_cmd_serve_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
