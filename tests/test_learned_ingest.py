"""Learned boilerplate end to end: the Kreisbote fixture site (40 articles sharing a promo line
and an "Aus unserem Archiv" block no shipped rule covers) served on 127.0.0.1, ingested into the
real local Elasticsearch with the raw archive on, then reprocessed from the archive."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from pipeline.article import doc_id_for
from pipeline.clean.rules import clean_article
from pipeline.cli import main as cli_main
from pipeline.fetch.urls import canonicalize
from pipeline.index.names import feedstate_index
from pipeline.profiles import load_profile
from pipeline.profiles.blocks import key_of, normalize_line
from pipeline.run.ingest import ingest_feed
from pipeline.run.rawarchive import archive_files, iter_pages
from pipeline.run.reprocess import reprocess
from pipeline.samplesite.learnsite import PROMO_LINE, SECTION_PATH, TAG_PATH, LearnSite
from tests.learnsite_helpers import body_lines, learn_feed, setup_config

SITE = "kreisbote"


@pytest.fixture(scope="module")
def learn_site() -> Iterator[LearnSite]:
    with LearnSite() as site:
        yield site


def _docs(es, alias: str) -> dict[str, dict]:
    hits = es.search(index=alias, size=100, query={"match_all": {}})["hits"]["hits"]
    return {h["_source"]["canonical_url"]: h["_source"] for h in hits}


def test_learned_profile_removes_promo_and_related_block_from_every_page(
    es, es_url, alias, tmp_path, learn_site, capsys
) -> None:
    archive = tmp_path / "raw"
    settings, client = setup_config(
        tmp_path, es_url, alias, [learn_feed("kreisbote", learn_site.feed_url(0, 30, lists=True), SITE)],
        archive={"enabled": True, "url": str(archive)},
    )
    report = ingest_feed(settings.feeds[0], settings, es=client, run_id="learn-1")
    assert report.failures == []
    assert (report.entries, report.fetched, report.extracted, report.created) == (32, 32, 30, 30)

    # the section front and the tag page are skipped with a reason, not failed, and the feed's
    # validators are stored (a failure would keep them back, so the pages would be retried forever)
    assert report.skipped_not_article == 2
    assert {canonicalize(s["url"]) for s in report.skips} == {
        canonicalize(learn_site.base_url + SECTION_PATH), canonicalize(learn_site.base_url + TAG_PATH)}
    assert all(s["reason"].startswith("not an article") for s in report.skips)
    es.indices.refresh(index=feedstate_index(alias))
    assert es.count(index=feedstate_index(alias))["count"] == 1
    assert es.count(index=alias)["count"] == 30

    profile = load_profile(es, alias, SITE)
    assert profile.articles == 30
    promo_key = key_of("line", normalize_line(PROMO_LINE))
    assert promo_key in profile.learned(settings.profiles)

    # pages after the 10th (min_articles) were cleaned with the learned rules during the run;
    # the first ten were not: the profile did not exist yet
    docs = _docs(es, alias)
    articles = learn_site.articles
    by_n = {a.n: docs[canonicalize(learn_site.base_url + a.path)] for a in articles[:30]}
    promo_in = [n for n, d in by_n.items() if PROMO_LINE in body_lines(d["body"])]
    assert promo_in == list(range(10))

    # every fetched page was archived (articles and the two list pages)
    assert len(archive_files(str(archive))) == 1
    assert sum(1 for _ in iter_pages(str(archive))) == 32

    result = reprocess(client, settings)
    assert (result.documents, result.changed, result.unchanged, result.not_article, result.failed) == (32, 10, 20, 2, 0)
    assert result.not_indexed == 0

    # now every page: all article lines kept, both boilerplate blocks gone, and the removals audit
    # names the learned rules; precision and recall of the removed lines against the truth
    docs = _docs(es, alias)
    removed_total = removed_boiler = boiler_present = 0
    for article in articles[:30]:
        url = learn_site.base_url + article.path
        doc = docs[canonicalize(url)]
        lines = body_lines(doc["body"])
        for line in article.article_lines():
            assert line in lines, (article.n, line)
        truth = set(article.boilerplate_lines(articles))
        assert not lines & truth, (article.n, lines & truth)
        rules = {r["rule"] for r in doc["removals"]}
        assert f"learned:{promo_key}" in rules
        assert any(r.startswith("learned:block:") for r in rules)
        baseline = body_lines(clean_article(httpx.get(url).text, url).body)  # shipped rules only
        removed = baseline - lines
        removed_total += len(removed)
        removed_boiler += len(removed & truth)
        boiler_present += len(baseline & truth)
    precision, recall = removed_boiler / removed_total, removed_boiler / boiler_present
    with capsys.disabled():
        print(f"\nlearned boilerplate on 30 pages: {removed_total} body lines removed, {removed_boiler} of them "
              f"boilerplate; {boiler_present} boilerplate lines in the shipped-rules body; "
              f"precision {precision:.3f}, recall {recall:.3f}")
    assert precision == 1.0 and recall == 1.0
    assert boiler_present == 30 * 5  # the promo line and four related-article lines per page

    # a second reprocess finds nothing to change; the CLI reports the same counts as JSON
    capsys.readouterr()
    assert cli_main(["--config", settings.config_dir, "reprocess"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["changed"], out["unchanged"], out["not_article"]) == (0, 30, 2)


def test_profiles_show_lists_learned_rules(es, es_url, alias, tmp_path, learn_site, capsys) -> None:
    settings, client = setup_config(
        tmp_path, es_url, alias, [learn_feed("kreisbote", learn_site.feed_url(0, 12), SITE)],
    )
    ingest_feed(settings.feeds[0], settings, es=client, run_id="learn-show")
    capsys.readouterr()
    assert cli_main(["--config", settings.config_dir, "profiles", "show", "--site", SITE]) == 0
    out = capsys.readouterr().out
    assert "12 articles" in out
    assert f"learned:{key_of('line', normalize_line(PROMO_LINE))}" in out
    assert "unterstützen sie unabhängigen lokaljournalismus" in out


def test_backfill_applies_and_feeds_the_learned_profile_and_skips_list_pages(
    es, es_url, alias, tmp_path, learn_site
) -> None:
    """A backfill from a WARC of the same site: pages cleaned with the profile the nightly feed
    learned (promo line and related block gone), the section front and tag page skipped as not
    articles, and the backfilled pages counted into the profile."""
    from datetime import date, datetime

    import yaml

    from pipeline.backfill.jobs import plan, prepare, run_partitions
    from pipeline.backfill.sources import load_backfill_config
    from tests.backfill_helpers import write_warc

    settings, client = setup_config(
        tmp_path, es_url, alias, [learn_feed("kreisbote", learn_site.feed_url(0, 20), SITE)],
    )
    assert ingest_feed(settings.feeds[0], settings, es=client, run_id="learn-nightly").created == 20

    articles = learn_site.articles
    urls = [learn_site.base_url + a.path for a in articles[20:30]]
    lists = [learn_site.base_url + SECTION_PATH, learn_site.base_url + TAG_PATH]
    warc = tmp_path / "kreisbote.warc.gz"
    noon = datetime(2024, 3, 5, 12, 0)  # the helper's other records are captured in 2022
    write_warc(warc, per_day=0, extra=[(url, httpx.get(url).content, noon) for url in urls + lists])
    config_dir = tmp_path / "config"
    (config_dir / "backfill.yaml").write_text(yaml.safe_dump({"sources": [
        {"name": "kreisbote-warc", "type": "warc", "path": str(warc), "site": SITE, "lang": "de"}]}), encoding="utf-8")
    config = load_backfill_config(settings, env={})
    prepare(client, settings)
    todo, _done = plan(client, settings, config, date(2024, 3, 5), date(2024, 3, 5), ())
    [report] = run_partitions(client, settings, config, todo, run_id="learn-backfill")

    assert (report.status, report.candidates, report.created) == ("done", 12, 10)
    assert report.skipped_not_article == 2 and report.failed == 0
    docs = _docs(es, alias)
    assert len(docs) == 30
    promo_rule = f"learned:{key_of('line', normalize_line(PROMO_LINE))}"
    for article, url in zip(articles[20:30], urls, strict=True):
        doc = docs[canonicalize(url)]
        lines = body_lines(doc["body"])
        assert all(line in lines for line in article.article_lines()), article.n
        assert not lines & set(article.boilerplate_lines(articles)), article.n
        assert promo_rule in {r["rule"] for r in doc["removals"]}
    assert load_profile(es, alias, SITE).articles == 30  # 20 from the feed, 10 from the backfill


# --- issue 21: a developing story, a topic feed, the guard ---------------------------------------

def _story_docs(es, alias: str, site, pages) -> dict[int, dict]:
    docs = _docs(es, alias)
    return {p.n: docs[canonicalize(site.base_url + p.path)] for p in pages}


def _keeps_all(doc: dict, page) -> bool:
    lines = body_lines(doc["body"])
    return all(" ".join(p.split()) in lines for p in page.paragraphs)


def test_developing_story_keeps_every_paragraph_and_reprocess_restores_cut_bodies(
    es, es_url, alias, tmp_path
) -> None:
    """Issue 21: 60 versions of one story on one host (one paragraph of its own, six background
    paragraphs, a short quote and a sub-heading shared), ingested newest first: every article keeps
    all its paragraphs, the profile counts one story. Then the damage the old profile did (bodies
    cut, a profile that learned every recurring key) is repaired by reprocess from the archive."""
    from pipeline.clean.extract import parse_page
    from pipeline.index.names import profiles_index
    from pipeline.profiles import HostProfile
    from pipeline.profiles.blocks import scan_page
    from pipeline.samplesite.storysite import BACKGROUND, StorySite, developing_story, render_story

    pages = developing_story(60)
    with StorySite(pages) as site:
        settings, client = setup_config(
            tmp_path, es_url, alias, [learn_feed("kasachstan", site.feed_url, "storyhost")],
            archive={"enabled": True, "url": str(tmp_path / "raw")},
        )
        report = ingest_feed(settings.feeds[0], settings, es=client, run_id="story-1")
        assert report.failures == [] and report.created == 60
        docs = _story_docs(es, alias, site, pages)
        assert [n for n, doc in docs.items() if not _keeps_all(doc, pages[n])] == []
        assert all(not any(r["rule"].startswith("learned:") for r in doc["removals"]) for doc in docs.values())
        # search finds every version by the words of a shared paragraph (issue 21: it found 10)
        phrase = {"match_phrase": {"body_de": "Verdopplung der Preise für Flüssiggas"}}
        assert es.count(index=alias, query=phrase)["count"] == 60
        profile = load_profile(es, alias, "storyhost")
        assert (profile.articles, profile.stories) == (60, 1)
        assert profile.learned(settings.profiles) == frozenset()

        # what the old rules left in the index: 50 bodies without four background paragraphs, and a
        # profile that counted the 60 versions as 60 articles (every recurring key learned)
        cut = {" ".join(p.split()) for p in BACKGROUND[1:5]}
        for n in range(10, 60):
            body = "\n\n".join(line for line in docs[n]["body"].split("\n\n") if " ".join(line.split()) not in cut)
            es.update(index=_index_of(es, alias, docs[n]), id=doc_id_for(docs[n]["canonical_url"]), doc={"body": body, "body_de": body})
        poisoned = HostProfile("storyhost", articles=60)
        for block in scan_page(parse_page(render_story(pages[0], pages, site.base_url))).blocks:
            for k in (block.line_key, block.block_key):
                if k:
                    poisoned.counts[k] = 60
        legacy = poisoned.to_source(settings.profiles)
        del legacy["stories"], legacy["story_signatures"]  # as the old code stored it
        client.index(index=profiles_index(alias), id="storyhost", document=legacy, refresh=True)
        es.indices.refresh(index=alias)
        assert sum(not _keeps_all(doc, pages[n]) for n, doc in _story_docs(es, alias, site, pages).items()) == 50
        lost = {"match_phrase": {"body_de": "Internet war tagelang gesperrt"}}
        assert es.count(index=alias, query=lost)["count"] == 10

        result = reprocess(client, settings)
        assert (result.documents, result.failed, result.held) == (60, 0, 0)
        assert (result.changed, result.unchanged) == (50, 10)
        assert es.count(index=alias, query=lost)["count"] == 60  # found by its words again
        docs = _story_docs(es, alias, site, pages)
        assert [n for n, doc in docs.items() if not _keeps_all(doc, pages[n])] == []
        assert not any(r["rule"].startswith("learned:") for doc in docs.values() for r in doc["removals"])
        # the old profile's per-article counts were dropped: the profile starts afresh
        assert load_profile(es, alias, "storyhost").counts == {}


def _index_of(es, alias: str, doc: dict) -> str:
    ids = {"ids": {"values": [doc_id_for(doc["canonical_url"])]}}
    return es.search(index=alias, size=1, query=ids)["hits"]["hits"][0]["_index"]


def test_topic_feed_keeps_the_stories_shared_background_paragraphs(es, es_url, alias, tmp_path) -> None:
    """40 different stories of one topic ending with the same two stock paragraphs (no promo line:
    they end the text): the profile learns the site's chrome (the archive block) and every article
    keeps both stock paragraphs and all of its own."""
    from pipeline.samplesite.storysite import StorySite, topic_feed

    pages = topic_feed(40)
    with StorySite(pages, promo=False) as site:
        settings, client = setup_config(
            tmp_path, es_url, alias, [learn_feed("kasachstan-thema", site.feed_url, "topichost")])
        report = ingest_feed(settings.feeds[0], settings, es=client, run_id="topic-1")
        assert report.failures == [] and report.created == 40 and report.quality_alerts == 0
        docs = _story_docs(es, alias, site, pages)
    assert [n for n, doc in docs.items() if not _keeps_all(doc, pages[n])] == []
    profile = load_profile(es, alias, "topichost")
    assert (profile.articles, profile.stories) == (40, 40)
    cleaned = [doc for doc in docs.values() if any(r["rule"].startswith("learned:block:") for r in doc["removals"])]
    assert len(cleaned) == 30  # every page after the 10th: the archive block learned and removed
    assert all("Aus unserem Archiv" not in body_lines(doc["body"]) for doc in cleaned)


def test_guard_keeps_the_text_and_alerts_when_learned_rules_would_take_it(es, es_url, alias, tmp_path) -> None:
    """A site file pins the two stock paragraphs (a user's mistake, or a profile gone wrong): the
    rules would take about a third of each article, so the guard holds them; every article is
    indexed whole, flagged ``learned-held``, and one quality alert per rule names site and rule."""
    from pipeline.index.names import runlog_index
    from pipeline.samplesite.storysite import TOPIC_BACKGROUND, StorySite, topic_feed
    from tests.learnsite_helpers import sites_with_learned

    pages = topic_feed(12)
    rules = sorted(f"learned:{key_of('line', normalize_line(p))}" for p in TOPIC_BACKGROUND)
    sites_with_learned(tmp_path / "config", "topichost", "/nachrichten/", f"  pin: [{', '.join(rules)}]\n")
    with StorySite(pages, promo=False) as site:
        settings, client = setup_config(
            tmp_path, es_url, alias, [learn_feed("kasachstan-thema", site.feed_url, "topichost")])
        report = ingest_feed(settings.feeds[0], settings, es=client, run_id="guard-1")
        assert report.failures == [] and report.created == 12
        docs = _story_docs(es, alias, site, pages)
    assert [n for n, doc in docs.items() if not _keeps_all(doc, pages[n])] == []
    assert all("learned-held" in doc["flags"] for doc in docs.values())
    alerts = es.search(index=runlog_index(alias), size=10, query={"bool": {"filter": [
        {"term": {"kind": "quality-alert"}}, {"term": {"run_id": "guard-1"}}]}})["hits"]["hits"]
    assert report.quality_alerts == len(alerts) >= 2
    found = {a["_source"]["rule"]: (a["_source"]["site"], a["_source"]["articles"]) for a in alerts}
    assert {rule: found.get(rule) for rule in rules} == {rule: ("topichost", 12) for rule in rules}
    # once the profile has learned the site's chrome, a chrome line on the held pages is held with
    # them (the page's learned removals are not trusted), with its own, small share
    assert all(a["_source"]["new_value"] < 0.15 for a in alerts if a["_source"]["rule"] not in rules)
    assert all("topichost" in a["_source"]["message"] and a["_source"]["rule"] in a["_source"]["message"]
               for a in alerts)
