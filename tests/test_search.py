"""``python -m pipeline search`` against the five real sample articles on the real local node
(issue 17): all words required, phrases, entity words and aliases, dates in two forms and a bad
one refused, filters, what the count line counts, JSON lines for scripts, shard failures
reported, and the sites facet naming publishers while the host stays its own field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.index.client import es_client
from pipeline.index.names import article_index
from pipeline.index.template import TEMPLATE_VERSION, ensure_index, template_body, template_name
from pipeline.run.ingest import ingest_feed
from pipeline.search import SearchError, SearchFilters, parse_day, search_articles, summary
from tests.conftest import sample_feeds, write_config


@pytest.fixture(scope="module")
def indexed(es, es_url, sample_site, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """The sample site's RSS and Atom feeds ingested once for the module: (config dir, alias)."""
    alias = f"test-search-{uuid.uuid4().hex[:8]}"
    config = write_config(tmp_path_factory.mktemp("search") / "config", es_url=es_url, alias=alias,
                          feeds=sample_feeds(sample_site, "rss", "atom"))
    settings = load_settings(config, env={})
    client = es_client(settings.elasticsearch)
    ensure_index(client, settings.elasticsearch)
    for feed in settings.feeds:
        ingest_feed(feed, settings, es=client)
    client.indices.refresh(index=alias)
    yield config, alias
    es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
    for template in es.options(ignore_status=404).indices.get_index_template(name=f"{alias}-v*").get(
            "index_templates", []):
        es.indices.delete_index_template(name=template["name"])


