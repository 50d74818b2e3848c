"""Host profiles: bounded counting, parallel writers against the real local Elasticsearch (no
lost or double counts), pin/veto from site files, and what is never removed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipeline.clean.rules import clean_article
from pipeline.clean.siterules import ConfigError
from pipeline.config import ProfileSettings
from pipeline.index.names import profiles_index
from pipeline.profiles import HostProfile, LearnedRules, ProfileStore, load_overrides, load_profile
from pipeline.profiles.blocks import key_of, normalize_line, scan_page
from pipeline.profiles.overrides import Overrides
from pipeline.samplesite.learnsite import PROMO_LINE, learn_articles, render_article
from tests.learnsite_helpers import body_lines, setup_config

BASE = "http://127.0.0.1:9"
PROMO = key_of("line", normalize_line(PROMO_LINE))


def _keys(n: int, shared: int = 3, unique: int = 20) -> dict[str, str]:
    keys = {f"line:shared{i:010d}": f"shared {i}" for i in range(shared)}
    keys.update({f"line:u{n:07d}x{j:06d}": "u" for j in range(unique)})
    return keys


def test_profile_stays_bounded_and_counts_each_article_once() -> None:
    settings = ProfileSettings(min_articles=10, min_share=0.5, window_articles=50, max_keys=100)
    profile = HostProfile("s")
    for n in range(500):
        assert profile.add_article(f"doc{n}", _keys(n), settings)
        assert len(profile.counts) <= 100 and profile.articles <= 50 and len(profile.recent) <= 50
    assert not profile.add_article("doc499", _keys(499), settings)  # seen: not counted again
    assert profile.halvings > 0
    assert profile.learned(settings) == {f"line:shared{i:010d}" for i in range(3)}
    assert HostProfile("s").learned(settings) == frozenset()


def test_nothing_is_learned_before_min_articles() -> None:
    settings = ProfileSettings(min_articles=10)
    profile = HostProfile("s")
    for n in range(9):
        profile.add_article(f"d{n}", _keys(n), settings)
    assert profile.learned(settings) == frozenset()
    profile.add_article("d9", _keys(9), settings)
    assert len(profile.learned(settings)) == 3


def test_parallel_workers_lose_no_counts(es, es_url, alias, tmp_path) -> None:
    """Two stores (two workers) flush after every article into one profile document; optimistic
    concurrency retries on conflict, and an article both workers saw is counted once."""
    _settings, client = setup_config(tmp_path, es_url, alias, [])
    profile_settings = ProfileSettings(flush_every=1)
    stores = [ProfileStore(client, alias, profile_settings) for _ in range(2)]

    def work(store: ProfileStore, first: int) -> None:
        for n in range(first, first + 30):
            store.observe("site.example", f"doc{n}", _keys(n, unique=2))
        store.observe("site.example", "doc-both", _keys(999, unique=2))
        store.flush()

    threads = [threading.Thread(target=work, args=(store, k * 30)) for k, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = load_profile(es, alias, "site.example")
    assert stored.articles == 61
    assert stored.counts["line:shared0000000000"] == 61
    assert len(stored.recent) == 61
    doc = es.get(index=profiles_index(alias), id="site.example")["_source"]
    assert doc["learned_rules"] == 3 and doc["articles"] == 61
    print(f"\nwrite conflicts retried: {sum(s.conflicts for s in stores)}")


def test_flush_writes_what_it_holds_and_rereads_only_after_another_writer(es, es_url, alias, tmp_path) -> None:
    """A store's flush writes its profile with the version it last read or wrote; only when
    another store wrote in between does it get a conflict, re-read and merge; then it writes
    without conflicts again. No count is lost or doubled on either path."""
    _settings, client = setup_config(tmp_path, es_url, alias, [])
    settings = ProfileSettings(flush_every=1000)
    a, b = ProfileStore(client, alias, settings), ProfileStore(client, alias, settings)
    site = "site.example"

    def stored() -> HostProfile:
        return load_profile(es, alias, site)

    for n in range(5):
        a.observe(site, f"a{n}", _keys(n))
    assert a.flush() == 5 and a.conflicts == 0 and stored().articles == 5
    for n in range(3):  # b reads the document a wrote
        b.observe(site, f"b{n}", _keys(100 + n))
    assert b.flush() == 3 and b.conflicts == 0 and stored().articles == 8
    a.observe(site, "a5", _keys(5))
    a.observe(site, "b0", _keys(100))  # b's article, unknown to a: the merge counts it once
    assert a.flush() == 1 and a.conflicts == 1  # a's version was stale: re-read, merged, written
    assert stored().articles == 9 and stored().counts["line:shared0000000000"] == 9
    a.observe(site, "a6", _keys(6))
    assert a.flush() == 1 and a.conflicts == 1  # its own last write: no conflict, no re-read
    profile = stored()
    assert profile.articles == 10 and profile.counts["line:shared0000000002"] == 10
    assert sorted(profile.recent) == sorted([f"a{n}" for n in range(7)] + ["b0", "b1", "b2"])


def _page(n: int = 0) -> tuple[str, str]:
    articles = learn_articles()
    return render_article(articles[n], articles, BASE), f"{BASE}{articles[n].path}"


def _learned(n_pages: int = 12) -> HostProfile:
    settings = ProfileSettings()
    profile = HostProfile("kreisbote")
    for n in range(n_pages):
        html, url = _page(n)
        profile.add_article(url, clean_article(html, url, learned=LearnedRules()).observed or {}, settings)
    return profile


def _site_dir(tmp_path: Path, learned: str) -> Path:
    sites = tmp_path / "sites"
    sites.mkdir(parents=True)
    (sites / "kreisbote.yaml").write_text(
        f"name: kreisbote\nmatch:\n  hosts: [127.0.0.1]\n  path_prefix: /artikel/\nlearned:\n{learned}", encoding="utf-8")
    return sites


def test_veto_keeps_a_learned_line_and_pin_applies_without_a_profile(tmp_path) -> None:
    settings = ProfileSettings()
    html, url = _page(20)
    profile = _learned()
    assert PROMO in profile.learned(settings)

    vetoed = load_overrides(_site_dir(tmp_path / "v", f"  veto: [learned:{PROMO}]\n"))
    rules = LearnedRules.for_page(profile, settings, vetoed.for_url(url))
    assert PROMO_LINE in body_lines(clean_article(html, url, learned=rules).body)
    assert PROMO_LINE not in body_lines(clean_article(
        html, url, learned=LearnedRules.for_page(profile, settings, Overrides())).body)
    # the veto is for /artikel/ of 127.0.0.1 only
    assert vetoed.for_url("http://127.0.0.1:9/other/x.html").vetoes == frozenset()

    pinned = load_overrides(_site_dir(tmp_path / "p", f"  pin: [learned:{PROMO}]\n"))
    rules = LearnedRules.for_page(HostProfile("new"), settings, pinned.for_url(url))  # nothing learned yet
    cleaned = clean_article(html, url, learned=rules)
    assert PROMO_LINE not in body_lines(cleaned.body)
    assert {"rule": f"learned:{PROMO}", "chars": len(PROMO_LINE)} in [
        {"rule": r.rule, "chars": r.chars} for r in cleaned.removals]

    off = load_overrides(_site_dir(tmp_path / "o", "  enabled: false\n"))
    rules = LearnedRules.for_page(profile, settings, off.for_url(url))
    assert PROMO_LINE in body_lines(clean_article(html, url, learned=rules).body)


def test_bad_override_names_fail_loudly(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not a learned rule name"):
        load_overrides(_site_dir(tmp_path, "  veto: [promo]\n"))


def test_title_byline_and_main_text_are_never_removed() -> None:
    """Even a profile that (wrongly) learned every key of the page keeps the headline, the
    byline, the container of the article text and at least half of its long text."""
    html, url = _page(3)
    cleaned = clean_article(html, url, learned=LearnedRules())
    everything = LearnedRules(frozenset(cleaned.observed or {}))
    worst = clean_article(html, url, learned=everything)
    article = learn_articles()[3]
    assert worst.title == article.title
    assert worst.authors == cleaned.authors == [article.author]
    assert len(worst.body) >= 0.4 * len(cleaned.body)
    kept = body_lines(worst.body) & set(article.paragraphs)
    assert len(kept) >= len(article.paragraphs) // 2
    from pipeline.clean.extract import parse_page

    tree = parse_page(html)
    page = scan_page(tree)
    assert page.main is not None and page.main.get("class") == "beitrag"
    keys_of_main = {b.block_key for b in page.blocks if b.element is page.main}
    assert keys_of_main == {None}  # the main container never gets a block key


def test_keys_ignore_numbers_and_teaser_lists_are_keyed_by_structure() -> None:
    """Reading-time lines with different numbers are one line key; a teaser list outside the
    article text (snippets, not link-dense) gets the same block key on two pages whose teasers
    differ; the article paragraphs get no block key."""
    from pipeline.clean.extract import parse_page

    def page(minutes: int, teasers: list[str]) -> str:
        text = "".join(f"<p>{'Ein langer Absatz über die Sitzung des Stadtrats. ' * 3}{i}</p>" for i in range(4))
        cards = "".join(f'<div class="card"><h3><a href="/{t}">{t}</a></h3><p>Kurz: {t} und mehr dazu.</p></div>'
                        for t in teasers)
        return (f'<html><body><div class="page"><article><h1>Titel</h1><p class="rt">Lesezeit: {minutes} Minuten</p>'
                f'<div class="text">{text}</div></article><section class="more">{cards}</section></div></body></html>')

    first = scan_page(parse_page(page(4, ["Alpha", "Beta"])))
    second = scan_page(parse_page(page(12, ["Gamma", "Delta", "Epsilon"])))
    reading = key_of("line", normalize_line("Lesezeit: 4 Minuten"))
    first_keys, second_keys = first.keys(), second.keys()
    assert reading in first_keys and reading in second_keys
    more = [b.block_key for b in first.blocks if b.element.get("class") == "more"]
    assert more and more[0] is not None
    assert more[0] in second_keys
    assert first.main is not None and first.main.get("class") == "text"
    assert all(b.block_key is None for b in first.blocks if b.element.tag == "p" and b.element.getparent() is first.main)


# --- issue 21: stories, chrome-like keys, the guard ----------------------------------------------

def _story_pages(pages, *, promo: bool = True) -> list[tuple[str, str]]:
    from pipeline.samplesite.storysite import render_story

    return [(render_story(p, pages, BASE, promo=promo), f"{BASE}{p.path}") for p in pages]


def _observe_all(pages: list[tuple[str, str]], *, stories: bool = True) -> HostProfile:
    """Pages through the profile as a run does: cleaned with what is learned so far, then counted."""
    from pipeline.enrich.stories import minhash
    from pipeline.profiles import learnable_keys

    settings = ProfileSettings()
    profile = HostProfile("s")
    for html, url in pages:
        cleaned = clean_article(html, url, learned=LearnedRules(profile.learned(settings), settings))
        profile.add_article(url, learnable_keys(cleaned.observed, cleaned.body), settings,
                            minhash(cleaned.body) if stories else None)
    return profile


def test_versions_of_one_story_count_once_and_teach_nothing() -> None:
    from pipeline.samplesite.storysite import developing_story

    pages = developing_story(60)
    profile = _observe_all(_story_pages(pages))
    assert (profile.articles, profile.stories) == (60, 1)
    assert profile.learned(ProfileSettings()) == frozenset()
    # counted per article, the shared short quote and sub-heading (chrome-like: short) would be learned
    per_article = _observe_all(_story_pages(pages), stories=False)
    from pipeline.samplesite.storysite import QUOTE, SUBHEADING

    learned = per_article.learned(ProfileSettings())
    assert {key_of("line", normalize_line(QUOTE)), key_of("line", normalize_line(SUBHEADING))} <= learned


def test_distinct_stories_of_a_site_stay_distinct() -> None:
    """Kreisbote's articles share chrome and vocabulary (Jaccard up to 0.47) but are 40 stories."""
    articles = learn_articles()
    profile = _observe_all([(render_article(a, articles, BASE), f"{BASE}{a.path}") for a in articles])
    assert (profile.articles, profile.stories) == (40, 40)
    assert PROMO in profile.learned(ProfileSettings())
    stored = HostProfile.from_source("s", profile.to_source(ProfileSettings()))
    assert (stored.stories, stored.story_signatures) == (40, profile.story_signatures)
    # a profile stored before stories were counted (per article: issue 21) starts afresh
    old = profile.to_source(ProfileSettings())
    del old["stories"], old["story_signatures"]
    legacy = HostProfile.from_source("s", old)
    assert (legacy.articles, legacy.stories, legacy.counts, legacy.recent) == (0, 0, {}, [])


