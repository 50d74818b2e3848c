"""Publication and modification dates of an article, found and normalised without network access.

Why a module of its own: generic extractors (trafilatura, htmldate) happily take the newest date
on a page, which on news sites is usually a "Mehr zum Thema" teaser from today, not the article.
Here we trust sources in a fixed order (page metadata, feed entry, visible text near the
headline, URL, HTTP Last-Modified), ignore teaser/related/footer chrome, keep the precision a
source actually states and reject dates that cannot be right (future, too old).

All values are returned as ISO-8601 UTC strings.  Dates without a time of day (precision
"day", "month", "year") are the calendar date at 00:00 UTC: shifting a Berlin calendar day to UTC
would move it to the previous evening and fake a precision we do not have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from dateparser.date import DateDataParser
from lxml.etree import ParserError

PRECISIONS: tuple[str, ...] = ("year", "month", "day", "minute")

CONFIDENCE: dict[str, float] = {
    "json-ld": 0.95,
    "meta": 0.9,
    "feed": 0.8,
    "visible-text": 0.7,
    "url": 0.5,
    "http-header": 0.2,
}
# Which source to name when several state the very same date: the page itself is the primary
# evidence, a feed or header only repeats it.
_ATTRIBUTION_ORDER: tuple[str, ...] = ("json-ld", "meta", "visible-text", "feed", "url", "http-header")

_FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class DateValue:
    """One normalised date with the precision its source actually stated."""

    value: str  # ISO-8601 UTC; coarse precisions are the period start at 00:00 UTC
    precision: str  # "year" | "month" | "day" | "minute"
    source: str  # "json-ld" | "meta" | "feed" | "visible-text" | "url" | "http-header"
    confidence: float  # 0..1, higher for more trusted sources
    raw: str  # the text it came from


@dataclass(frozen=True)
class ArticleDates:
    published: DateValue | None
    modified: DateValue | None


# --------------------------------------------------------------------------- text parsing

# Labels in front of a date make dateparser give up, so they are stripped first.  The kind tells
# whether the labelled date is a modification ("Aktualisiert") or a publication date.
_MODIFIED_LABEL = re.compile(
    r"^\s*(?:zuletzt\s+)?(?:aktualisiert|geändert|bearbeitet|stand|last\s+updated|updated|"
    r"last\s+modified|modified)(?:\s+(?:am|um|on|at))?\s*[:\-–]?\s*",
    re.IGNORECASE,
)
_PUBLISHED_LABEL = re.compile(
    r"^\s*(?:veröffentlicht|erschienen|erstellt|publiziert|datum|published|posted|created|"
    r"date)(?:\s+(?:am|um|on|at))?\s*[:\-–]?\s*",
    re.IGNORECASE,
)

# German numeric dates are day-first; dateparser without a language hint reads 10.01.2022 as
# 1 October, so these are parsed by hand.
_GERMAN_NUMERIC = re.compile(
    r"^(?:[A-Za-zÄÖÜäöü]{2,10}\.?,?\s+)?"  # optional weekday: "Mo.,", "Montag,"
    r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})"
    r"(?:\s*[,|/\-–]?\s*(?:um\s+)?(?P<H>\d{1,2})[:.](?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?:Uhr|h)?)?"
    r"\s*(?P<tz>MEZ|MESZ|CET|CEST|UTC|GMT|Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)
_ISO_YEAR = re.compile(r"^(\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}")
_RELATIVE = re.compile(
    r"\b(?:vor|ago|seit|heute|gestern|vorgestern|today|yesterday|just\s+now|gerade)\b",
    re.IGNORECASE,
)
_RELATIVE_DAYS = re.compile(r"\b(?:tag|tagen|woche|wochen|day|days|week|weeks|heute|gestern|vorgestern|today|yesterday)\b", re.IGNORECASE)
_HAS_YEAR = re.compile(r"(?<!\d)(?:1[89]|2[01])\d{2}(?!\d)")
_HAS_TIME = re.compile(r"(?<![\d.])\d{1,2}:\d{2}(?!\d)|\b\d{1,2}\s*(?:Uhr|am|pm)\b", re.IGNORECASE)

# German (and common) zone abbreviations; dateparser/email know CET but not MEZ/MESZ.
_ZONE_OFFSETS: dict[str, str] = {
    "MEZ": "+01:00",
    "MESZ": "+02:00",
    "CET": "+01:00",
    "CEST": "+02:00",
    "UTC": "+00:00",
    "GMT": "+00:00",
    "Z": "+00:00",
}
_ZONE_WORD = re.compile(r"\b(MESZ|MEZ|CEST|CET)\b")


def strip_label(text: str) -> tuple[str | None, str]:
    """Split a leading label ("Aktualisiert:", "Stand:", "Veröffentlicht am") off a date text.

    Returns (kind, rest) with kind "modified", "published" or None when there was no label.
    """
    for kind, pattern in (("modified", _MODIFIED_LABEL), ("published", _PUBLISHED_LABEL)):
        match = pattern.match(text)
        if match and match.end() < len(text):
            return kind, text[match.end() :].strip()
    return None, text.strip()


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _calendar_iso(year: int, month: int = 1, day: int = 1) -> str:
    """Coarse dates keep their calendar date: 00:00 UTC of that day, no zone shift."""
    return datetime(year, month, day, tzinfo=UTC).isoformat(timespec="seconds")


def _localize(moment: datetime, site_timezone: str) -> datetime:
    """A naive local time is site time, with that zone's DST rule for that date."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(site_timezone))
    return moment


