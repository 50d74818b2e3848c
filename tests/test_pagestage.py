"""pipeline.pagestage: one parse for cleaning and dates gives exactly what cleaning and dating the
page separately give, on the rendered sample-site pages (their site rules, JSON-LD, visible dates,
teaser lists with other dates), the hand-written fixtures of bench/data/extraction, and those same
pages wrapped in the chrome of a full-size news page."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fullpages import inflate
from pipeline.clean import ExtractionError, clean_article
from pipeline.dates import find_dates
from pipeline.pagestage import clean_and_date
from pipeline.samplesite import load_articles
from pipeline.samplesite.render import render_article
from pipeline.siterules import load_rules

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


def test_a_page_without_text_raises_before_any_date_search() -> None:
    with pytest.raises(ExtractionError):
        clean_and_date("<html><body><nav><a href='/'>Start</a></nav></body></html>", "https://x.example/a")
