"""news_ingest on Airflow's CeleryExecutor, outside Docker: two workers, a two-node cluster, the
bench site; what the run did, a worker killed mid-run, and what each service costs.

``make scaleout-demo`` runs ``--demo``: one triggered run with two workers and its checks.
Without ``--demo`` (about 15 minutes here) it also measures one worker against two, kills a worker
with SIGKILL while its tasks run, and writes the figures to docs/scale-out.md (``--no-write``:
print only). Everything runs on this machine, from one temporary directory, on 127.0.0.1:

- the bench site (bench/e2e_site.py) in its own process, ``--hosts`` hosts with
  ``--feeds-per-host`` RSS feeds each, logging every request it receives (time, host, path);
- a two-node Elasticsearch cluster (``LocalCluster``; HTTP ``--es-port`` and +1), one replica;
- PostgreSQL, Redis, Airflow's API server, scheduler, dag-processor and Celery workers
  ``news-worker-1`` and ``-2`` (:mod:`pipeline.scaleout`, settings from config/scaleout.env);
- the reference: the same feeds ingested by one process (``python -m pipeline ingest``) under
  another alias of the same cluster.

Each feed is its own ``site`` and each host has as many feeds as there are feed groups, so every
ingest task fetches from every host and both workers fetch from the same hosts at the same time: only the per-host start times reserved in
Elasticsearch (pipeline/fetch/sharedlimit.py) keep them ``per_host_min_interval_s`` apart. The site's
request log shows whether they did.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import itertools

from bench.dag_e2e import SiteProcess as BenchSiteProcess
from bench.dag_e2e import write_bench_config
from bench.proc_cpu import process_cpu_s

SCALEOUT_MD = ROOT / "docs" / "scale-out.md"
DEFAULT_ES_PORT = 9410  # NEWS_TEST_ES_PORT 9400 + 10, as the scale-out test's cluster
INTERVAL_S = 0.25
DAG_ID = "news_ingest"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- site and config
class SiteProcess(BenchSiteProcess):
    """bench/e2e_site.py in its own process with a request log; stopped by closing its stdin."""

    def __init__(self, pages: int, hosts: int, feeds_per_host: int, request_log: Path) -> None:
        super().__init__(pages, hosts, feeds_per_host, request_log)

    def feeds(self) -> list[dict]:
        """The site's feeds, each its own ``site``: a host's feeds land in different groups."""
        return [{**{k: v for k, v in f.items() if k != "entries"}, "site": f["name"]} for f in self.info["feeds"]]

def write_config(directory: Path, *, es_url: str, alias: str, feeds: list[dict], groups: int, replicas: int,
                 interval_s: float = INTERVAL_S) -> Path:
    """A config dir like the repo's: these feeds, this cluster and alias, the polite interval."""
    http = {"connect_timeout_s": 5, "read_timeout_s": 30, "per_host_min_interval_s": interval_s,
            "per_host_max_concurrent": 2}
    return write_bench_config(directory, es_url=es_url, alias=alias, feeds=feeds, groups=groups,
                              replicas=replicas, http=http)


def reference_run(config_dir: Path, log_path: Path) -> float:
    """The same feeds ingested by one process (``python -m pipeline ingest``); seconds taken."""
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    with log_path.open("ab") as log:
        proc = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(config_dir), "ingest"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"reference ingest failed ({proc.returncode}):\n{tail}")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- what a run did
def snapshot(es: Any, alias: str) -> dict[str, str]:
    """Document id -> content hash of every article under ``alias``."""
    es.indices.refresh(index=alias)
    docs: dict[str, str] = {}
    resp = es.search(index=alias, query={"match_all": {}}, size=10_000, source=["content_hash"])
    for hit in resp["hits"]["hits"]:
        if hit["_id"] in docs:
            raise AssertionError(f"document {hit['_id']} is in two indices of {alias}")
        docs[hit["_id"]] = hit["_source"].get("content_hash")
    count = es.count(index=alias)["count"]
    if count != len(docs):
        raise AssertionError(f"{alias}: count {count} but {len(docs)} documents listed")
    return docs


def compare(reference: dict[str, str], result: dict[str, str]) -> dict[str, Any]:
    return {
        "reference": len(reference), "result": len(result),
        "missing": sorted(set(reference) - set(result)), "extra": sorted(set(result) - set(reference)),
        "hash_differs": sorted(k for k in set(reference) & set(result) if reference[k] != result[k]),
    }


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


