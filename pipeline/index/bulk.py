"""Bulk writes of articles: deterministic ids, unchanged articles not rewritten, changed ones
updated with their previous hash kept, per-document rejections sent to the dead-letter index.

Memory stays flat: articles are consumed in bounded chunks (count and bytes); at most
``bulk_max_in_flight`` + 1 are held: the ones being written and the one being looked up and planned. Infrastructure failures (the cluster unreachable after the
client's retries) raise: the caller's task fails and is retried, and because ids are
deterministic and unchanged documents are skipped, the retry loses and duplicates nothing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Container, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.index.deadletter import write_deadletters
from pipeline.index.mappings import with_language_copies
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index
from pipeline.iterutils import chunked

log = logging.getLogger(__name__)


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: BulkResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.failures.extend(other.failures)


def to_source(article: Article) -> dict[str, Any]:
    """The indexed document: the article's fields plus the language copies of its texts."""
    doc = with_language_copies(article.to_document())
    doc["template_version"] = TEMPLATE_VERSION
    return doc


def _existing(es: Elasticsearch, alias: str, chunk: list[Article]) -> dict[str, dict[str, Any]]:
    """Where each id already lives, with its hash and first-seen time. A realtime mget on the
    target month finds what this very run wrote; a search over all months finds an article whose
    publication month changed (it must move, not be duplicated)."""
    found: dict[str, dict[str, Any]] = {}
    fields = ["content_hash", "first_seen_at"]
    docs = [{"_index": article_index(alias, TEMPLATE_VERSION, a.published_at), "_id": a.doc_id} for a in chunk]
    for doc in es.mget(docs=docs, source_includes=fields)["docs"]:
        if doc.get("found"):
            found[doc["_id"]] = {"index": doc["_index"], **doc["_source"]}
    missing = [a.doc_id for a in chunk if a.doc_id not in found]
    if missing:
        resp = es.search(
            index=article_pattern(alias), query={"ids": {"values": missing}}, source_includes=fields,
            size=len(missing), ignore_unavailable=True, allow_no_indices=True,
        )
        for hit in resp["hits"]["hits"]:
            found.setdefault(hit["_id"], {"index": hit["_index"], **hit["_source"], "stray": True})
    return found


def _plan(
    chunk: list[Article], existing: dict[str, dict[str, Any]], alias: str, now: str, result: BulkResult,
    not_enriched: Container[str] = (),
) -> tuple[list[dict[str, Any]], dict[str, Article]]:
    actions: list[dict[str, Any]] = []
    by_id: dict[str, Article] = {}
    for article in chunk:
        if article.doc_id in by_id:
            continue  # the same article twice in one chunk: the first one wins
        target = article_index(alias, TEMPLATE_VERSION, article.published_at)
        old = existing.get(article.doc_id)
        if old and old.get("content_hash") == article.content_hash and old["index"] == target:
            result.unchanged += 1
            continue
        if article.doc_id in not_enriched:
            # unchanged when enrichment looked it up, changed since by another runner: this copy
            # has no entities or story and is no newer than the stored one (pipeline.index.unchanged)
            log.info("%s: stored document changed by another runner since it was looked up; not rewritten",
                     article.url)
            result.unchanged += 1
            continue
        source = to_source(article)
        source["first_seen_at"] = (old or {}).get("first_seen_at") or now
        if old:
            source["previous_hash"] = old.get("content_hash")
            if old.get("content_hash") != article.content_hash:
                source["content_changed_at"] = now
            if old["index"] != target:
                actions.append({"_op_type": "delete", "_index": old["index"], "_id": article.doc_id})
        actions.append({"_op_type": "index", "_index": target, "_id": article.doc_id, "_source": source})
        by_id[article.doc_id] = article
    return actions, by_id


