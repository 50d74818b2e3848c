"""CPU per article when pages come back unchanged: a feed entry updated after its article was
fetched (or a page listed by two feeds, or a repeated run) makes the pipeline fetch and clean the
page again; when the result is what the index holds, the bulk indexer does not rewrite it, and
since pipeline/index/unchanged.py neither NER nor the story lookup runs for it.

One process: the bench site (bench/e2e_site.py, ``--pages`` German pages on 4 loopback hosts, 8
Atom feeds, whose entries carry <updated>) served by a subprocess, a local Elasticsearch node
(port ``--es-port``), and ``ingest_feed`` over every feed twice:

1. fresh: every page new (created);
2. again: every stored article's ``fetched_at`` set back to 2001 and the feed states deleted, as if
   every entry had been updated since (``unseen_entries`` lets such entries through), so every
   page is fetched and cleaned again and comes back unchanged.

CPU of this process (fetch, clean, enrich, index client) and of the Elasticsearch node, per article,
with bare ``trafilatura.extract`` of the same pages in this process for the ratio. The shipped
German NER model; the preload (pipeline.run.preload) runs first so no run pays model loads.
``PYTHONPATH=<worktree of another commit>`` measures that commit's pipeline with this script.

Run: .venv/bin/python bench/rerun_cost.py [--pages 400] [--no-write]  -> section rerun_cost of
docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml

from bench import machine_line, write_section
from bench.proc_cpu import process_cpu_s
from pipeline.localnode import LocalNode, NodeSettings

DEFAULT_ES_PORT = 9293
ALIAS = "bench-rerun"


def _config(directory: Path, es_url: str, feeds: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    main = {
        "elasticsearch": {"url": es_url, "index_alias": ALIAS, "number_of_replicas": 0},
        "http": {"per_host_min_interval_s": 0, "per_host_max_concurrent": 8},
        "feeds_file": "feeds.yaml",
    }
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    feeds = [{k: v for k, v in f.items() if k != "entries"} for f in feeds]
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    for shared in ("sites", "entities"):
        (directory / shared).symlink_to(ROOT / "config" / shared)
    return directory


def _ingest_all(settings, es, es_pid: int) -> dict[str, float]:
    from pipeline.run.ingest import ingest_feed

    c0, e0, t0 = time.process_time(), process_cpu_s(es_pid), time.perf_counter()
    reports = [ingest_feed(feed, settings, es=es, run_id=f"rerun-{time.time_ns()}") for feed in settings.feeds]
    c1, e1, t1 = time.process_time(), process_cpu_s(es_pid), time.perf_counter()
    counts = {k: sum(getattr(r, k) for r in reports) for k in ("fetched", "created", "updated", "unchanged")}
    counts["failures"] = sum(len(r.failures) for r in reports)
    n = max(1, counts["fetched"])
    return {**counts, "client_ms": 1e3 * (c1 - c0) / n, "es_ms": 1e3 * (e1 - e0) / n, "wall_s": t1 - t0}


def _backdate(es) -> None:
    """Every article fetched in 2001, no feed state: the next run fetches every page again."""
    from pipeline.index.names import feedstate_index

    es.indices.refresh(index=[ALIAS, feedstate_index(ALIAS)])
    for index, doc in ((ALIAS, {"fetched_at": "2001-01-01T00:00:00+00:00"}), (feedstate_index(ALIAS), None)):
        resp = es.search(index=index, size=10_000, source=False)
        for hit in resp["hits"]["hits"]:
            if doc is None:
                es.delete(index=hit["_index"], id=hit["_id"])
            else:
                es.update(index=hit["_index"], id=hit["_id"], doc=doc)
    es.indices.refresh(index=[ALIAS, feedstate_index(ALIAS)])


def _bare_ms(urls: list[str]) -> float:
    import trafilatura

    pages = [urllib.request.urlopen(u, timeout=10).read().decode("utf-8") for u in urls]
    for html in pages[:20]:
        trafilatura.extract(html)
    best = float("inf")
    for _ in range(3):  # best of 3: the shared machine only ever adds time
        t0 = time.process_time()
        for html in pages:
            trafilatura.extract(html)
        best = min(best, time.process_time() - t0)
    return 1e3 * best / len(pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--es-port", type=int, default=int(os.environ.get("NEWS_BENCH_ES_PORT", DEFAULT_ES_PORT)))
    parser.add_argument("--label", default="", help="names the code measured in the output")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write docs/")
    args = parser.parse_args(argv)

    import pipeline
    from pipeline.config import load_settings
    from pipeline.index.client import es_client
    from pipeline.index.template import ensure_index
    from pipeline.run.preload import preload

    site = subprocess.Popen([sys.executable, "-m", "bench.e2e_site", "--pages", str(args.pages),
                             "--feed-format", "atom"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    node = LocalNode(NodeSettings(http_port=args.es_port, transport_port=args.es_port + 100,
                                  cluster_name="news-pipeline-bench-rerun"))
    node.start()
    try:
        feeds = json.loads(site.stdout.readline())["feeds"]
        with tempfile.TemporaryDirectory(prefix="news-bench-rerun-") as work:
            config = _config(Path(work) / "config", node.url, feeds)
            settings = load_settings(config, env={})
            es = es_client(settings.elasticsearch)
            es.indices.delete(index=f"{ALIAS}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
            ensure_index(es, settings.elasticsearch)
            preload(config)
            es_pid = node.status()["pid"]
            fresh = _ingest_all(settings, es, es_pid)
            _backdate(es)
            again = _ingest_all(settings, es, es_pid)
            hits = es.search(index=ALIAS, size=200, source=["url"])["hits"]["hits"]
            bare = _bare_ms([h["_source"]["url"] for h in hits])
            es.indices.delete(index=f"{ALIAS}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    finally:
        node.stop()
        site.stdin.close()
        site.wait(timeout=30)
    code = args.label or f"pipeline at {Path(pipeline.__file__).resolve().parent.parent}"
    rows = [("fresh (every page new)", fresh), ("again (every page fetched again, unchanged)", again)]
    lines = [
        "## CPU per article when pages come back unchanged (`bench/rerun_cost.py`)",
        "",
        machine_line() + f" Code: {code}.",
        "",
        (f"Method: {args.pages} bench-site pages (bench/e2e_site.py, 8 Atom feeds on 4 loopback hosts) through "
        "`ingest_feed` in one process, twice: fresh, then with every stored article's `fetched_at` set back to 2001 "
        "and the feed states deleted, as if every feed entry had been updated since its article was fetched, so "
        "every page is fetched and cleaned again and comes back unchanged. Shipped German NER model, preloaded. "
        "CPU ms per fetched page: this process (fetch, clean, enrich, index client) and the Elasticsearch node; "
        "ratio to bare `trafilatura.extract` of 200 of the same pages in the same process, best of 3 passes "
        f"({bare:.1f} ms a page)."),
        "",
        "| run | fetched | created | unchanged | failures | client ms | Elasticsearch ms | total ms | ratio to bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        total = r["client_ms"] + r["es_ms"]
        lines.append(f"| {name} | {r['fetched']} | {r['created']} | {r['unchanged']} | {r['failures']} | "
                     f"{r['client_ms']:.1f} | {r['es_ms']:.1f} | {total:.1f} | {total / bare:.2f}x |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("rerun_cost", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
