"""Cleaning and dating one page from a single parse.

``clean_article`` prunes the tree it works on and ``find_dates`` removes chrome from its own, so
each used to parse the page itself. Parsing a 110 KB news page takes about 1.1 ms, copying the
parsed tree about 0.35 ms: the page is parsed once, the dates read a copy taken before cleaning.
(The dates come out the same as from their own parse: the parsers differ only in dropping comments,
which the date search drops anyway.)
"""

from __future__ import annotations

from copy import deepcopy

from pipeline.clean import Cleaned, clean_article
from pipeline.dates import ArticleDates, find_dates
from pipeline.extract import parse_page
from pipeline.profiles.apply import LearnedRules
from pipeline.siterules import Rulebook, SiteRules


def clean_and_date(
    page: str | bytes,
    url: str,
    *,
    rules: Rulebook | SiteRules | None = None,
    learned: LearnedRules | None = None,
    feed_published: str | None = None,
    http_last_modified: str | None = None,
    site_timezone: str = "Europe/Berlin",
) -> tuple[Cleaned, ArticleDates]:
    """``clean_article`` and ``find_dates`` of one page; raises what ``clean_article`` raises
    (ExtractionError, NotAnArticle), in which case no date search is made."""
    tree = parse_page(page)
    pristine = deepcopy(tree)
    cleaned = clean_article(tree, url, rules=rules, learned=learned)
    dates = find_dates(
        pristine, url=url, feed_published=feed_published, http_last_modified=http_last_modified,
        site_timezone=site_timezone,
    )
    return cleaned, dates