def _zone_offset(token: str | None) -> str | None:
    if not token:
        return None
    upper = token.upper()
    if upper in _ZONE_OFFSETS:
        return _ZONE_OFFSETS[upper]
    digits = token.replace(":", "")
    return f"{digits[:3]}:{digits[3:]}"


def _value(text: str, moment: datetime, precision: str, site_timezone: str) -> DateValue:
    if precision == "minute":
        value = _utc_iso(_localize(moment, site_timezone))
    elif precision == "day":
        value = _calendar_iso(moment.year, moment.month, moment.day)
    elif precision == "month":
        value = _calendar_iso(moment.year, moment.month)
    else:
        value = _calendar_iso(moment.year)
    return DateValue(value=value, precision=precision, source="visible-text", confidence=CONFIDENCE["visible-text"], raw=text)


def _parse_german_numeric(text: str, site_timezone: str) -> DateValue | None:
    """10.01.2022 [10:00 [Uhr]] [MEZ]: always day-first."""
    match = _GERMAN_NUMERIC.match(text)
    if not match:
        return None
    year = int(match["y"])
    year += 2000 if year < 100 else 0
    try:
        if match["H"] is None:
            return _value(text, datetime(year, int(match["m"]), int(match["d"])), "day", site_timezone)
        moment = datetime(year, int(match["m"]), int(match["d"]), int(match["H"]), int(match["M"]), int(match["S"] or 0))
    except ValueError:
        return None
    offset = _zone_offset(match["tz"])
    if offset:
        moment = datetime.fromisoformat(moment.isoformat() + offset)
    return _value(text, moment, "minute", site_timezone)


def _parse_iso(text: str, site_timezone: str) -> DateValue | None:
    """ISO-8601 forms, keeping their precision: 2022, 2022-01, 2022-01-08, 2022-01-08T09:14+01:00."""
    try:
        if match := _ISO_YEAR.match(text):
            return _value(text, datetime(int(match[1]), 1, 1), "year", site_timezone)
        if match := _ISO_MONTH.match(text):
            return _value(text, datetime(int(match[1]), int(match[2]), 1), "month", site_timezone)
        if match := _ISO_DAY.match(text):
            return _value(text, datetime(int(match[1]), int(match[2]), int(match[3])), "day", site_timezone)
        if _ISO_DATETIME.match(text):
            return _value(text, datetime.fromisoformat(text), "minute", site_timezone)
    except ValueError:
        return None
    return None


def _replace_zone_words(text: str) -> str:
    """MEZ/MESZ (and CET/CEST) become numeric offsets that every parser understands."""
    return _ZONE_WORD.sub(lambda m: _ZONE_OFFSETS[m[1]].replace(":", ""), text)


