"""End-to-end articles per second through the news_ingest DAG, per-stage time shares, 1 vs 2
parallel tasks, and task memory at two input sizes.

One command: ``.venv/bin/python bench/dag_e2e.py`` (``--pages 500`` for a quick run; ``--no-write``
to leave docs/benchmarks.md alone). It sets up everything on this machine:

- a local Elasticsearch node (``LocalNode``, port ``--es-port``, 1 shard, 0 replicas, heap 512m, the
  local node's default JIT mode unless ``--es-jit``);
- a news site of ``--pages`` German article pages (bench/e2e_site.py: about 50 KB of HTML each,
  four hosts 127.0.0.1-4, two RSS feeds per host) served by real HTTP servers in a separate
  process;
- the German NER model the repository ships (``models/de_germeval_ner``, the default for ``de``),
  given to the tasks through ``NEWS_SPACY_MODELS``; ``--test-model`` trains the tests' small
  network instead (``pipeline.enrich.entities.training.train_ner``, the figures before issue 18);
- a reference in the same invocation: CPU time of bare ``trafilatura.extract`` on pages of the
  same site (in a subprocess: a warm-up pass, then 2 timed passes, before each measured run, before
  the plain script and at the end; the median pass is the reference), so the pipeline's CPU per
  article can be given as a ratio that survives the shared machine's noise;
- the plain baseline of issue 20 (``--plain``, on by default): bench/plain_script.py (feedparser,
  httpx, trafilatura with metadata, langdetect, ``helpers.bulk``; one process) on a site of the same
  pages, after the DAG runs and a plain warm-up run, charged its own CPU plus the Elasticsearch
  node's; the section's table "Cost per article, same pages, one session" sets bare extraction,
  the plain script and the DAG at each parallelism side by side;
- a throwaway Airflow home (SQLite in WAL mode), an Execution API server, and the real
  ``dags/news_ingest.py`` run by ``dag.test(use_executor=True)`` with a LocalExecutor of
  parallelism 1 or 2 (tests/airflow_local.py), feeds split into ``--groups`` groups.

Politeness is relaxed for the benchmark, as every page is on this machine:
``per_host_min_interval_s: 0`` (default 1.0) and ``per_host_max_concurrent: 8`` (default 2).

Stage times come from wrapping the pipeline's stage functions in the task processes
(bench/stage_timing.py; exclusive time, behaviour unchanged). CPU time of every process involved
(tasks, Elasticsearch, API server, the scheduler loop, the site) is read from /proc, to show where
the machine's two cores went. Memory: peak RSS of each ingest task process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml

from bench import cpu_model, machine_line, stage_timing, write_section
from bench.proc_cpu import process_cpu_s
from pipeline.localnode import LocalNode, NodeSettings
from pipeline.localnode.settings import JIT_OPTIONS
from pipeline.run.preload import preload
from tests.airflow_local import (
    ExecutionApiServer,
    TaskSpan,
    enable_wal,
    executor_environ,
    free_port,
    run_with_local_executor,
    task_spans,
)

DEFAULT_ES_PORT = 9297
TARGET = 60.0  # articles/s
RELAXED_HTTP = {
    "connect_timeout_s": 5, "read_timeout_s": 15, "per_host_min_interval_s": 0, "per_host_max_concurrent": 8,
}
STAGE_ORDER = (
    "import pipeline.run.ingest", "NER model load", "feed (parse)", "fetch (HTTP)", "decode",
    "clean + dates (one parse)", "language", "profiles, canaries, raw archive", "entities (NER + gazetteer)", "stories (MinHash + lookup)",
    "index (bulk)", "refresh", "state (feed state, seen, run log)", "other (in ingest_feed)",
)


@dataclass
class RunResult:
    label: str
    pages: int
    parallelism: int
    state: str
    wall_s: float
    indexed: int
    spans: list[TaskSpan]
    timings: list[dict[str, Any]]
    cpu: dict[str, float]
    loadavg: tuple[float, float, float]
    site: dict[str, Any]
    failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ingest_spans(self) -> list[TaskSpan]:
        return [s for s in self.spans if s.map_index >= 0]

    @property
    def ingest_window_s(self) -> float:
        spans = self.ingest_spans
        return (max(s.end for s in spans) - min(s.start for s in spans)).total_seconds() if spans else 0.0

    @property
    def rate(self) -> float:
        return self.indexed / self.wall_s if self.wall_s else 0.0

    @property
    def ingest_rate(self) -> float:
        return self.indexed / self.ingest_window_s if self.ingest_window_s else 0.0

    def task_timings(self) -> list[dict[str, Any]]:
        pids = {s.pid for s in self.ingest_spans}
        return [t for t in self.timings if t["pid"] in pids]


@dataclass
class PlainResult:
    """One run of bench/plain_script.py (its own process) against the bench site."""

    label: str
    pages: int
    wall_s: float  # the subprocess from spawn to exit (interpreter start-up and imports included)
    indexed: int
    script: dict[str, Any]  # what the script printed (its own counts, wall and CPU)
    cpu: dict[str, float]
    loadavg: tuple[float, float, float]

    @property
    def rate(self) -> float:
        return self.indexed / self.wall_s if self.wall_s else 0.0

    @property
    def counted_cpu_s(self) -> float:
        return self.cpu["plain script"] + self.cpu["elasticsearch"]


# ---------------------------------------------------------------------------- processes and CPU
def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:
                pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (and its children's: the LocalExecutor workers echo every
    task log line) to ``path`` while the DAG runs; progress lines go to the saved terminal."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- site and config
class SiteProcess:
    """bench/e2e_site.py in its own process (logging every request it receives to ``request_log``
    when given); stopped by closing its stdin."""

    def __init__(self, pages: int, hosts: int, feeds_per_host: int, request_log: Path | None = None) -> None:
        self.request_log = request_log
        cmd = [sys.executable, "-m", "bench.e2e_site", "--pages", str(pages), "--hosts", str(hosts),
               "--feeds-per-host", str(feeds_per_host)]
        if request_log is not None:
            cmd += ["--request-log", str(request_log)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.stop()
            raise RuntimeError("the bench site did not start")
        self.info = json.loads(line)

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def write_bench_config(directory: Path, *, es_url: str, alias: str, feeds: list[dict], groups: int | None = None,
                       replicas: int = 0, http: dict[str, Any] = RELAXED_HTTP, **es_settings: Any) -> Path:
    """A config dir like the repo's for the bench site: these feeds (without the site's entries),
    this node or cluster and alias, ``http`` settings, ``groups`` feed groups when given; the repo's
    site rules and entities linked in."""
    directory.mkdir(parents=True, exist_ok=True)
    main: dict[str, Any] = {
        "elasticsearch": {"url": es_url, "index_alias": alias, "number_of_replicas": replicas, **es_settings},
        "http": http,
        "feeds_file": "feeds.yaml",
    }
    if groups is not None:
        main["ingest"] = {"max_feed_groups": groups}
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    clean = [{k: v for k, v in f.items() if k != "entries"} for f in feeds]
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": clean}), encoding="utf-8")
    for shared in ("sites", "entities"):
        if not (directory / shared).exists():
            (directory / shared).symlink_to(ROOT / "config" / shared)
    return directory


SHIPPED_MODEL = ROOT / "models" / "de_germeval_ner"

_TRAFILATURA_REF = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import trafilatura
from bench.e2e_site import SiteLayout, render_page
layout = SiteLayout(pages=int(sys.argv[2]), hosts=int(sys.argv[3]), feeds_per_host=int(sys.argv[4]))
n, passes = int(sys.argv[5]), int(sys.argv[6])
pages = [render_page(layout, i, "http://127.0.0.1:8000").decode("utf-8") for i in range(n)]
for p in pages:  # warm-up pass: the library's lazy set-up, as a warm worker has it behind it
    trafilatura.extract(p)
out = []
for _ in range(passes):
    cpu, wall = time.process_time(), time.perf_counter()
    chars = sum(len(trafilatura.extract(p) or "") for p in pages)
    out.append({"cpu_ms_per_page": 1000 * (time.process_time() - cpu) / n, "wall_s": time.perf_counter() - wall,
                "chars": chars})
print(json.dumps({"pages": n, "passes": out}))
"""


