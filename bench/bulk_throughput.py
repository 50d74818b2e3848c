"""Bulk indexing throughput and indexer memory on the local node.

Why: the issue asks for documents per second indexing 50k realistic synthetic articles (4 KB body,
entities, LSH bands) through the real ``pipeline.index.bulk.index_articles`` on a 2-core machine
(target >= 2,000 docs/s), the chunk size chosen by measurement, and proof that the indexer's
memory does not grow with the number of documents.

Method: a dedicated local node (port 9465 unless --port / $BENCH_ES_PORT, heap 1g unless --heap,
cluster ``news-bench``, replicas 0) is started and stopped by this script. Every measurement runs
in a fresh worker subprocess (so its peak RSS, VmHWM, is that run's own) with a unique alias and
``ensure_index`` first, after two discarded warm-up runs:
  1. chunk sizes 250, 500, 1000, 2000 on 20k new documents each, twice, interleaved; the smallest
     chunk size whose median is within 3% of the best median is chosen (a bigger chunk holds more
     documents in memory at once, so it must be clearly faster to win);
  2. the chosen size on 50k documents: three first runs (all new; their median is the headline
     figure) and a re-run of the first run's 50k (all unchanged: the skip path); the configured
     default chunk size (``bulk_chunk_size``) on 50k new documents too when it is not the chosen
     one; with --baseline-rev REV also the ``pipeline`` package of git revision REV (extracted with
     ``git archive``) on 50k new documents, for a same-run before/after comparison;
  3. tracemalloc peak of Python allocations at 10k vs 50k, two runs each, interleaved (separate
     runs: tracemalloc slows everything, so its runs are not used for docs/s).
Input: the articles are generated once into an NDJSON file (in the temporary directory), and the
runs read their documents from it, so docs/s is the indexer's rate; one more 50k run generates its
input while it indexes, as all runs did before 2026-11-23 19:30 UTC, for comparison.
Each run records the 1-minute load average when it starts (which includes this benchmark's own
previous run), the CPU time of the client (all threads), of the Elasticsearch process
(/proc/<pid>/stat) and of everything else on the machine during the run (/proc/stat busy time
minus those two): runs on a shared machine can be compared by CPU per document as well as by wall
time, and a run that other jobs slowed down is visible as such. Phases come from wrapping (not changing)
the module's functions: generation (benchmark input, ``bench.synthetic.indexing_articles``), lookup
(``_existing``: mget + ids search), planning (``_plan``) and writing (``_write``, which runs in the
indexer's writer thread, overlapping the other phases; ``streaming_bulk`` in a baseline revision).

Run: .venv/bin/python bench/bulk_throughput.py [--baseline-rev REV] [--no-doc]
     -> section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proc_cpu import process_cpu_s  # after the path of this checkout

CHUNK_SIZES = (250, 500, 1000, 2000)
SWEEP, LARGE, MEM_SMALL = 20_000, 50_000, 10_000
TARGET = 2000.0
NEAR_BEST = 0.97  # a chunk size within 3% of the best median counts as as fast: the smallest wins (memory)
BIG_RUNS = 3  # 50k first runs at the chosen chunk size; their median is the headline
PROGRESS_EVERY = 10_000


# ---------------------------------------------------------------- worker (one measured run)
class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {"generate": 0.0, "lookup": 0.0, "plan": 0.0, "write": 0.0}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start

        return timed

    def wrap_iter(self, name: str, items: Iterable[Any]) -> Iterator[Any]:
        iterator = iter(items)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.seconds[name] += time.perf_counter() - start
                return
            self.seconds[name] += time.perf_counter() - start
            yield item


def _progress(items: Iterable[Any], total: int, label: str) -> Iterator[Any]:
    start = time.perf_counter()
    for n, item in enumerate(items, 1):
        yield item
        if n % PROGRESS_EVERY == 0 or n == total:
            elapsed = time.perf_counter() - start
            print(f"  [{label}] {n}/{total} docs, {n / elapsed:.0f} docs/s", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    """VmHWM: this process's own peak RSS. (``ru_maxrss`` is not: Linux carries the parent's peak
    over the fork and exec of a subprocess, so every worker would report the orchestrator's.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("pipeline_root"):  # a baseline revision's pipeline package, bench input from here
        sys.path.insert(0, spec["pipeline_root"])
    from bench.synthetic import SPAN_DAYS, indexing_articles
    from pipeline.config import ElasticsearchSettings
    from pipeline.index import bulk
    from pipeline.index.client import es_client
    from pipeline.index.names import article_pattern
    from pipeline.index.template import ensure_index

    settings = ElasticsearchSettings(
        url=spec["url"], index_alias=spec["alias"], bulk_chunk_size=spec["chunk"], number_of_replicas=0,
        request_timeout_s=120.0,
    )
    known = {f.name for f in fields(settings)}
    settings = replace(settings, **{k: v for k, v in spec.get("settings", {}).items() if k in known})
    es = es_client(settings)
    ensure_index(es, settings)
    count, label = spec["count"], spec["label"]
    phases = Phases()
    if spec["mode"] == "timed":
        bulk._existing = phases.wrap("lookup", bulk._existing)  # type: ignore[attr-defined]
        bulk._plan = phases.wrap("plan", bulk._plan)  # type: ignore[attr-defined]
        if hasattr(bulk, "_write"):
            bulk._write = phases.wrap("write", bulk._write)
        else:  # a sequential baseline: the write is the streaming_bulk iteration
            original_bulk = bulk.streaming_bulk

            def timed_bulk(*args: Any, **kwargs: Any) -> Iterator[Any]:
                return phases.wrap_iter("write", original_bulk(*args, **kwargs))

            bulk.streaming_bulk = timed_bulk  # type: ignore[assignment]
    if spec.get("input_file"):  # the indexer's own rate: documents read from the pre-generated file
        generated = read_articles(spec["input_file"], count)
    else:
        generated = indexing_articles(count, span_days=spec.get("span_days") or SPAN_DAYS)
    articles = _progress(phases.wrap_iter("generate", generated), count, label)
    if spec["mode"] == "tracemalloc":
        tracemalloc.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = bulk.index_articles(es, articles, settings, run_id="bench")
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    out: dict[str, Any] = {
        **spec,
        "wall_s": wall,
        "docs_per_s": count / wall,
        "client_cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "maxrss_mb": _peak_rss_mb(),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "failed": result.failed,
        "phases": phases.seconds,
    }
    if spec["mode"] == "tracemalloc":
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    es.indices.refresh(index=article_pattern(spec["alias"]))
    out["indexed"] = es.count(index=spec["alias"])["count"]
    return out


