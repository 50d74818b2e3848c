"""Bulk writes of articles with deterministic ids, streamed in bounded chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from pipeline.article import Article


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def _actions(articles: Iterable[Article], index: str) -> Iterator[dict[str, Any]]:
    for article in articles:
        yield {"_op_type": "index", "_index": index, "_id": article.doc_id, "_source": article.to_document()}


def index_articles(
    es: Elasticsearch, articles: Iterable[Article], index: str, *, chunk_size: int = 500
) -> BulkResult:
    """Index articles; per-document rejections are collected with their reason, never raised."""
    result = BulkResult()
    for ok, item in streaming_bulk(
        es, _actions(articles, index), chunk_size=chunk_size, raise_on_error=False, max_retries=3
    ):
        info = item.get("index", {})
        if ok:
            if info.get("result") == "created":
                result.created += 1
            else:
                result.updated += 1
        else:
            result.failed.append({"id": info.get("_id"), "reason": str(info.get("error"))[:500]})
    return result
