"""Issue 16 item 1: no article index outside the read alias. The template carries the alias and
refuses auto-creation, ``setup-index`` repairs an index left outside by an older template, and a
single-feed ingest into a fresh alias across a month boundary finds every article through the
alias. Real local Elasticsearch, real fixture site on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import NotFoundError

from pipeline.cli import main as cli_main
from pipeline.config import ElasticsearchSettings, load_settings
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import (
    TEMPLATE_VERSION,
    ensure_article_index,
    ensure_index,
    setup_index,
    template_body,
    template_name,
)
from pipeline.run.ingest import ingest_feed
from pipeline.search import search_articles
from tests.conftest import write_config
from tests.learnsite_helpers import learn_feed


def _settings(es_url: str, alias: str) -> ElasticsearchSettings:
    return replace(ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0))


def _outside_alias(es, alias: str) -> list[str]:
    found = es.indices.get_alias(index=article_pattern(alias), allow_no_indices=True)
    return sorted(name for name, info in found.items() if alias not in info.get("aliases", {}))


def test_a_write_to_a_missing_month_is_refused_not_auto_created(es, es_url, alias) -> None:
    settings = _settings(es_url, alias)
    ensure_index(es, settings)
    [stored] = es.indices.get_index_template(name=template_name(settings))["index_templates"]
    assert stored["index_template"]["allow_auto_create"] is False
    assert alias in stored["index_template"]["template"]["aliases"]
    month = article_index(alias, TEMPLATE_VERSION, "2030-01-15")
    # the stories.py partial update that hid 1,500 articles, and a plain index call: both refused
    with pytest.raises(NotFoundError, match="forbids index auto creation"):
        es.update(index=month, id="x", doc={"story_representative": False})
    with pytest.raises(NotFoundError):
        es.index(index=month, id="x", document={"title": "t"})
    assert not es.indices.exists(index=month)
    # the one function that creates article indices puts them in the alias; a reindex target is
    # created outside it (the template's alias is taken off again)
    assert ensure_article_index(es, settings, month) is True
    target = article_index(alias, TEMPLATE_VERSION, "2030-02-15")
    assert ensure_article_index(es, settings, target, alias=False) is True
    assert _outside_alias(es, alias) == [target]


def test_setup_index_repairs_an_index_outside_the_alias(es, es_url, alias, tmp_path, capsys) -> None:
    """The state a pre-fix deployment is in: the old template (no alias, auto-create allowed), a
    month index auto-created by a partial update, with a document nobody can find."""
    settings = _settings(es_url, alias)
    legacy = template_body(settings)
    legacy.pop("allow_auto_create")
    legacy["template"].pop("aliases")
    es.indices.put_index_template(name=template_name(settings), **legacy)
    hidden = article_index(alias, TEMPLATE_VERSION, "2022-01-10")
    es.update(index=hidden, id="a1", doc={"title": "Proteste in Almaty"}, doc_as_upsert=True, refresh=True)
    # a reindex in progress: the old version serves February, the new one is being filled
    old_feb = f"{alias}-v{TEMPLATE_VERSION - 1}-2022.02"
    es.indices.create(index=old_feb, aliases={alias: {}})
    filling = article_index(alias, TEMPLATE_VERSION, "2022-02-10")
    es.indices.create(index=filling)
    assert _outside_alias(es, alias) == sorted([hidden, filling])

    config = write_config(tmp_path, es_url=es_url, alias=alias, feeds=[])
    assert cli_main(["--config", str(config), "setup-index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "index template and write index: created/updated",
        f"repaired: {hidden} was outside the read alias '{alias}'; added",
        f"left for reindex: {filling} (an older version of its month is still in the alias; run reindex)",
    ]
    assert _outside_alias(es, alias) == [filling]
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 1
    # the template was put again with the alias, so the next month cannot happen again
    [stored] = es.indices.get_index_template(name=template_name(settings))["index_templates"]
    assert stored["index_template"]["allow_auto_create"] is False
    assert setup_index(es, settings).repaired == []


def test_single_feed_ingest_into_a_fresh_alias_across_a_month_boundary_is_all_searchable(
    es, es_url, alias, tmp_path
) -> None:
    """40 versions of one developing story, 31 January 14:00 to 1 February 16:00 (the month of
    publication decides the index), ingested newest first into an alias that does
    not exist yet: the earlier versions take the story's representative flag from later ones
    of the other month (the partial update of the issue), and every article is found through the
    alias, in two month indices, none outside it. A rerun changes nothing."""
    from pipeline.samplesite.storysite import StorySite, developing_story

    start = datetime(2022, 1, 31, 14, 0, tzinfo=UTC)
    pages = [replace(p, published=start + timedelta(minutes=40 * p.n)) for p in developing_story(40)]
    in_january = sum(p.published.month == 1 for p in pages)
    assert 0 < in_january < len(pages)
    with StorySite(pages) as site:
        config = write_config(tmp_path, es_url=es_url, alias=alias,
                              feeds=[learn_feed("kasachstan", site.feed_url, "storyhost")])
        settings = load_settings(config, env={})
        assert not es.indices.exists_alias(name=alias)
        ensure_index(es, settings.elasticsearch)  # as the ingest command and the DAG's setup task
        report = ingest_feed(settings.feeds[0], settings, es=es, run_id="month-1")
        assert report.failures == [] and report.created == len(pages)

        es.indices.refresh(index=alias)
        assert es.count(index=alias)["count"] == len(pages)
        assert search_articles(es, alias, "Flüssiggas", size=100)["hits"]["total"]["value"] == len(pages)
        assert _outside_alias(es, alias) == []
        by_index = {
            b["key"]: b["doc_count"] for b in es.search(
                index=alias, size=0, aggs={"i": {"terms": {"field": "_index"}}})["aggregations"]["i"]["buckets"]
        }
        assert by_index == {
            article_index(alias, TEMPLATE_VERSION, "2022-01-31"): in_january,
            article_index(alias, TEMPLATE_VERSION, "2022-02-01"): len(pages) - in_january,
        }
        # one story, one representative: the flag moved across the month boundary by partial updates
        assert es.count(index=alias, query={"term": {"story_representative": True}})["count"] == 1

        ensure_index(es, settings.elasticsearch)
        again = ingest_feed(settings.feeds[0], settings, es=es, run_id="month-2")
        assert again.created == 0 and again.failures == []
        es.indices.refresh(index=alias)
        assert es.count(index=alias)["count"] == len(pages) and _outside_alias(es, alias) == []