def index_articles(
    es: Elasticsearch,
    articles: Iterable[Article],
    settings: ElasticsearchSettings,
    *,
    run_id: str = "manual",
    feed: str | None = None,
    not_enriched: Container[str] = (),
) -> BulkResult:
    """Index articles into their monthly indices; return counts and the per-document failures
    (each also written to the dead-letter index with its reason and the original document).
    ``not_enriched``: ids that enrichment passed by as stored unchanged (pipeline.index.unchanged);
    such an article is never written.

    Pipelined: while Elasticsearch writes a chunk (a background thread sends it and waits), this
    thread reads, looks up and plans the next one, so client and server work overlap. At most
    ``bulk_max_in_flight`` chunks are in flight (default 2: while the node parses one request,
    it indexes the other), and a chunk that shares a document id with one in flight waits for it
    first: its lookup must see that write, exactly as without the overlap. Every write has
    finished (or failed) when this function returns or raises."""
    alias = settings.index_alias
    total = BulkResult()
    known: set[str] = set()
    most = max(1, settings.bulk_max_in_flight)
    with ThreadPoolExecutor(max_workers=most, thread_name_prefix="bulk-write") as writer:
        in_flight: deque[tuple[Future[BulkResult], set[str]]] = deque()
        for chunk in chunked(articles, settings.bulk_chunk_size):
            ids = {article.doc_id for article in chunk}
            # a chunk sharing an id with a write in flight waits for it (and the older ones)
            while in_flight and any(not ids.isdisjoint(busy) for _future, busy in in_flight):
                total.add(in_flight.popleft()[0].result())
            result = BulkResult()
            now = datetime.now(UTC).isoformat(timespec="seconds")
            existing = _existing(es, alias, chunk)
            actions, by_id = _plan(chunk, existing, alias, now, result, not_enriched)
            for index in {a["_index"] for a in actions if a["_op_type"] == "index"} - known:
                ensure_article_index(es, settings, index)
                known.add(index)
            if not actions:  # all unchanged: nothing to write
                total.add(result)
                continue
            while len(in_flight) >= most:
                total.add(in_flight.popleft()[0].result())
            in_flight.append(
                (writer.submit(_write, es, settings, actions, existing, by_id, result, run_id, feed), ids)
            )
        while in_flight:
            total.add(in_flight.popleft()[0].result())
    return total


def _write(
    es: Elasticsearch,
    settings: ElasticsearchSettings,
    actions: list[dict[str, Any]],
    existing: dict[str, dict[str, Any]],
    by_id: dict[str, Article],
    result: BulkResult,
    run_id: str,
    feed: str | None,
) -> BulkResult:
    """One planned chunk: streaming bulk, counts, rejected documents to the dead-letter index."""
    rejected: list[dict[str, Any]] = []
    for ok, item in streaming_bulk(
        es, actions, chunk_size=settings.bulk_chunk_size, max_chunk_bytes=settings.bulk_max_chunk_bytes,
        raise_on_error=False, max_retries=5, initial_backoff=1,
    ):
        op, info = next(iter(item.items()))
        if op == "delete":
            continue
        if ok:
            # created only when Elasticsearch says so: a document another runner wrote after this
            # chunk's lookup is an update here, so the run logs of both add up to the documents
            if info["_id"] in existing or info.get("result") != "created":
                result.updated += 1
            else:
                result.created += 1
            continue
        article = by_id[info["_id"]]
        reason = _reason(info.get("error"))
        result.failed += 1
        result.failures.append({"id": info["_id"], "url": article.url, "reason": reason})
        rejected.append(
            {"doc_id": info["_id"], "url": article.url, "index": info.get("_index"), "reason": reason,
             "document": to_source(article)}
        )
    if rejected:
        write_deadletters(es, settings.index_alias, rejected, run_id=run_id, feed=feed, stage="index")
    return result


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        caused = error.get("caused_by", {})
        text = f"{error.get('type')}: {error.get('reason')}"
        if caused:
            text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
        return text[:1000]
    return str(error)[:1000]