@pytest.fixture
def search(indexed, capsys, monkeypatch):
    """Run the search command in this process: (exit status, stdout, stderr)."""
    for name in ("NEWS_ES_URL", "NEWS_ES_LOCAL_PORT", "NEWS_ES_INDEX_ALIAS", "NEWS_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    config, _alias = indexed

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["--config", str(config), "search", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def _records(search, *args: str) -> list[dict]:
    status, out, err = search(*args, "--json", "--size", "50")
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]  # every line is one JSON document


def _titles(search, *args: str) -> set[str]:
    return {r["title"] for r in _records(search, *args)}


def test_all_words_are_required_and_quotes_make_a_phrase(search) -> None:
    putin, schoigu = _titles(search, "Putin"), _titles(search, "Schoigu")
    assert len(putin) == 4 and 0 < len(schoigu) < len(putin)
    assert _titles(search, "Schoigu Putin") == schoigu & putin  # AND, not OR
    assert _titles(search, "Schoigu | Putin") == schoigu | putin
    assert _titles(search, "Putin -Schoigu") == putin - schoigu
    # a German stop word in the query does not drop articles ("und" is not required in the title)
    assert _titles(search, "Putin und Tokajew") == _titles(search, "Putin Tokajew")
    words, phrase = _titles(search, "Putin sagte"), _titles(search, '"sagte Putin"')
    assert phrase and phrase < words  # the phrase needs the words adjacent and in this order
    assert _titles(search, '"Revolutionen zulassen"') == set() and _titles(search, "Revolutionen zulassen")


def test_entity_matches_a_word_of_its_name_an_alias_or_its_id_but_no_prefix(search) -> None:
    by_word = _records(search, "", "--entity", "Putin")
    assert len(by_word) == 4 and all("Wladimir Putin" in r["entities"] for r in by_word)
    assert _titles(search, "", "--entity", "Wladimir Putin") == {r["title"] for r in by_word}
    assert _titles(search, "", "--entity", "putin") == {r["title"] for r in by_word}
    assert _titles(search, "", "--entity", "Q7747") == {r["title"] for r in by_word}
    assert _records(search, "", "--entity", "Put") == []
    assert len(_records(search, "", "--entity", "Tokayev")) == 5  # an alias in the gazetteer, another spelling
    # issue 18: a name in another language finds the entity through its id (Q232)
    assert _titles(search, "", "--entity", "Kazakhstan") == _titles(search, "", "--entity", "Kasachstan")
    assert len(_records(search, "", "--entity", "Kazakhstan")) == 5
    assert _titles(search, "", "--entity", "Q232") == _titles(search, "", "--entity", "Kazakhstan")


def test_dates_in_both_forms_and_a_bad_date_refused_in_one_line(search) -> None:
    iso = _records(search, "", "--from", "2022-01-10", "--to", "2022-01-10")
    german = _records(search, "", "--from", "10.01.2022", "--to", "10.01.2022")
    assert iso == german and len(iso) == 3 and {r["published_day"] for r in iso} == {"2022-01-10"}
    assert {r["published_day"] for r in _records(search, "", "--from", "9.1.2022")} == {"2022-01-10", "2022-01-16"}
    for option, bad in (("--from", "2022-13-01"), ("--to", "31.02.2022"), ("--from", "10/01/2022")):
        status, out, err = search("Putin", option, bad)
        assert status == 2 and out == ""
        [line] = err.splitlines()
        assert option in line and repr(bad) in line and "YYYY-MM-DD or DD.MM.YYYY" in line
    assert parse_day(" 1.2.2022 ") == "2022-02-01"


def test_filters_by_language_and_site_by_publisher_name_or_host(search) -> None:
    assert len(_records(search, "", "--lang", "de")) == 5 and _records(search, "", "--lang", "en") == []
    [newsde] = _records(search, "", "--site", "news.de")
    assert newsde["site"] == "news.de" and newsde["host"] == "127.0.0.1"
    agentur = _records(search, "", "--site", "agentur-nachrichten")  # either case
    assert len(agentur) == 2 and {r["site"] for r in agentur} == {"Agentur-Nachrichten"}
    assert len(_records(search, "", "--site", "127.0.0.1")) == 5


def test_count_line_says_what_is_counted_and_how_much_is_shown(search) -> None:
    status, out, _ = search("Putin", "--size", "2")
    assert status == 0 and out.splitlines()[0] == "showing 2 of 4 articles"
    assert search("Putin", "--size", "10")[1].splitlines()[0] == "4 articles"
    lines = search("", "--stories", "--size", "10")[1].splitlines()
    assert lines[0] == "4 stories (5 articles)", lines[0]  # two syndicated versions are one story
    assert sum("[story of" in line for line in lines) == 4
    assert search("", "--stories", "--size", "3")[1].splitlines()[0] == "showing 3 of 4 stories (5 articles)"
    assert summary({"hits": {"total": {"value": 1}, "hits": [{}]}}) == "1 article"


def test_json_lines_carry_what_a_script_needs_and_the_body_only_when_asked(search) -> None:
    [first, *_] = records = _records(search, "Tokajew")
    assert len(records) == 5
    assert set(first) == {"id", "url", "title", "site", "host", "lang", "published_at", "published_day",
                          "story_id", "entities", "score"}
    assert first["score"] > 0 and "Kassym-Schomart Tokajew" in first["entities"] and "utm_" not in first["url"]
    with_body = _records(search, "Tokajew", "--body")
    assert all("Tokajew" in r["body"] for r in with_body)
    stories = _records(search, "Tokajew", "--stories")
    assert sorted(r["story_articles"] for r in stories) == [1, 1, 1, 2]


def test_sites_facet_names_the_publishers_and_the_host_is_kept(search, es, indexed) -> None:
    facet = next(line for line in search("")[1].splitlines() if line.startswith("sites: "))
    assert "127.0.0.1" not in facet
    for name in ("Agentur-Nachrichten (2)", "Rheinische Tagesrundschau (1)", "news.de (1)",
                 "Deutsche Wirtschafts Nachrichten (1)"):
        assert name in facet
    hosts = es.search(index=indexed[1], size=0, aggs={"h": {"terms": {"field": "host"}}})["aggregations"]["h"]
    assert [(b["key"], b["doc_count"]) for b in hosts["buckets"]] == [("127.0.0.1", 5)]


def test_a_shard_failure_is_reported_not_shown_as_no_hits(es, indexed) -> None:
    """An index in the alias where ``published_day`` is a number: the day range fails on its
    shard while the article shards answer."""
    _config, alias = indexed
    odd = f"{alias}-odd"
    es.indices.create(index=odd, mappings={"properties": {"published_day": {"type": "long"},
                                                          "published_at": {"type": "long"}}},
                      aliases={alias: {}}, settings={"number_of_replicas": 0})
    try:
        es.index(index=odd, document={"published_day": 1, "published_at": 1}, refresh=True)
        with pytest.raises(SearchError, match=r"search failed on 1 of \d+ shard"):
            search_articles(es, alias, "", filters=SearchFilters(date_from="2022-01-10"))
    finally:
        es.indices.delete(index=odd)


def test_an_additive_mapping_change_reaches_existing_indices_without_a_version_bump(es, es_url, alias, tmp_path) -> None:
    """A template of this version stored before ``host`` existed is put again, and the existing
    index of this version gains the new fields in place."""
    settings = load_settings(write_config(tmp_path, es_url=es_url, alias=alias, feeds=[]), env={}).elasticsearch
    old = template_body(settings)
    old["_meta"] = {**old["_meta"], "mappings_digest": "before-issue-17"}
    mappings = old["template"]["mappings"]
    old["template"]["mappings"] = {**mappings, "properties": {
        k: v for k, v in mappings["properties"].items() if k not in ("host", "entities")}}
    es.indices.put_index_template(name=template_name(settings), **old)
    index = article_index(alias, TEMPLATE_VERSION, "2022-01-10")
    es.indices.create(index=index)
    assert "host" not in es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert ensure_index(es, settings) is True
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["host"] == {"type": "keyword"}
    assert props["entities"]["properties"]["name"]["fields"]["words"] == {"type": "text"}
    assert ensure_index(es, settings) is False  # current now: nothing to put
