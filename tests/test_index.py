"""Index design and bulk indexing against the real local Elasticsearch: idempotent template,
nothing rewritten on a re-run, changed articles updated, rejected documents dead-lettered, monthly
partitions, reindex with an atomic alias switch, and a node stopped in the middle of a load."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from elasticsearch import BadRequestError

from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.index.bulk import index_articles
from pipeline.index.names import (
    article_index,
    deadletter_index,
    feedstate_index,
    hostslots_index,
    leases_index,
    profiles_index,
    runlog_index,
)
from pipeline.index.reindex import reindex
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index, ensure_index
from pipeline.search import search_articles
from tests.conftest import TEST_ES_PORT

WORDS = [
    "Regierung",
    "Proteste",
    "Kasachstan",
    "Präsident",
    "Truppen",
    "Bündnis",
    "Demonstranten",
    "Hauptstadt",
    "Gaspreise",
]


def _article(i: int, *, month: int = 1, body: str | None = None) -> Article:
    url = f"https://news.example/politik/{i}"
    return Article(
        url=url,
        canonical_url=url,
        feed="synthetic",
        site="news.example",
        title=f"Artikel {i}",
        body=body or " ".join(WORDS[(i + k) % len(WORDS)] for k in range(300)),
        published_at=f"2022-{month:02d}-10T09:00:00+00:00",
        lang="de",
    )


def _settings(es_url: str, alias: str, **over: object) -> ElasticsearchSettings:
    return replace(ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0), **over)


def test_template_applied_twice_is_a_no_op(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    assert ensure_index(es, settings) is True
    assert ensure_index(es, settings) is False
    [template] = es.indices.get_index_template(name=f"{alias}-v{TEMPLATE_VERSION}")["index_templates"]
    assert template["index_template"]["version"] == TEMPLATE_VERSION


def test_a_superseded_template_is_replaced_not_collided_with(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    es.indices.put_index_template(  # what an early version left behind: a catch-all pattern
        name=alias, index_patterns=[f"{alias}-*"], priority=200, version=1, _meta={"managed_by": "news-pipeline"}
    )
    assert ensure_index(es, settings) is True
    names = [t["name"] for t in es.indices.get_index_template(name=f"{alias}*")["index_templates"]]
    assert names == [f"{alias}-v{TEMPLATE_VERSION}"]


def test_rerun_rewrites_nothing_and_a_changed_article_is_updated(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    first = index_articles(es, (_article(i) for i in range(50)), settings)
    assert (first.created, first.updated, first.unchanged) == (50, 0, 0)
    index = article_index(alias, TEMPLATE_VERSION, "2022-01-10")
    before = es.get(index=index, id=_article(7).doc_id)

    again = index_articles(es, (_article(i) for i in range(50)), settings)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)
    assert es.get(index=index, id=_article(7).doc_id)["_seq_no"] == before["_seq_no"]  # not rewritten

    changed = _article(7, body="Neuer Text: die Proteste gehen weiter. " * 20)
    result = index_articles(es, [changed], settings)
    assert (result.created, result.updated) == (0, 1)
    doc = es.get(index=index, id=changed.doc_id)["_source"]
    assert doc["previous_hash"] == before["_source"]["content_hash"] != doc["content_hash"]
    assert doc["first_seen_at"] == before["_source"]["first_seen_at"] and doc["content_changed_at"]
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 50


def test_monthly_partitions_and_a_date_change_moves_the_document(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    index_articles(
        es, [_article(1, month=1), _article(2, month=3), replace(_article(3), published_at=None)], settings
    )
    es.indices.refresh(index=alias)
    names = set(es.indices.get_alias(name=alias))
    assert {
        f"{alias}-v{TEMPLATE_VERSION}-2022.01",
        f"{alias}-v{TEMPLATE_VERSION}-2022.03",
        f"{alias}-v{TEMPLATE_VERSION}-undated",
    } <= names
    moved = index_articles(es, [_article(1, month=2)], settings)
    es.indices.refresh(index=alias)
    assert moved.updated == 1 and es.count(index=alias)["count"] == 3
    hits = es.search(index=alias, query={"ids": {"values": [_article(1).doc_id]}})["hits"]["hits"]
    assert [h["_index"] for h in hits] == [f"{alias}-v{TEMPLATE_VERSION}-2022.02"]


def test_rejected_document_goes_to_dead_letter_and_the_rest_is_indexed(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    bad = replace(_article(3), modified_at="gestern gegen Mittag")  # not a date: mapping conflict
    result = index_articles(es, [_article(1), _article(2), bad, _article(4)], settings, run_id="r1", feed="f")
    assert (result.created, result.failed) == (3, 1)
    es.indices.refresh(index=f"{alias}*")
    assert es.count(index=alias)["count"] == 3
    [dead] = es.search(index=deadletter_index(alias))["hits"]["hits"]
    src = dead["_source"]
    assert src["doc_id"] == bad.doc_id and src["url"] == bad.url and src["run_id"] == "r1"
    assert "modified_at" in src["reason"] and src["document"]["body"] == bad.body


def test_each_body_is_indexed_once_in_its_language_field(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    bodies = {
        "de": "Die Proteste in Almaty gehen weiter, sagte die Regierung.",
        "en": "The protests in Almaty continued, the government said.",
        "pl": "Protesty w Ałmaty trwają, poinformował rząd.",
    }
    articles = [replace(_article(i, body=body), lang=lang) for i, (lang, body) in enumerate(bodies.items())]
    assert index_articles(es, articles, settings).created == 3
    es.indices.refresh(index=alias)
    for article in articles:
        src = es.get(index=article_index(alias, TEMPLATE_VERSION, article.published_at), id=article.doc_id)["_source"]
        copies = {k for k in src if k.startswith("body_")}
        assert copies == {"body_de" if article.lang == "de" else "body_en" if article.lang == "en" else "body_std"}
        assert src[copies.pop()] == src["body"] == article.body
    # German and English stemming, the standard analyzer for Polish; highlights from the copies
    hits = search_articles(es, alias, "Protest")["hits"]["hits"]
    assert sorted(h["_source"]["lang"] for h in hits) == ["de", "en"]
    [polish] = search_articles(es, alias, "Protesty")["hits"]["hits"]
    assert polish["_source"]["lang"] == "pl" and polish["highlight"]["body_std"] == [
        "<em>Protesty</em> w Ałmaty trwają, poinformował rząd."]
    # body itself is stored, not indexed: a query on it is refused, not silently empty
    with pytest.raises(BadRequestError, match="not indexed"):
        es.search(index=alias, query={"match": {"body": "Proteste"}})


def test_reindex_migrates_old_versions_with_an_atomic_alias_switch(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    old = f"{alias}-v{TEMPLATE_VERSION - 1}-2022.01"  # an index of the previous template version
    ensure_article_index(es, settings, old)
    for i in range(3):
        es.index(index=old, id=_article(i).doc_id, document={"title": f"alt {i}", "template_version": 2})
    polish = {"title": "Stary", "body": "Protesty w Ałmaty trwają.", "lang": "pl", "template_version": 6}
    es.index(index=old, id=_article(3).doc_id, document=polish)  # v6 indexed body, had no body_std
    es.indices.refresh(index=old)
    result = reindex(es, settings, delete_old=True, progress=lambda _: None)
    assert result.migrated == {old: f"{alias}-v{TEMPLATE_VERSION}-2022.01"} and result.copied == 4
    assert not es.indices.exists(index=old)
    assert set(es.indices.get_alias(name=alias)) >= {f"{alias}-v{TEMPLATE_VERSION}-2022.01"}
    assert es.count(index=alias)["count"] == 4
    assert [h["_id"] for h in search_articles(es, alias, "Protesty")["hits"]["hits"]] == [_article(3).doc_id]
    assert reindex(es, settings, progress=lambda _: None).migrated == {}


def test_node_stopped_mid_load_loses_and_duplicates_nothing_after_retry(alias) -> None:
    from elasticsearch import Elasticsearch
    from elasticsearch.exceptions import ConnectionError as ESConnectionError

    from pipeline.localnode import LocalNode, NodeSettings

    port = TEST_ES_PORT + 25
    node = LocalNode(NodeSettings(http_port=port, cluster_name="news-pipeline-crash-test"))
    node.start()
    es = Elasticsearch(node.url, request_timeout=30, max_retries=2, retry_on_timeout=True)
    settings = _settings(node.url, alias, bulk_chunk_size=500)
    total, stop_at = 6000, 2500
    try:
        ensure_index(es, settings)

        def stopping() -> Iterator[Article]:
            for i in range(total):
                if i == stop_at:
                    node.stop()  # the cluster goes away in the middle of the load
                yield _article(i, month=1 + i % 12)

        with pytest.raises(ESConnectionError):
            index_articles(es, stopping(), settings)
        node.start()
        es.indices.refresh(index=alias)
        survived = es.count(index=alias)["count"]
        assert 0 < survived <= stop_at  # what was acknowledged before the stop is still there
        retry = index_articles(es, (_article(i, month=1 + i % 12) for i in range(total)), settings)
        assert (retry.unchanged, retry.created, retry.failed) == (survived, total - survived, 0)
        es.indices.refresh(index=alias)
        assert es.count(index=alias)["count"] == total, es.cat.indices(index=f"{alias}*", h="index,docs.count")
        dupes = es.search(
            index=alias, size=0, aggs={"d": {"terms": {"field": "canonical_url", "min_doc_count": 2, "size": 10}}}
        )
        assert dupes["aggregations"]["d"]["buckets"] == []  # exact: no URL in two documents
    finally:
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
        es.close()
        node.stop()


def test_entity_ids_and_linked_reach_an_index_made_before_them_and_facet_across_languages(es, es_url, alias) -> None:
    """Issue 18: ``entities.linked`` is an additive field (the template's digest changes, the
    version does not); one entity in two languages is one bucket of an ``entities.id`` facet."""
    from pipeline.index.mappings import ARTICLE_MAPPINGS
    from pipeline.index.template import template_body, template_name

    settings = _settings(es_url, alias)
    old = template_body(settings)
    old["_meta"] = {**old["_meta"], "mappings_digest": "before-issue-18"}
    entities = ARTICLE_MAPPINGS["properties"]["entities"]["properties"]
    old["template"]["mappings"] = {**old["template"]["mappings"], "properties": {
        **ARTICLE_MAPPINGS["properties"],
        "entities": {"properties": {k: v for k, v in entities.items() if k != "linked"}}}}
    es.indices.put_index_template(name=template_name(settings), **old)
    index = article_index(alias, TEMPLATE_VERSION, "2022-01-10")
    es.indices.create(index=index)
    assert "linked" not in es.indices.get_mapping(index=index)[index]["mappings"]["properties"]["entities"]["properties"]
    assert ensure_index(es, settings) is True
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]["entities"]["properties"]
    assert props["linked"] == {"type": "boolean"} and props["id"] == {"type": "keyword"}
    kz = {"type": "LOC", "id": "Q232", "linked": True, "mentions": 2, "first_offset": 0}
    nilsson = {"name": "Rasmus Nilsson", "type": "PER", "id": "news:rasmus-nilsson", "linked": False,
               "mentions": 1, "first_offset": 30}
    articles = [
        replace(_article(1, body="Kasachstan ..."), lang="de", entities=[{**kz, "name": "Kasachstan"}, nilsson]),
        replace(_article(2, body="Kazakhstan ..."), lang="en", entities=[{**kz, "name": "Kazakhstan"}]),
    ]
    assert index_articles(es, articles, settings).created == 2
    es.indices.refresh(index=alias)
    resp = es.search(index=alias, size=0, aggs={"ids": {"terms": {"field": "entities.id"}}})
    assert {b["key"]: b["doc_count"] for b in resp["aggregations"]["ids"]["buckets"]} == {
        "Q232": 2, "news:rasmus-nilsson": 1}
    unlinked = es.search(index=alias, query={"term": {"entities.linked": False}})["hits"]["hits"]
    assert [h["_source"]["lang"] for h in unlinked] == ["de"]
    facet = search_articles(es, alias, "")["aggregations"]["entities"]["buckets"]
    assert facet[0]["key"] == "Q232" and facet[0]["doc_count"] == 2


def test_indices_read_by_id_refresh_every_30_s_and_older_ones_are_brought_to_it(es, es_url, alias) -> None:
    """Feed state, profiles, host slots and leases are only read by id (realtime), so they are not
    refreshed every second; the run log is searched by the pipeline and keeps the default. An
    index created before the setting existed gets it from the next setup, once."""
    settings = _settings(es_url, alias)
    by_id = [feedstate_index(alias), profiles_index(alias), hostslots_index(alias), leases_index(alias)]
    es.indices.create(index=leases_index(alias))  # as an earlier version created it: no interval set
    assert ensure_index(es, settings) is True

    def interval(index: str) -> str | None:
        flat = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
        return flat.get("index.refresh_interval")

    assert [interval(i) for i in by_id] == ["30s"] * 4
    assert interval(runlog_index(alias)) is None
    assert ensure_index(es, settings) is False  # nothing left to change
    # and still realtime by id: a document written is read back at once, without a refresh
    es.index(index=feedstate_index(alias), id="f1", document={"feed": "f1"})
    assert es.get(index=feedstate_index(alias), id="f1")["_source"] == {"feed": "f1"}
    assert es.count(index=feedstate_index(alias))["count"] == 0  # not searchable before a refresh
    es.indices.refresh(index=feedstate_index(alias))
    assert es.count(index=feedstate_index(alias))["count"] == 1
