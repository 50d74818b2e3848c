"""pipeline.clean.page: one parse for cleaning and dates gives exactly what cleaning and dating the
page separately give, on the rendered sample-site pages (their site rules, JSON-LD, visible dates,
teaser lists with other dates), the hand-written fixtures of bench/data/extraction, and those same
pages wrapped in the chrome of a full-size news page."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bench.fullpages import inflate
from pipeline.clean.dates import find_dates
from pipeline.clean.extract import parse_page
from pipeline.clean.page import clean_and_date
from pipeline.clean.rules import ExtractionError, clean_article
from pipeline.clean.siterules import load_rules
from pipeline.samplesite import load_articles
from pipeline.samplesite.render import render_article

FIXTURES = Path(__file__).resolve().parent.parent / "bench" / "data" / "extraction"
BASE = "http://127.0.0.1:8765"


def _pages() -> list[tuple[str, str, str]]:
    pages = [(a.slug, BASE + a.path, render_article(a, BASE)) for a in load_articles()]
    pages += [(p.stem, f"https://unseen.example/2023/03/{p.stem}.html", p.read_text(encoding="utf-8"))
              for p in sorted(FIXTURES.glob("*.html"))]
    return pages + [(f"{name} (full-size)", url, inflate(html, seed=name)) for name, url, html in pages]


@pytest.mark.parametrize(("name", "url", "html"), _pages(), ids=lambda v: v if isinstance(v, str) and "<" not in v else None)
def test_one_parse_gives_what_two_parses_give(name: str, url: str, html: str) -> None:
    rules = load_rules()
    cleaned, dates = clean_and_date(html, url, rules=rules, feed_published="2022-01-10T09:14:00+01:00",
                                    http_last_modified="Mon, 10 Jan 2022 12:00:00 GMT")
    assert cleaned == clean_article(html, url, rules=rules), name
    assert dates == find_dates(html, url=url, feed_published="2022-01-10T09:14:00+01:00",
                               http_last_modified="Mon, 10 Jan 2022 12:00:00 GMT"), name
    assert cleaned.body and dates.published is not None


def test_a_page_without_text_raises() -> None:
    with pytest.raises(ExtractionError):
        clean_and_date("<html><body><nav><a href='/'>Start</a></nav></body></html>", "https://x.example/a")


# chrome with tail text at the start and in the middle of its parent, nested chrome, a page with a
# structured date, and pages without one (htmldate's last resort reads the whole page, with and
# without a headline)
KEEP_TREE_PAGES = [
    ("<html><body><article><h1>Titel</h1><nav>Menü</nav>Nachlauf<p>10.01.2022 10:00</p>"
    "<aside>Mehr <footer>Fuß</footer> hier</aside> Ende</article><footer>x</footer>y</body></html>"),
    ('<html><head><script type="application/ld+json">{"@type": "NewsArticle", "datePublished": '
    '"2022-01-10T10:00:00+01:00"}</script></head><body><div class="teaser">03.02.2021<span>a</span></div>'
    "tail<h1>Titel</h1><p>Text</p></body></html>"),
    ("<html><body><div class='related'>Mehr zum Thema 03.02.2021</div>text<div><h2>Mehr zum Thema</h2>"
    "<p>Alte Meldung 04.02.2021</p></div><h1>Titel</h1><p>Ein Text ohne Datum.</p></body></html>"),
    "<html><body><nav>Start</nav>lose<p>Ein Text ohne Datum und ohne Überschrift.</p><!-- c --></body></html>",
]


@pytest.mark.parametrize("html", KEEP_TREE_PAGES + [html for _n, _u, html in _pages()[:6]])
def test_date_search_puts_back_the_chrome_it_removed(html: str) -> None:
    """``find_dates(keep_tree=True)`` (what clean_and_date uses so cleaning can take the same
    tree) leaves the parsed page exactly as it was, and finds what a search on its own parse finds."""
    tree = parse_page(html)
    before = etree.tostring(tree, encoding="unicode")
    kept = find_dates(tree, url="https://x.example/a", keep_tree=True)
    assert etree.tostring(tree, encoding="unicode") == before
    assert kept == find_dates(parse_page(html), url="https://x.example/a")
