"""Articles the index already holds unchanged, found before enrichment.

The bulk indexer (:mod:`pipeline.index.bulk`) skips an article whose stored document, in the
monthly index it would be written to, has the same ``content_hash`` (title, body, publication
date): whatever NER, entity linking and story assignment computed for it is thrown away. A page
is fetched again when its feed entry was updated, when two feeds list it, or when a run is
repeated, and on such runs most pages are the same. :class:`UnchangedArticles` looks them up
before enrichment (one realtime ``mget`` per batch, so it sees what this run wrote moments ago),
and the enrichment stages pass them by. The bulk indexer gets the same ids: if such a document
changed between the lookup and the write (another runner wrote it), the article, not enriched and
no newer than what is stored, is counted unchanged and not written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from elasticsearch import Elasticsearch

from pipeline.article import Article
from pipeline.index.names import article_index
from pipeline.index.template import TEMPLATE_VERSION
from pipeline.iterutils import chunked


def unchanged_ids(es: Elasticsearch, alias: str, articles: Sequence[Article]) -> set[str]:
    """Ids of ``articles`` stored with the same content hash in the index they would go to."""
    if not articles:
        return set()
    hashes = {a.doc_id: a.content_hash for a in articles}
    docs = [{"_index": article_index(alias, TEMPLATE_VERSION, a.published_at), "_id": a.doc_id} for a in articles]
    resp = es.mget(docs=docs, source_includes=["content_hash"])
    return {d["_id"] for d in resp["docs"] if d.get("found") and d["_source"].get("content_hash") == hashes[d["_id"]]}


class UnchangedArticles:
    """``mark`` passes a stream of articles through, a batch at a time, and adds the ids of the
    unchanged ones to ``ids`` before it yields the first article of their batch; the enrichment
    stages and the bulk indexer read ``ids``."""

    def __init__(self, es: Elasticsearch, alias: str, *, batch_size: int = 32) -> None:
        self.es = es
        self.alias = alias
        self.batch_size = batch_size
        self.ids: set[str] = set()

    def mark(self, articles: Iterable[Article]) -> Iterator[Article]:
        for batch in chunked(articles, self.batch_size):
            self.ids |= unchanged_ids(self.es, self.alias, batch)
            yield from batch