def trafilatura_reference(args: argparse.Namespace, pages: int = 300, passes: int = 2) -> dict[str, Any]:
    """CPU ms per page of bare ``trafilatura.extract`` (default settings) on the bench site's pages:
    ``passes`` timed passes after a warm-up pass, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _TRAFILATURA_REF, str(ROOT), str(args.pages), str(args.hosts),
         str(args.feeds_per_host), str(min(pages, args.pages)), str(passes)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "loadavg": os.getloadavg()}


def combined_reference(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One reference from passes taken between the runs: the median pass, and the range. The
    shared machine runs faster and slower for minutes at a time; one pass at one moment moved the
    ratio by a third (7.6 against 11.7 ms a page in two invocations of the same code)."""
    passes = [p for s in samples for p in s["passes"]]
    ms = sorted(p["cpu_ms_per_page"] for p in passes)
    mid = statistics.median(ms)
    return {"pages": samples[0]["pages"], "cpu_ms_per_page": mid, "min_ms": ms[0], "max_ms": ms[-1],
            "passes": len(passes), "wall_s": statistics.median(p["wall_s"] for p in passes),
            "loadavg": samples[-1]["loadavg"]}


def train_model(directory: Path) -> float:
    """Train the tests' NER model in a subprocess (keeps spaCy out of the forking process)."""
    started = time.perf_counter()
    code = "import sys; from pipeline.enrich.entities.training import train_ner; train_ner(sys.argv[1], epochs=20, seed=0)"
    subprocess.run([sys.executable, "-c", code, str(directory)], check=True, cwd=ROOT)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- one measured run
