"""Local node JIT mode: Elasticsearch CPU per article of the pipeline's own traffic on a fresh node,
"tiered" (the JVM's default C1 + C2) vs "quick" (C1 only, ``-XX:TieredStopAtLevel=1``).

Why: the local node's default JIT mode (``pipeline.localnode.settings.JIT_OPTIONS``) is chosen by
this measurement. A fresh JVM compiles hot code with C2 for a long time; on a 2-core machine that
CPU is taken from the pipeline.

Method: two fresh nodes of the same distribution (heap 512m, one per mode, their data directories
removed before and after), started one after the other (start-up time to a healthy cluster measured). One site of
``--pages`` German article pages (bench/e2e_site.py, as in bench/dag_e2e.py) is then ingested
``--rounds`` times into each node, alternating which node goes first, each round into a fresh alias
(every page new, as in the e2e runs) by the real ``pipeline.run.group.ingest_group`` in this process:
fetch, clean, NER with the tests' model, stories (candidate queries), bulk index, refresh, feed
state and run log. Per round and node: the node's CPU (utime + stime of the JVM process, /proc)
per indexed article, split into the JIT compiler threads, GC threads and the rest (Elasticsearch's
own threads: write, search, refresh, ...) from /proc/<pid>/task; compiler threads that exit during
a round would be counted in the rest, as only live threads can be read.

Run: .venv/bin/python bench/node_jit.py [--pages 1000] [--rounds 8] [--no-write]
     -> section "node_jit" of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine_line, write_section
from bench.dag_e2e import SiteProcess, train_model, write_bench_config
from bench.proc_cpu import process_cpu_s, thread_cpu_s
from pipeline.localnode import LocalNode, NodeSettings

MODES = ("tiered", "quick")
PORTS = {"tiered": 9333, "quick": 9334}


def _split(threads: dict[str, float]) -> dict[str, float]:
    compiler = sum(v for k, v in threads.items() if "CompilerThre" in k)
    gc = sum(v for k, v in threads.items() if k.startswith(("GC Thread", "G Conc", "G Refine", "G Service")))
    return {"compiler": compiler, "gc": gc}


def ingest_round(node: LocalNode, site: SiteProcess, work: Path) -> dict[str, Any]:
    """Ingest every feed of ``site`` into a fresh alias on ``node``; the node's CPU during it."""
    from pipeline.config import FeedConfig, load_settings
    from pipeline.index.client import es_client
    from pipeline.index.template import ensure_index
    from pipeline.run.group import ingest_group
    from pipeline.run.plan import plan_run

    alias = f"jit-{uuid.uuid4().hex[:8]}"
    os.environ["NEWS_CONFIG_DIR"] = str(write_bench_config(
        work / alias, es_url=node.url, alias=alias, feeds=site.info["feeds"], groups=1))
    settings = load_settings()
    es = es_client(settings.elasticsearch)
    pid = (node.status() or {})["pid"]
    threads0, cpu0, started = thread_cpu_s(pid), process_cpu_s(pid), time.perf_counter()
    ensure_index(es, settings.elasticsearch)
    feeds = [FeedConfig.from_dict(f) for g in plan_run(settings)["groups"] for f in g["feeds"]]
    ingest_group(feeds, settings, "jit-bench")
    wall = time.perf_counter() - started
    cpu = process_cpu_s(pid) - cpu0
    after = _split(thread_cpu_s(pid))
    before = _split(threads0)
    articles = es.count(index=alias)["count"]
    es.close()
    parts = {k: after[k] - before[k] for k in after}
    return {"articles": articles, "wall": wall, "cpu": cpu, **parts, "rest": cpu - sum(parts.values())}


def _ms(seconds: float, articles: int) -> str:
    return f"{seconds / articles * 1000:.2f}" if articles else "-"


