"""Command line: ``python -m pipeline <command>`` (also installed as ``news-pipeline``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
import uuid
from typing import Any

from pipeline.clierrors import (
    EXIT_CODES_HELP,
    EXIT_CONFIG,
    EXIT_ES,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    checked_client,
    describe,
    es_unavailable,
)
from pipeline.config import ConfigError, load_settings
from pipeline.profiles.cli import add_commands as add_quality_commands

log = logging.getLogger(__name__)


def _cmd_es(args: argparse.Namespace) -> int:
    from pipeline.localnode.cli import run

    return run(args.es_command, args)


def _cmd_setup_index(args: argparse.Namespace) -> int:
    from pipeline.index.template import setup_index

    settings = load_settings(args.config)
    result = setup_index(checked_client(settings.elasticsearch), settings.elasticsearch)
    print("index template and write index: " + ("created/updated" if result.changed else "already up to date"))
    for name in result.repaired:
        print(f"repaired: {name} was outside the read alias {settings.elasticsearch.index_alias!r}; added")
    for name in result.left_for_reindex:
        print(f"left for reindex: {name} (an older version of its month is still in the alias; run reindex)")
    return 0


def _cmd_reindex(args: argparse.Namespace) -> int:
    """Migrate article indices of older template versions, switching the alias atomically."""
    from pipeline.index.reindex import reindex

    settings = load_settings(args.config)
    result = reindex(checked_client(settings.elasticsearch), settings.elasticsearch, delete_old=args.delete_old)
    print(json.dumps({"migrated": result.migrated, "copied": result.copied, "kept_newer": result.kept_newer,
                      "deleted": result.deleted}, indent=2))
    return 0


def _feed_failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The failures that mean the feed itself failed (not fetched or parsed, or crashed), as
    opposed to single pages of it; those are counted in the report and do not fail the run."""
    return [f for f in report.get("failures") or [] if f.get("stage") in ("feed", "internal")]


def _crashed_report(feed: Any, run_id: str, exc: Exception) -> dict[str, Any]:
    from pipeline.run.ingest import FeedReport

    report = FeedReport(feed=feed.name, url=feed.url, run_id=run_id)
    report.fail("internal", feed.url, f"{type(exc).__name__}: {exc}"[:500])
    return report.to_dict()