def test_article_paragraphs_are_not_chrome_like_the_promo_line_is() -> None:
    from pipeline.clean.extract import parse_page
    from pipeline.samplesite.storysite import QUOTE, TOPIC_BACKGROUND, developing_story, topic_feed

    topic = topic_feed(12)
    html, _url = _story_pages(topic, promo=False)[0]
    page = scan_page(parse_page(html))
    by_text = {b.text: b for b in page.blocks if b.leaf and b.text}
    for paragraph in topic[0].paragraphs:  # the last stock paragraph ends the text: still not chrome
        assert by_text[normalize_line(paragraph)].chrome is None, paragraph
    observed = page.keys()  # what the profile counts
    assert key_of("line", normalize_line(TOPIC_BACKGROUND[0])) not in observed

    html, _url = _page(0)
    blocks = {b.text: b for b in scan_page(parse_page(html)).blocks if b.leaf and b.text}
    assert blocks[normalize_line(PROMO_LINE)].chrome == "edge"  # its own markup, at the end of the text
    html, _url = _story_pages(developing_story(2))[0]
    blocks = {b.text: b for b in scan_page(parse_page(html)).blocks if b.leaf and b.text}
    assert blocks[normalize_line(QUOTE)].chrome == "short"


def test_topic_feed_learns_its_chrome_and_keeps_the_shared_background() -> None:
    from pipeline.samplesite.storysite import topic_feed

    topic = topic_feed(40)
    pages = _story_pages(topic, promo=False)
    profile = _observe_all(pages)
    assert profile.stories == 40
    rules = LearnedRules(profile.learned(ProfileSettings()))
    for story, (html, url) in zip(topic, pages, strict=True):
        cleaned = clean_article(html, url, learned=rules)
        lines = body_lines(cleaned.body)
        assert all(" ".join(p.split()) in lines for p in story.paragraphs), story.n
        assert "Aus unserem Archiv" not in lines
        assert any(r.rule.startswith("learned:block:") for r in cleaned.removals)