def write_articles(path: Path, count: int) -> float:
    """The bench input, generated once: one JSON article per line. Returns µs per article read back."""
    import orjson

    from bench.synthetic import indexing_articles

    with path.open("wb") as out:
        for article in indexing_articles(count):
            out.write(orjson.dumps(article.__dict__) + b"\n")
    start = time.perf_counter()
    n = sum(1 for _ in read_articles(str(path), 5000))
    return (time.perf_counter() - start) / n * 1e6


def read_articles(path: str, count: int) -> Iterator[Any]:
    """The first ``count`` articles of a file written by :func:`write_articles`."""
    import orjson

    from bench.synthetic import SyntheticArticle

    with open(path, "rb") as lines:
        for n, line in enumerate(lines):
            if n >= count:
                return
            yield SyntheticArticle(**orjson.loads(line))


# ---------------------------------------------------------------- orchestrator
class Bench:
    def __init__(self, url: str, es_pid: int, tag: str, baseline_root: str | None, input_file: str | None) -> None:
        self.url, self.es_pid, self.tag, self.baseline_root = url, es_pid, tag, baseline_root
        self.input_file = input_file
        self.runs = 0

    @staticmethod
    def machine_busy_s() -> float:
        fields_ = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields_[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    def es_cpu_s(self) -> float:
        return process_cpu_s(self.es_pid, children=False)

    def run(self, label: str, *, chunk: int, count: int, mode: str = "timed", alias: str | None = None,
            settings: dict[str, Any] | None = None, baseline: bool = False, keep: bool = False,
            span_days: int | None = None, generate: bool = False) -> dict[str, Any]:
        self.runs += 1
        spec = {
            "label": label, "url": self.url, "alias": alias or f"{self.tag}-r{self.runs}", "chunk": chunk,
            "count": count, "mode": mode, "settings": settings or {}, "span_days": span_days,
            "pipeline_root": self.baseline_root if baseline else None,
            "input_file": None if generate or span_days else self.input_file,
        }
        print(f"run {label}: chunk {chunk}, {count} docs", file=sys.stderr, flush=True)
        load = os.getloadavg()[0]
        es0, busy0 = self.es_cpu_s(), self.machine_busy_s()
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec)], stdout=subprocess.PIPE, text=True, check=True
        )
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        result["server_cpu_s"] = self.es_cpu_s() - es0  # includes the worker's ensure_index and refresh
        busy = self.machine_busy_s() - busy0
        result["others_cpu_share"] = max(busy - result["server_cpu_s"] - result["client_cpu_s"], 0.0) / (
            result["wall_s"] * (os.cpu_count() or 2))
        result["load1"] = load
        print(
            f"  -> {result['docs_per_s']:.0f} docs/s, client {result['client_cpu_s'] / count * 1e3:.3f} ms/doc,"
            f" server {result['server_cpu_s'] / count * 1e3:.3f} ms/doc, maxrss {result['maxrss_mb']:.0f} MB,"
            f" created {result['created']} unchanged {result['unchanged']} failed {result['failed']},"
            f" load {load:.2f}, other processes {result['others_cpu_share'] * 100:.0f}% of the CPUs",
            file=sys.stderr, flush=True,
        )
        if not keep:
            self.drop(spec["alias"])
        return result

    def drop(self, alias: str) -> None:
        from elasticsearch import Elasticsearch

        es = Elasticsearch(self.url, request_timeout=120)
        es.options(ignore_status=404).indices.delete(index=f"{alias}-*", expand_wildcards="all")
        es.close()