def _print_ingest_end(reports: list[dict[str, Any]], total: int) -> int:
    """The reports on stdout (also after a stop: the feeds that finished), the failed feeds on
    stderr; the exit status."""
    print(json.dumps(reports, indent=2, ensure_ascii=False))
    skipped = [r for r in reports if r.get("skipped")]
    if skipped:  # another runner polls them now (pipeline.feeds.lease): not a failure
        print(f"ingest: {len(skipped)} of {total} feed(s) skipped, another runner has them:", file=sys.stderr)
        for report in skipped:
            print(f"  {report['feed']}: skipped: {report['skipped']}", file=sys.stderr)
    failed = [(r["feed"], _feed_failed(r)) for r in reports if _feed_failed(r)]
    if failed:
        print(f"ingest: {len(failed)} of {total} feed(s) failed:", file=sys.stderr)
        for name, failures in failed:
            first = failures[0]
            print(f"  {name}: {first['stage']} {first['url']}: {first['reason']}"[:400], file=sys.stderr)
        return EXIT_FAILED
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest the configured feeds in this process, without Airflow (small jobs, debugging). A
    feed that fails is listed at the end and the exit status is 1; the other feeds still run.
    Elasticsearch failing stops the run: the feeds done so far are printed first."""
    from pipeline.index.template import ensure_index
    from pipeline.run.ingest import ingest_feed

    settings = load_settings(args.config)
    feeds = [f for f in settings.feeds if not args.feed or f.name in args.feed]
    if not feeds:
        print("no feeds configured (or none matches --feed)", file=sys.stderr)
        return EXIT_FAILED
    es = checked_client(settings.elasticsearch)
    ensure_index(es, settings.elasticsearch)
    run_id = f"cli-{uuid.uuid4().hex[:12]}"
    reports: list[dict[str, Any]] = []
    try:
        for n, feed in enumerate(feeds, 1):
            print(f"[{n}/{len(feeds)}] {feed.name}", file=sys.stderr)
            try:
                reports.append(ingest_feed(feed, settings, es=es, run_id=run_id).to_dict())
            except Exception as exc:
                if es_unavailable(exc):
                    raise
                log.error("feed %s: unexpected error, going on with the next feed: %s: %s", feed.name,
                          type(exc).__name__, exc, exc_info=args.verbose)
                reports.append(_crashed_report(feed, run_id, exc))
    except BaseException:
        if reports:
            _print_ingest_end(reports, len(feeds))
        print(f"ingest stopped after {len(reports)} of {len(feeds)} feed(s); a rerun skips what is indexed "
              f"(the feed in progress stays leased to this run until its lease expires, at most "
              f"{settings.ingest.lease_ttl_s:g} s)", file=sys.stderr)
        raise
    return _print_ingest_end(reports, len(feeds))


def _cmd_backfill(args: argparse.Namespace) -> int:
    """Backfill archive sources over a date range in this process, with a progress bar."""
    from pipeline.backfill.cli import run_backfill_command

    return run_backfill_command(args)


def _cmd_search(args: argparse.Namespace) -> int:
    """Search; a date it cannot read is one line and exit 2 (before Elasticsearch is asked), a
    search that failed on a shard is one line and exit 1 (never "0 hits")."""
    from elasticsearch import NotFoundError

    from pipeline.search import (
        SearchError,
        SearchFilters,
        format_hits,
        json_lines,
        parse_day,
        search_articles,
    )

    days: dict[str, str | None] = {}
    for option, value in (("--from", args.date_from), ("--to", args.date_to)):
        try:
            days[option] = parse_day(value) if value else None
        except ValueError as exc:
            print(f"error: {option}: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    settings = load_settings(args.config)
    filters = SearchFilters(
        lang=args.lang, site=args.site, entity=args.entity, date_from=days["--from"], date_to=days["--to"],
        entity_names=_entity_aliases(settings.config_dir, args.entity),
    )
    try:
        resp = search_articles(
            checked_client(settings.elasticsearch), settings.elasticsearch.index_alias, args.query,
            size=args.size, filters=filters, stories=args.stories, body=args.body,
        )
    except NotFoundError:
        print(f"no index {settings.elasticsearch.index_alias!r} yet: run an ingestion first", file=sys.stderr)
        return 1
    except SearchError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    try:
        if args.json:
            for record in json_lines(resp):
                print(json.dumps(record, ensure_ascii=False))
        else:
            print(format_hits(resp))
        sys.stdout.flush()
    except BrokenPipeError:  # `search --json | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _entity_aliases(config_dir: str, entity: str | None) -> tuple[str, ...]:
    """The ids of the entities ``entity`` is a name of in the gazetteer (``Tokayev`` ->
    "news:kassym-jomart-tokayev", ``Kasachstan`` -> "Q232"), when one name covers the whole of it."""
    if not entity or not entity.strip():
        return ()
    from pathlib import Path

    from pipeline.enrich.entities.gazetteer import load_gazetteer

    text = entity.strip()
    return tuple(m.entry.id for m in load_gazetteer(Path(config_dir) / "entities").find(text)
                 if m.start == 0 and m.end == len(text))


def _cmd_serve_sample(args: argparse.Namespace) -> int:
    from pipeline.samplesite.__main__ import main as serve_main

    return serve_main(["--host", args.host, "--port", str(args.port)])


def _cmd_kibana(args: argparse.Namespace) -> int:
    """``kibana check`` validates the saved objects offline against the index mappings (CI has
    no Kibana); ``kibana import`` loads them into a running Kibana. Secrets come from the
    environment only, so they never show up in ``ps`` output or shell history."""
    import os
    from pathlib import Path

    from pipeline.kibana import (
        DEFAULT_KIBANA_URL,
        SAVED_OBJECTS_FILE,
        KibanaError,
        SavedObjectsError,
        check_saved_objects,
        entity_labels,
        import_saved_objects,
    )

    path = Path(args.file or SAVED_OBJECTS_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"cannot read saved objects file {path}: {exc}", file=sys.stderr)
        return 1
    if args.kibana_command == "check":
        problems = check_saved_objects(text)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if problems:
            print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        print(f"{path}: OK (every referenced field exists in the index mappings)")
        return 0
    url = args.url or os.environ.get("NEWS_KIBANA_URL") or DEFAULT_KIBANA_URL
    try:
        result = import_saved_objects(
            url, path,
            username=os.environ.get("NEWS_KIBANA_USERNAME") or None,
            password=os.environ.get("NEWS_KIBANA_PASSWORD") or None,
            api_key=os.environ.get("NEWS_KIBANA_API_KEY") or None,
            space=args.space or os.environ.get("NEWS_KIBANA_SPACE") or None,
            wait_timeout=args.wait,
            labels=entity_labels(Path(load_settings(args.config).config_dir) / "entities", args.entity_language),
        )
    except (KibanaError, SavedObjectsError) as exc:
        print(f"kibana import failed: {exc}", file=sys.stderr)
        return 1
    print(f"imported {result.get('successCount', 0)} saved object(s) into {url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__, epilog=EXIT_CODES_HELP)
    parser.add_argument("--config", help="config directory (default: $NEWS_CONFIG_DIR or the repo's config/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging; tracebacks with errors")
    sub = parser.add_subparsers(dest="command", required=True)

    from pipeline.localnode.cli import COMMANDS as ES_COMMANDS
    from pipeline.localnode.cli import add_node_options

    es = sub.add_parser("es", help="manage the local development Elasticsearch node (start|stop|status)",
                        description="Manage the project's local Elasticsearch node on 127.0.0.1 (with --nodes N: "
                                    "a local cluster). `make es-start`, `make es-stop`, `make es-status` call these.")
    es_sub = es.add_subparsers(dest="es_command", required=True, title="commands")
    for name, text in ES_COMMANDS.items():
        add_node_options(es_sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + "."))
    es.set_defaults(func=_cmd_es)

    sub.add_parser("setup-index", help="apply the index template and create the write index").set_defaults(
        func=_cmd_setup_index
    )

    reindex = sub.add_parser("reindex", help="migrate article indices to the current template version")
    reindex.add_argument("--delete-old", action="store_true", help="delete the old indices once switched")
    reindex.set_defaults(func=_cmd_reindex)

    ingest = sub.add_parser(
        "ingest", help="ingest the configured feeds now, without Airflow",
        description="Ingest the configured feeds now, without Airflow. The feeds' reports are printed "
                    "as JSON on stdout (after a stop, those of the feeds that finished); failed feeds "
                    "are listed on stderr at the end.",
        epilog=EXIT_CODES_HELP,
    )
    ingest.add_argument("--feed", action="append", help="only this feed (by name); repeatable")
    ingest.set_defaults(func=_cmd_ingest)

    backfill = sub.add_parser("backfill", help="backfill archive sources (config/backfill.yaml) by day, without Airflow")
    backfill.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--to", dest="date_to", required=True, help="last day (inclusive), YYYY-MM-DD")
    backfill.add_argument("--source", action="append", help="only this archive source (by name); repeatable")
    backfill.add_argument("--status", action="store_true", help="only show the partitions' state, run nothing")
    backfill.add_argument("--json", action="store_true", help="print the per-partition reports as JSON")
    backfill.set_defaults(func=_cmd_backfill)

    search = sub.add_parser(
        "search", help="full-text search over the indexed articles",
        description='Every word is required; "..." is a phrase, a | b either, -word excludes, prefix* a prefix '
                    "(Elasticsearch simple_query_string, default operator AND). An empty query \"\" lists all.",
    )
    search.add_argument("query", help='words (all required), "phrases", a | b, -not, prefix*')
    search.add_argument("--lang", help="only this language (ISO 639-1, e.g. de)")
    search.add_argument("--site", help="only this site: its publisher name as in the sites facet, or its host")
    search.add_argument("--entity", help="only articles mentioning this entity: its name, an alias, a whole word "
                                         "of its name (Putin) or its id (Q7747)")
    search.add_argument("--from", dest="date_from", metavar="DAY", help="published on or after this day as the outlet wrote it "
                                                         "(YYYY-MM-DD or DD.MM.YYYY)")
    search.add_argument("--to", dest="date_to", metavar="DAY", help="published on or before this day (YYYY-MM-DD or DD.MM.YYYY)")
    search.add_argument("--stories", action="store_true", help="one hit per story, with its article count")
    search.add_argument("--size", type=int, default=5, help="hits to show (default 5)")
    search.add_argument("--json", action="store_true", help="one JSON document per hit and line, for scripts")
    search.add_argument("--body", action="store_true", help="with --json: include the article text")
    search.set_defaults(func=_cmd_search)

    serve = sub.add_parser("serve-sample", help="serve the bundled sample news site")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("NEWS_SAMPLE_PORT") or 8765),
                       help="port (default $NEWS_SAMPLE_PORT or 8765: the bundled feeds follow the same variable)")
    serve.set_defaults(func=_cmd_serve_sample)
    kibana = sub.add_parser("kibana", help="Kibana saved objects: offline check, import into Kibana")
    kibana_sub = kibana.add_subparsers(dest="kibana_command", required=True)
    kibana_check = kibana_sub.add_parser("check", help="check that every field the saved objects use is mapped")
    kibana_check.add_argument("--file", help="saved objects NDJSON (default: config/kibana/news-pipeline.ndjson)")
    kibana_import = kibana_sub.add_parser(
        "import", help="import the saved objects (credentials: $NEWS_KIBANA_USERNAME/_PASSWORD or _API_KEY)"
    )
    kibana_import.add_argument("--url", help="Kibana base URL (default: $NEWS_KIBANA_URL or http://127.0.0.1:5601)")
    kibana_import.add_argument("--file", help="saved objects NDJSON (default: config/kibana/news-pipeline.ndjson)")
    kibana_import.add_argument("--space", help="Kibana space id (default: $NEWS_KIBANA_SPACE or the default space)")
    kibana_import.add_argument("--wait", type=float, default=300.0, help="seconds to wait for Kibana (default 300)")
    kibana_import.add_argument("--entity-language", default="en",
                               help="language of the entity labels the panels show for entity ids (default en)")
    kibana.set_defaults(func=_cmd_kibana)
    add_quality_commands(sub)  # quality, reprocess, profiles (pipeline.profiles.cli)
    return parser


def _quiet_libraries(verbose: bool) -> None:
    """The Elasticsearch transport logs a warning per failed attempt and node; the command
    reports the failure itself, in one line."""
    level = logging.WARNING if verbose else logging.CRITICAL
    for name in ("elastic_transport", "elasticsearch", "urllib3"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _es_url(args: argparse.Namespace) -> str:
    try:
        return load_settings(args.config).elasticsearch.url
    except ConfigError:
        return "the configured URL"


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every failure ends in one line on stderr (``-v``: with the traceback)
    and the exit status of EXIT_CODES_HELP."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _quiet_libraries(args.verbose)
    hint = "" if args.verbose else " (run with -v for the traceback)"
    try:
        return args.func(args)
    except ConfigError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the command's last resort: one line, -v for the traceback
        if args.verbose:
            traceback.print_exc()
        line = describe(exc, _es_url(args))
        if line is not None:
            print(f"error: {line}", file=sys.stderr)
            return EXIT_ES
        print(f"error: {type(exc).__name__}: {str(exc)[:300]}{hint}".replace("\n", " "), file=sys.stderr)
        return EXIT_FAILED