def test_guard_holds_rules_that_would_take_article_text() -> None:
    """Pinned keys of the two stock paragraphs (a user's mistake) would take about a third of the
    text: the guard holds both, the article keeps them, and the rules are named."""
    from pipeline.profiles import held_rules
    from pipeline.samplesite.storysite import TOPIC_BACKGROUND, topic_feed

    html, url = _story_pages(topic_feed(3), promo=False)[0]
    pins = frozenset(key_of("line", normalize_line(p)) for p in TOPIC_BACKGROUND)
    cleaned = clean_article(html, url, learned=LearnedRules(pins, ProfileSettings(), pins))
    lines = body_lines(cleaned.body)
    assert all(" ".join(p.split()) in lines for p in TOPIC_BACKGROUND)
    held = held_rules(cleaned.observed)
    assert {rule for rule, _share in held} == {f"learned:{k}" for k in pins}
    assert all(0.05 < share < 0.5 for _rule, share in held)
    assert not any(r.rule.startswith("learned:line:") for r in cleaned.removals)
    # one pinned paragraph alone stays under 15 % of a longer story: applied (a pin is the user's say)
    one = frozenset([key_of("line", normalize_line(TOPIC_BACKGROUND[1]))])
    long_story = max(topic_feed(12), key=lambda s: len(s.paragraphs))
    html, url = _story_pages([long_story], promo=False)[0]
    cleaned = clean_article(html, url, learned=LearnedRules(one, ProfileSettings(), one))
    assert held_rules(cleaned.observed) == []
    assert " ".join(TOPIC_BACKGROUND[1].split()) not in body_lines(cleaned.body)