class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.es_url = f"http://127.0.0.1:{args.es_port}"
        self.node: LocalNode | None = None
        self.api: ExecutionApiServer | None = None
        self.dag: Any = None
        self.runs = 0
        self.preload_s: list[float] = []  # --preload: seconds the forking process spent, per run

    def es_pid(self) -> int | None:
        info = self.node.status() if self.node else None
        return info["pid"] if info else None

    def _count(self, alias: str) -> int:
        req = urllib.request.Request(f"{self.es_url}/{alias}/_refresh", method="POST")
        urllib.request.urlopen(req, timeout=60).close()
        with urllib.request.urlopen(f"{self.es_url}/{alias}/_count", timeout=60) as resp:
            return json.loads(resp.read())["count"]

    def _delete(self, alias: str) -> None:
        for pattern in (f"{alias}-*", f"_index_template/{alias}-v*"):
            req = urllib.request.Request(f"{self.es_url}/{pattern}", method="DELETE")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(req, timeout=60).close()

    def run(self, label: str, pages: int, parallelism: int) -> RunResult:
        args = self.args
        self.runs += 1
        say(f"[{label}] {pages} pages, LocalExecutor parallelism {parallelism}: starting the site")
        site = SiteProcess(pages, args.hosts, args.feeds_per_host)
        alias = f"bench-e2e-{uuid.uuid4().hex[:8]}"
        config = write_bench_config(self.work / f"config-{self.runs}", es_url=self.es_url, alias=alias,
                                    feeds=site.info["feeds"], groups=args.groups)
        os.environ["NEWS_CONFIG_DIR"] = str(config)
        if args.preload:  # as the scheduler does at start-up with NEWS_PRELOAD=1 (pipeline/run/preload.py)
            self.preload_s.append(preload(config))
        timings_dir = self.work / f"timings-{self.runs}"
        stage_timing.set_output(timings_dir)
        es_pid = self.es_pid()
        api_pids = _session_pids(self.api.pid) if self.api and self.api.pid else []
        cpu_before = {
            "elasticsearch": process_cpu_s(es_pid) if es_pid else 0.0,
            "api-server": sum(process_cpu_s(p) for p in api_pids),
            "site server": process_cpu_s(site.proc.pid),
            "scheduler loop (dag.test)": _self_cpu_s(),
        }
        say(f"[{label}] running the DAG (Airflow output: {self.work / 'airflow.log'})")
        started = time.perf_counter()
        try:
            with _output_to(self.work / "airflow.log"):
                dag_run = run_with_local_executor(self.dag, parallelism)
        finally:
            wall = time.perf_counter() - started
            site_cpu = process_cpu_s(site.proc.pid)
            site.stop()
        api_pids = _session_pids(self.api.pid) if self.api and self.api.pid else []
        timings = stage_timing.collect(timings_dir)
        result = RunResult(
            label=label, pages=pages, parallelism=parallelism, state=str(dag_run.state), wall_s=wall,
            indexed=self._count(alias), spans=task_spans(dag_run), timings=timings,
            cpu={
                "elasticsearch": (process_cpu_s(es_pid) if es_pid else 0.0) - cpu_before["elasticsearch"],
                "api-server": sum(process_cpu_s(p) for p in api_pids) - cpu_before["api-server"],
                "site server": site_cpu - cpu_before["site server"],
                "scheduler loop (dag.test)": _self_cpu_s() - cpu_before["scheduler loop (dag.test)"],
            },
            loadavg=os.getloadavg(), site=site.info,
        )
        result.cpu["task processes"] = sum(t.get("cpu_s", 0.0) for t in timings)
        result.extra["not_successful"] = sorted(
            f"{ti.task_id}[{ti.map_index}]: {ti.state}" for ti in dag_run.get_task_instances()
            if str(ti.state) not in ("success", "skipped")
        )
        self._delete(alias)
        say(
            f"[{label}] {result.state}: {result.indexed} articles in {wall:.1f} s = {result.rate:.1f} articles/s "
            f"(ingest tasks {result.ingest_window_s:.1f} s = {result.ingest_rate:.1f}/s)"
            + (f"; not successful: {', '.join(result.extra['not_successful'])}" if result.extra["not_successful"]
               else "")
        )
        return result

    def run_plain(self, label: str, pages: int) -> PlainResult:
        """bench/plain_script.py in a subprocess against a fresh site of ``pages`` pages (the same
        bytes as the DAG runs' site of that size) into a fresh index; the Elasticsearch node's and
        the site server's CPU read from /proc around it."""
        args = self.args
        say(f"[{label}] {pages} pages, bench/plain_script.py (one process): starting the site")
        site = SiteProcess(pages, args.hosts, args.feeds_per_host)
        index = f"bench-plain-{uuid.uuid4().hex[:8]}"
        feeds = [f["url"] for f in site.info["feeds"]]
        es_pid = self.es_pid()
        es_before = process_cpu_s(es_pid) if es_pid else 0.0
        site_before = process_cpu_s(site.proc.pid)
        started = time.perf_counter()
        try:
            out = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "plain_script.py"), "--es-url", self.es_url, "--index", index,
                 *feeds], check=True, capture_output=True, text=True, cwd=ROOT,
            )
        finally:
            wall = time.perf_counter() - started
            es_after = process_cpu_s(es_pid) if es_pid else 0.0
            site_cpu = process_cpu_s(site.proc.pid) - site_before
            site.stop()
        script = json.loads(out.stdout.strip().splitlines()[-1])
        result = PlainResult(
            label=label, pages=pages, wall_s=wall, indexed=self._count(index), script=script,
            cpu={"plain script": script["cpu_s"], "elasticsearch": es_after - es_before, "site server": site_cpu},
            loadavg=os.getloadavg(),
        )
        req = urllib.request.Request(f"{self.es_url}/{index}", method="DELETE")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=60).close()
        say(
            f"[{label}] {result.indexed} articles in {wall:.1f} s = {result.rate:.1f} articles/s; CPU: script "
            f"{script['cpu_s']:.1f} s, Elasticsearch {result.cpu['elasticsearch']:.1f} s"
            + (f"; {script['failed']} failed" if script["failed"] else "")
        )
        return result


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------- report
def _stage_table(result: RunResult) -> tuple[list[str], dict[str, float]]:
    task_s = sum(s.seconds for s in result.ingest_spans)
    totals: dict[str, float] = {}
    for t in result.task_timings():
        for stage, seconds in t["seconds"].items():
            totals[stage] = totals.get(stage, 0.0) + seconds
    in_feed = totals.pop("ingest_feed (total)", 0.0)
    measured = sum(v for k, v in totals.items())
    totals["Airflow task start/finish, DAG parse, group overhead"] = max(0.0, task_s - measured)
    rows = []
    order = [*STAGE_ORDER, *sorted(k for k in totals if k not in STAGE_ORDER)]
    for stage in order:
        if stage in totals:
            seconds = totals[stage]
            rows.append(f"| {stage} | {seconds:.1f} | {100 * seconds / task_s:.0f}% | "
                        f"{1000 * seconds / max(result.indexed, 1):.2f} |")
    totals["_in_ingest_feed"] = in_feed
    totals["_task_s"] = task_s
    return rows, totals


