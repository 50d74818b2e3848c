"""Which articles the sample site's feeds list, and how (links, ids, dates, summaries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.samplesite.articles import SampleArticle, article_by_slug
from pipeline.samplesite.outlets import load_outlets

RSS_PATH = "/feeds/rss.xml"
ATOM_PATH = "/feeds/atom.xml"
MISSING_ARTICLE_PATH = "/articles/does-not-exist.html"

# (slug, query string appended to the item link). The DWN article is in both feeds, once with
# tracking parameters, so consumers must dedupe by canonical URL (feed ids differ on purpose).
RSS_ITEMS: tuple[tuple[str, str], ...] = (
    ("putin-keine-revolutionen", ""),
    ("tokajew-versuchter-staatsstreich", ""),
    ("putin-100-tote-10000-festnahmen", ""),
    ("putin-keine-farbenrevolution", "?utm_source=rss&utm_medium=feed&utm_campaign=politik"),
)
ATOM_ENTRIES: tuple[tuple[str, str], ...] = (
    ("tokajew-versuchter-staatsstreich", ""),
    ("ovks-soldaten-in-almaty", ""),
    ("putin-keine-farbenrevolution", ""),
)
# Items whose RSS pubDate is written in GMT instead of with a numeric +0100 offset.
_GMT_PUBDATE = frozenset({"putin-keine-revolutionen"})


@dataclass(frozen=True)
class FeedEntry:
    """One feed item, already resolved against the server's base URL."""

    title: str
    link: str
    rss_guid: str
    atom_id: str
    published: datetime
    updated: datetime
    pubdate_gmt: bool
    summary: str
    author: str
    categories: tuple[str, ...]


def _site_id(article: SampleArticle) -> str:
    return f"{article.outlet}-{article.slug}"


def entry_for(article: SampleArticle, base_url: str, query: str = "") -> FeedEntry:
    """The feed entry of ``article``; link is absolute, optionally with a tracking query."""
    if article.feed_published is None:
        raise ValueError(f"{article.slug} has no feed date")
    published = datetime.fromisoformat(article.feed_published)
    updated = datetime.fromisoformat(article.feed_updated) if article.feed_updated else published
    outlet = load_outlets()[article.outlet]
    return FeedEntry(
        title=article.title,
        link=base_url + article.path + query,
        rss_guid=_site_id(article),
        atom_id=f"tag:samplesite.invalid,{published:%Y-%m-%d}:{_site_id(article)}",
        published=published,
        updated=updated,
        pubdate_gmt=article.slug in _GMT_PUBDATE,
        summary=article.description,
        author=", ".join(article.authors) if article.authors else outlet.name,
        categories=(article.section, "Kasachstan"),
    )


def rss_entries(base_url: str) -> list[FeedEntry]:
    return [entry_for(article_by_slug(slug), base_url, query) for slug, query in RSS_ITEMS]


def atom_entries(base_url: str) -> list[FeedEntry]:
    return [entry_for(article_by_slug(slug), base_url, query) for slug, query in ATOM_ENTRIES]


def broken_links_entries(base_url: str) -> list[FeedEntry]:
    """A real DWN article plus one item whose link answers 404."""
    real = entry_for(article_by_slug("putin-keine-farbenrevolution"), base_url)
    missing = FeedEntry(
        title="Dieser Artikel wurde entfernt",
        link=base_url + MISSING_ARTICLE_PATH,
        rss_guid="faults-does-not-exist",
        atom_id="tag:samplesite.invalid,2022-01-11:faults-does-not-exist",
        published=datetime(2022, 1, 11, 8, 0, tzinfo=UTC),
        updated=datetime(2022, 1, 11, 8, 0, tzinfo=UTC),
        pubdate_gmt=True,
        summary="Ein Feed-Eintrag, dessen Link ins Leere führt (HTTP 404).",
        author="Agentur-Nachrichten",
        categories=("Test",),
    )
    return [real, missing]


def last_modified(entries: list[FeedEntry]) -> datetime:
    """The newest updated time of ``entries`` (used for Last-Modified / lastBuildDate)."""
    return max(e.updated for e in entries)