def per_doc(r: dict[str, Any], key: str) -> float:
    return r[key] / r["count"] * 1e3


def phase_cells(r: dict[str, Any]) -> str:
    p, wall = r["phases"], r["wall_s"]
    return " | ".join(f"{p[k] / wall * 100:.0f}%" for k in ("generate", "lookup", "plan", "write"))


def choose_chunk(sweep: dict[int, list[dict[str, Any]]]) -> int:
    """The smallest chunk size whose median is within NEAR_BEST of the best median: a bigger chunk
    holds more documents in memory at once, so it has to be clearly faster to be worth it."""
    medians = {size: statistics.median(r["docs_per_s"] for r in runs) for size, runs in sweep.items()}
    top = max(medians.values())
    return min(size for size, med in medians.items() if med >= NEAR_BEST * top)


def headline(info: dict[str, Any]) -> dict[str, Any]:
    """The median (by docs/s) of the 50k first runs at the chosen chunk size."""
    runs = sorted(info["bigs"], key=lambda r: r["docs_per_s"])
    return runs[len(runs) // 2]


def mem_peaks(runs: list[dict[str, Any]]) -> str:
    return " / ".join(f"{r['tracemalloc_peak_mb']:.1f}" for r in runs)


def ceiling(r: dict[str, Any]) -> float:
    """docs/s if client and server kept both cores busy and nothing else ran (an estimate)."""
    return 2 / ((r["client_cpu_s"] + r["server_cpu_s"]) / r["count"])


def report(info: dict[str, Any]) -> str:
    from bench import machine_line

    sweep: dict[int, list[dict[str, Any]]] = info["sweep"]
    best, rerun = info["best"], info["rerun"]
    mem10, mem50, baseline, default = info["mem10"], info["mem50"], info.get("baseline"), info.get("default")
    lb, la = info["load_before"], info["load_after"]
    lines = [
        "## Bulk indexing throughput (`bench/bulk_throughput.py`)",
        "",
        machine_line(info["es_version"]),
        (f"Load average (1/5/15 min) at start: {lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f}, at end: {la[0]:.2f}/{la[1]:.2f}/"
         f"{la[2]:.2f}. Each row gives the 1-minute load when its run started (it includes this benchmark's own"
         " previous run, ~2 right after one) and the CPU that other processes used during the run, as a share"
         " of the 2 cores: above a few percent, other jobs competed with the client and the node."),
        (f"Local node: `LocalNode` on port {info['port']}, heap {info['heap']}, 1 shard and 0 replicas per"
         " monthly index, template refresh interval 30s; client and node share the same 2 cores. Two discarded"
         " warm-up runs (10,000 documents each) precede the measurements."),
        "",
        "Method: synthetic German articles from `bench.synthetic.indexing_articles` (seeded; body ≈ 4,090",
        (f"characters ≈ 4.1 KB, 5-10 entities, 128 LSH band keys and the 2 KB MinHash signature as pipeline.enrich.stories writes them,"
         " story id, dates over 24 months = 24 monthly indices;"
         f" generating one costs {info['gen_us']:.0f} µs); indexed document ≈ {info['doc_kb']:.1f} KB of JSON"
         " (body also copied to `body_de`)."),
        (f"Input: the {LARGE:,} articles are generated once into an NDJSON file before the runs, and each run"
         f" reads its documents from it ({info['read_us']:.0f} µs an article with orjson), so docs/s is the"
         " indexer's rate, not the input generator's, as in a pipeline where articles arrive from earlier"
         " stages. One more 50k run generates its input in the indexing process while it indexes (the method"
         f" of runs before 2026-11-23 19:30 UTC), for comparison."),
        "Every run goes through the real `pipeline.index.bulk.index_articles` in a fresh subprocess (unique",
        "alias, `ensure_index` first), so its peak RSS (VmHWM) is that run's own. docs/s = documents / wall time of",
        "`index_articles`, generation of the input included. CPU per document: the client process (all",
        "threads) and the Elasticsearch process, measured separately; the ceiling column is 2 cores divided",
        "by their sum, the rate the run would reach if nothing else used the machine and client and node",
        "always overlapped (an estimate, for comparing runs made under different load).",
        "",
        f"### Chunk size sweep ({SWEEP:,} new documents, two rounds, interleaved)",
        "",
        ("| chunk | docs/s round 1 / 2 | median docs/s | client CPU ms/doc | server CPU ms/doc | ceiling docs/s |"
         " peak RSS MB | load | other processes' CPU |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for chunk, runs in sweep.items():
        med = statistics.median(r["docs_per_s"] for r in runs)
        rates = " / ".join(f"{r['docs_per_s']:,.0f}" for r in runs)
        loads = " / ".join(f"{r['load1']:.1f}" for r in runs)
        others = " / ".join(f"{r['others_cpu_share'] * 100:.0f}%" for r in runs)
        lines.append(
            f"| {chunk} | {rates} | {med:,.0f} |"
            f" {statistics.median(per_doc(r, 'client_cpu_s') for r in runs):.3f} |"
            f" {statistics.median(per_doc(r, 'server_cpu_s') for r in runs):.3f} |"
            f" {statistics.median(ceiling(r) for r in runs):,.0f} |"
            f" {max(r['maxrss_mb'] for r in runs):.0f} | {loads} | {others} |"
        )
    rows = [(f"first run {n} (all new), chunk {best}", r) for n, r in enumerate(info["bigs"], 1)]
    rows.append((f"first run, chunk {best}, input generated while indexing", info["generated"]))
    if default is not None:
        rows.append((f"first run, configured chunk {default['chunk']}", default))
    if baseline is not None:
        rows.append((f"first run, chunk {best}, baseline `{info['baseline_rev']}`", baseline))
    rows.append((f"re-run (all unchanged, skip path), chunk {best}", rerun))
    lines += [
        "",
        (f"Best of the sweep: chunk size **{best}**, the smallest whose median is within"
         f" {(1 - NEAR_BEST) * 100:.0f}% of the best (a bigger chunk holds more documents in memory at once)."
         + (f" The configuration (`bulk_chunk_size`) uses **{default['chunk']}**: on the {LARGE:,} documents below"
            f" it indexed {default['docs_per_s']:,.0f} docs/s at {default['maxrss_mb']:.0f} MB peak RSS, against"
            f" {statistics.median(r['docs_per_s'] for r in info['bigs']):,.0f} docs/s (median) and"
            f" {max(r['maxrss_mb'] for r in info['bigs']):.0f} MB at chunk {best}."
            if default is not None else "")),
        "",
        f"### {LARGE:,} documents",
        "",
        ("| run | docs/s | wall s | client CPU ms/doc | server CPU ms/doc | ceiling docs/s | created | unchanged |"
         " failed | indexed | peak RSS MB | input | lookup | plan | write (overlaps) | load | other processes' CPU |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['docs_per_s']:,.0f} | {r['wall_s']:.1f} | {per_doc(r, 'client_cpu_s'):.3f} |"
            f" {per_doc(r, 'server_cpu_s'):.3f} | {ceiling(r):,.0f} | {r['created']} | {r['unchanged']} |"
            f" {r['failed']} | {r['indexed']} | {r['maxrss_mb']:.0f} | {phase_cells(r)} | {r['load1']:.2f} |"
            f" {r['others_cpu_share'] * 100:.0f}% |"
        )
    small, big_rss = _rss_pair(info)
    lines += [
        "",
        f"### Indexer memory: 10k vs 50k documents (chunk size {info['mem_chunk']})",
        "",
        "| documents | peak RSS MB (timed run) | tracemalloc peak MB (two separate runs) |",
        "|---|---|---|",
        f"| {MEM_SMALL:,} / {SWEEP:,} | {small['maxrss_mb']:.1f} ({SWEEP:,}) | {mem_peaks(mem10)} ({MEM_SMALL:,}) |",
        f"| {LARGE:,} | {big_rss['maxrss_mb']:.1f} | {mem_peaks(mem50)} |",
        "",
        "### Conclusion",
        "",
        *info["conclusion"],
        "",
    ]
    return "\n".join(lines)


def _rss_pair(info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Timed runs at the memory runs' chunk size: the largest-RSS sweep run and the 50k run."""
    chunk = info["mem_chunk"]
    small = max(info["sweep"].get(chunk) or info["sweep"][info["best"]], key=lambda r: r["maxrss_mb"])
    big = info["default"] if chunk != info["best"] and info.get("default") else info["bigs"][0]
    return small, big


def conclusion(info: dict[str, Any]) -> list[str]:
    big, rerun, best = headline(info), info["rerun"], info["best"]
    mem10, mem50, baseline, default = info["mem10"], info["mem50"], info.get("baseline"), info.get("default")
    met = big["docs_per_s"] >= TARGET
    rates = ", ".join(f"{r['docs_per_s']:,.0f}" for r in info["bigs"])
    small10 = max(r["tracemalloc_peak_mb"] for r in mem10)
    big50 = max(r["tracemalloc_peak_mb"] for r in mem50)
    out = [
        (f"- Throughput: {big['docs_per_s']:,.0f} docs/s on 50k documents at chunk size {best}, the median of"
         f" {len(info['bigs'])} runs ({rates}; other processes"
         f" used {big['others_cpu_share'] * 100:.0f}% of the CPUs during the median one): target of {TARGET:,.0f} docs/s"
         f" **{'met' if met else 'missed'}**"
         + ("" if met else f" (by {(1 - big['docs_per_s'] / TARGET) * 100:.0f}%)")
         + f". CPU per document: client {per_doc(big, 'client_cpu_s'):.3f} ms, Elasticsearch"
         f" {per_doc(big, 'server_cpu_s'):.3f} ms; on two otherwise idle cores that allows about"
         f" {ceiling(big):,.0f} docs/s."),
    ]
    gen = info["generated"]
    out.append(
        f"- With the input generated in the indexing process while it indexes (the method of earlier runs):"
        f" {gen['docs_per_s']:,.0f} docs/s at chunk size {best}, client {per_doc(gen, 'client_cpu_s'):.3f} ms CPU per"
        f" document (generation {info['gen_us'] / 1000:.3f} ms of it)."
    )
    if default is not None:
        out.append(f"- The configured chunk size {default['chunk']} on the same 50k: {default['docs_per_s']:,.0f} docs/s.")
    if baseline is not None:
        out.append(
            f"- Baseline `{info['baseline_rev']}` (that revision's `pipeline` package, same bench input) on"
            f" the same node: {baseline['docs_per_s']:,.0f} docs/s, client"
            f" {per_doc(baseline, 'client_cpu_s'):.3f} + server {per_doc(baseline, 'server_cpu_s'):.3f} ms CPU per"
            " document."
        )
    out += [
        (f"- Skip path: re-indexing the same 50k unchanged articles runs at {rerun['docs_per_s']:,.0f} docs/s"
         f" ({rerun['unchanged']} unchanged, {rerun['created']} created, {rerun['updated']} updated)."),
        (f"- Memory at chunk size {info['mem_chunk']}: peak RSS {_rss_pair(info)[0]['maxrss_mb']:.0f} MB at"
         f" {SWEEP // 1000}k vs {_rss_pair(info)[1]['maxrss_mb']:.0f} MB at 50k; tracemalloc peak {mem_peaks(mem10)} MB"
         f" at 10k vs {mem_peaks(mem50)} MB at 50k (two runs each) — "
         f"{'flat' if big50 < 1.2 * small10 else 'NOT flat'}"
         " in the number of documents (bounded by `bulk_max_in_flight` + 1 chunks: one planned, the others in"
         " flight)."),
    ]
    return out


def _baseline_root(rev: str, into: Path) -> str:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "pipeline"], stdout=subprocess.PIPE, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return str(into)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_ES_PORT", "9465")))
    parser.add_argument("--heap", default=os.environ.get("BENCH_ES_HEAP", "1g"))
    parser.add_argument("--sizes", default=",".join(map(str, CHUNK_SIZES)))
    parser.add_argument("--baseline-rev", help="also run this git revision's pipeline package on the 50k load")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2k/5k documents, no doc written")
    args = parser.parse_args()
    if args.quick:
        global SWEEP, LARGE, MEM_SMALL
        SWEEP, LARGE, MEM_SMALL = 2000, 5000, 1000
        args.no_doc = True
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    from elasticsearch import Elasticsearch

    from bench import write_section
    from bench.synthetic import indexing_articles
    from pipeline.config import load_settings
    from pipeline.index import bulk
    from pipeline.localnode import LocalNode, NodeSettings

    node_settings = NodeSettings(http_port=args.port, cluster_name="news-bench", heap=args.heap)
    node = LocalNode(node_settings)
    load_before = os.getloadavg()
    node.start()
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        try:
            url = node_settings.url
            es = Elasticsearch(url, request_timeout=120)
            pid = int(node_settings.pid_file.read_text().strip())
            baseline_root = _baseline_root(args.baseline_rev, Path(tmp)) if args.baseline_rev else None
            input_file = Path(tmp) / "articles.ndjson"
            print(f"writing the bench input ({LARGE:,} articles) to {input_file}", file=sys.stderr, flush=True)
            read_us = write_articles(input_file, LARGE)
            bench = Bench(url, pid, f"bench{os.getpid()}", baseline_root, str(input_file))
            sample = list(indexing_articles(2000, seed=7))
            start = time.perf_counter()
            list(indexing_articles(5000, seed=9))
            info: dict[str, Any] = {
                "es_version": es.cat.nodes(h="version", format="json")[0]["version"],
                "heap": args.heap, "port": args.port, "load_before": load_before,
                "gen_us": (time.perf_counter() - start) / 5000 * 1e6,
                "doc_kb": statistics.mean(len(json.dumps(bulk.to_source(a)).encode()) for a in sample) / 1000,
                "baseline_rev": args.baseline_rev, "read_us": read_us,
            }
            for _ in range(2):  # warm the JVM, the page cache and the merge machinery
                bench.run("warm-up", chunk=500, count=min(10_000, SWEEP))
            sizes = [int(s) for s in args.sizes.split(",")]
            sweep: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
            for _round in range(2):
                for size in sizes:
                    sweep[size].append(bench.run(f"sweep chunk={size}", chunk=size, count=SWEEP))
            info["sweep"] = sweep
            best = choose_chunk(sweep)
            info["best"] = best
            big_alias = f"{bench.tag}-big"
            info["bigs"] = [bench.run("50k first run 1", chunk=best, count=LARGE, alias=big_alias, keep=True)]
            info["rerun"] = bench.run("50k re-run", chunk=best, count=LARGE, alias=big_alias)
            for n in range(2, BIG_RUNS + 1):
                info["bigs"].append(bench.run(f"50k first run {n}", chunk=best, count=LARGE))
            info["generated"] = bench.run("50k input generated while indexing", chunk=best, count=LARGE, generate=True)
            configured = load_settings().elasticsearch.bulk_chunk_size  # config/pipeline.yaml
            if configured != best:
                info["default"] = bench.run(f"50k configured chunk {configured}", chunk=configured, count=LARGE)
            if baseline_root:
                info["baseline"] = bench.run(f"50k baseline {args.baseline_rev}", chunk=best, count=LARGE,
                                             baseline=True)
            # memory at the chunk size users run with (config/pipeline.yaml), where 10k is already
            # many chunks: the peak (the chunks in flight plus the one planned) is reached in both
            info["mem_chunk"] = configured
            # twice each, interleaved: a peak is the maximum over the run of how the chunks in flight
            # and the planned one happen to overlap, which varies from run to run
            info["mem10"], info["mem50"] = [], []
            for _round in range(2):
                info["mem10"].append(bench.run("tracemalloc 10k", chunk=configured, count=MEM_SMALL, mode="tracemalloc"))
                info["mem50"].append(bench.run("tracemalloc 50k", chunk=configured, count=LARGE, mode="tracemalloc"))
            info["load_after"] = os.getloadavg()
            info["conclusion"] = conclusion(info)
            text = report(info)
            print(text)
            if not args.no_doc:
                write_section("bulk_throughput", text)
            raw = os.environ.get("BENCH_RAW_JSON")
            if raw:
                Path(raw).write_text(json.dumps(info, indent=1), encoding="utf-8")
        finally:
            node.stop()


if __name__ == "__main__":
    main()