def report(args: argparse.Namespace, rounds: list[dict[str, dict[str, Any]]], startup: dict[str, float],
           es_version: str) -> str:
    lines = [
        "## Local node JIT mode (`bench/node_jit.py`)", "",
        machine_line(es_version), "",
        ("Method: two fresh local nodes (heap 512m), one per JIT mode: `tiered` (the JVM's default C1 + C2) "
        "and `quick` (C1 only, `-XX:TieredStopAtLevel=1`). The same site of "
        f"{args.pages:,} German article pages (bench/e2e_site.py) is ingested {args.rounds} times into each "
        "node by the real `pipeline.run.group.ingest_group` (fetch, clean, NER, stories, bulk index, refresh), "
        "each round into a fresh alias, alternating which node goes first. Node CPU from /proc: the whole "
        "process, and of it the JIT compiler threads and the GC threads."), "",
        f"Start-up to a healthy node: tiered {startup['tiered']:.1f} s, quick {startup['quick']:.1f} s.", "",
        ("| round | articles indexed before | tiered: node CPU ms/article | of it JIT compiler | of it GC "
        "| quick: node CPU ms/article | of it JIT compiler | of it GC |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    done = 0
    totals = {m: {"cpu": 0.0, "articles": 0} for m in MODES}
    for i, row in enumerate(rounds, 1):
        cells = []
        for mode in MODES:
            r = row[mode]
            cells += [f"**{_ms(r['cpu'], r['articles'])}**", _ms(r["compiler"], r["articles"]), _ms(r["gc"], r["articles"])]
            totals[mode]["cpu"] += r["cpu"]
            totals[mode]["articles"] += r["articles"]
        lines.append(f"| {i} | {done:,} | " + " | ".join(cells) + " |")
        done += row["tiered"]["articles"]
    t, q = totals["tiered"], totals["quick"]
    lines.append(f"| all | | **{_ms(t['cpu'], t['articles'])}** ({t['cpu']:.1f} s) | | "
                 f"| **{_ms(q['cpu'], q['articles'])}** ({q['cpu']:.1f} s) | | |")
    last = rounds[-1]
    lines += [
        "", "### Conclusion", "",
        (f"- Over {t['articles']:,} articles the quick node used {q['cpu']:.1f} s of CPU, the tiered node "
        f"{t['cpu']:.1f} s ({(q['cpu'] / t['cpu'] - 1) * 100:+.0f}%)."),
        (f"- First round (a fresh node): tiered {_ms(rounds[0]['tiered']['cpu'], rounds[0]['tiered']['articles'])}, "
        f"quick {_ms(rounds[0]['quick']['cpu'], rounds[0]['quick']['articles'])} ms an article; last round: tiered "
        f"{_ms(last['tiered']['cpu'], last['tiered']['articles'])} (of it compiler "
        f"{_ms(last['tiered']['compiler'], last['tiered']['articles'])}), quick "
        f"{_ms(last['quick']['cpu'], last['quick']['articles'])}."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write docs/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="news-bench-jit-") as tmp:
        work = Path(tmp)
        print(f"training the NER model ({work / 'ner-model'})", flush=True)
        train_model(work / "ner-model")
        os.environ["NEWS_SPACY_MODELS"] = f"de={work / 'ner-model'}"
        nodes, startup = {}, {}
        try:
            for mode in MODES:
                port = PORTS[mode]
                node = LocalNode(NodeSettings(http_port=port, transport_port=port + 100, jit=mode, heap="512m",
                                              cluster_name=f"news-bench-jit-{mode}"))
                node.stop()  # a leftover of an interrupted run
                shutil.rmtree(node.settings.node_dir, ignore_errors=True)  # a fresh node: no data
                started = time.perf_counter()
                node.start()
                startup[mode] = time.perf_counter() - started
                nodes[mode] = node
            site = SiteProcess(args.pages, 4, 2)
            rounds: list[dict[str, dict[str, Any]]] = []
            try:
                for i in range(args.rounds):
                    row = {}
                    for mode in (MODES if i % 2 == 0 else MODES[::-1]):
                        row[mode] = r = ingest_round(nodes[mode], site, work)
                        print(f"round {i + 1} {mode:6}: {r['articles']} articles in {r['wall']:.1f} s, node CPU "
                              f"{_ms(r['cpu'], r['articles'])} ms/article (compiler {_ms(r['compiler'], r['articles'])})",
                              flush=True)
                    rounds.append(row)
            finally:
                site.stop()
            from elasticsearch import Elasticsearch

            with Elasticsearch(nodes["quick"].url) as es:
                version = next(iter(es.nodes.info()["nodes"].values()))["version"]
        finally:
            for node in nodes.values():
                node.stop()
                shutil.rmtree(node.settings.node_dir, ignore_errors=True)
    text = report(args, rounds, startup, version)
    print(text)
    if not args.no_write:
        write_section("node_jit", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