def _mb(kb: float) -> float:
    return kb / 1024


def report(results: list[RunResult], args: argparse.Namespace, model_s: float, es_version: str,
           reference: dict[str, Any] | None = None, plain: list[PlainResult] | None = None) -> str:
    main = [r for r in results if r.label.startswith("main")]
    mem = sorted((r for r in results if r.parallelism == max(args.parallelism)), key=lambda r: r.pages)
    first = main[0]
    lines = [
        "## End-to-end DAG throughput (`bench/dag_e2e.py`)",
        "",
        machine_line(es_version),
        "",
        (
            f"Method: `dags/news_ingest.py` run by `dag.test(use_executor=True)` with Airflow's LocalExecutor "
            f"(parallelism {', then '.join(str(p) for p in args.parallelism)}; SQLite metadata DB in WAL mode; "
            f"an `airflow api-server --apps execution` "
            f"for the task supervisors; `[workers] min_heartbeat_interval` "
            f"{os.environ['AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL']} s, as in docker-compose.yml), "
            f"feeds split into at most {args.groups} groups "
            f"(`ingest.max_feed_groups`). Input: {first.pages:,} German article pages from "
            f"`bench/e2e_site.py` (sample-site outlet templates, generated 650-word bodies with named "
            f"entities, site chrome; {first.site['page_bytes']['mean'] / 1024:.0f} KB of HTML on average, "
            f"{first.site['page_bytes']['min'] / 1024:.0f}-{first.site['page_bytes']['max'] / 1024:.0f} KB; "
            f"every 25th page a near copy of another) on {args.hosts} hosts (127.0.0.1-{args.hosts}), "
            f"{args.feeds_per_host} RSS feeds per host, served by threaded HTTP servers in a separate process. "
            + (f"Entities with the tests' small NER network (`--test-model`, trained in {model_s:.0f} s). "
               if args.test_model else
               "Entities with the German NER model the repository ships (`models/de_germeval_ner`, the "
               "default for `de`) and the gazetteer (countries, capitals and regions from the packages, "
               "people and organisations from config/entities). ")
            + f"One local Elasticsearch node "
            f"on the same machine (heap 512m, JIT `{args.es_jit}`, 1 shard, 0 replicas). A fresh alias per run, so every page is "
            f"new; a {args.warmup_pages}-page warm-up run first (not shown). "
            + (f"Preload on (`NEWS_PRELOAD=1`, pipeline/run/preload.py): the process that forks the "
               f"LocalExecutor workers, as a scheduler at its start-up, imported the pipeline and loaded "
               f"the models before the runs (first time {args.preload_s[0]:.1f} s, then "
               f"{max(args.preload_s[1:], default=0.0):.1f} s at most: the next run's config); that "
               f"is not in any run's figures, as a long-running scheduler pays it once, and the task "
               f"processes inherit it (their CPU is their own since the fork)."
               if args.preload else
               "Preload off (`--no-preload`): every task process imports the pipeline and loads the "
               "models itself.")
        ),
        "",
        (
            "Politeness relaxed for the benchmark (all hosts are this machine): "
            "`per_host_min_interval_s: 0` (default 1.0 s) and `per_host_max_concurrent: 8` (default 2). "
            "With the defaults a single host serves one page per second at most."
        ),
        "",
        ("| run | pages | parallelism | ingest tasks | indexed | DAG run s | articles/s (DAG run) "
        "| ingest tasks s (first start to last end) | articles/s (ingest tasks) | rest of the run s "
         "| load avg (1 min) |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.label == "warm-up":
            continue
        lines.append(
            f"| {r.label} | {r.pages:,} | {r.parallelism} | {len(r.ingest_spans)} | {r.indexed:,} | {r.wall_s:.1f} "
            f"| **{r.rate:.1f}** | {r.ingest_window_s:.1f} | {r.ingest_rate:.1f} "
            f"| {r.wall_s - r.ingest_window_s:.1f} | {r.loadavg[0]:.1f} |"
        )
    lines += [
        "",
        ("DAG run s: `dag.test()` from start to end (scheduling, `prepare_index`, `list_feeds`, the ingest "
        "tasks, `summarize` and any other task of the DAG); rest of the run: the part outside the ingest "
        "tasks' window. Load average: other jobs on the machine compete for the same cores."),
    ]
    lines += ["", "### Where the time goes (ingest task processes)", ""]
    lines.append(
        "Exclusive wall time per stage summed over the ingest task processes (a stage's time excludes the "
        "stages it calls), share of the summed task durations, and ms per indexed article."
    )
    for r in main:
        rows, totals = _stage_table(r)
        lines += [
            "",
            (f"**{r.label}: parallelism {r.parallelism}** ({len(r.ingest_spans)} ingest tasks, "
            f"{totals['_task_s']:.1f} task-seconds)"),
            "",
            "| stage | seconds | share | ms/article |",
            "|---|---|---|---|",
            *rows,
        ]
    patched = {name for r in main for t in r.task_timings() for name in t.get("patched", [])}
    absent = [f"`{m}.{a}`" for m, a, _stage in stage_timing.TARGETS if f"{m}.{a}" not in patched]
    if absent:
        lines += ["", "Not timed (not in this version of the pipeline): " + ", ".join(absent) + "."]
    lines += ["", "### CPU seconds by process during each run", ""]
    cores = os.cpu_count() or 1
    lines.append(
        "All processes of the run (task processes: their own CPU time; the others from /proc). The last "
        f"column is the ceiling this CPU cost allows on {cores} fully used cores: "
        f"{cores} x 1000 / (CPU ms per article)."
    )
    lines.append("")
    lines.append("| run | wall s | task processes | Elasticsearch | API server | scheduler loop | site server "
                 "| our share of wall x cores | CPU ms per article | ceiling articles/s |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if r.label == "warm-up":
            continue
        c = r.cpu
        total = sum(c.values())
        busy = total / (r.wall_s * cores)
        per_article = 1000 * total / max(r.indexed, 1)
        lines.append(
            f"| {r.label} | {r.wall_s:.1f} | {c['task processes']:.1f} | {c['elasticsearch']:.1f} "
            f"| {c['api-server']:.1f} | {c['scheduler loop (dag.test)']:.1f} | {c['site server']:.1f} | {busy:.0%} "
            f"| {per_article:.1f} | {cores * 1000 / per_article:.0f} |"
        )
    if reference:
        ref_ms = reference["cpu_ms_per_page"]
        lines += ["", (
            f"Reference measured in the same invocation: bare `trafilatura.extract` (default settings, no "
            f"fetch, no cleaning rules, no dates, entities or index) on {reference['pages']} pages of the "
            f"same site takes {ref_ms:.1f} CPU ms a page (the median of {reference['passes']} passes taken "
            f"before each measured run, before the plain script and at the end, each after a warm-up pass; "
            f"range {reference['min_ms']:.1f}-{reference['max_ms']:.1f}). The whole run's CPU per indexed article, as a "
            "multiple of that: " + ", ".join(
                f"{r.label} {1000 * sum(r.cpu.values()) / max(r.indexed, 1) / ref_ms:.1f}x"
                for r in results if r.label != "warm-up") + "; the ingest task processes alone: " + ", ".join(
                f"{r.label} {1000 * r.cpu['task processes'] / max(r.indexed, 1) / ref_ms:.1f}x"
                for r in results if r.label.startswith("main")) + "."
        )]
    if reference:
        lines += cost_table(results, reference, [p for p in plain or [] if p.label != "plain warm-up"], args)
    lines += ["", "### Task memory", ""]
    lines.append(
        "Peak RSS (`ru_maxrss`) of each ingest task process; it includes the pages it shares with the "
        "LocalExecutor worker it was forked from (RSS before importing the pipeline in the next column). "
        "Private memory: the largest Private_Clean + Private_Dirty seen after each feed."
    )
    lines.append("")
    lines.append("| run | pages | pages per task | peak RSS MB (max / median over tasks) | RSS before import MB "
                 "| private MB (max) |")
    lines.append("|---|---|---|---|---|---|")
    for r in mem:
        if r.label == "warm-up":
            continue
        ts = r.task_timings()
        if not ts:
            continue
        peaks = [_mb(t["maxrss_kb"]) for t in ts]
        before = [_mb(t.get("rss_kb_before_import", 0)) for t in ts]
        private = [_mb(t.get("private_kb_max", 0)) for t in ts]
        lines.append(
            f"| {r.label} | {r.pages:,} | {r.pages // max(len(ts), 1):,} | {max(peaks):.0f} / "
            f"{statistics.median(peaks):.0f} | "
            f"{'preloaded in the parent' if args.preload else f'{statistics.median(before):.0f}'} | {max(private):.0f} |"
        )
    lines += ["", "### Conclusion", ""]
    lines += conclusion(results)
    return "\n".join(lines)


def _dag_counted_cpu_s(r: RunResult) -> float:
    return sum(v for k, v in r.cpu.items() if k != "site server")


def cost_table(results: list[RunResult], reference: dict[str, Any], plain: list[PlainResult],
               args: argparse.Namespace) -> list[str]:
    """Issue 20's table: bare extraction, the plain script and the DAG on the same pages."""
    ref_ms = reference["cpu_ms_per_page"]
    ref_rate = reference["pages"] / reference["wall_s"] if reference.get("wall_s") else 1000 / ref_ms
    main = [r for r in results if r.label.startswith("main")]
    rows = [
        ("bare `trafilatura.extract` (in memory, one process)", reference["pages"], ref_rate, ref_ms, None,
         reference["loadavg"][0] if reference.get("loadavg") else None),
        *((f"plain script (`bench/plain_script.py`{'' if len(plain) == 1 else ', ' + p.label})", p.indexed, p.rate,
           1000 * p.counted_cpu_s / max(p.indexed, 1), 1000 * p.cpu["site server"] / max(p.indexed, 1), p.loadavg[0])
          for p in plain),
        *((f"DAG, {r.parallelism} task{'s' if r.parallelism > 1 else ''} (LocalExecutor parallelism {r.parallelism})",
           r.indexed, r.rate, 1000 * _dag_counted_cpu_s(r) / max(r.indexed, 1),
           1000 * r.cpu["site server"] / max(r.indexed, 1), r.loadavg[0]) for r in main),
    ]
    lines = [
        "", "### Cost per article, same pages, one session", "",
        (f"CPU: {cpu_model()}, {os.cpu_count()} cores (shared with other jobs: see the load column). "
         f"The same {args.pages:,} generated pages (`bench/e2e_site.py`, same bytes in every "
         f"run) for every row but the first, which extracts {reference['pages']} of them from memory "
         f"(the median of {reference['passes']} passes between the runs, range {reference['min_ms']:.1f}-"
         f"{reference['max_ms']:.1f} ms). "
         "CPU ms per article: every process of the run, Elasticsearch included (DAG: task processes, "
         "Elasticsearch, API server, scheduler loop; plain script: its process, start-up and imports "
         "included, and Elasticsearch), divided by the articles indexed; the site server that plays the "
         "web is left out of it (its own column; the table above counts it). articles/s: articles "
         "indexed over the run's wall time (DAG: the whole `dag.test()` run; plain script: spawn to exit; "
         "bare extraction: the extraction loop), so it moves with the load other jobs put on the machine; "
         "CPU ms per article much less."),
        "",
        ("| | articles | articles/s | CPU ms per article | ratio to bare extraction | site server ms per article "
         "(not counted) | load avg (1 min) |"),
        "|---|---|---|---|---|---|---|",
    ]
    for name, n, rate, ms, site_ms, load in rows:
        lines.append(
            f"| {name} | {n:,} | {rate:.1f} | {ms:.1f} | {ms / ref_ms:.1f}x | "
            f"{'-' if site_ms is None else f'{site_ms:.1f}'} | {'-' if load is None else f'{load:.1f}'} |"
        )
    if plain:
        p = plain[-1]
        lines += ["", (
            "Plain script: `feedparser.parse` of each feed fetched with one `httpx.Client`, each entry's page "
            "fetched with it, `trafilatura.extract(html, url=url, output_format=\"json\", with_metadata=True)` "
            "(default settings; text, title, date), stock `langdetect.detect` on the text "
            "(`DetectorFactory.seed = 0`), `elasticsearch.helpers.bulk` (chunks of 500) into a fresh index with a "
            "plain mapping (1 shard, 0 replicas), one refresh at the end; no cleaning rules, dates beyond "
            "trafilatura's, entities, stories, dedup, feed state or politeness. "
            f"Of its {p.script['cpu_s']:.1f} CPU s, {p.script['import_cpu_s']:.1f} s are interpreter start-up "
            f"and imports; its own loop took {p.script['wall_s']:.1f} s of the {p.wall_s:.1f} s wall. "
            + ("It ran after the DAG runs, on the same warm node, after a "
               f"{args.warmup_pages}-page plain warm-up run (not shown)."
               if args.warmup_pages else "It ran after the DAG runs, on the same node, without a warm-up run of its own.")
        )]
    return lines


def conclusion(results: list[RunResult]) -> list[str]:
    main = [r for r in results if r.label.startswith("main")]
    best = max(main, key=lambda r: r.rate)
    verdict = "met" if best.rate >= TARGET else "missed"
    out = [
        (f"- Throughput: best {best.rate:.1f} articles/s over the whole DAG run ({best.ingest_rate:.1f}/s "
        f"while the ingest tasks ran) at parallelism {best.parallelism}: target {TARGET:.0f} articles/s "
        f"**{verdict}**.")
    ]
    if len(main) >= 2:
        one, two = main[0], main[-1]
        out.append(
            f"- Parallelism {one.parallelism} -> {two.parallelism}: {one.rate:.1f} -> {two.rate:.1f} articles/s "
            f"(x{two.rate / one.rate:.2f}); ingest phase {one.ingest_rate:.1f} -> {two.ingest_rate:.1f}/s."
        )
    _rows, totals = _stage_table(best)
    stages = {k: v for k, v in totals.items() if not k.startswith("_")}
    top = sorted(stages.items(), key=lambda kv: kv[1], reverse=True)[:3]
    out.append(
        "- Largest stages at parallelism "
        f"{best.parallelism}: " + ", ".join(f"{k} {100 * v / totals['_task_s']:.0f}%" for k, v in top) + "."
    )
    mem = [r for r in results if r.parallelism == best.parallelism and r.label != "warm-up"]
    if len(mem) >= 2:
        peaks = {r.pages: max(_mb(t["maxrss_kb"]) for t in r.task_timings()) for r in mem if r.task_timings()}
        sizes = sorted(peaks)
        out.append(
            "- Task memory: peak RSS " + " vs ".join(f"{peaks[n]:.0f} MB at {n:,} pages" for n in sizes)
            + " (per task process)."
        )
    return out


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages of the main runs (default 2000)")
    parser.add_argument("--memory-pages", type=lambda v: [int(x) for x in v.split(",") if int(x)], default=[500],
                        help="pages of the extra runs for the memory comparison, e.g. 500,4000 "
                             "(0: none; default 500)")
    parser.add_argument("--warmup-pages", type=int, default=200)
    parser.add_argument("--parallelism", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--groups", type=int, default=2, help="ingest.max_feed_groups (default 2)")
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--feeds-per-host", type=int, default=2)
    parser.add_argument("--es-port", type=int, default=int(os.environ.get("NEWS_BENCH_ES_PORT", DEFAULT_ES_PORT)))
    parser.add_argument("--es-jit", choices=sorted(JIT_OPTIONS),
                        help="JIT mode of the node (default: the local node's, $NEWS_ES_LOCAL_JIT or quick)")
    parser.add_argument("--test-model", action="store_true",
                        help="the tests' small NER network instead of the shipped model (figures before issue 18)")
    parser.add_argument("--plain", action=argparse.BooleanOptionalAction, default=True,
                        help="also run bench/plain_script.py on the same pages, for the cost table (default on)")
    parser.add_argument("--preload", action=argparse.BooleanOptionalAction, default=True,
                        help="load the pipeline and models in the forking process before each run, as the "
                             "scheduler or Celery worker does with NEWS_PRELOAD=1 (default; --no-preload: each "
                             "task imports and loads them itself)")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write docs/")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="news-bench-e2e-"))
    home = work / "airflow"
    home.mkdir()
    api_port = free_port()
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # as docker-compose.yml and the Makefile set it: without it, a worker sometimes holds its
        # slot 5 s after the task ended (Airflow's supervisor misses the exit until this timeout)
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": os.environ.get("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1"),
        **executor_environ(api_port),
    })
    os.environ.pop("AIRFLOW_CONN_NEWS_ES", None)
    say(f"work directory {work}")
    bench = Bench(args, work)
    references: list[dict[str, Any]] = []  # bare extraction passes, taken between the runs
    node = LocalNode(NodeSettings(http_port=args.es_port, transport_port=args.es_port + 100,
                                  cluster_name="news-pipeline-bench-e2e", **({"jit": args.es_jit} if args.es_jit else {})))
    args.es_jit = node.settings.jit
    started_node = node.start()
    bench.node = node
    try:
        if args.test_model:
            model_dir = work / "ner-model"
            model_s = train_model(model_dir)
        else:
            model_dir, model_s = SHIPPED_MODEL, 0.0
            if not (model_dir / "meta.json").exists():
                raise RuntimeError(f"{model_dir} is missing: the shipped model is part of the repository")
        os.environ["NEWS_SPACY_MODELS"] = f"de={model_dir}"
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
        enable_wal(home)
        with ExecutionApiServer(api_port, os.environ.copy(), work / "api-server.log") as api:
            bench.api = api
            stage_timing.install(work / "timings-0")
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(str(ROOT / "dags"))
            if bag.import_errors:
                raise RuntimeError(f"DAG import errors: {bag.import_errors}")
            bench.dag = bag.get_dag("news_ingest")
            _ensure_pools(bench.dag, max(args.parallelism))
            if not args.preload and "pipeline.run.ingest" in sys.modules:
                raise RuntimeError("pipeline.run.ingest imported in the forking process: task imports would not be timed")
            results = []
            if args.warmup_pages:
                results.append(bench.run("warm-up", args.warmup_pages, max(args.parallelism)))
            for p in args.parallelism:
                references.append(trafilatura_reference(args))
                results.append(bench.run(f"main, parallelism {p}", args.pages, p))
            for pages in args.memory_pages:
                if pages != args.pages:
                    results.append(bench.run("memory", pages, max(args.parallelism)))
        plain = []
        if args.plain:
            if args.warmup_pages:
                plain.append(bench.run_plain("plain warm-up", args.warmup_pages))
            references.append(trafilatura_reference(args))
            plain.append(bench.run_plain("plain", args.pages))
        with urllib.request.urlopen(f"{bench.es_url}/_nodes/_local?filter_path=nodes.*.version", timeout=30) as r:
            es_version = next(iter(json.loads(r.read())["nodes"].values()))["version"]
        bad = [r for r in results if not r.state.endswith("success")]
        say("reference: bare trafilatura.extract on the same pages")
        references.append(trafilatura_reference(args))
        reference = combined_reference(references)
        say(f"reference: {reference['cpu_ms_per_page']:.1f} ms a page, median of {reference['passes']} passes "
            f"({reference['min_ms']:.1f}-{reference['max_ms']:.1f})")
        args.preload_s = bench.preload_s
        body = report(results, args, model_s, es_version, reference, plain)
        print(body)
        if bad:
            say(f"runs not successful: {[(r.label, r.state, r.extra['not_successful']) for r in bad]}; "
                f"docs not written; logs kept in {work}")
            args.keep = True
            return 1
        if not args.no_write:
            write_section("dag_e2e", body)
    except BaseException:
        say(f"failed; logs kept in {work}")
        args.keep = True
        raise
    finally:
        if started_node:
            node.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _ensure_pools(dag: Any, slots: int) -> None:
    """Create the Airflow pools the DAG's tasks name (as an operator would), with enough slots."""
    from airflow.models.pool import Pool

    for name in {t.pool for t in dag.tasks if t.pool and t.pool != Pool.DEFAULT_POOL_NAME}:
        Pool.create_or_update_pool(name, slots=max(slots, 2), description="bench/dag_e2e.py", include_deferred=False)


if __name__ == "__main__":
    sys.exit(main())