def _parse_rfc822(text: str, site_timezone: str) -> DateValue | None:
    """RSS pubDate: "Mon, 10 Jan 2022 10:00:00 MEZ"."""
    if not _RFC822.match(text):
        return None
    try:
        moment = parsedate_to_datetime(_replace_zone_words(text))
    except (TypeError, ValueError, IndexError):
        return None
    return _value(text, moment, "minute", site_timezone)


def _parse_relative(text: str, now: datetime | None, languages: tuple[str, ...], site_timezone: str) -> DateValue | None:
    """"vor 3 Stunden" only means something relative to a known moment; without one, reject."""
    if now is None:
        return None
    base = _localize(now, site_timezone).astimezone(ZoneInfo(site_timezone)).replace(tzinfo=None)
    parser = DateDataParser(languages=list(languages), settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"})
    data = parser.get_date_data(text)
    if data.date_obj is None:
        return None
    precision = "day" if _RELATIVE_DAYS.search(text) else "minute"
    return _value(text, data.date_obj, precision, site_timezone)


def _parse_with_dateparser(text: str, languages: tuple[str, ...], site_timezone: str) -> DateValue | None:
    """Written-out dates ("7. Januar 2022, 14:32 Uhr"); a year must be present, never guessed."""
    if not _HAS_YEAR.search(text):
        return None
    parser = DateDataParser(
        languages=list(languages),
        settings={"DATE_ORDER": "DMY", "REQUIRE_PARTS": ["year", "month"], "PREFER_DAY_OF_MONTH": "first"},
    )
    cleaned = re.sub(r"\s*Uhr\b", "", _replace_zone_words(text), flags=re.IGNORECASE)
    try:
        data = parser.get_date_data(cleaned)
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None:
        return None
    if _HAS_TIME.search(text):
        precision = "minute"
    else:
        precision = data.period if data.period in ("year", "month") else "day"
    return _value(text, data.date_obj, precision, site_timezone)


def parse_date_text(
    text: str,
    *,
    site_timezone: str = "Europe/Berlin",
    languages: tuple[str, ...] = ("de", "en"),
    now: datetime | None = None,
) -> DateValue | None:
    """Parse one date text (possibly labelled) into a UTC DateValue with honest precision.

    The returned source is "visible-text"; callers that know better re-label it.  Relative dates
    are resolved against ``now`` or rejected; nothing is fuzzy-parsed out of longer prose.
    """
    if not text or not text.strip():
        return None
    _, body = strip_label(" ".join(text.split()))
    if not body or len(body) > 80 or not re.search(r"\d|heute|gestern|today|yesterday", body, re.IGNORECASE):
        return None
    if _RELATIVE.search(body):
        return _parse_relative(body, now, languages, site_timezone)
    for parse in (_parse_iso, _parse_german_numeric, _parse_rfc822):
        result = parse(body, site_timezone)
        if result is not None:
            return replace(result, raw=text)
    result = _parse_with_dateparser(body, languages, site_timezone)
    return replace(result, raw=text) if result else None


# --------------------------------------------------------------------------- page scanning

_BOILERPLATE_TOKENS = frozenset(
    {
        "teaser", "teasers", "related", "more", "mehr", "aside", "footer", "nav", "navigation",
        "sidebar", "newsletter", "recommended", "recommendations", "empfehlungen", "weitere",
        "breadcrumb", "breadcrumbs", "comments", "kommentare", "cookie", "cmp", "promo", "ad", "ads",
        "menu", "topics", "trending",
    }
)
_BOILERPLATE_TAGS = frozenset({"aside", "footer", "nav", "script", "style", "noscript", "template"})
_RELATED_HEADINGS = re.compile(
    r"^\s*(?:mehr zum thema|das könnte sie auch interessieren|weitere artikel|auch interessant|"
    r"lesen sie auch|related|more on this|read more)\b",
    re.IGNORECASE,
)
_AS_OF = re.compile(r"^\s*stand\b", re.IGNORECASE)
_TOKEN_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
_HEADER_TAGS = frozenset({"article", "header", "main"})
_MAX_TEXT = 80
_MAX_DISTANCE = 60  # elements between headline and a visible date, beyond which it is not "near"


_TOKEN_ATTRIBUTES = ("class", "id", "aria-label", "role")


def _attribute_tokens(element: Any) -> set[str]:
    attrib = element.attrib
    if not attrib:
        return set()
    raw = " ".join(attrib.get(name, "") for name in _TOKEN_ATTRIBUTES)
    return {token.lower() for token in _TOKEN_SPLIT.split(raw) if token}


def _is_boilerplate(element: Any) -> bool:
    """Teasers, related lists, footers and navigation carry other articles' dates."""
    if not isinstance(element.tag, str):
        return True
    if element.tag in _BOILERPLATE_TAGS:
        return True
    if _attribute_tokens(element) & _BOILERPLATE_TOKENS:
        return True
    return any(
        isinstance(child.tag, str)
        and child.tag in {"h2", "h3", "h4", "div", "p", "span"}
        and _RELATED_HEADINGS.match(child.text_content() or "")
        and len(child.text_content()) < 60
        for child in element[:3]
    )


def _parse_html(html: str) -> Any | None:
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return None


def _drop_boilerplate(root: Any) -> None:
    """Remove chrome subtrees in place so no later step can see their dates.

    Document order, and the inside of a removed subtree is not visited (it is gone from the page;
    a menu of 200 links costs one check, not 201)."""
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        if _is_boilerplate(element):
            element.drop_tree()
        else:
            stack.extend(reversed(element))


def _jsonld_items(root: Any) -> Iterator[dict[str, Any]]:
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content())
        except (ValueError, TypeError):
            continue
        yield from _flatten_jsonld(data)


