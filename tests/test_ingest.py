"""ingest_feed against the real sample site and the real local Elasticsearch: bad input becomes
a reported failure, the good articles are indexed, and blocked addresses are never fetched."""

from __future__ import annotations

import re

from pipeline.config import FeedConfig, load_settings
from pipeline.index.client import es_client
from pipeline.index.template import ensure_index
from pipeline.run.ingest import ingest_feed
from pipeline.search import format_hits, search_articles
from tests.conftest import sample_feeds, write_config


def _setup(tmp_path, es_url, alias, feeds, **http):
    settings = load_settings(write_config(tmp_path, es_url=es_url, alias=alias, feeds=feeds, **http), env={})
    es = es_client(settings.elasticsearch)
    ensure_index(es, settings.elasticsearch)
    return settings, es


def test_rss_and_atom_feeds_index_all_five_articles_once(es_url, sample_site, alias, tmp_path) -> None:
    settings, es = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "rss", "atom"))
    reports = [ingest_feed(feed, settings, es=es, run_id="t1") for feed in settings.feeds]
    assert all(r.failures == [] for r in reports)
    assert es.count(index=alias)["count"] == 5
    # the overlap between the feeds (one link with a tracking parameter) is one document
    assert sum(r.created for r in reports) == 5
    assert sum(r.unchanged for r in reports) == sum(r.extracted for r in reports) - 5
    assert sum(r.updated for r in reports) == 0
    doc = es.search(index=alias, query={"match_all": {}}, size=1)["hits"]["hits"][0]["_source"]
    # a sample body is long enough for py3langid to answer first (pipeline/clean/language.py)
    assert doc["lang"] == "de" and doc["lang_source"] == "py3langid" and doc["lang_prob"] > 0.9
    assert "utm_" not in doc["canonical_url"]


def test_articles_stored_unchanged_are_not_enriched_again(es, es_url, sample_site, alias, tmp_path, monkeypatch) -> None:
    """Feed entries updated after their articles were fetched are fetched again; pages that come
    back as they are stored are found before enrichment, so neither NER nor the story lookup sees
    them, and their stored documents are not rewritten."""
    from pipeline import enrich
    from pipeline.enrich.entities.extractor import EntityExtractor
    from pipeline.index.names import feedstate_index

    settings, client = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "atom"))
    ner_texts: list[str] = []
    story_ids: list[str] = []
    real_extract, real_assign = EntityExtractor.extract_batch, enrich.assign_stories

    def extract_batch(self, items):
        ner_texts.extend(text for text, _lang in items)
        return real_extract(self, items)

    def assign_stories(es_, alias_, articles, **kwargs):
        story_ids.extend(a.doc_id for a in articles)
        return real_assign(es_, alias_, articles, **kwargs)

    monkeypatch.setattr(EntityExtractor, "extract_batch", extract_batch)
    monkeypatch.setattr(enrich, "assign_stories", assign_stories)
    feed = settings.feeds[0]
    first = ingest_feed(feed, settings, es=client)
    assert first.created == first.extracted == len(ner_texts) == len(story_ids) == 3
    # as if every entry had been updated since: fetched long ago, and no validators for the feed
    es.indices.refresh(index=[alias, feedstate_index(alias)])
    for hit in es.search(index=alias, size=10)["hits"]["hits"]:
        es.update(index=hit["_index"], id=hit["_id"], doc={"fetched_at": "2001-01-01T00:00:00+00:00"})
    for hit in es.search(index=feedstate_index(alias), size=10)["hits"]["hits"]:
        es.delete(index=hit["_index"], id=hit["_id"])
    es.indices.refresh(index=alias)
    before = {h["_id"]: h["_source"] for h in es.search(index=alias, size=10)["hits"]["hits"]}
    ner_texts.clear()
    story_ids.clear()
    again = ingest_feed(feed, settings, es=client)
    assert (again.fetched, again.unchanged, again.created, again.updated, again.failures) == (3, 3, 0, 0, [])
    assert ner_texts == [] and story_ids == []
    es.indices.refresh(index=alias)
    after = {h["_id"]: h["_source"] for h in es.search(index=alias, size=10)["hits"]["hits"]}
    assert after == before and all(doc["entities"] for doc in after.values())


def test_german_stemming_on_the_local_node(es_url, sample_site, alias, tmp_path) -> None:
    settings, es = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "rss", "atom"))
    for feed in settings.feeds:
        ingest_feed(feed, settings, es=es)
    # no sample article contains the exact word "Protest"; the german analyzer finds "Proteste(n)"
    bodies = [h["_source"]["body"] for h in es.search(index=alias, size=100)["hits"]["hits"]]
    exact = [b for b in bodies if re.search(r"\bProtest\b", b)]
    stemmed = search_articles(es, alias, "Protest")["hits"]["total"]["value"]
    assert len(bodies) == 5 and exact == [] and stemmed >= 4


def test_server_error_timeout_and_non_xml_feeds_are_reported(es_url, sample_site, alias, tmp_path) -> None:
    settings, es = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "http-500", "slow", "not-xml"))
    reports = {f.name: ingest_feed(f, settings, es=es) for f in settings.feeds}
    assert [(x.stage, x.reason) for x in reports["http-500"].failures] == [("feed", "HTTP 500")]
    assert "timed out" in reports["slow"].failures[0].reason
    assert "not a valid feed" in reports["not-xml"].failures[0].reason
    assert es.count(index=alias)["count"] == 0


