"""Bulk loads against the real local Elasticsearch: the refresh pause of a load of several chunks
(set while it runs, restored to the configured interval at its end, also when it fails, never for
a single chunk), the overlap of writing one chunk while the next is looked up (a chunk that shares
a document with the one in flight sees that write), and counts that match a sequential load."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.index import bulk
from pipeline.index.bulk import index_articles
from pipeline.index.names import article_index
from pipeline.index.template import TEMPLATE_VERSION, ensure_index


def _article(i: int, *, month: int = 1, body: str | None = None) -> Article:
    url = f"https://news.example/wirtschaft/{i}"
    return Article(
        url=url, canonical_url=url, feed="synthetic", site="news.example", title=f"Artikel {i}",
        body=body or f"Der Haushalt {i} wurde beschlossen. " * 20,
        published_at=f"2023-{month:02d}-15T09:00:00+00:00", lang="de",
    )


def _settings(es_url: str, alias: str, **over: object) -> ElasticsearchSettings:
    return replace(ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0), **over)


def _refresh_interval(es, index: str) -> str | None:
    found = es.indices.get_settings(index=index, name="index.refresh_interval")
    return found[index]["settings"].get("index", {}).get("refresh_interval")


def test_a_load_of_several_chunks_pauses_refresh_and_restores_it(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=3, refresh_interval="7s")
    ensure_index(es, settings)
    january = article_index(alias, TEMPLATE_VERSION, "2023-01-15T09:00:00+00:00")
    seen: list[str | None] = []

    def articles() -> Iterator[Article]:
        for i in range(10):
            if i == 7:  # chunks 1 and 2 planned, chunk 3 being read: the load is under way
                seen.append(_refresh_interval(es, january))
            yield _article(i)

    result = index_articles(es, articles(), settings)
    assert result.created == 10
    assert seen == ["-1"]
    assert _refresh_interval(es, january) == "7s"
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 10


def test_a_single_chunk_never_touches_the_refresh_interval(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=50, refresh_interval="7s")
    ensure_index(es, settings)
    calls: list[object] = []
    original = es.indices.put_settings

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return original(*args, **kwargs)

    es.indices.put_settings = spy  # type: ignore[method-assign]
    try:
        assert index_articles(es, [_article(i) for i in range(5)], settings).created == 5
    finally:
        del es.indices.put_settings
    assert calls == []
    assert _refresh_interval(es, article_index(alias, TEMPLATE_VERSION, "2023-01-15T09:00:00+00:00")) == "7s"


def test_pause_disabled_by_config(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=2, refresh_interval="7s", bulk_load_refresh_interval=None)
    ensure_index(es, settings)
    january = article_index(alias, TEMPLATE_VERSION, "2023-01-15T09:00:00+00:00")
    seen: list[str | None] = []

    def articles() -> Iterator[Article]:
        for i in range(6):
            if i == 5:
                seen.append(_refresh_interval(es, january))
            yield _article(i)

    assert index_articles(es, articles(), settings).created == 6
    assert seen == ["7s"]


def test_refresh_is_restored_when_the_load_fails(es, es_url, alias) -> None:
    settings = _settings(es_url, alias, bulk_chunk_size=2, refresh_interval="7s")
    ensure_index(es, settings)

    def articles() -> Iterator[Article]:
        for i in range(6):
            if i == 5:
                raise RuntimeError("the source broke")
            yield _article(i)

    with pytest.raises(RuntimeError, match="the source broke"):
        index_articles(es, articles(), settings)
    assert _refresh_interval(es, article_index(alias, TEMPLATE_VERSION, "2023-01-15T09:00:00+00:00")) == "7s"
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 4  # the two chunks read before the failure are written


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