def _flatten_jsonld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_jsonld(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _flatten_jsonld(data["@graph"])


def _is_article_type(item: dict[str, Any]) -> bool:
    types = item.get("@type", [])
    names = [types] if isinstance(types, str) else list(types) if isinstance(types, list) else []
    return any(str(name).endswith("Article") or name in {"BlogPosting", "Report", "LiveBlogPosting"} for name in names)


def _jsonld_dates(root: Any, url: str) -> tuple[list[str], list[str]]:
    """datePublished/dateModified of the article's own JSON-LD (the one for this URL if several)."""
    articles = [item for item in _jsonld_items(root) if _is_article_type(item)]
    own = [a for a in articles if url and (a.get("url") == url or url in json.dumps(a.get("mainEntityOfPage", "")))]
    chosen = (own or articles)[:1]
    published = [str(a["datePublished"]) for a in chosen if a.get("datePublished")]
    modified = [str(a["dateModified"]) for a in chosen if a.get("dateModified")]
    return published, modified


_META_PUBLISHED = frozenset(
    {
        "article:published_time", "og:article:published_time", "og:published_time", "datepublished",
        "date", "dc.date", "dc.date.issued", "dcterms.created", "dcterms.issued", "pubdate",
        "publishdate", "publish-date", "parsely-pub-date", "sailthru.date", "date.available",
    }
)
_META_MODIFIED = frozenset(
    {
        "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
        "dcterms.modified", "last-modified", "lastmod", "dc.date.modified",
    }
)


def _meta_dates(root: Any) -> tuple[list[str], list[str]]:
    """<meta> tags, itemprop values and <time datetime> inside the article/header."""
    published: list[str] = []
    modified: list[str] = []
    for meta in root.xpath("//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _META_PUBLISHED:
            published.append(meta.get("content"))
        elif key in _META_MODIFIED:
            modified.append(meta.get("content"))
    for element in root.xpath("//*[@itemprop='datePublished' or @itemprop='dateModified'][not(self::meta)]"):
        value = element.get("datetime") or element.get("content") or element.text_content()
        (published if element.get("itemprop") == "datePublished" else modified).append(value)
    for time in root.xpath("//article//time[@datetime] | //header//time[@datetime]"):
        if time.get("itemprop"):
            continue
        kind, _ = strip_label(" ".join(time.xpath("string(..)").split()))
        (modified if kind == "modified" else published).append(time.get("datetime"))
    return published, modified


def _headline(root: Any) -> Any | None:
    """The article's h1: the first one inside an <article>, else the first on the page."""
    for path in ("//article//h1", "//main//h1", "//h1"):
        found = root.xpath(path)
        if found:
            return found[0]
    return None


def _scope(headline: Any) -> Any:
    """The container around the headline whose short texts may hold the article's dates."""
    node = headline.getparent()
    while node is not None and node.tag not in _HEADER_TAGS and node.getparent() is not None:
        node = node.getparent()
    if node is None or node.getparent() is None:
        return headline.getparent()
    if node.tag == "header" and node.getparent() is not None and node.getparent().tag in _HEADER_TAGS:
        return node.getparent()
    return node


def _short_texts(scope: Any) -> Iterator[tuple[int, Any, str]]:
    """Deepest elements whose whole text is short: date lines, not body paragraphs."""
    for index, element in enumerate(scope.iter()):
        if not isinstance(element.tag, str):
            continue
        text = " ".join(element.text_content().split())
        if not text or len(text) > _MAX_TEXT or not re.search(r"\d", text):
            continue
        if any(" ".join(child.text_content().split()) == text for child in element if isinstance(child.tag, str)):
            continue
        yield index, element, text


def _visible_dates(
    root: Any, site_timezone: str, languages: tuple[str, ...], now: datetime | None
) -> tuple[list[DateValue], list[DateValue]]:
    """Dates written near the headline, nearest first, split by their label."""
    headline = _headline(root)
    if headline is None:
        return [], []
    scope = _scope(headline)
    order = {element: index for index, element in enumerate(scope.iter())}
    anchor = order.get(headline, 0)
    found: list[tuple[int, str | None, DateValue]] = []
    for index, _element, text in _short_texts(scope):
        distance = abs(index - anchor)
        if distance > _MAX_DISTANCE:
            continue
        parsed = parse_date_text(text, site_timezone=site_timezone, languages=languages, now=now)
        if parsed is not None:
            kind, _ = strip_label(text)
            found.append((distance, kind, parsed))
    found.sort(key=lambda item: item[0])
    published = [value for _, kind, value in found if kind != "modified"]
    modified = [value for _, kind, value in found if kind == "modified"]
    # "Stand: ..." is the last update, but on sites that show nothing else it is also the only
    # statement of when the article went out: a last-resort publication candidate.
    published += [value for value in modified if _AS_OF.match(value.raw)]
    return published, modified


_URL_DAY = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|[-_]|$)")
_URL_MONTH = re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/")


def _url_date(url: str) -> DateValue | None:
    """/2022/01/10/ (day) or /2022/01/ (month) in the path."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "")
    try:
        if match := _URL_DAY.search(path):
            value = _calendar_iso(int(match[1]), int(match[2]), int(match[3]))
            return DateValue(value, "day", "url", CONFIDENCE["url"], match[0])
        if match := _URL_MONTH.search(path):
            value = _calendar_iso(int(match[1]), int(match[2]))
            return DateValue(value, "month", "url", CONFIDENCE["url"], match[0])
    except ValueError:
        return None
    return None


# --------------------------------------------------------------------------- choosing


def _as_source(texts: Iterable[str | None], source: str, site_timezone: str) -> list[DateValue]:
    values = []
    for text in texts:
        if not text:
            continue
        parsed = parse_date_text(text, site_timezone=site_timezone)
        if parsed is not None:
            values.append(replace(parsed, source=source, confidence=CONFIDENCE[source]))
    return values


def _start(value: DateValue) -> datetime:
    return datetime.fromisoformat(value.value)


def is_plausible(value: DateValue, *, now: datetime, allow_before: int) -> bool:
    """Not more than a day in the future and not before ``allow_before``: anything else is a
    copyright year, a teaser, a birthday in the text or a broken CMS default."""
    start = _start(value)
    return start.year >= allow_before and start <= now + _FUTURE_TOLERANCE


def _local_parts(value: DateValue, site_timezone: str) -> tuple[int, int, int]:
    """Calendar date as the site sees it (minute values are converted back to site time)."""
    moment = _start(value)
    if value.precision == "minute":
        moment = moment.astimezone(ZoneInfo(site_timezone))
    return moment.year, moment.month, moment.day


def _agrees(coarse: DateValue, fine: DateValue, site_timezone: str) -> bool:
    """Does ``fine`` fall into the period ``coarse`` states?"""
    depth = {"year": 1, "month": 2, "day": 3, "minute": 3}[coarse.precision]
    if coarse.precision == "minute":
        return coarse.value == fine.value
    return _local_parts(coarse, site_timezone)[:depth] == _local_parts(fine, site_timezone)[:depth]


def _choose(candidates: list[DateValue], site_timezone: str) -> DateValue | None:
    """The most trusted candidate, refined by a less trusted one that agrees but is more precise
    (JSON-LD "2022-01-08" + feed "2022-01-08T09:14+01:00" -> the feed's minute)."""
    if not candidates:
        return None
    best = candidates[0]
    for candidate in candidates[1:]:
        if PRECISIONS.index(candidate.precision) > PRECISIONS.index(best.precision) and _agrees(best, candidate, site_timezone):
            best = candidate
    same = [c for c in candidates if c.value == best.value and c.precision == best.precision]
    named = min(same, key=lambda c: _ATTRIBUTION_ORDER.index(c.source))
    confidence = min(1.0, max(c.confidence for c in same) + 0.05 * (len({c.source for c in same}) - 1))
    return replace(named, confidence=round(confidence, 3))


def _normalise_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def find_dates(
    html: str | lxml.html.HtmlElement,
    *,
    url: str,
    feed_published: str | None = None,
    feed_updated: str | None = None,
    http_last_modified: str | None = None,
    site_timezone: str = "Europe/Berlin",
    now: datetime | None = None,
    allow_before: int = 1990,
) -> ArticleDates:
    """Publication and modification date of one article page.

    Trust order: JSON-LD, meta tags, feed entry, visible text near the headline, URL, HTTP
    Last-Modified.  Teaser/related/footer chrome is removed before anything is read.  A
    modification date is only kept if it is later than the publication date.

    ``html`` may be the page already parsed (``pipeline.extract.parse_page``): it is read as it is
    and its chrome removed in place, so pass a copy of a tree that is still needed.
    """
    moment = _normalise_now(now)
    languages = ("de", "en")
    root = html if isinstance(html, lxml.html.HtmlElement) else _parse_html(html)
    ld_pub: list[str] = []
    ld_mod: list[str] = []
    meta_pub: list[str] = []
    meta_mod: list[str] = []
    vis_pub: list[DateValue] = []
    vis_mod: list[DateValue] = []
    if root is not None:
        ld_pub, ld_mod = _jsonld_dates(root, url)
        _drop_boilerplate(root)
        meta_pub, meta_mod = _meta_dates(root)
        vis_pub, vis_mod = _visible_dates(root, site_timezone, languages, moment)
    url_value = _url_date(url)

    def plausible(values: list[DateValue]) -> list[DateValue]:
        return [v for v in values if is_plausible(v, now=moment, allow_before=allow_before)]

    published_candidates = plausible(
        _as_source(ld_pub, "json-ld", site_timezone)
        + _as_source(meta_pub, "meta", site_timezone)
        + _as_source([feed_published], "feed", site_timezone)
        + vis_pub[:1]
        + ([url_value] if url_value else [])
        + _as_source([http_last_modified], "http-header", site_timezone)
    )
    modified_candidates = plausible(
        _as_source(ld_mod, "json-ld", site_timezone)
        + _as_source(meta_mod, "meta", site_timezone)
        + _as_source([feed_updated], "feed", site_timezone)
        + vis_mod[:1]
        + _as_source([http_last_modified], "http-header", site_timezone)
    )
    published = _choose(published_candidates, site_timezone)
    modified = _choose(modified_candidates, site_timezone)
    if modified is not None and published is not None and _start(modified) <= _start(published):
        modified = None
    return ArticleDates(published=published, modified=modified)
