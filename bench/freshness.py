"""Freshness: how long a new feed entry takes to become searchable, under the Airflow scheduler.

Local RSS feeds (default 200, 10 per loopback host 127.0.0.11, .12, ...; each host allowed
explicitly in the feeds' ``allow_networks``) gain entries at random times (a Poisson process per
feed; three kinds of feed: busy, a new entry every 4 minutes on average; normal, every 15; quiet,
every 60). Each entry links to a generated German article page (bench/e2e_site.py's pages). The
pipeline runs in streaming mode under the real Airflow scheduler (scripts/airflow_standalone.py,
the `make airflow` launcher: scheduler, DAG processor, triggerer, API server, LocalExecutor), with
``news_ingest`` unpaused and nothing triggered by hand. For every entry the bench records when it
appeared in its feed (the feed server's clock) and when its article was first found through the
read alias (an ``ids`` query every 0.5 s), and every request the feeds received.

Reported: latency p50 / p95 / max; feed requests per feed per hour (conditional GETs, 200 and
304) in the measured window, by kind of feed; the shortest gap between two polls of one feed
against its floor (``min_interval_s``, or the feed's Cache-Control max-age, 45 s on every tenth
feed); the DAG runs' turnover (from the REST API: the gap in polling between one run's ingest
tasks and the next run's). ``--cron '* * * * *'`` runs the same feeds with one pass per cron
run instead of the streaming loop, for the comparison.

    .venv/bin/python -m bench.freshness                    # about 20 minutes; writes docs/benchmarks.md
    .venv/bin/python -m bench.freshness --feeds 50 --minutes 5 --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml

from bench import machine_line, write_section
from bench.e2e_site import SiteLayout, make_article, render_page
from pipeline.article import doc_id_for
from pipeline.fetch.urls import canonicalize
from pipeline.samplesite.feeds import entry_for
from pipeline.samplesite.render import render_rss
from tests.airflow_local import free_port, kill_leftovers, stop_session

DEFAULT_ES_PORT = 9600
SHIPPED_MODEL = ROOT / "models" / "de_germeval_ner"
KINDS = {"busy": (0.2, 4.0), "normal": (0.5, 15.0), "quiet": (0.3, 60.0)}  # share of feeds, mean gap (minutes)
MAX_AGE_EVERY = 10  # every tenth feed sends Cache-Control: max-age=MAX_AGE_S
MAX_AGE_S = 45
FEED_ITEMS = 30


def say(message: str) -> None:
    print(f"[freshness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the feeds
@dataclass
class Entry:
    page: int
    offset_s: float  # appears at site.start_at + offset_s (the initial entries: offset 0, before the window)
    initial: bool = False
    link: str = ""
    doc_id: str = ""
    seen_at: float | None = None


@dataclass
class Feed:
    index: int
    host: int
    kind: str
    base: str = ""
    entries: list[Entry] = field(default_factory=list)
    requests: list[tuple[float, int]] = field(default_factory=list)  # (wall time, status)

    @property
    def name(self) -> str:
        return f"fresh-{self.index:03d}"

    @property
    def path(self) -> str:
        return f"/feeds/{self.index}.xml"

    @property
    def max_age(self) -> int | None:
        return MAX_AGE_S if self.index % MAX_AGE_EVERY == 0 else None


class FreshSite:
    """One HTTP server per loopback host, serving feeds whose entries appear over time."""

    def __init__(self, feeds: int, hosts: int, minutes: float, seed: int) -> None:
        rng = random.Random(seed)
        self.layout = SiteLayout(pages=1_000_000, hosts=hosts, feeds_per_host=max(1, math.ceil(feeds / hosts)))
        kinds = [k for k, (share, _) in KINDS.items() for _ in range(round(share * feeds))]
        kinds = (kinds + ["normal"] * feeds)[:feeds]
        rng.shuffle(kinds)
        self.feeds = [Feed(i, i % hosts, kinds[i]) for i in range(feeds)]
        self.window_s = minutes * 60
        page = 0
        for feed in self.feeds:
            feed.entries.append(Entry(page, 0.0, initial=True))
            page += 1
            mean_s = KINDS[feed.kind][1] * 60
            t = rng.expovariate(1 / mean_s)
            while t < self.window_s:
                feed.entries.append(Entry(page, t))
                page += 1
                t += rng.expovariate(1 / mean_s)
        self.start_at: float | None = None  # arrivals start (set when the warm-up is over)
        self.pages: dict[str, tuple[int, int]] = {}  # path -> (page, host)
        self.robots = [0] * hosts
        self.page_requests = [0] * hosts
        self._lock = threading.Lock()
        self._cache: dict[int, bytes] = {}
        self._servers: list[ThreadingHTTPServer] = []
        self.hosts = hosts

    def host_ip(self, host: int) -> str:
        return f"127.0.0.{11 + host}"

    def start(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                host = self.server.host  # type: ignore[attr-defined]
                site.handle(self, host)

        for host in range(self.hosts):
            server = ThreadingHTTPServer((self.host_ip(host), 0), Handler)
            server.daemon_threads = True
            server.host = host  # type: ignore[attr-defined]
            base = f"http://{self.host_ip(host)}:{server.server_address[1]}"
            for feed in self.feeds:
                if feed.host == host:
                    feed.base = base
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
            self._servers.append(server)
        for feed in self.feeds:
            for entry in feed.entries:
                article = make_article(self.layout, entry.page)
                entry.link = feed.base + article.path
                entry.doc_id = doc_id_for(canonicalize(entry.link))
                self.pages[article.path] = (entry.page, feed.host)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def visible(self, feed: Feed, now: float) -> list[Entry]:
        """The feed's entries at ``now``: the initial one, and every arrival whose time has come."""
        return [e for e in feed.entries
                if e.initial or (self.start_at is not None and self.start_at + e.offset_s <= now)]

    def appeared(self, entry: Entry) -> float | None:
        """When ``entry`` appeared in its feed (wall clock); None for the initial entries."""
        return None if entry.initial or self.start_at is None else self.start_at + entry.offset_s

    def handle(self, handler: BaseHTTPRequestHandler, host: int) -> None:
        path = handler.path
        now = time.time()
        if path == "/robots.txt":
            self.robots[host] += 1
            _reply(handler, 200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
            return
        if path.startswith("/feeds/"):
            feed = self.feeds[int(path.split("/")[-1].removesuffix(".xml"))]
            shown = self.visible(feed, now)[-FEED_ITEMS:]
            items = [entry_for(make_article(self.layout, e.page), feed.base) for e in reversed(shown)]
            xml = render_rss(items, feed.base, f"Frische Meldungen {feed.index}", feed.path)
            # no <ttl> (the sample site's template says 15 minutes, which the pipeline would honour)
            body = re.sub(r"\s*<ttl>\d+</ttl>", "", xml).encode("utf-8")
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8",
                       "Last-Modified": formatdate(now, usegmt=True)}
            if feed.max_age:
                headers["Cache-Control"] = f"public, max-age={feed.max_age}"
            status = 304 if handler.headers.get("If-None-Match") == etag else 200
            with self._lock:
                feed.requests.append((now, status))
            if status == 304:
                _reply(handler, 304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
            else:
                _reply(handler, 200, body, headers)
            return
        found = self.pages.get(path.split("?")[0])
        if found is None:
            _reply(handler, 404, b"not found", {"Content-Type": "text/plain"})
            return
        page, page_host = found
        self.page_requests[host] += 1
        with self._lock:
            body = self._cache.get(page)
        if body is None:
            body = render_page(self.layout, page, f"http://{self.host_ip(page_host)}:{handler.server.server_address[1]}")
            with self._lock:
                self._cache[page] = body
        _reply(handler, 200, body, {"Content-Type": "text/html; charset=utf-8"})


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)


