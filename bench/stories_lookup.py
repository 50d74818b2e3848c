"""Story fingerprinting: the seed similarity matrix, and fingerprint + candidate lookup time per
article at 10k and 100k indexed synthetic articles.

Why: the shingle size and threshold must come from measurement on real syndicated versions (the
seeds), and the lookup must stay flat as the index grows (a ``terms`` query on ``lsh_bands`` is an
inverted-index lookup, so it should). Run ``python -m bench.stories_lookup --seeds`` for the matrix
only, or without arguments for everything (starts and stops its own node on port 9330).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from bench.proc_cpu import process_cpu_s
from bench.synthetic import make_article
from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.enrich.stories import (
    BANDS,
    DEFAULT_THRESHOLD,
    MINHASH_MAPPING,
    NUM_PERM,
    ROWS,
    SHINGLE_SIZE,
    _lookup,
    _lookup_each,
    assign_stories,
    band_keys,
    encode_signature,
    estimate,
    jaccard,
    minhash,
    shingles,
)
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index, ensure_index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "pipeline" / "samplesite" / "seeds"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- stories_lookup:start -->", "<!-- stories_lookup:end -->"

_NOISE = re.compile(
    r"^(date \d{4}-\d{2}\s*$|Erstellt von|Folgen Sie|Lesezeit|Aktualisiert|\d{2}\.\d{2}\.\d{4}|.*\(Foto|.*Bild: |"
    r"/news\.de|su mit dpa|Politik$|Suche$)"
)


def seed_body(path: Path) -> str:
    """A seed's article text: the DWN teaser list cut, bylines, photo credits, dates, promo lines
    and the leading "date 2022-01" marker dropped (what clean.py would leave, roughly)."""
    text = path.read_text(encoding="utf-8").split("Mehr zum Thema")[0]
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*date \d{4}-\d{2}\s*", "", line).strip()
        if line and not _NOISE.match(line):
            lines.append(line)
    return "\n".join(lines)


def seed_matrix(k: int) -> tuple[list[str], list[list[float]], list[list[float]]]:
    paths = sorted(SEEDS.glob("*.txt"))
    bodies = [seed_body(p) for p in paths]
    sets = [shingles(b, k) for b in bodies]
    sigs = [minhash(b, k) for b in bodies]
    names = [p.name[:3] for p in paths]
    exact = [[jaccard(a, b) for b in sets] for a in sets]
    est = [[estimate(a, b) for b in sigs] for a in sigs]
    return names, exact, est


def matrix_markdown(k: int) -> str:
    names, exact, est = seed_matrix(k)
    head = f"| k={k} | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = []
    for i, n in enumerate(names):
        cells = [f"{exact[i][j]:.3f} / {est[i][j]:.3f}" if i != j else "—" for j in range(len(names))]
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


PORT = 9330
ALIAS = "bench-stories"
NEAR_EVERY = 50  # 2% of the indexed corpus are near duplicates of an earlier article
QUERIES = 300
QUERY_NEAR_SHARE = 0.3


def near_duplicate(body: str, rng: random.Random) -> str:
    """A syndicated version: about a third of the paragraphs rewritten or dropped, one appended."""
    paras = body.split("\n")
    out = []
    for para in paras:
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.35:
            words = para.split()
            rng.shuffle(words)
            para = " ".join(words)
        out.append(para)
    out.append(make_article(rng.randrange(10**6), seed=99).body.split("\n")[0])
    return "\n".join(out)


def corpus(n_from: int, n_to: int, index: str) -> Iterator[dict[str, Any]]:
    """Plain bulk actions (only the fields the lookup reads): fast to index, same lookup cost."""
    for n in range(n_from, n_to):
        article = make_article(n, seed=7)
        story_id = article.doc_id
        body = article.body
        if n >= NEAR_EVERY and n % NEAR_EVERY == 0:
            rng = random.Random(n)
            original = n - 1 - rng.randrange(min(n, 5000) - 1)
            original -= original % NEAR_EVERY == 0
            body = near_duplicate(make_article(original, seed=7).body, rng)
            story_id = make_article(original, seed=7).doc_id
        signature = minhash(body)
        yield {"_index": index, "_id": article.doc_id, "_source": {
            "url": article.url, "canonical_url": article.canonical_url, "site": article.site,
            "published_at": article.published_at, "lsh_bands": band_keys(signature),
            "minhash": encode_signature(signature), "story_id": story_id,
            "story_representative": story_id == article.doc_id,
        }}


def queries(indexed: int, seed: int) -> list[tuple[Article, str | None]]:
    """New articles; a share are near duplicates of indexed ones (with the story they must join)."""
    rng = random.Random(seed)
    out: list[tuple[Article, str | None]] = []
    for i in range(QUERIES):
        article = make_article(10_000_000 + seed * QUERIES + i, seed=11)
        expected = None
        if rng.random() < QUERY_NEAR_SHARE:
            original = rng.randrange(indexed)
            original -= original % NEAR_EVERY == 0 and original > 0
            article.body = near_duplicate(make_article(original, seed=7).body, rng)
            expected = make_article(original, seed=7).doc_id
        out.append((article, expected))
    return out


LOOKUP_BATCH = 32  # pipeline.enrich.add_stories: the ingestion batch


def lookup_cpu(es: Elasticsearch, pid: int | None, items: list[tuple[Article, str | None]]) -> dict[str, float]:
    """Node CPU ms per article of the candidate lookup in batches of LOOKUP_BATCH: the pipeline's
    one ``terms`` query per batch (``_lookup``) vs one query per article in one msearch
    (``_lookup_each``, its fallback). Interleaved, each pass over the queries three times (the
    node's CPU clock ticks in 10 ms), best of three passes."""
    pairs = [(article, band_keys(minhash(article.body))) for article, _ in items]
    best = {"batch": float("inf"), "each": float("inf")}
    for _ in range(3):
        for name, lookup in (("batch", _lookup), ("each", _lookup_each)):
            before = process_cpu_s(pid, children=False) if pid else 0.0
            for _repeat in range(3):
                for start in range(0, len(pairs), LOOKUP_BATCH):
                    lookup(es, ALIAS, pairs[start:start + LOOKUP_BATCH])
            after = process_cpu_s(pid, children=False) if pid else 0.0
            best[name] = min(best[name], (after - before) * 1000 / (3 * len(pairs)))
    return best


def measure(es: Elasticsearch, indexed: int, pid: int | None = None) -> dict[str, Any]:
    items = queries(indexed, seed=indexed)
    fp = []
    for article, _ in items:
        t = time.perf_counter()
        band_keys(minhash(article.body))
        fp.append((time.perf_counter() - t) * 1000)
    assign_stories(es, ALIAS, [items[0][0]], threshold=DEFAULT_THRESHOLD)  # warm-up
    # server-side time of the candidate query alone (msearch "took"), one article at a time
    took = []
    for article, _ in items:
        keys = band_keys(minhash(article.body))
        resp = es.msearch(searches=[{"index": article_pattern(ALIAS)}, {
            "size": 50, "_source": ["minhash", "story_id"],
            "query": {"bool": {"filter": [{"terms": {"lsh_bands": keys}}]}}}])
        took.append(resp["responses"][0]["took"])
    # the machine is shared: best of three rounds (by median) of the single-article calls
    rounds = []
    for _ in range(3):
        single = []
        found = joined_wrong = near = fresh_joined = 0
        sims = []
        for article, expected in items:
            t = time.perf_counter()
            fields = assign_stories(es, ALIAS, [article], threshold=DEFAULT_THRESHOLD,
                                    update_representatives=False)[article.doc_id]
            single.append((time.perf_counter() - t) * 1000)
            if expected:
                near += 1
                found += fields.story_id == expected
                joined_wrong += fields.story_id not in (expected, article.doc_id)
                sims.append(fields.similarity)
            else:
                fresh_joined += fields.story_id != article.doc_id
        rounds.append(single)
    single = min(rounds, key=statistics.median)
    batch_rounds = []
    for _ in range(3):
        t = time.perf_counter()
        for start in range(0, len(items), 100):
            assign_stories(es, ALIAS, [a for a, _ in items[start:start + 100]], threshold=DEFAULT_THRESHOLD,
                           update_representatives=False)
        batch_rounds.append((time.perf_counter() - t) * 1000 / len(items))
    cpu = lookup_cpu(es, pid, items)
    return {
        "cpu_batch": cpu["batch"], "cpu_each": cpu["each"],
        "indexed": indexed, "fp_ms": statistics.median(fp), "single_p50": statistics.median(single),
        "single_p95": statistics.quantiles(single, n=20)[18], "batched": min(batch_rounds),
        "took_p50": statistics.median(took), "took_p95": statistics.quantiles(took, n=20)[18],
        "load": os.getloadavg()[0],
        "recall": found / max(near, 1), "near": near, "wrong": joined_wrong, "fresh_joined": fresh_joined,
        "fresh": len(items) - near, "sim_median": statistics.median(sims) if sims else 0.0,
    }


def write_section(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{text.rstrip()}\n{END}"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def report(rows: list[dict[str, Any]], index_s: dict[int, float], es_version: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    lines = [
        "## Story fingerprinting and candidate lookup (`bench/stories_lookup.py`)",
        "",
        (f"Machine: 2 cores shared with other jobs, Python {platform.python_version()}, Elasticsearch "
        f"{es_version}, run {now} UTC. Local node `LocalNode` on port {PORT}, 1 shard, 0 replicas."),
        "",
        (f"Method: synthetic 4 KB German-like bodies from `bench/synthetic.py`; every {NEAR_EVERY}th indexed "
        "article is a near duplicate of an earlier one (paragraphs dropped / reshuffled, one added). "
        "The corpus is indexed by plain bulk with only the fields the lookup reads (`lsh_bands`, "
        "`minhash`, `story_id`, `story_representative`, `published_at`). "
        f"Signature: {SHINGLE_SIZE}-word shingles, {NUM_PERM} permutations, {BANDS} bands x {ROWS} rows, "
        f"threshold {DEFAULT_THRESHOLD}. Then {QUERIES} new articles ({QUERY_NEAR_SHARE:.0%} near duplicates "
        "of random indexed ones) go through the real `assign_stories`, one call per article "
        "(fingerprint + the candidate query + the representative lookup when a story matched) and again in "
        "batches of 100. Single calls and batches: best of three rounds "
        "(by median), as the 2 cores are shared with other jobs' nodes and tests; the server-side "
        "`took` of the bare candidate query is reported separately."),
        "",
        ("| indexed | fingerprint ms (p50) | terms query, server took ms p50 / p95 | "
         "assign_stories, 1 article: p50 ms | p95 ms | batches of 100: ms/article | "
         "node CPU ms/article, batches of 32: one query per batch / one per article | "
         "near dups joined to their story | wrong story | fresh articles joined | load avg |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['indexed']:,} | {r['fp_ms']:.2f} | {r['took_p50']:.0f} / {r['took_p95']:.0f} | "
            f"{r['single_p50']:.2f} | {r['single_p95']:.2f} | "
            f"{r['batched']:.2f} | {r['cpu_batch']:.2f} / {r['cpu_each']:.2f} | {r['recall']:.0%} of {r['near']} (median sim {r['sim_median']:.2f}) | "
            f"{r['wrong']} | {r['fresh_joined']} of {r['fresh']} | {r['load']:.1f} |"
        )
    last = rows[-1]
    lines += ["", (
        f"Target < 5 ms per article: batches of 100 take {last['batched']:.1f} ms/article at "
        f"{last['indexed']:,} indexed (fingerprint {last['fp_ms']:.1f} ms of it) and stay flat; the "
        f"server-side `took` of one article's terms query stays at p50 {last['took_p50']:.0f} ms, p95 "
        f"{last['took_p95']:.0f} ms. A single-article call needs two "
        f"round trips (the candidate query, then the representative lookup when a story matched): p50 "
        f"{last['single_p50']:.1f} ms meets the target, p95 {last['single_p95']:.0f} ms does not on this "
        "shared machine, so call `assign_stories` once per bulk chunk, not per article."
    )]
    lines += ["", (
        f"Candidate lookup on the node: one `terms` query with the band keys of a whole batch of "
        f"{LOOKUP_BATCH} costs {last['cpu_batch']:.2f} ms of node CPU per article at {last['indexed']:,} "
        f"indexed, one query per article (an msearch of {LOOKUP_BATCH}) {last['cpu_each']:.2f} ms: "
        "`assign_stories` sends the first and falls back to the second only when the batch's hits "
        "do not fit in one response."
    )]
    lines += ["", "Corpus indexing (fingerprinting included): " + ", ".join(
        f"{n:,} docs in {s:.0f} s" for n, s in index_s.items()) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", action="store_true", help="print the seed similarity matrices only")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    if args.seeds:
        print(f"exact Jaccard / MinHash estimate ({NUM_PERM} permutations)\n")
        for k in (3, 4, 5):
            print(matrix_markdown(k))
        return
    from pipeline.localnode import LocalNode, NodeSettings

    node = LocalNode(NodeSettings(http_port=PORT, cluster_name="news-bench-stories"))
    started = node.start()
    es = Elasticsearch(node.url, request_timeout=120)
    try:
        settings = ElasticsearchSettings(url=node.url, index_alias=ALIAS, number_of_replicas=0, refresh_interval="-1")
        es.indices.delete(index=f"{ALIAS}-*", ignore_unavailable=True, allow_no_indices=True)
        ensure_index(es, settings)
        index = article_index(ALIAS, TEMPLATE_VERSION, "2024-01-01")
        ensure_article_index(es, settings, index)
        es.indices.put_mapping(index=article_pattern(ALIAS), properties=MINHASH_MAPPING)
        rows, index_s, done = [], {}, 0
        for size in (int(x) for x in args.sizes.split(",")):
            t = time.perf_counter()
            bulk(es.options(request_timeout=120), corpus(done, size, index), chunk_size=1000)
            es.indices.refresh(index=index)
            index_s[size - done] = time.perf_counter() - t
            done = size
            es.options(request_timeout=600).indices.forcemerge(index=index, max_num_segments=1)
            row = measure(es, size, (node.status() or {}).get("pid"))
            print(row, flush=True)
            rows.append(row)
        write_section(report(rows, index_s, next(iter(es.nodes.info()["nodes"].values()))["version"]))
        es.indices.delete(index=f"{ALIAS}-*", ignore_unavailable=True, allow_no_indices=True)
    finally:
        es.close()
        if started:
            node.stop()


if __name__ == "__main__":
    main()
