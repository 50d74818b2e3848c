"""Fault runs for the fault table in docs/reliability.md (issue 16): what happens to the documents
when the Elasticsearch node is killed with ``kill -9`` in the middle of a bulk load, and when two
ingests of the same feeds run at once.

Both run the real command line (``python -m pipeline ingest``, one subprocess per runner) against a
dedicated local node (port 9321 unless --port; its own cluster ``news-faults``) and the end-to-end
benchmark's news site (bench.e2e_site: generated German article pages of about 50 KB, on 127.0.0.x
hosts, every request counted here), each scenario into a fresh alias.

- ``kill``: ``--pages`` pages (default 1,500) in one feed, bulk chunks of 100 documents; once the
  article indices hold half of them and a bulk request is in flight (``_tasks``), the node's JVM
  gets SIGKILL. The ingest's exit status and last stderr lines are kept; the node is
  started again on the same data; a rerun right away (the killed runner's lease on the feed it was
  in still holds, pipeline.feeds.lease), and one after that lease expired.
- ``concurrent``: ``--pages`` pages (default 2,000) in 8 feeds, two ingests started at once.

Figures per scenario: documents expected (pages), indexed (in the article indices, and through the
alias), duplicated (documents beyond one per canonical URL), dead-lettered (documents in
``<alias>-deadletter``), pages requested more than once, and the run-log totals (created, updated,
unchanged over every per-feed document in ``<alias>-runs``).

Run: .venv/bin/python bench/fault_runs.py [--scenario kill|concurrent|all] [--pages N] [--out FILE]
                                          [--runner-root DIR]
     -> JSON on stdout (and in FILE); the figures are quoted in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from elasticsearch import Elasticsearch

from bench import e2e_site
from bench.dag_e2e import write_bench_config
from pipeline.index.names import article_pattern, deadletter_index, leases_index, runlog_index
from pipeline.localnode import LocalNode, NodeSettings

KILL_CHUNK = 100  # bulk requests every 100 pages, so the kill lands in the middle of a load, not at its end
HITS: Counter[tuple[str, str]] = Counter()  # (host address, path) -> requests
_HITS_LOCK = threading.Lock()
_serve = e2e_site._Handler.do_GET


def _counting_get(self: Any) -> None:
    with _HITS_LOCK:
        HITS[(self.server.server_address[0], self.path)] += 1
    _serve(self)


e2e_site._Handler.do_GET = _counting_get  # type: ignore[method-assign]


FAULT_HTTP = {"per_host_min_interval_s": 0, "connect_timeout_s": 5, "read_timeout_s": 15}


def _config(directory: Path, es_url: str, alias: str, feeds: list[dict], **es_settings: Any) -> Path:
    return write_bench_config(directory, es_url=es_url, alias=alias, feeds=feeds, http=FAULT_HTTP, **es_settings)


RUNNER_ROOT = ROOT  # where the runners import ``pipeline`` from (--runner-root: another revision)


def _ingest(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "ingest"], cwd=RUNNER_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], started: float, timeout: float = 3600) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    try:
        reports = json.loads(out) if out.strip() else []
    except json.JSONDecodeError:
        reports = []
    lines = [line for line in err.splitlines() if line.strip()]
    return {
        "exit": proc.returncode, "seconds": round(time.monotonic() - started, 1),
        "stderr_lines": len(lines),
        "stderr_said": [line[:300] for line in lines if line.startswith(("ingest", "error", "  "))][-8:]
        if proc.returncode in (0, 1, 3) else lines[-15:],
        "skipped": {r["feed"]: r["skipped"] for r in reports if r.get("skipped")},
        "feeds_reported": len(reports),
        **{k: sum(int(r.get(k) or 0) for r in reports) for k in ("fetched", "created", "updated", "unchanged")},
    }


def _figures(es: Elasticsearch, alias: str, pages: int, page_paths: set[str]) -> dict[str, Any]:
    es.indices.refresh(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
    stored = es.count(index=article_pattern(alias), ignore_unavailable=True, allow_no_indices=True)["count"]
    through_alias = es.options(ignore_status=404).count(index=alias).get("count", 0)
    distinct = es.search(index=article_pattern(alias), size=0, aggs={
        "urls": {"cardinality": {"field": "canonical_url", "precision_threshold": 40000}}})
    distinct_urls = distinct["aggregations"]["urls"]["value"]
    dead = es.options(ignore_status=404).count(index=deadletter_index(alias)).get("count", 0)
    runs = [h["_source"] for h in es.search(index=runlog_index(alias), query={"term": {"kind": "ingest"}},
                                            size=1000)["hits"]["hits"]]
    fetched = {key: n for key, n in HITS.items() if key[1] in page_paths}
    return {
        "expected": pages, "indexed": stored, "through_alias": through_alias,
        "duplicated": stored - distinct_urls, "dead_lettered": dead,
        "pages_requested": len(fetched), "pages_requested_twice_or_more": sum(1 for n in fetched.values() if n > 1),
        "page_requests": sum(fetched.values()),
        "runlog": {"documents": len(runs), "skipped": sum(1 for r in runs if r.get("skipped")),
                   **{k: sum(int(r.get(k) or 0) for r in runs) for k in ("created", "updated", "unchanged")}},
    }


def _site(pages: int, hosts: int, feeds_per_host: int) -> tuple[e2e_site.BenchSite, list[dict], set[str]]:
    layout = e2e_site.SiteLayout(pages, hosts, feeds_per_host)
    site = e2e_site.BenchSite(layout)
    feeds = site.start()
    paths = {e2e_site.make_article(layout, p).path for p in range(pages)}
    HITS.clear()
    return site, feeds, paths


def kill_scenario(node: LocalNode, pages: int, work: Path) -> dict[str, Any]:
    alias = f"fault-kill-{uuid.uuid4().hex[:6]}"
    site, feeds, paths = _site(pages, 1, 1)
    es = Elasticsearch(node.url, request_timeout=60)
    config = _config(work / alias, node.url, alias, feeds, bulk_chunk_size=KILL_CHUNK)
    result: dict[str, Any] = {"scenario": "kill", "alias": alias, "feeds": len(feeds), "bulk_chunk_size": KILL_CHUNK}
    try:
        started = time.monotonic()
        proc = _ingest(config)
        while proc.poll() is None:
            time.sleep(0.2)
            try:
                count = es.count(index=article_pattern(alias))["count"]
                bulks = es.tasks.list(actions="indices:data/write/bulk*", detailed=False)
            except Exception as exc:  # noqa: BLE001  the indices may not exist yet
                print(f"count not read yet: {exc}", file=sys.stderr)
                time.sleep(1)
                continue
            in_flight = sum(len(n.get("tasks") or {}) for n in (bulks.get("nodes") or {}).values())
            if count >= pages // 2 and in_flight:  # in the middle of the load, with a bulk request in flight
                pid = int(node.settings.pid_file.read_text().strip())
                os.kill(pid, signal.SIGKILL)
                result["killed"] = {"at_s": round(time.monotonic() - started, 1), "documents_before": count,
                                    "bulk_tasks_in_flight": in_flight, "pid": pid,
                                    "at": datetime.now(UTC).isoformat(timespec="seconds")}
                break
        result["first_run"] = _finish(proc, started)
        restart = time.monotonic()
        node.start()
        result["restart_s"] = round(time.monotonic() - restart, 1)
        es = Elasticsearch(node.url, request_timeout=60)
        es.cluster.health(index=f"{alias}*", wait_for_status="yellow", timeout="120s")
        result["after_restart"] = _figures(es, alias, pages, paths)
        for name in ("rerun_at_once", "rerun_after_expiry"):
            if name == "rerun_after_expiry":
                leases = es.search(index=leases_index(alias), size=100)["hits"]["hits"]
                held = [h["_source"]["expires_at"] for h in leases if not h["_source"].get("released")]
                if held:
                    wait = (datetime.fromisoformat(max(held)) - datetime.now(UTC)).total_seconds() + 2
                    result["waited_for_expiry_s"] = round(max(0.0, wait), 1)
                    time.sleep(max(0.0, wait))
            started = time.monotonic()
            result[name] = _finish(_ingest(config), started)
            result[f"after_{name}"] = _figures(es, alias, pages, paths)
    finally:
        site.stop()
    return result


def concurrent_scenario(node: LocalNode, pages: int, work: Path) -> dict[str, Any]:
    alias = f"fault-conc-{uuid.uuid4().hex[:6]}"
    site, feeds, paths = _site(pages, 4, 2)
    es = Elasticsearch(node.url, request_timeout=60)
    config = _config(work / alias, node.url, alias, feeds)
    try:
        started = time.monotonic()
        procs = [_ingest(config), _ingest(config)]
        runs = [_finish(p, started) for p in procs]
        print(json.dumps(runs, indent=2), file=sys.stderr, flush=True)
        return {"scenario": "concurrent", "alias": alias, "feeds": len(feeds), "runs": runs,
                "seconds": round(time.monotonic() - started, 1), **_figures(es, alias, pages, paths)}
    finally:
        site.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("kill", "concurrent", "all"), default="all")
    parser.add_argument("--pages", type=int, help="pages per scenario (kill 1,500, concurrent 2,000)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_ES_PORT", "9321")))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--runner-root", type=Path, help="run the ingests with the pipeline package of this "
                        "directory (e.g. `git archive <rev>` extracted there), for a before/after comparison")
    args = parser.parse_args(argv)
    global RUNNER_ROOT
    RUNNER_ROOT = args.runner_root or ROOT
    node = LocalNode(NodeSettings(http_port=args.port, cluster_name="news-faults"))
    node.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="fault-runs-") as tmp:
            if args.scenario in ("kill", "all"):
                results.append(kill_scenario(node, args.pages or 1500, Path(tmp)))
                print(json.dumps(results[-1], indent=2), file=sys.stderr, flush=True)
            if args.scenario in ("concurrent", "all"):
                results.append(concurrent_scenario(node, args.pages or 2000, Path(tmp)))
    finally:
        node.stop()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