# ---------------------------------------------------------------------------- config and Airflow
def slots(args: argparse.Namespace) -> int:
    """Pool slots: two runs' ingest tasks during the loop's overlap, one spare."""
    return args.tasks + 1 if args.cron else 2 * args.tasks + 1


def write_config(directory: Path, site: FreshSite, args: argparse.Namespace, es_url: str, alias: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    schedule: dict[str, Any] = {
        "mode": "streaming", "min_interval_s": args.floor, "max_interval_s": 86400,
        "quiet_backoff_share": args.quiet_share, "timezone": "UTC",
    }
    if args.cron:
        schedule.update(streaming_cron=args.cron, streaming_run_s=0)
    else:
        schedule.update(streaming_run_s=args.run_s, streaming_overlap_s=args.overlap_s, streaming_tasks=args.tasks)
    main = {
        "elasticsearch": {"url": es_url, "index_alias": alias, "number_of_replicas": 0},
        "schedule": schedule,
        "ingest": {"max_feed_groups": args.tasks, "pool": "news_fetch"},
        "feeds_file": "feeds.yaml",
    }
    feeds = [{
        "name": f.name, "url": f.base + f.path, "lang": "de", "min_interval_s": args.floor,
        "allow_networks": [f"{site.host_ip(f.host)}/32"],  # loopback is blocked unless a feed lists it
    } for f in site.feeds]
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    for shared in ("sites", "entities"):
        if not (directory / shared).exists():
            (directory / shared).symlink_to(ROOT / "config" / shared)
    return directory


class Airflow:
    """scripts/airflow_standalone.py (what `make airflow` runs) in its own session."""

    def __init__(self, env: dict[str, str], port: int, out: Path) -> None:
        self.env, self.port, self.out = env, port, out
        self.home = Path(env["AIRFLOW_HOME"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.api: Any = None

    def start(self, timeout: float) -> None:
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], env=self.env, check=True, capture_output=True)
        subprocess.run([airflow, "pools", "set", "news_fetch", str(self.env["NEWS_POOL_SLOTS"]), "freshness"],
                       env=self.env, check=True, capture_output=True)
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "airflow_standalone.py")],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while "Airflow is up" not in self.out.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Airflow did not come up:\n{self.out.read_text(errors='replace')[-3000:]}")
            time.sleep(1)
        sys.path.insert(0, str(ROOT / "scripts"))
        from airflow_standalone import Api

        self.api = Api(f"http://127.0.0.1:{self.port}", self.home / "simple_auth_manager_passwords.json.generated")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        for attempt in range(5):
            try:
                return self.api.call(method, path, body)
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(2)
        return None

    def stop(self) -> None:
        stop_session(self.proc)  # the launcher stops its components
        with contextlib.suppress(OSError, ValueError):  # components outliving the launcher
            kill_leftovers(json.loads((self.home / "airflow.pids").read_text()))


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def dag_runs(airflow: Airflow) -> list[dict[str, Any]]:
    """Every news_ingest run with its tasks' start and end (wall clock)."""
    runs = airflow.call("GET", "/api/v2/dags/news_ingest/dagRuns?limit=100&order_by=start_date")["dag_runs"]
    out = []
    for run in runs:
        tis = airflow.call("GET", f"/api/v2/dags/news_ingest/dagRuns/{run['dag_run_id']}/taskInstances?limit=100")
        tasks = [{"task": t["task_id"], "map_index": t["map_index"], "state": t["state"],
                  "start": _ts(t.get("start_date")), "end": _ts(t.get("end_date"))} for t in tis["task_instances"]]
        out.append({"run_id": run["dag_run_id"], "state": run["state"], "start": _ts(run.get("start_date")),
                    "end": _ts(run.get("end_date")), "queued": _ts(run.get("queued_at")), "tasks": tasks})
    return out


