"""The five sample articles: what each page shows and the truth a clean extraction should yield.

Data lives in ``articles.yaml`` (body texts copied verbatim from ``seeds/``); page chrome of the
outlet templates lives in ``outlets.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.samplesite.outlets import Outlet, load_outlets

_DATA_FILE = Path(__file__).with_name("articles.yaml")
SEEDS_DIR = Path(__file__).with_name("seeds")


@dataclass(frozen=True)
class Teaser:
    """A related-article teaser ("Mehr zum Thema"); unrelated to the article, pure boilerplate."""

    label: str | None
    kicker: str
    title: str
    date: str
    snippet: str
    path: str


@dataclass(frozen=True)
class Insert:
    """An in-article boilerplate line placed after body paragraph ``after`` (0-based)."""

    after: int
    kind: str  # "read-also" | "promo"
    text: str
    path: str | None


@dataclass(frozen=True)
class SampleArticle:
    """One article of the sample site.

    ``paragraphs`` is the truth: the article body in order, sub-headings included as their own
    entries, sentences that the page splits across two ``<p>`` joined with one space.
    ``paragraph_parts`` is parallel to it and holds the fragments as they appear on the page.
    ``lead`` is the teaser shown above the body (not part of ``paragraphs``).
    ``boilerplate`` lists every non-article line the page carries (whole lines; compare
    line-wise, short entries like "Politik" may occur inside real sentences).
    Dates: ``published`` is the most precise publication time the site states anywhere (page or
    feed), ``published_source`` says where ("json-ld", "visible" or "feed"); ``jsonld_published``,
    ``visible_date`` and ``feed_published`` record literally what each place states.
    """

    slug: str
    seed_file: str
    outlet: str
    path: str
    section: str
    breadcrumb: tuple[str, ...]
    title: str
    title_from_seed: bool
    lead: str | None
    dateline: str | None
    paragraphs: tuple[str, ...]
    paragraph_parts: tuple[tuple[str, ...], ...]
    subheadings: tuple[str, ...]
    authors: tuple[str, ...]
    agency: str | None
    signoff: str | None
    figure_caption: str
    figure_credit: str
    inserts: tuple[Insert, ...]
    reading_time: int | None
    published: str
    published_precision: str
    published_source: str
    modified: str | None
    visible_date: str | None
    jsonld_published: str | None
    jsonld_modified: str | None
    feed_published: str | None
    feed_updated: str | None
    teasers: tuple[Teaser, ...]
    boilerplate: tuple[str, ...]
    lang: str = "de"

    @property
    def description(self) -> str:
        """Meta description / feed summary: the lead, else the first paragraph."""
        return self.lead or self.paragraphs[0]

    @property
    def text(self) -> str:
        """Expected clean text: lead (unless the body repeats it) and paragraphs, blank-line separated."""
        parts = list(self.paragraphs)
        if self.lead and not parts[0].startswith(self.lead):
            parts.insert(0, self.lead)
        return "\n\n".join(parts)

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.published)

    @property
    def modified_at(self) -> datetime | None:
        return datetime.fromisoformat(self.modified) if self.modified else None

    def seed_text(self) -> str:
        """The verbatim seed dump this article was built from."""
        return (SEEDS_DIR / self.seed_file).read_text(encoding="utf-8")


def _teaser_lines(teaser: Teaser, outlet: Outlet) -> list[str]:
    title_line = f"{teaser.kicker} {teaser.title}" if outlet.teaser_kicker_in_title else teaser.title
    lines = [teaser.label] if teaser.label else []
    return [*lines, teaser.kicker, title_line, teaser.date, teaser.snippet]


def _build(raw: dict[str, Any], outlets: dict[str, Outlet]) -> SampleArticle:
    outlet = outlets[raw["outlet"]]
    parts = tuple(tuple(p) if isinstance(p, list) else (p,) for p in raw["body"])
    teasers = tuple(Teaser(**t) for t in raw["teasers"])
    figure = raw["figure"]
    # roughly in page order: header, breadcrumb, seed boilerplate, figure, in-article chrome,
    # related teasers, newsletter, footer, cookie notice
    boilerplate: list[str] = [*outlet.header_lines, *outlet.nav, *raw["breadcrumb"]]
    boilerplate += raw["page_boilerplate"]
    boilerplate.append(f"{figure['caption']} {figure['credit']}")
    boilerplate += outlet.share
    if outlet.ad_label:
        boilerplate.append(outlet.ad_label)
    boilerplate.append(outlet.related_heading)
    for teaser in teasers:
        boilerplate += _teaser_lines(teaser, outlet)
    boilerplate += [*outlet.newsletter, *outlet.footer, *outlet.cookie]
    return SampleArticle(
        slug=raw["slug"],
        seed_file=raw["seed"],
        outlet=outlet.key,
        path=raw["path"],
        section=raw["section"],
        breadcrumb=tuple(raw["breadcrumb"]),
        title=raw["title"],
        title_from_seed=raw["title_from_seed"],
        lead=raw["lead"],
        dateline=raw["dateline"],
        paragraphs=tuple(" ".join(p) for p in parts),
        paragraph_parts=parts,
        subheadings=tuple(raw["subheadings"]),
        authors=tuple(raw["authors"]),
        agency=raw["agency"],
        signoff=raw["signoff"],
        figure_caption=figure["caption"],
        figure_credit=figure["credit"],
        inserts=tuple(Insert(**i) for i in raw["inserts"]),
        reading_time=raw["reading_time"],
        published=raw["published"],
        published_precision=raw["published_precision"],
        published_source=raw["published_source"],
        modified=raw["modified"],
        visible_date=raw["visible_date"],
        jsonld_published=raw["jsonld_published"],
        jsonld_modified=raw["jsonld_modified"],
        feed_published=raw["feed_published"],
        feed_updated=raw["feed_updated"],
        teasers=teasers,
        boilerplate=tuple(dict.fromkeys(boilerplate)),
    )


@cache
def _load() -> tuple[SampleArticle, ...]:
    raw = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))["articles"]
    outlets = load_outlets()
    return tuple(_build(entry, outlets) for entry in raw)


def load_articles() -> list[SampleArticle]:
    """The five sample articles in seed order (000..004)."""
    return list(_load())


def article_by_slug(slug: str) -> SampleArticle:
    for article in _load():
        if article.slug == slug:
            return article
    raise KeyError(slug)


ARTICLE_SLUGS: tuple[str, ...] = tuple(a.slug for a in _load())
