"""find_author: trafilatura's author search, skipped on pages where it cannot match anything, with
the same answer as trafilatura on every page."""

from __future__ import annotations

import re

import pytest
from trafilatura.metadata import extract_author
from trafilatura.xpaths import AUTHOR_XPATHS

from pipeline.clean import authorsearch
from pipeline.clean.extract import AUTHOR_NEEDLES, find_author, parse_page
from pipeline.samplesite import load_articles
from pipeline.samplesite.render import render_article
from tests.conftest import ROOT

EXTRACTION_PAGES = sorted((ROOT / "bench" / "data" / "extraction").glob("*.html"))

# one page per kind of element the AUTHOR_XPATHS match, each with a name trafilatura finds
BYLINES = [
    '<span class="author-name">Anna Berger</span>',
    '<a rel="author" href="/a">Anna Berger</a>',
    '<p itemprop="author">Anna Berger</p>',
    '<div data-testid="AuthorCard">Anna Berger</div>',
    '<p class="byl">Anna Berger</p>',
    '<span class="BBL">Anna Berger</span>',
    '<h4 class="username">Anna Berger</h4>',
    '<div id="zuozhe">Anna Berger</div>',
    '<span class="journalist-name">Anna Berger</span>',
    '<div data-component="Byline">Anna Berger</div>',
    '<span class="post-writer">Anna Berger</span>',
    '<div class="article__Byline">Anna Berger</div>',
    '<div id="Author-box">Anna Berger</div>',
    "<author>Anna Berger</author>",
]


def _page(byline: str) -> str:
    return (
        '<html lang="de"><head><title>Titel</title></head><body><article><h1>Titel</h1>'
        f"{byline}<p>{'Ein Satz mit genug Wörtern für einen Absatz. ' * 8}</p></article></body></html>"
    )


def test_every_alternative_of_the_author_xpaths_contains_a_needle() -> None:
    literals = [lit for x in AUTHOR_XPATHS for lit in re.findall(r"'([^']*)'", x.path)]
    assert literals  # the XPaths of the pinned trafilatura are readable here
    alternatives = [alt for lit in literals for alt in lit.split("|")]
    uncovered = [alt for alt in alternatives if not any(n in alt for n in AUTHOR_NEEDLES)]
    # 'me' is the text of a <rel> child (rel='me'), which find_author looks for by element
    assert uncovered == ["me"]
    attributes = {a for x in AUTHOR_XPATHS for a in re.findall(r"@([\w-]+)", x.path)}
    assert attributes <= {"class", "id", "rel", "itemprop", "data-testid", "data-component"}
    # the only element names compared to a value are rel (child element) and author (//author)
    assert {m for x in AUTHOR_XPATHS for m in re.findall(r"(?<![@\w:-])([a-z][\w-]*)\s*=", x.path)} == {"rel"}


@pytest.mark.parametrize("byline", BYLINES)
def test_find_author_finds_what_trafilatura_finds(byline: str) -> None:
    expected = extract_author(parse_page(_page(byline)))
    assert expected and "Anna Berger" in expected  # trafilatura finds it: the page is a real case
    assert find_author(parse_page(_page(byline))) == expected


def test_find_author_agrees_with_trafilatura_on_real_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [p.read_text(encoding="utf-8") for p in EXTRACTION_PAGES]
    pages += [render_article(a, "http://127.0.0.1:8000") for a in load_articles()]
    pages += [_page('<p class="meta">Von der Redaktion</p>'), _page("")]
    assert len(pages) >= 20
    searched = []
    real = extract_author
    search = authorsearch.find_author
    monkeypatch.setattr(authorsearch, "find_author", lambda tree, needle: searched.append(1) or search(tree, needle))
    found = 0
    for html in pages:
        expected = real(parse_page(html))
        assert find_author(parse_page(html)) == expected
        found += bool(expected)
    # both branches ran: pages skipped without the search, and pages where it found an author
    assert 0 < len(searched) < len(pages)
    assert found > 0


# what trafilatura's pruned copy changes: a candidate deleted with a discarded ancestor, a candidate
# with a discarded element inside (its text changes), a discarded sibling whose tail moves, elements
# matched by name (<rel>, <author>), and the order of the three XPaths
PRUNING_CASES = [
    '<div class="sidebar"><span class="author-name">Bert Sidebar</span></div><p class="byline">Anna Berger</p>',
    '<span class="author-name">Anna <time>10.01.2022</time> Berger</span>',
    '<span class="author">Anna Berger<figure>Foto: Carl Bild</figure></span>',
    '<span class="author-name">Anna Berger</span><span class="date">10.01.</span> nach',
    '<div class="meta-date"><a rel="author">Carl</a></div><div class="writer">Anna Berger</div>',
    '<section id="comments-list"><p class="byline">Leser Dieter</p></section><span class="byl">Anna Berger</span>',
    '<div data-component="Figure"><span class="author">Foto Fritz</span></div><h4 class="username">Anna Berger</h4>',
    '<span class="Byline">Dora Dritte</span><p class="byline">Anna Berger</p><span rel="author">Zoe Zuerst</span>',
    '<div class="author"><rel>me</rel>Anna Berger</div>',
    '<author>Anna Berger</author><span class="author">Bert</span>',
    '<span class="author-name">AB</span><span class="authorName">Anna Berger</span>',
    '<p class="print-author">Anna Berger</p>',
    '<div class="comments"><p class="author">Leser</p></div>',
]


@pytest.mark.parametrize("byline", PRUNING_CASES)
def test_author_search_without_copy_gives_trafilaturas_answer(byline: str) -> None:
    assert authorsearch.MATCHES_TRAFILATURA  # the pinned trafilatura's XPaths are the ones restated
    page = _page(byline)
    assert find_author(parse_page(page)) == extract_author(parse_page(page))