# ---------------------------------------------------------------------------- measuring
class Watcher(threading.Thread):
    """Finds, every 0.5 s, which appeared entries are searchable through the alias."""

    def __init__(self, es: Any, alias: str, site: FreshSite) -> None:
        super().__init__(daemon=True)
        self.es, self.alias, self.site = es, alias, site
        self.stop_event = threading.Event()
        self.loads: list[float] = []

    def pending(self) -> list[Entry]:
        now = time.time()
        return [e for f in self.site.feeds for e in f.entries if e.seen_at is None and (
            e.initial or (self.site.start_at is not None and self.site.start_at + e.offset_s <= now))]

    def run(self) -> None:
        last_load = 0.0
        while not self.stop_event.wait(0.5):
            if time.monotonic() - last_load > 10:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            pending = self.pending()
            if not pending:
                continue
            ids = {e.doc_id: e for e in pending}
            try:
                hits = self.es.search(index=self.alias, query={"ids": {"values": list(ids)}}, source=False,
                                      size=len(ids), ignore_unavailable=True, allow_no_indices=True)["hits"]["hits"]
            except Exception as exc:  # noqa: BLE001 - a bench: report and look again in 0.5 s
                say(f"search: {type(exc).__name__}")
                continue
            now = time.time()
            for hit in hits:
                ids[hit["_id"]].seen_at = now


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def analyse(site: FreshSite, runs: list[dict[str, Any]], args: argparse.Namespace, window: tuple[float, float],
            loads: list[float], load_start: tuple[float, ...], load_end: tuple[float, ...], es_version: str,
            warmup_s: float) -> str:
    start, end = window
    arrivals = [e for f in site.feeds for e in f.entries if not e.initial]
    lat = [e.seen_at - site.appeared(e) for e in arrivals if e.seen_at is not None]
    missing = [e for e in arrivals if e.seen_at is None]
    hours = (end - start) / 3600
    per_kind: dict[str, list[float]] = {}
    lat_kind: dict[str, list[float]] = {}
    min_gap_ok, worst = True, []
    for feed in site.feeds:
        in_window = [t for t, _ in feed.requests if start <= t < end]
        per_kind.setdefault(feed.kind, []).append(len(in_window) / hours)
        lat_kind.setdefault(feed.kind, []).extend(e.seen_at - site.appeared(e) for e in feed.entries
                                                  if not e.initial and e.seen_at)
        times = [t for t, _ in feed.requests]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        floor = max(args.floor, feed.max_age or 0)
        if gaps:
            worst.append((min(gaps) / floor, min(gaps), floor, feed.name))
            if min(gaps) < floor - 1.0:  # 1 s: the feed state keeps due times to the second
                min_gap_ok = False
    all_rates = [r for rates in per_kind.values() for r in rates]
    statuses = [s for f in site.feeds for t, s in f.requests if start <= t < end]
    share_304 = statuses.count(304) / len(statuses) if statuses else 0.0
    worst.sort()
    mode = (f"streaming loop: `streaming_run_s: {args.run_s:g}`, `streaming_overlap_s: {args.overlap_s:g}`, "
            f"`streaming_tasks: {args.tasks}`"
            if not args.cron else f"one pass per run: `streaming_cron: \"{args.cron}\"`, "
                                  f"`max_feed_groups: {args.tasks}`")
    title = ("## Freshness under the Airflow scheduler (`bench/freshness.py`)" if not args.cron else
             f"## Freshness with a cron instead of the loop (`bench/freshness.py --cron '{args.cron}'`)")
    lines = [
        title,
        "",
        machine_line(es_version),
        (f"Load average (1 min) at the start {load_start[0]:.1f}, during the run mean {statistics.fmean(loads or [0]):.1f} "
        f"(max {max(loads or [0]):.1f}), at the end {load_end[0]:.1f}: the 2 cores are shared with other jobs."),
        "",
        (f"{len(site.feeds)} RSS feeds on {site.hosts} loopback hosts (127.0.0.11-{10 + site.hosts}, each allowed "
        f"explicitly by its feeds' `allow_networks`); {', '.join(f'{round(s * 100)} % {k} (a new entry every {g:g} min on average)' for k, (s, g) in KINDS.items())}, "
        f"Poisson arrivals over a {args.minutes:g}-minute window after a warm-up (first poll of every feed, "
        f"{warmup_s:.0f} s). Every entry links to a generated German article page (about 50 KB). "
        f"Every {MAX_AGE_EVERY}th feed sends `Cache-Control: max-age={MAX_AGE_S}`. "
        f"`news_ingest` in streaming mode, {mode}; floor `min_interval_s: {args.floor:g}` per feed, "
        f"`quiet_backoff_share: {args.quiet_share:g}`; `per_host_min_interval_s` 1 s (the default); "
        f"started by `scripts/airflow_standalone.py` (LocalExecutor, parallelism {slots(args) + 2}, pool "
        f"`news_fetch` {slots(args)} slots), unpaused, nothing triggered by hand."),
        "",
        ("Latency: from the moment an entry appears in its feed to the moment its article is found "
        "through the read alias (an `ids` query every 0.5 s)."),
        "",
        "| entries | p50 s | p95 s | max s | mean s | not searchable by the end |",
        "|---:|---:|---:|---:|---:|---:|",
        (f"| {len(arrivals)} | {quantile(lat, .5):.1f} | {quantile(lat, .95):.1f} | {max(lat or [float('nan')]):.1f} "
        f"| {statistics.fmean(lat or [float('nan')]):.1f} | {len(missing)} |"),
        "",
        "| kind of feed | feeds | entries | p50 s | p95 s | feed requests per feed per hour (mean, max) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        rates, lats = per_kind.get(kind, []), lat_kind.get(kind, [])
        lines.append(f"| {kind} | {len(rates)} | {len(lats)} | {quantile(lats, .5):.1f} | {quantile(lats, .95):.1f} "
                     f"| {statistics.fmean(rates or [0]):.0f}, {max(rates or [0]):.0f} |")
    lines.append(f"| all | {len(all_rates)} | {len(lat)} | {quantile(lat, .5):.1f} | {quantile(lat, .95):.1f} "
                 f"| {statistics.fmean(all_rates or [0]):.0f}, {max(all_rates or [0]):.0f} |")
    lines += [
        "",
        f"Polling load on the feeds: {sum(len([t for t, _ in f.requests if start <= t < end]) for f in site.feeds)} "
        f"feed requests in {hours * 60:.1f} minutes, {share_304:.0%} answered 304 (conditional GET), "
        f"{statistics.fmean(all_rates or [0]):.0f} per feed per hour on average (a fixed 60 s poll would be 60, "
        f"the floor alone {3600 / args.floor:.0f}); robots.txt {sum(site.robots)} requests over the whole run "
        f"({site.hosts} hosts), article pages {sum(site.page_requests)}. "
        f"Shortest gap between two polls of one feed, against its floor (`min_interval_s` or max-age): "
        + ", ".join(f"{name} {gap:.1f} s (floor {floor:g})" for _, gap, floor, name in worst[:3])
        + (" - never below the floor." if min_gap_ok else " - BELOW THE FLOOR."),
    ]
    lines += ["", *turnover(runs, window)]
    return "\n".join(lines) + "\n"


def turnover(runs: list[dict[str, Any]], window: tuple[float, float]) -> list[str]:
    """How long polling pauses between two runs, and what a run costs before it polls."""
    done = [r for r in runs if r["start"] and r["tasks"]]
    done.sort(key=lambda r: r["start"])
    starts, pauses, ends = [], [], []
    for prev, run in itertools.pairwise(done):
        prev_ingest = [t["end"] for t in prev["tasks"] if t["task"] == "ingest_group" and t["end"]]
        ingest = [t["start"] for t in run["tasks"] if t["task"] == "ingest_group" and t["start"]]
        if prev_ingest and ingest:
            pauses.append(min(ingest) - max(prev_ingest))
    for run in done:
        ingest = [t["start"] for t in run["tasks"] if t["task"] == "ingest_group" and t["start"]]
        if ingest:
            starts.append(min(ingest) - run["start"])
        tail = [t["end"] for t in run["tasks"] if t["task"] in ("summarize", "announce_articles") and t["end"]]
        ingest_end = [t["end"] for t in run["tasks"] if t["task"] == "ingest_group" and t["end"]]
        if tail and ingest_end:
            ends.append(max(tail) - max(ingest_end))
    states = {}
    for run in runs:
        states[run["state"]] = states.get(run["state"], 0) + 1

    def span(values: list[float]) -> str:
        return (f"median {statistics.median(values):.1f} s, min {min(values):.1f} s, max {max(values):.1f} s"
                if values else "n/a")

    return [
        (f"DAG runs: {len(runs)} ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}). "
        f"Run start to its first ingest task polling (scheduler, `prepare_index`, `list_feeds`, task start-up): "
        f"{span(starts)}; last ingest task's end to the run's end (`summarize`, `announce_articles`): {span(ends)}; "
        f"from one run's last ingest task's end to the next run's first ingest task's start (negative: the loops "
        f"overlapped, no pause in polling): {span(pauses)}."),
    ]


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=12.0, help="arrival window (default 12)")
    parser.add_argument("--run-s", type=float, default=300.0, help="schedule.streaming_run_s (default 300)")
    parser.add_argument("--overlap-s", type=float, default=60.0, help="schedule.streaming_overlap_s (default 60)")
    parser.add_argument("--tasks", type=int, default=3, help="streaming_tasks / max_feed_groups (default 3)")
    parser.add_argument("--floor", type=float, default=30.0, help="min_interval_s of every feed (default 30)")
    parser.add_argument("--quiet-share", type=float, default=0.05, help="schedule.quiet_backoff_share (0.05)")
    parser.add_argument("--cron", help="one pass per run on this streaming_cron instead of the loop")
    parser.add_argument("--drain-s", type=float, default=180.0, help="wait this long for the last entries")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--es-port", type=int, default=int(os.environ.get("NEWS_TEST_ES_PORT", DEFAULT_ES_PORT)))
    parser.add_argument("--section", help="docs/benchmarks.md section (default freshness, with --cron freshness_cron)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    from elasticsearch import Elasticsearch

    from pipeline.localnode import LocalNode, NodeSettings

    work = Path(tempfile.mkdtemp(prefix="news-bench-fresh-"))
    say(f"work directory {work}")
    node = LocalNode(NodeSettings(http_port=args.es_port, transport_port=args.es_port + 100,
                                  cluster_name="news-pipeline-test"))
    started_node = node.start()
    es = Elasticsearch(node.url, request_timeout=60)
    alias = f"fresh-{uuid.uuid4().hex[:8]}"
    site = FreshSite(args.feeds, args.hosts, args.minutes, args.seed)
    site.start()
    airflow = None
    watcher = Watcher(es, alias, site)
    ok = False
    try:
        config = write_config(work / "config", site, args, node.url, alias)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWS_"))}
        env.update(
            AIRFLOW_HOME=str(work / "airflow"), AIRFLOW_PORT=str(port), NEWS_CONFIG_DIR=str(config),
            AIRFLOW__CORE__PARALLELISM=str(slots(args) + 2), AIRFLOW_STARTUP_TIMEOUT="600",
            NEWS_SPACY_MODELS=f"de={SHIPPED_MODEL}", NEWS_POOL_SLOTS=str(slots(args)),
        )
        for name in ("NEWS_PIPELINE_STATE_DIR", "NEWS_PIPELINE_CACHE_DIR"):
            if name in os.environ:
                env[name] = os.environ[name]
        (work / "airflow").mkdir()
        airflow = Airflow(env, port, work / "airflow.out")
        say(f"starting Airflow on port {port} ...")
        airflow.start(timeout=900)
        load_start = os.getloadavg()
        watcher.start()
        say("unpausing news_ingest")
        airflow.call("PATCH", "/api/v2/dags/news_ingest", {"is_paused": False})
        t_unpause = time.time()
        initial = [e for f in site.feeds for e in f.entries if e.initial]
        while any(e.seen_at is None for e in initial):
            if time.time() - t_unpause > 900:
                raise RuntimeError(f"warm-up: {sum(e.seen_at is None for e in initial)} initial entries not indexed")
            time.sleep(2)
        warmup_s = time.time() - t_unpause
        say(f"warm-up done in {warmup_s:.0f} s; arrivals for {args.minutes:g} min")
        time.sleep(max(0.0, args.floor))  # let the first-poll burst settle into the feeds' rhythm
        site.start_at = time.time()
        window = (site.start_at, site.start_at + site.window_s)
        while time.time() < window[1]:
            time.sleep(5)
            seen = sum(1 for f in site.feeds for e in f.entries if not e.initial and e.seen_at)
            due = sum(1 for f in site.feeds for e in f.entries if not e.initial and site.start_at + e.offset_s <= time.time())
            say(f"{seen}/{due} appeared entries searchable, load {os.getloadavg()[0]:.1f}")
        drain_until = time.time() + args.drain_s
        while watcher.pending() and time.time() < drain_until:
            time.sleep(2)
        watcher.stop_event.set()
        load_end = os.getloadavg()
        raw = [{"feed": f.name, "kind": f.kind, "requests": f.requests,
                "entries": [{"page": e.page, "initial": e.initial, "appeared": site.appeared(e), "seen": e.seen_at}
                            for e in f.entries]} for f in site.feeds]
        (work / "raw.json").write_text(json.dumps({"window": window, "feeds": raw}))
        runs = dag_runs(airflow)
        (work / "runs.json").write_text(json.dumps(runs, indent=1))
        es_version = "?"
        with contextlib.suppress(Exception):
            nodes = es.nodes.info(node_id="_local", filter_path="nodes.*.version")["nodes"]
            es_version = next(iter(nodes.values()))["version"]
        body = analyse(site, runs, args, window, watcher.loads, load_start, load_end, es_version, warmup_s)
        print(body)
        (work / "section.md").write_text(body)
        if not args.no_write:
            write_section(args.section or ("freshness_cron" if args.cron else "freshness"), body)
        ok = True
    finally:
        watcher.stop_event.set()
        if airflow is not None:
            airflow.stop()
        site.stop()
        with contextlib.suppress(Exception):
            es.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
        es.close()
        if started_node:
            node.stop()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"logs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
