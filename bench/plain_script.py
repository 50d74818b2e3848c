"""The plain baseline of issue 20: the script a data engineer would write before any pipeline.

feedparser -> httpx -> trafilatura (text + metadata) -> langdetect -> ``elasticsearch.helpers.bulk``,
one process, one thread, one ``httpx.Client``; no cleaning rules, entities, stories, dedup, feed
state, politeness or retries. bench/dag_e2e.py runs it in a subprocess against the bench site's
feeds and charges it this process's CPU plus the Elasticsearch node's (read from /proc around it).

    python bench/plain_script.py --es-url http://127.0.0.1:9700 --index plain-test FEED_URL...

prints one JSON line: entries seen, pages indexed, fetch/extract failures, wall seconds of the run,
CPU seconds of the whole process (interpreter start-up and imports included) and of its imports.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

import feedparser
import httpx
import trafilatura
from elasticsearch import Elasticsearch, helpers
from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


DetectorFactory.seed = 0  # langdetect samples at random: seeded, the same text gets the same answer
IMPORT_CPU_S = _cpu_s()  # getrusage counts from the process start: interpreter start-up and imports

MAPPING = {
    "properties": {
        "url": {"type": "keyword"},
        "feed": {"type": "keyword"},
        "title": {"type": "text"},
        "text": {"type": "text"},
        "date": {"type": "date", "ignore_malformed": True},
        "lang": {"type": "keyword"},
    }
}


def articles(feed_urls: list[str], index: str, client: httpx.Client, stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Bulk actions, one per feed entry whose page was fetched and had text."""
    for feed_url in feed_urls:
        try:
            response = client.get(feed_url)
            response.raise_for_status()
        except httpx.HTTPError:
            stats["failed"] += 1
            continue
        feed = feedparser.parse(response.content)
        for entry in feed.entries:
            url = entry.get("link")
            if not url:
                continue
            stats["entries"] += 1
            try:
                page = client.get(url)
                page.raise_for_status()
            except httpx.HTTPError:
                stats["failed"] += 1
                continue
            extracted = trafilatura.extract(page.text, url=url, output_format="json", with_metadata=True)
            if not extracted:
                stats["failed"] += 1
                continue
            doc = json.loads(extracted)
            text = doc.get("text") or ""
            try:
                lang = detect(text)
            except LangDetectException:
                lang = "unknown"
            yield {
                "_index": index,
                "_id": url,
                "_source": {
                    "url": url, "feed": feed_url, "title": doc.get("title") or entry.get("title"),
                    "date": doc.get("date"), "text": text, "lang": lang,
                },
            }


def run(feed_urls: list[str], es_url: str, index: str, *, timeout_s: float = 15.0) -> dict[str, Any]:
    """Fetch, extract, detect and index every entry of ``feed_urls`` into ``index`` (created with a
    plain mapping when missing); return counts, the wall seconds of this call and the process's CPU
    seconds so far (start-up and imports included; ``import_cpu_s`` of them before ``run``)."""
    started = time.perf_counter()
    stats = {"entries": 0, "failed": 0}
    es = Elasticsearch(es_url, request_timeout=60)
    if not es.indices.exists(index=index):
        es.indices.create(index=index, mappings=MAPPING, settings={"number_of_shards": 1, "number_of_replicas": 0})
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        indexed, errors = helpers.bulk(es, articles(feed_urls, index, client, stats), chunk_size=500, raise_on_error=False)
    es.indices.refresh(index=index)
    es.close()
    return {
        "entries": stats["entries"], "indexed": indexed, "failed": stats["failed"],
        "bulk_errors": len(errors) if isinstance(errors, list) else errors,
        "wall_s": time.perf_counter() - started, "cpu_s": _cpu_s(), "import_cpu_s": IMPORT_CPU_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plain feed -> Elasticsearch script (the issue-20 baseline).")
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--index", default="plain-articles")
    parser.add_argument("feeds", nargs="+", help="RSS/Atom feed URLs")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.feeds, args.es_url, args.index)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