@dataclass
class Try:
    map_index: int
    try_number: int
    state: str
    hostname: str
    start: float | None
    end: float | None


def ingest_tries(api: Any, run_id: str) -> list[Try]:
    """Every try of every mapped ingest_group task instance of the run, from the REST API."""
    tries = []
    for ti in api.task_instances(DAG_ID, run_id):
        if ti["task_id"] != "ingest_group":
            continue
        for t in api.tries(DAG_ID, run_id, "ingest_group", ti["map_index"]):
            tries.append(Try(t["map_index"], t["try_number"], str(t["state"]), t.get("hostname") or "",
                             _ts(t.get("start_date")), _ts(t.get("end_date"))))
    return sorted(tries, key=lambda t: (t.map_index, t.try_number))


def busy_window(tries: list[Try]) -> tuple[float, float] | None:
    """The time every worker that ran an ingest try was running one: from the last worker's first
    start to the first worker's last end (None if fewer than two workers ran one)."""
    spans: dict[str, list[float]] = {}
    for t in tries:
        if t.start is None or not t.hostname:
            continue
        end = t.end if t.end is not None else time.time()
        low, high = spans.get(t.hostname, [t.start, end])
        spans[t.hostname] = [min(low, t.start), max(high, end)]
    if len(spans) < 2:
        return None
    start, end = max(s[0] for s in spans.values()), min(s[1] for s in spans.values())
    return (start, end) if end > start else None


def politeness(request_log: Path, window: tuple[float, float] | None, since: float = 0.0) -> dict[str, Any]:
    """Per host: requests received in ``window`` and the smallest gap between two consecutive ones."""
    by_host: dict[str, list[float]] = {}
    for line in request_log.read_text(encoding="utf-8").splitlines():
        stamp, host, _path = line.split(" ", 2)
        t = float(stamp)
        if t >= since and (window is None or window[0] <= t <= window[1]):
            by_host.setdefault(host, []).append(t)
    hosts = {}
    for host, times in sorted(by_host.items()):
        times.sort()
        gaps = [b - a for a, b in itertools.pairwise(times)]
        hosts[host] = {"requests": len(times), "min_gap_s": min(gaps) if gaps else None}
    gaps_all = [h["min_gap_s"] for h in hosts.values() if h["min_gap_s"] is not None]
    return {"hosts": hosts, "min_gap_s": min(gaps_all) if gaps_all else None,
            "requests": sum(h["requests"] for h in hosts.values())}


# ---------------------------------------------------------------------------- CPU accounting
class CpuMeter:
    """CPU seconds per service between :meth:`start` and :meth:`stop`, from /proc (live processes
    and the children they reaped, so finished task processes count for their worker)."""

    def __init__(self, stack: Any, cluster: Any, site: SiteProcess) -> None:
        self.stack, self.cluster, self.site = stack, cluster, site
        self.before: dict[str, float] = {}

    def read(self) -> dict[str, float]:
        cpu = {name: sum(process_cpu_s(p) for p in pids) for name, pids in self.stack.pids().items()}
        cpu["elasticsearch (2 nodes)"] = sum(
            process_cpu_s(s["pid"]) for s in (n.status() for n in self.cluster.nodes) if s and s.get("pid"))
        cpu["bench site"] = process_cpu_s(self.site.proc.pid)
        return cpu

    def start(self) -> None:
        self.before = self.read()

    def stop(self) -> dict[str, float]:
        after = self.read()
        return {k: max(0.0, v - self.before.get(k, 0.0)) for k, v in after.items()}


