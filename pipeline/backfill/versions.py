"""No duplicates, no lost updates, beside the nightly DAG.

Backfilled articles get the same document ids as ingested ones (canonical URLs) and go through the
same idempotent bulk indexer. Two checks on top:

- :func:`unseen_candidates`: a listed URL whose article is already indexed is not fetched again,
  unless the listing says it changed after that copy was fetched (sitemap ``lastmod``).
- :func:`drop_older_copies`: an archived copy (a WARC record captured in 2022, say) never
  replaces a version of the article that was fetched or modified later. The indexed version wins
  if its ``modified_at`` is later than the copy's, or, when the modification dates do not tell
  (missing or equal), if it was fetched later. Each such skip is counted (``kept_newer``) and
  recorded with both dates.

The check reads the index right before each bulk chunk is written; a nightly write to the same
article in the milliseconds between that read and the write is the one window it cannot close.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from elasticsearch import Elasticsearch

from pipeline.article import Article, doc_id_for
from pipeline.backfill.discovery import Candidate
from pipeline.fetch.urls import canonicalize
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import TEMPLATE_VERSION
from pipeline.iterutils import chunked


class VersionLog(Protocol):
    skipped_seen: int
    kept_newer: int

    def note_kept_newer(self, url: str, reason: str) -> None: ...


def _indexed(es: Elasticsearch, alias: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    resp = es.search(
        index=article_pattern(alias), query={"ids": {"values": ids}},
        source_includes=["fetched_at", "modified_at"], size=len(ids),
        ignore_unavailable=True, allow_no_indices=True,
    )
    return {hit["_id"]: hit["_source"] for hit in resp["hits"]["hits"]}


def _indexed_articles(es: Elasticsearch, alias: str, articles: list[Article]) -> dict[str, dict[str, Any]]:
    """Like :func:`_indexed`, but a realtime get on each article's own monthly index first, so a
    version written a moment ago (not yet refreshed) is seen too."""
    fields = ["fetched_at", "modified_at"]
    docs = [{"_index": article_index(alias, TEMPLATE_VERSION, a.published_at), "_id": a.doc_id} for a in articles]
    found = {
        doc["_id"]: doc["_source"]
        for doc in es.mget(docs=docs, source_includes=fields)["docs"] if doc.get("found")
    }
    missing = list({a.doc_id for a in articles} - set(found))
    return {**_indexed(es, alias, missing), **found}


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def unseen_candidates(
    es: Elasticsearch, alias: str, candidates: list[Candidate], log: VersionLog, *, batch: int = 500
) -> list[Candidate]:
    """Candidates not indexed yet, or changed (``version_at``) after the indexed copy was fetched."""
    fresh: list[Candidate] = []
    for chunk in chunked(candidates, batch):
        ids = {doc_id_for(canonicalize(c.url)): c for c in chunk}
        indexed = _indexed(es, alias, list(ids))
        for doc_id, candidate in ids.items():
            seen = indexed.get(doc_id)
            fetched = _instant((seen or {}).get("fetched_at"))
            if seen is None or (candidate.version_at and fetched and candidate.version_at > fetched):
                fresh.append(candidate)
            else:
                log.skipped_seen += 1
    return fresh


def newer_reason(indexed: dict[str, Any], article: Article) -> str | None:
    """Why the indexed version beats ``article``, or None if ``article`` may be written."""
    old_mod, new_mod = _instant(indexed.get("modified_at")), _instant(article.modified_at)
    if old_mod and new_mod and old_mod != new_mod:
        return f"indexed version modified {indexed['modified_at']}, archived copy {article.modified_at}" \
            if old_mod > new_mod else None
    old_fetch, new_fetch = _instant(indexed.get("fetched_at")), _instant(article.fetched_at)
    if old_fetch and new_fetch and old_fetch > new_fetch:
        return f"indexed version fetched {indexed['fetched_at']}, archived copy {article.fetched_at}"
    return None


def drop_older_copies(
    es: Elasticsearch, alias: str, articles: Iterable[Article], log: VersionLog, *, batch: int = 100
) -> Iterator[Article]:
    """Pass on the articles that are not older than their indexed version (streamed in batches)."""
    for chunk in chunked(articles, batch):
        indexed = _indexed_articles(es, alias, chunk)
        for article in chunk:
            current = indexed.get(article.doc_id)
            reason = newer_reason(current, article) if current else None
            if reason:
                log.kept_newer += 1
                log.note_kept_newer(article.url, reason)
                continue
            yield article
