"""Bulk loads against the real local Elasticsearch: the overlap of writing one chunk while the next
is looked up (a chunk that shares a document with the one in flight sees that write), a failing
source (what was read before it is written, nothing after), and counts over many chunks and
months that match a sequential load."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.index import bulk
from pipeline.index.bulk import index_articles
from pipeline.index.template import ensure_index


def _article(i: int, *, month: int = 1, body: str | None = None) -> Article:
    url = f"https://news.example/wirtschaft/{i}"
    return Article(
        url=url, canonical_url=url, feed="synthetic", site="news.example", title=f"Artikel {i}",
        body=body or f"Der Haushalt {i} wurde beschlossen. " * 20,
        published_at=f"2023-{month:02d}-15T09:00:00+00:00", lang="de",
    )


def _settings(es_url: str, alias: str, **over: object) -> ElasticsearchSettings:
    return replace(ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0), **over)


def test_a_chunk_sharing_a_document_with_the_one_in_flight_sees_its_write(
    es, es_url, alias, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same article in consecutive chunks: the second copy must be found (unchanged), exactly
    as in a sequential load, however slow the write in flight is."""
    settings = _settings(es_url, alias, bulk_chunk_size=2)
    ensure_index(es, settings)
    slow_write = bulk._write

    def delayed(*args: object, **kwargs: object) -> bulk.BulkResult:
        time.sleep(0.5)  # without the wait, the next chunk's lookup would run before this write
        return slow_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_write", delayed)
    first, second = _article(1), _article(2)
    changed = _article(2, body="Ein ganz anderer Text. " * 20)
    result = index_articles(es, [first, second, first, _article(3), changed, _article(4)], settings)
    assert (result.created, result.unchanged, result.updated, result.failed) == (4, 1, 1, 0)
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 4
    [hit] = es.search(index=alias, query={"ids": {"values": [changed.doc_id]}})["hits"]["hits"]
    assert hit["_source"]["body"] == changed.body and hit["_source"]["previous_hash"] == second.content_hash


@pytest.mark.parametrize("most", [1, 2, 3])
def test_writes_in_flight_are_bounded_and_an_older_one_sharing_a_document_is_waited_for(
    es, es_url, alias, monkeypatch: pytest.MonkeyPatch, most: int
) -> None:
    """Chunks [1, 2], [3, 4], [1 changed, 5], [6, 7], [8, 9]: the third shares article 1 with the
    first, which may still be in flight behind the second; its lookup must see that write (so
    article 1 is updated, not created twice). Never more than ``bulk_max_in_flight`` writes at once."""
    settings = _settings(es_url, alias, bulk_chunk_size=2, bulk_max_in_flight=most)
    ensure_index(es, settings)
    slow_write = bulk._write
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def delayed(*args: object, **kwargs: object) -> bulk.BulkResult:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.4)
            return slow_write(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(bulk, "_write", delayed)
    first = _article(1)
    changed = _article(1, body="Ein ganz anderer Text. " * 20)
    chunks = [first, _article(2), _article(3), _article(4), changed, _article(5), *map(_article, range(6, 10))]
    result = index_articles(es, chunks, settings)
    assert (result.created, result.updated, result.unchanged, result.failed) == (9, 1, 0, 0)
    assert 1 <= peak[0] <= most
    if most > 1:
        assert peak[0] >= 2  # the overlap really happened
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 9
    [hit] = es.search(index=alias, query={"ids": {"values": [changed.doc_id]}})["hits"]["hits"]
    assert hit["_source"]["body"] == changed.body and hit["_source"]["previous_hash"] == first.content_hash


def test_a_failing_source_leaves_the_chunks_read_before_it_written(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=2)
    ensure_index(es, settings)

    def articles() -> Iterator[Article]:
        for i in range(6):
            if i == 5:
                raise RuntimeError("the source broke")
            yield _article(i)

    with pytest.raises(RuntimeError, match="the source broke"):
        index_articles(es, articles(), settings)
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 4  # chunks [0, 1] and [2, 3]; [4] was never complete


def test_counts_and_documents_match_over_many_chunks_and_months(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=7)
    ensure_index(es, settings)
    articles = [_article(i, month=1 + i % 6) for i in range(100)]
    assert index_articles(es, articles, settings).created == 100
    again = index_articles(es, articles, settings)
    assert (again.created, again.unchanged, again.updated) == (0, 100, 0)
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 100
    per_month = es.search(index=alias, size=0, aggs={"m": {"terms": {"field": "published_at", "size": 20}}})
    assert len(per_month["aggregations"]["m"]["buckets"]) == 6


def test_client_serialises_like_the_standard_library_and_holds_only_the_bytes() -> None:
    """orjson (the client's serializer) must give the same JSON as ``json`` for our documents, and
    a chunk's worth of serialised documents must not hold orjson's working buffers."""
    import json
    import tracemalloc
    from datetime import UTC, datetime

    from pipeline.index.client import CompactOrjsonSerializer

    serializer = CompactOrjsonSerializer()
    docs = [
        {**bulk.to_source(_article(i, body="Größere Proteste in Almaty – „Tokajew“. " * 400)),
         "fetched_at": datetime(2026, 11, 23, tzinfo=UTC)}
        for i in range(50)
    ]
    serializer.dumps(docs[0])  # first-use allocations are not per document
    tracemalloc.start()
    try:
        out = [serializer.dumps(doc) for doc in docs]
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    size = sum(len(b) for b in out)
    assert size > 50 * 16_000
    assert held < 2 * size, (held, size)  # 1.5x measured; orjson's own results hold 6.6x their size
    for doc, data in zip(docs, out, strict=True):
        assert json.loads(data) == json.loads(json.dumps({**doc, "fetched_at": "2026-11-23T00:00:00+00:00"}))