# ---------------------------------------------------------------------------- one triggered run
@dataclass
class RunResult:
    label: str
    run_id: str
    state: str
    wall_s: float
    articles: int
    tries: list[Try]
    equality: dict[str, Any]
    polite: dict[str, Any]
    window: tuple[float, float] | None
    cpu: dict[str, float] = field(default_factory=dict)
    killed: str | None = None
    note: str = ""
    triggered: float = 0.0  # wall-clock time of the trigger

    @property
    def hosts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for t in self.tries:
            if t.state == "success":
                found[t.hostname] = found.get(t.hostname, 0) + 1
        return found

    @property
    def ingest_s(self) -> float:
        starts = [t.start for t in self.tries if t.start]
        ends = [t.end for t in self.tries if t.end]
        return max(ends) - min(starts) if starts and ends else float("nan")

    def summary(self) -> str:
        eq = self.equality
        same = not (eq["missing"] or eq["extra"] or eq["hash_differs"])
        return (f"{self.label}: {self.state} in {self.wall_s:.0f} s, {self.articles} articles "
                f"({self.articles / self.ingest_s:.1f}/s over the ingest tasks' {self.ingest_s:.0f} s); "
                f"ingest tasks succeeded on {self.hosts}; index {'equals' if same else 'DIFFERS from'} the "
                f"reference ({eq}); min gap per host while both workers ran: {self.polite['min_gap_s']} s "
                f"over {self.polite['requests']} requests")


def clear_indices(es: Any, alias: str) -> None:
    es.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)


