"""The sample site's archive, for backfill tests and demos: three archive days with their own
article pages (built from the seed paragraphs), a sitemap index with per-day sitemaps (one of
them gzip-compressed) and ``lastmod`` dates, a flat sitemap, and date-templated day pages
(``/archiv/2022/01/10/``, the first day split over two pages with ``rel="next"``).

The three seed articles published on the first day are listed on that day too, under their
usual URLs, so a backfill overlaps with what the feeds deliver (same document ids).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from pipeline.samplesite.articles import SampleArticle, load_articles

ARCHIVE_DAYS: tuple[date, ...] = (date(2022, 1, 10), date(2022, 1, 11), date(2022, 1, 12))
SITE_ZONE = ZoneInfo("Europe/Berlin")
SITEMAP_INDEX_PATH = "/sitemap.xml"
SITEMAP_ALL_PATH = "/sitemaps/all.xml"
SITEMAP_PAGES_PATH = "/sitemaps/pages.xml"  # static pages, last changed long before the archive days
ARCHIVE_ARTICLE_PREFIX = "/archiv/artikel/"
DAY_PAGE_SIZE = 4  # links per day page; the first day (6 links) needs a second page
ARTICLES_PER_DAY = 3

_TITLES = (
    "Kasachstan: Lage nach den Unruhen bleibt angespannt",
    "Moskau verteidigt Einsatz der OVKS-Truppen",
    "Tokajew kündigt harte Linie gegen Demonstranten an",
    "Festnahmen und Tote: Behörden legen neue Zahlen vor",
    "Kreml warnt vor Einmischung von außen",
    "Almaty nach den Protesten: Aufräumen und Angst",
    "OVKS-Soldaten sichern strategische Objekte",
    "Analyse: Was Putin mit den Revolutionen meint",
    "Kasachstan zwischen Gaspreisen und Machtkampf",
)


@dataclass(frozen=True)
class ArchiveArticle:
    """One archive-only article page: its day, path, title, body paragraphs and times (local)."""

    slug: str
    day: date
    path: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    modified: datetime | None
    source_slug: str  # the seed article its paragraphs come from

    @property
    def lastmod(self) -> datetime:
        return self.modified or self.published


@dataclass(frozen=True)
class DayEntry:
    """One URL listed for an archive day (an archive article or a seed article of that day)."""

    path: str
    title: str
    lastmod: datetime
    published: datetime


def _body_paragraphs(article: SampleArticle) -> list[str]:
    return [p for p in article.paragraphs if p not in article.subheadings]


@cache
def archive_articles() -> tuple[ArchiveArticle, ...]:
    """Nine articles, three per archive day; each takes a different run of a seed's paragraphs."""
    seeds = load_articles()
    out = []
    for n, title in enumerate(_TITLES):
        day = ARCHIVE_DAYS[n // ARTICLES_PER_DAY]
        seed = seeds[n % len(seeds)]
        paras = _body_paragraphs(seed)
        start = (1 + n // len(seeds)) % len(paras)  # rotated: no archive body equals its seed's
        chosen = paras[start:] + paras[:start]
        slug = f"{day.isoformat()}-{seed.slug}-{n}"
        published = datetime(day.year, day.month, day.day, 7 + 4 * (n % ARTICLES_PER_DAY), 15, tzinfo=SITE_ZONE)
        modified = published + timedelta(hours=1, minutes=5) if n % 2 else None
        out.append(ArchiveArticle(
            slug=slug, day=day, path=f"{ARCHIVE_ARTICLE_PREFIX}{slug}.html", title=title,
            paragraphs=tuple(chosen), published=published, modified=modified, source_slug=seed.slug,
        ))
    return tuple(out)


def archive_article_by_path(path: str) -> ArchiveArticle | None:
    return next((a for a in archive_articles() if a.path == path), None)


def day_entries(day: date) -> list[DayEntry]:
    """Every URL of ``day``: the seed articles published that day, then the archive articles."""
    entries = []
    for seed in load_articles():
        published = seed.published_at.astimezone(SITE_ZONE)
        if published.date() == day:
            modified = seed.modified_at.astimezone(SITE_ZONE) if seed.modified_at else None
            entries.append(DayEntry(seed.path, seed.title, modified or published, published))
    entries += [DayEntry(a.path, a.title, a.lastmod, a.published) for a in archive_articles() if a.day == day]
    return entries


def day_page_path(day: date) -> str:
    return f"/archiv/{day:%Y/%m/%d}/"


def day_sitemap_path(day: date) -> str:
    """Per-day sitemaps; the last day's is served gzip-compressed (``.xml.gz``)."""
    return f"/sitemaps/{day.isoformat()}.xml" + (".gz" if day == ARCHIVE_DAYS[-1] else "")


def parse_day_page_path(path: str) -> date | None:
    """The day of ``/archiv/YYYY/MM/DD/`` (trailing slash optional), else None."""
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "archiv" or not all(p.isdigit() for p in parts[1:]):
        return None
    try:
        return date(int(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None


def day_sitemap_day(path: str) -> date | None:
    return next((d for d in ARCHIVE_DAYS if day_sitemap_path(d) == path), None)


def gzip_bytes(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)


# -- rendering ------------------------------------------------------------------------------------


def render_archive_article(article: ArchiveArticle, base_url: str) -> str:
    """A full article page (JSON-LD dates, canonical link, navigation, footer) under ``base_url``."""
    from pipeline.samplesite.render import _env

    json_ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "url": base_url + article.path,
        "inLanguage": "de",
        "datePublished": article.published.isoformat(),
        **({"dateModified": article.modified.isoformat()} if article.modified else {}),
        "publisher": {"@type": "Organization", "name": "Sample-Archiv"},
    }
    return _env().get_template("archive/article.html").render(
        a=article, canonical=base_url + article.path, json_ld=json_ld,
        day_page=day_page_path(article.day),
    )


def render_day_page(day: date, page: int) -> tuple[str, bool]:
    """The archive page of ``day`` (1-based ``page``); False when the page does not exist."""
    from pipeline.samplesite.render import _env

    entries = day_entries(day)
    pages = max(1, -(-len(entries) // DAY_PAGE_SIZE))
    if day not in ARCHIVE_DAYS or not 1 <= page <= pages:
        return "", False
    shown = entries[(page - 1) * DAY_PAGE_SIZE: page * DAY_PAGE_SIZE]
    base = day_page_path(day)
    html = _env().get_template("archive/day.html").render(
        day=day, entries=shown, page=page, pages=pages,
        prev_day=day_page_path(day - timedelta(days=1)), next_day=day_page_path(day + timedelta(days=1)),
        next_page=f"{base}?page={page + 1}" if page < pages else None,
        prev_page=(base if page == 2 else f"{base}?page={page - 1}") if page > 1 else None,
    )
    return html, True


def _w3c(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def render_day_sitemap(day: date, base_url: str) -> str:
    """A urlset with ``lastmod`` and Google News tags for every URL of ``day``."""
    from pipeline.samplesite.render import _env

    return _env().get_template("archive/urlset.xml").render(
        entries=[(base_url + e.path, _w3c(e.lastmod), _w3c(e.published), e.title) for e in day_entries(day)],
    )


def render_all_sitemap(base_url: str) -> str:
    """One flat urlset over all archive days (``lastmod`` only, no news tags)."""
    from pipeline.samplesite.render import _env

    entries = [(base_url + e.path, _w3c(e.lastmod), None, None) for d in ARCHIVE_DAYS for e in day_entries(d)]
    return _env().get_template("archive/urlset.xml").render(entries=entries)


def render_pages_sitemap(base_url: str) -> str:
    from pipeline.samplesite.render import _env

    return _env().get_template("archive/urlset.xml").render(entries=[(base_url + "/", "2021-06-01T00:00:00+02:00", None, None)])


def render_sitemap_index(base_url: str) -> str:
    """The per-day sitemaps with the newest ``lastmod`` of each, plus the static-pages sitemap."""
    from pipeline.samplesite.render import _env

    sitemaps = [(base_url + SITEMAP_PAGES_PATH, "2021-06-01T00:00:00+02:00")]
    sitemaps += [(base_url + day_sitemap_path(d), _w3c(max(e.lastmod for e in day_entries(d)))) for d in ARCHIVE_DAYS]
    return _env().get_template("archive/sitemapindex.xml").render(sitemaps=sitemaps)