def test_article_404_is_reported_and_the_good_entry_indexed(es_url, sample_site, alias, tmp_path) -> None:
    settings, es = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "broken-links"))
    report = ingest_feed(settings.feeds[0], settings, es=es)
    assert report.entries == 2 and report.created == 1
    [failure] = report.failures
    assert failure.stage == "fetch" and failure.reason == "HTTP 404"
    assert failure.url.endswith("/articles/does-not-exist.html")


def test_loopback_is_blocked_unless_the_config_allows_it(es_url, sample_site, alias, tmp_path) -> None:
    settings, es = _setup(tmp_path, es_url, alias, [{"name": "rss", "url": sample_site + "/feeds/rss.xml"}])
    report = ingest_feed(settings.feeds[0], settings, es=es)
    [failure] = report.failures
    assert failure.stage == "feed" and "SSRF" in failure.reason and "127.0.0.1" in failure.reason
    metadata = FeedConfig(name="metadata", url="http://169.254.169.254/latest/meta-data/")
    report = ingest_feed(metadata, settings, es=es)
    assert "SSRF" in report.failures[0].reason
    assert es.count(index=alias)["count"] == 0


def test_indexed_articles_match_the_sample_truth(es_url, sample_site, alias, tmp_path) -> None:
    """End to end through ingest: every indexed body keeps every article paragraph and no
    boilerplate line, is German, and carries the article's own publication date (the DWN page
    carries 2025 teaser dates, the news.de page only a feed date)."""
    from datetime import UTC, datetime

    from pipeline.fetch.urls import canonicalize
    from pipeline.samplesite import load_articles

    settings, es = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "rss", "atom"))
    for feed in settings.feeds:
        ingest_feed(feed, settings, es=es)
    docs = {h["_source"]["canonical_url"]: h["_source"] for h in es.search(index=alias, size=10)["hits"]["hits"]}
    for article in load_articles():
        doc = docs[canonicalize(sample_site + article.path)]
        truth = datetime.fromisoformat(article.published).astimezone(UTC).isoformat()
        assert (doc["published_at"], doc["published_precision"]) == (truth, article.published_precision)
        assert not doc["published_at"].startswith("2025")
        assert doc["lang"] == "de"
        body_lines = {" ".join(line.split()) for line in doc["body"].split("\n")}
        for paragraph in article.paragraphs:
            assert " ".join(paragraph.split()) in body_lines
        assert not body_lines & {" ".join(b.split()) for b in article.boilerplate}
        assert doc["removed_chars"] > 0 and doc["removals"]
        names = {e["name"] for e in doc["entities"]}
        if "Putin" in doc["body"]:
            assert "Wladimir Putin" in names  # canonical, whatever the inflection
        if "Kasachstan" in doc["body"]:
            assert "Kasachstan" in names
        assert not names & {"Kasachstans", "Putins", "Tokajews", "OVKS", "CSTO"}
    facet = es.search(index=alias, size=0, aggs={"e": {"terms": {"field": "entities.id", "size": 50}}})
    counts = {b["key"]: b["doc_count"] for b in facet["aggregations"]["e"]["buckets"]}
    assert counts["news:kassym-jomart-tokayev"] == 5 and counts["Q7747"] >= 4  # Kibana facets on the id
    assert counts["Q232"] == 5 and counts["iso3166:KZ-75"] == 4  # Kasachstan, Almaty
    # the syndicated versions of the same AFP report (seeds 000 and 001) are one story
    by_slug = {a.slug: docs[canonicalize(sample_site + a.path)] for a in load_articles()}
    first, second = by_slug["putin-keine-revolutionen"], by_slug["tokajew-versuchter-staatsstreich"]
    assert first["story_id"] == second["story_id"] and first["lsh_bands"]
    assert [first["story_representative"], second["story_representative"]].count(True) == 1
    collapsed = search_articles(es, alias, "Tokajew", stories=True)
    story_hit = next(h for h in collapsed["hits"]["hits"] if h["_source"]["story_id"] == first["story_id"])
    assert story_hit["inner_hits"]["outlets"]["hits"]["total"]["value"] >= 2
    assert len(collapsed["hits"]["hits"]) < 5
    # the printed hits show canonical URLs: the DWN feed links carry utm_* parameters
    printed = format_hits(search_articles(es, alias, "Tokajew"))
    assert "/dwn/516842/" in printed and "utm_" not in printed
    dwn = next(d for u, d in docs.items() if "/dwn/" in u)
    assert dwn["published_source"] == "visible-text" and dwn["modified_at"] == "2022-01-10T09:19:00+00:00"


def test_conditional_get_and_seen_entries_state_lives_in_elasticsearch(es, es_url, sample_site, alias, tmp_path) -> None:
    from pipeline.index.names import feedstate_index

    settings, client = _setup(tmp_path, es_url, alias, sample_feeds(sample_site, "rss"))
    feed = settings.feeds[0]
    first = ingest_feed(feed, settings, es=client)
    assert (first.not_modified, first.entries, first.fetched, first.created) == (False, 4, 4, 4)
    es.indices.refresh(index=feedstate_index(alias))
    state = es.search(index=feedstate_index(alias))["hits"]["hits"][0]["_source"]
    assert state["etag"] and state["url"] == feed.url

    second = ingest_feed(feed, settings, es=client)  # any worker: the state is in Elasticsearch
    assert (second.not_modified, second.entries, second.fetched) == (True, 0, 0)

    es.delete(index=feedstate_index(alias), id=es.search(index=feedstate_index(alias))["hits"]["hits"][0]["_id"])
    third = ingest_feed(feed, settings, es=client)  # no validators: full feed, but no page refetched
    assert (third.not_modified, third.entries, third.skipped_seen, third.fetched) == (False, 4, 4, 0)
    assert es.count(index=alias)["count"] == 4
