"""``python -m pipeline backfill --from YYYY-MM-DD --to YYYY-MM-DD [--source NAME ...]``: small
backfills without Airflow, with a progress bar over the partitions and per-partition counts in the
log. Exit status 1 when a partition ended ``failed`` (run it again to resume); the other statuses
are those of ``pipeline.cli`` (2 config error, 3 Elasticsearch unavailable)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import uuid
from datetime import date

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from pipeline.backfill import state
from pipeline.backfill.jobs import plan, prepare, run_partitions
from pipeline.backfill.run import INTERRUPTED, PartitionReport, plan_partitions, totals
from pipeline.backfill.sources import load_backfill_config
from pipeline.clierrors import checked_client
from pipeline.config import ConfigError, load_settings

log = logging.getLogger(__name__)


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{option} must be a date like 2022-01-31, got {value!r}") from exc


def _print_status(rows: list[tuple[str, dict]]) -> None:
    print(f"{'partition':40} {'status':8} {'tries':>5} {'created':>7} {'updated':>7} {'failed':>6}  error")
    for pid, doc in rows:
        print(f"{pid:40} {doc.get('status', 'unknown'):8} {doc.get('attempts', 0):>5} {doc.get('created', 0) or 0:>7} "
              f"{doc.get('updated', 0) or 0:>7} {doc.get('failed', 0) or 0:>6}  {doc.get('error') or ''}")


def _on_sigint(signum: int, frame: object) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


def run_backfill_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    config = load_backfill_config(settings)
    start, end = parse_day(args.date_from, "--from"), parse_day(args.date_to, "--to")
    names = args.source or ()
    es = checked_client(settings.elasticsearch)
    prepare(es, settings)
    alias = settings.elasticsearch.index_alias
    if args.status:
        partitions = plan_partitions(config, start, end, names)
        ids = [state.partition_id(s, d) for s, d in partitions]
        states = state.load_states(es, alias, ids)
        _print_status([(pid, states.get(pid, {"status": "unknown"})) for pid in ids])
        return 0
    todo, done = plan(es, settings, config, start, end, names)
    print(f"backfill {start}..{end}: {len(todo)} partition(s) to run, {done} already done", file=sys.stderr)
    run_id = f"backfill-{uuid.uuid4().hex[:12]}"
    INTERRUPTED.clear()
    counts = {"created": 0, "failed": 0}
    with tqdm(total=len(todo), unit="partition", file=sys.stderr, dynamic_ncols=True) as bar, logging_redirect_tqdm():
        def on_done(report: PartitionReport) -> None:
            counts["created"] += report.created
            counts["failed"] += report.status == "failed"
            bar.set_postfix(created=counts["created"], failed_partitions=counts["failed"], refresh=False)
            bar.update(1)

        previous = signal.signal(signal.SIGINT, _on_sigint)
        try:
            reports = run_partitions(es, settings, config, todo, run_id=run_id, on_done=on_done)
        except KeyboardInterrupt:
            bar.close()
            print(f"backfill interrupted after {bar.n} of {len(todo)} partition(s) ({run_id}); the one in "
                  "progress is recorded as interrupted: run the same command again to resume", file=sys.stderr)
            return 130
        finally:
            signal.signal(signal.SIGINT, previous)
    summaries = [r.summary() for r in reports]
    if args.json:
        print(json.dumps({"run_id": run_id, "partitions": summaries, "totals": totals(summaries)},
                         indent=2, ensure_ascii=False))
    else:
        _print_status([(s["partition"], s) for s in summaries])
        print(f"totals ({run_id}): {json.dumps(totals(summaries))}")
    return 1 if any(r.status == "failed" for r in reports) else 0