def triggered_run(label: str, stack: Any, es: Any, alias: str, reference: dict[str, str], request_log: Path, *,
                  timeout: float = 900.0, kill: str | None = None, meter: CpuMeter | None = None) -> RunResult:
    """Trigger news_ingest through the REST API, wait for its end, and look at what it did.

    ``kill``: a worker to SIGKILL once it is running an ingest task and the other worker is too."""
    clear_indices(es, alias)
    since = time.time()
    if meter:
        meter.start()
    started = time.perf_counter()
    run_id = stack.api.trigger(DAG_ID)["dag_run_id"]
    say(f"[{label}] triggered {run_id}")
    killed, note = None, ""
    if kill:
        count = _kill_when_busy(stack, es, alias, run_id, kill, len(reference) // 4, timeout)
        killed, note = kill, f"killed {time.perf_counter() - started:.0f} s after the trigger, {count} articles indexed"
    final = stack.api.wait_for_run(DAG_ID, run_id, timeout)
    wall = time.perf_counter() - started
    cpu = meter.stop() if meter else {}
    tries = ingest_tries(stack.api, run_id)
    window = None if killed else busy_window(tries)  # killed: every request of the run counts
    result = RunResult(label, run_id, str(final["state"]), wall, es.count(index=alias)["count"], tries,
                       compare(reference, snapshot(es, alias)), politeness(request_log, window, since), window,
                       cpu, killed, note, since)
    say(result.summary())
    return result


def _kill_when_busy(stack: Any, es: Any, alias: str, run_id: str, victim: str, indexed: int, timeout: float) -> int:
    """SIGKILL ``victim`` once it and another worker run ingest tasks and at least ``indexed``
    articles are in the index: its tasks are in the middle of their feeds, some pages indexed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = {t.hostname for t in ingest_tries(stack.api, run_id) if t.state == "running"}
        if victim in running and len(running) >= 2 and _count(es, alias) >= indexed:
            stack.kill_worker(victim)
            count = _count(es, alias)
            say(f"SIGKILL to {victim} and its task processes ({count} articles indexed)")
            return count
        time.sleep(0.5)
    raise TimeoutError(f"{victim} never ran an ingest task beside another worker with {indexed} articles indexed")


def _count(es: Any, alias: str) -> int:
    try:
        return es.count(index=alias, ignore_unavailable=True, allow_no_indices=True)["count"]
    except Exception:  # noqa: BLE001 - the alias does not exist before prepare_index
        return 0


# ---------------------------------------------------------------------------- the whole setup
class Setup:
    """Site, cluster, reference and the Celery stack, all started by :meth:`start`."""

    def __init__(self, work: Path, *, pages: int, hosts: int, feeds_per_host: int, groups: int, es_port: int) -> None:
        self.work = work
        self.pages, self.hosts, self.feeds_per_host, self.groups = pages, hosts, feeds_per_host, groups
        self.es_port = es_port
        self.alias = f"scaleout-{uuid.uuid4().hex[:6]}"
        self.site: SiteProcess | None = None
        self.cluster: Any = None
        self.es: Any = None
        self.stack: Any = None
        self.reference: dict[str, str] = {}
        self.reference_s = 0.0
        self.request_log = work / "requests.log"

    def start(self, workers: int = 2) -> None:
        from elasticsearch import Elasticsearch

        from pipeline.localnode import LocalCluster
        from pipeline.scaleout import CeleryStack

        self.site = SiteProcess(self.pages, self.hosts, self.feeds_per_host, self.request_log)
        feeds = self.site.feeds()
        say(f"bench site: {self.pages} pages on {self.hosts} hosts, {len(feeds)} feeds; work dir {self.work}")
        self.cluster = LocalCluster(2, http_port=self.es_port, transport_port=self.es_port + 100,
                                    cluster_name="news-pipeline-scaleout-celery", health_timeout=600)
        errors: list[BaseException] = []

        def start_cluster() -> None:
            try:
                self.cluster.start(fresh=True)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                errors.append(exc)

        thread = threading.Thread(target=start_cluster)
        thread.start()  # the cluster starts while the Airflow services do
        config = write_config(self.work / "config", es_url=self.cluster.url, alias=self.alias, feeds=feeds,
                              groups=self.groups, replicas=1)
        self.stack = CeleryStack(self.work / "stack", config)
        try:
            self.stack.start(workers=workers)
        finally:
            thread.join()
        if errors:
            raise errors[0]
        say(f"Airflow (CeleryExecutor, {workers} workers), PostgreSQL, Redis and the cluster are up")
        self.es = Elasticsearch(self.cluster.urls, request_timeout=120)
        ref_config = write_config(self.work / "config-reference", es_url=self.cluster.url, alias=f"{self.alias}-ref",
                                  feeds=feeds, groups=self.groups, replicas=1)
        self.reference_s = reference_run(ref_config, self.work / "reference.log")
        self.reference = snapshot(self.es, f"{self.alias}-ref")
        say(f"reference (one process): {len(self.reference)} articles in {self.reference_s:.0f} s")
        self.stack.api.patch(f"/api/v2/dags/{DAG_ID}", {"is_paused": False})

    def stop(self) -> None:
        if self.es is not None:
            self.es.close()
        if self.stack is not None:
            self.stack.stop()
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster.remove_data()
        if self.site is not None:
            self.site.stop()


def check(result: RunResult, *, workers: int, interval_s: float = INTERVAL_S, tolerance_s: float = 0.1) -> list[str]:
    """What must hold for a run; an empty list when everything does. ``workers``: how many
    workers must have run ingest tasks (with two, the interval per host must hold too).

    ``tolerance_s``: the site stamps a request when its handler thread runs, and a request whose
    task process was scheduled late (2 cores, a dozen busy processes) lands closer to the next
    one than the reserved starts were; without the shared reservation, two workers' requests to
    one host arrive within milliseconds of each other."""
    problems = []
    eq = result.equality
    if result.state != "success":
        problems.append(f"run {result.state}")
    if eq["missing"] or eq["extra"] or eq["hash_differs"]:
        problems.append(f"index differs from the reference: {eq}")
    if workers >= 2 and len(result.hosts) < 2:
        problems.append(f"ingest tasks ran on {sorted(result.hosts)} only")
    gap = result.polite["min_gap_s"]
    if (workers >= 2 or result.killed) and (gap is None or gap < interval_s - tolerance_s):
        problems.append(f"two requests to one host {gap} s apart (interval {interval_s} s)")
    return problems


def report(setup: Setup, runs: list[RunResult]) -> str:
    from bench import machine_line

    lines = [
        "Generated by `bench/scaleout_celery.py` (do not edit by hand). "
        + machine_line() + " Load average at the end (other jobs share the machine): "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + ".",
        "",
        (f"Site: {setup.pages} pages (about 50 KB of HTML each) on {setup.hosts} hosts, "
        f"{setup.hosts * setup.feeds_per_host} RSS feeds, each feed its own `site`, so the "
        f"{setup.groups} feed groups split every host; `per_host_min_interval_s: {INTERVAL_S}`. "
        f"Reference: one process (`python -m pipeline ingest`), {len(setup.reference)} articles in "
        f"{setup.reference_s:.0f} s ({len(setup.reference) / setup.reference_s:.1f} articles/s)."),
        "",
        ("| run | state | articles | same ids and content hashes as the reference | ingest tasks (successful tries) per worker "
        "| ingest window | articles/s | smallest gap between two requests to one host while both workers ran |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        eq = r.equality
        same = "yes" if not (eq["missing"] or eq["extra"] or eq["hash_differs"]) else (
            f"no: {len(eq['missing'])} missing, {len(eq['extra'])} extra, {len(eq['hash_differs'])} changed")
        hosts = ", ".join(f"{h}: {n}" for h, n in sorted(r.hosts.items()))
        if r.polite["min_gap_s"] is None or not (r.window or r.killed):
            gap = "– (one worker)"
        else:
            gap = f"{r.polite['min_gap_s']:.3f} s ({r.polite['requests']} requests{'' if r.window else ', whole run'})"
        lines.append(f"| {r.label} | {r.state} | {r.articles} | {same} | {hosts} | {r.ingest_s:.0f} s | "
                     f"{r.articles / r.ingest_s:.1f} | {gap} |")
    killed = [r for r in runs if r.killed]
    for r in killed:
        lines += ["", f"**{r.label}** ({r.note}): tries of the mapped ingest tasks (try, worker, state):", ""]
        for t in r.tries:
            span = (f", t+{t.start - r.triggered:.0f} s to t+{t.end - r.triggered:.0f} s"
                    if t.start is not None and t.end is not None else "")
            lines.append(f"- `ingest_group[{t.map_index}]` try {t.try_number} on {t.hostname}: {t.state}{span}")
    cpu_runs = [r for r in runs if r.cpu]
    if cpu_runs:
        names = sorted({k for r in cpu_runs for k in r.cpu}, key=lambda k: -max(r.cpu.get(k, 0) for r in cpu_runs))
        lines += ["", ("CPU seconds per service during the run (from /proc; a worker's line includes its task "
                  "processes):"), "", "| service | " + " | ".join(r.label for r in cpu_runs) + " |",
                  "| --- |" + " --- |" * len(cpu_runs)]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(f"{r.cpu.get(name, 0):.1f}" for r in cpu_runs) + " |")
        lines.append("| total | " + " | ".join(f"{sum(r.cpu.values()):.1f}" for r in cpu_runs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="one run with two workers and its checks (make scaleout-demo)")
    parser.add_argument("--pages", type=int, default=None, help="pages (default 48 with --demo, else 96)")
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--feeds-per-host", type=int, default=4,
                        help="feeds per host (default 4: with 4 groups, every group has a feed of every host)")
    parser.add_argument("--groups", type=int, default=4, help="ingest.max_feed_groups (default 4)")
    parser.add_argument("--es-port", type=int, default=int(os.environ.get("NEWS_SCALEOUT_ES_PORT", DEFAULT_ES_PORT)))
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write docs/scale-out.md")
    args = parser.parse_args(argv)
    pages = args.pages or (48 if args.demo else 96)
    work = Path(tempfile.mkdtemp(prefix="news-scaleout-celery-"))
    setup = Setup(work, pages=pages, hosts=args.hosts, feeds_per_host=args.feeds_per_host, groups=args.groups,
                  es_port=args.es_port)
    problems: list[str] = []
    try:
        setup.start(workers=2)
        meter = CpuMeter(setup.stack, setup.cluster, setup.site)
        run = lambda label, **kw: triggered_run(label, setup.stack, setup.es, setup.alias, setup.reference,
                                               setup.request_log, **kw)
        runs = [run("two workers", meter=meter)]
        problems += check(runs[0], workers=2)
        if not args.demo:
            setup.stack.workers["news-worker-2"].stop()
            runs.append(run("one worker", meter=meter))
            problems += check(runs[-1], workers=1)
            setup.stack.start_worker("news-worker-2")
            runs.append(run("two workers, news-worker-1 killed (SIGKILL) mid-run", kill="news-worker-1"))
            killed = runs[-1]
            problems += [p for p in check(killed, workers=1)]
            retried = {t.map_index for t in killed.tries if t.hostname == "news-worker-1" and t.state != "success"}
            rescued = {t.map_index for t in killed.tries if t.hostname == "news-worker-2" and t.state == "success"}
            if not retried or not retried <= rescued:
                problems.append(f"tasks of the killed worker {sorted(retried)} not all retried on news-worker-2")
        body = report(setup, runs)
        print(body)
        if problems:
            say("PROBLEMS: " + "; ".join(problems))
        elif not args.demo and not args.no_write:
            from bench import write_section

            write_section("scaleout_celery", body, SCALEOUT_MD)
            say(f"written to {SCALEOUT_MD}")
    finally:
        say("stopping everything this run started")
        setup.stop()
    say(f"logs: {work}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
