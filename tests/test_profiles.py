"""Host profiles: bounded counting, parallel writers against the real local Elasticsearch (no
lost or double counts), pin/veto from site files, and what is never removed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipeline.clean import clean_article
from pipeline.config import ProfileSettings
from pipeline.index.names import profiles_index
from pipeline.profiles import HostProfile, LearnedRules, ProfileStore, load_overrides, load_profile
from pipeline.profiles.blocks import key_of, normalize_line, scan_page
from pipeline.profiles.overrides import Overrides
from pipeline.samplesite.learnsite import PROMO_LINE, learn_articles, render_article
from pipeline.siterules import ConfigError
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
    from pipeline.extract import parse_page

    tree = parse_page(html)
    page = scan_page(tree)
    assert page.main is not None and page.main.get("class") == "beitrag"
    keys_of_main = {b.block_key for b in page.blocks if b.element is page.main}
    assert keys_of_main == {None}  # the main container never gets a block key


def test_keys_ignore_numbers_and_teaser_lists_are_keyed_by_structure() -> None:
    """Reading-time lines with different numbers are one line key; a teaser list outside the
    article text (snippets, not link-dense) gets the same block key on two pages whose teasers
    differ; the article paragraphs get no block key."""
    from pipeline.extract import parse_page

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