def test_article_split_around_an_ad_keeps_its_second_part() -> None:
    """The text in two wrappers of the same markup (split around an ad), the stock paragraphs in the
    second one on every story: the second wrapper is not a container of chrome, its paragraphs are
    not chrome-like, and after a whole topic feed every article still has all of its text."""
    from html import escape

    from pipeline.clean.extract import parse_page
    from pipeline.samplesite.storysite import TOPIC_BACKGROUND, topic_feed

    stories = topic_feed(24)

    def render(story) -> str:
        own = story.paragraphs[: -len(TOPIC_BACKGROUND)]
        first = "".join(f"<p>{escape(p)}</p>" for p in own)
        second = "".join(f"<p>{escape(p)}</p>" for p in TOPIC_BACKGROUND)
        return (f'<html><head><title>{escape(story.title)}</title></head><body>'
                f'<nav class="menu"><a href="/a">Politik</a> <a href="/b">Sport</a> <a href="/c">Kultur</a></nav>'
                f'<article><h1>{escape(story.title)}</h1><div class="text">{first}</div>'
                f'<div class="ad">Anzeige</div><div class="text">{second}</div></article>'
                f'<footer class="foot"><a href="/impressum">Impressum</a> <a href="/datenschutz">Datenschutz</a>'
                f'</footer></body></html>')

    pages = [(render(s), f"{BASE}{s.path}") for s in stories]
    page = scan_page(parse_page(pages[0][0]))
    twins = [b for b in page.blocks if b.twin]
    assert {b.text for b in twins} == {normalize_line(p) for p in TOPIC_BACKGROUND}
    assert all(b.chrome is None for b in twins)
    second = [b for b in page.blocks if b.element.get("class") == "text" and b.element is not page.main]
    assert second and second[0].block_key is None
    profile = _observe_all(pages)
    rules = LearnedRules(profile.learned(ProfileSettings()))
    assert rules.keys  # the menu, the footer, the ad label
    for story, (html, url) in zip(stories, pages, strict=True):
        lines = body_lines(clean_article(html, url, learned=rules).body)
        assert all(" ".join(p.split()) in lines for p in story.paragraphs), story.n
