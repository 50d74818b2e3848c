"""Publication and modification dates of an article, found and normalised without network access.

Why a module of its own: generic extractors (trafilatura, htmldate) happily take the newest date
on a page, which on news sites is usually a "Mehr zum Thema" teaser from today, not the article.
Here we trust sources in a fixed order (page metadata, feed entry, visible text near the
headline, URL, HTTP Last-Modified), ignore teaser/related/footer chrome, keep the precision a
source actually states and reject dates that cannot be right (future, too old).

All values are returned as ISO-8601 UTC strings.  Dates without a time of day (precision
"day", "month", "year") are the calendar date at 00:00 UTC: shifting a Berlin calendar day to UTC
would move it to the previous evening and fake a precision we do not have.

Besides the instant, each value keeps the publication's own calendar day and UTC offset as
written (``day``, ``offset``): a Tokyo article of 08:00 +09:00 was published on the Tokyo day,
though its UTC instant falls on the day before.  htmldate is one more source of evidence with its
own provenance ("htmldate"), asked in its fast mode on the tree already parsed; relative dates
("vor 5 Stunden") are resolved against the fetch time, never the wall clock.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from dateparser.date import DateDataParser
from lxml import etree
from lxml.etree import ParserError

log = logging.getLogger(__name__)

PRECISIONS: tuple[str, ...] = ("year", "month", "day", "minute")

CONFIDENCE: dict[str, float] = {
    "json-ld": 0.95,
    "meta": 0.9,
    "feed": 0.8,
    "visible-text": 0.7,
    "generic-meta": 0.65,
    "htmldate": 0.6,
    "url": 0.5,
    "feed-updated": 0.3,
    "http-header": 0.2,
}
# Which source to name when several state the very same date: the page itself is the primary
# evidence, a feed or header only repeats it.
_ATTRIBUTION_ORDER: tuple[str, ...] = (
    "json-ld", "meta", "visible-text", "feed", "url", "htmldate", "feed-updated", "http-header",
)

_FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class DateValue:
    """One normalised date with the precision its source actually stated."""

    value: str  # ISO-8601 UTC; coarse precisions are the period start at 00:00 UTC
    precision: str  # "year" | "month" | "day" | "minute"
    source: str  # "json-ld" | "meta" | "feed" | "visible-text" | "htmldate" | "url" | "feed-updated" | "http-header"
    confidence: float  # 0..1, higher for more trusted sources
    raw: str  # the text it came from
    # The publication's local calendar day (YYYY-MM-DD; period start for coarse precisions) and
    # UTC offset ("+09:00") as written; None when the source states no offset. Not part of
    # equality: two values of the same instant are the same date.
    day: str | None = field(default=None, compare=False)
    offset: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ArticleDates:
    published: DateValue | None
    modified: DateValue | None
    # every plausible publication candidate in trust order (provenance, debugging); not compared
    candidates: tuple[DateValue, ...] = field(default=(), compare=False, repr=False)


# --------------------------------------------------------------------------- text parsing

# Labels in front of a date make dateparser give up, so they are stripped first.  The kind tells
# whether the labelled date is a modification ("Aktualisiert") or a publication date.
_MODIFIED_LABEL = re.compile(
    r"^\s*(?:zuletzt\s+)?(?:aktualisiert|geändert|bearbeitet|stand|letzte\s+änderung|last\s+updated|updated|"
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


def _format_offset(delta: timedelta | None) -> str | None:
    if delta is None:
        return None
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _value(text: str, moment: datetime, precision: str, site_timezone: str) -> DateValue:
    """The UTC instant plus the day and offset as written (a naive time is site time)."""
    if precision == "minute":
        local = _localize(moment, site_timezone)
        value = _utc_iso(local)
        day, offset = moment.date().isoformat(), _format_offset(local.utcoffset())
    elif precision == "day":
        value = _calendar_iso(moment.year, moment.month, moment.day)
        day, offset = value[:10], None
    elif precision == "month":
        value = _calendar_iso(moment.year, moment.month)
        day, offset = value[:10], None
    else:
        value = _calendar_iso(moment.year)
        day, offset = value[:10], None
    return DateValue(
        value=value, precision=precision, source="visible-text", confidence=CONFIDENCE["visible-text"], raw=text,
        day=day, offset=offset,
    )


# 01/10/2022 [10:00 [pm]]: day-first or month-first by the page's locale, unless a part > 12 says.
_SLASH_NUMERIC = re.compile(
    r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s*[,T]?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?)?\s*$",
    re.IGNORECASE,
)


def _parse_slash_numeric(text: str, site_timezone: str, date_order: str) -> DateValue | None:
    match = _SLASH_NUMERIC.match(text)
    if not match:
        return None
    a, b = int(match["a"]), int(match["b"])
    month_first = b > 12 or (a <= 12 and date_order == "MDY")
    month, day = (a, b) if month_first else (b, a)
    try:
        if match["H"] is None:
            return _value(text, datetime(int(match["y"]), month, day), "day", site_timezone)
        hour = int(match["H"])
        if match["ampm"]:
            hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
        moment = datetime(int(match["y"]), month, day, hour, int(match["M"]), int(match["S"] or 0))
    except ValueError:
        return None
    return _value(text, moment, "minute", site_timezone)


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
    # "gestern, 18:40 Uhr" states its minute; a bare "gestern" only its day
    precision = "day" if _RELATIVE_DAYS.search(text) and not _HAS_TIME.search(text) else "minute"
    return _value(text, data.date_obj, precision, site_timezone)


def _parse_with_dateparser(
    text: str, languages: tuple[str, ...], site_timezone: str, date_order: str = "DMY"
) -> DateValue | None:
    """Written-out dates ("7. Januar 2022, 14:32 Uhr"); a year must be present, never guessed."""
    if not _HAS_YEAR.search(text):
        return None
    parser = DateDataParser(
        languages=list(languages),
        settings={"DATE_ORDER": date_order, "REQUIRE_PARTS": ["year", "month"], "PREFER_DAY_OF_MONTH": "first"},
    )
    cleaned = re.sub(r"\s*Uhr\b", "", _replace_zone_words(text), flags=re.IGNORECASE)
    try:
        data = parser.get_date_data(cleaned)
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None or str(data.date_obj.year) not in text:
        return None  # "2 min 04.04.2020" came back as today: a date must keep the year it states
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
    date_order: str = "DMY",
) -> DateValue | None:
    """Parse one date text (possibly labelled) into a UTC DateValue with honest precision.

    The returned source is "visible-text"; callers that know better re-label it.  Relative dates
    are resolved against ``now`` (the fetch time) or rejected; nothing is fuzzy-parsed out of
    longer prose.  ``date_order`` ("DMY" or "MDY", from the page's locale) decides numeric dates
    like 01/10/2022 only when neither part is above 12.
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
    embedded = _embedded_date(body, site_timezone)
    if embedded is not None:
        value, prefix = embedded
        if not re.search(r"\d", prefix + body[len(prefix) + len(value.raw):]):
            return replace(value, raw=text)  # the whole date is in the regex's grasp: no dateparser
    result = _parse_slash_numeric(body, site_timezone, date_order) or _parse_with_dateparser(
        body, languages, site_timezone, date_order
    )
    return replace(result, raw=text) if result else None


# --------------------------------------------------------------------------- dates inside a line

# A date line often carries more than the date: "Von Christian am 03.05.2013, 11:51 | 0 Meinungen",
# "Hamburg, 2. November 2021", "Handball Schweiz • 02.02.2022".  These patterns find a full date
# (day, month and year written out) inside such a line, cheaply and without guessing: no bare
# years, no month-only dates, nothing relative.
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "januar jan january jänner jaenner", "februar feb february feber", "märz mär maerz march mar",
        "april apr", "mai may", "juni jun june", "juli jul july", "august aug",
        "september sep sept", "oktober okt october oct", "november nov", "dezember dez december dec",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_TIME_TAIL = (
    r"(?:\s*(?:,|\||-|–|/|um|at|à)?\s*(?P<H>\d{1,2})[:.](?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?(?:\s*(?:Uhr|h))?(?:\s*(?P<tz>MESZ|MEZ|CEST|CET|UTC|GMT))?(?![\d:]))?"
)
_EMBEDDED: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern + _TIME_TAIL, re.IGNORECASE)
    for pattern in (
        r"(?<![\d.])(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})(?![\d])",
        r"(?<![\d.])(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>(?:19|20)\d{2})(?!\d)",
        r"(?<![\d.])(?P<d>\d{2})\.(?P<m>\d{2})\.(?P<yy>\d{2})(?![\d.])",
        rf"(?<![\d.])(?P<d>\d{{1,2}})\.?\s*(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)",
        rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)",
    )
)
_DATE_HINT = re.compile(r"\d{1,2}[./-]\s?\d{1,2}[./-]|\d{4}")


def _embedded_date(text: str, site_timezone: str) -> tuple[DateValue, str] | None:
    """The first full date written inside ``text`` and the text in front of it (for its label)."""
    best: re.Match[str] | None = None
    for pattern in _EMBEDDED:
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return None
    parts = best.groupdict()
    year = int(parts["y"]) if parts.get("y") else 2000 + int(parts["yy"])
    month = _MONTHS.get(parts["mon"].lower()) if parts.get("mon") else int(parts["m"])
    if month is None:
        return None
    try:
        if parts["H"] is None:
            value = _value(best[0], datetime(year, month, int(parts["d"])), "day", site_timezone)
        else:
            hour = int(parts["H"])
            if parts["ampm"]:
                hour = hour % 12 + (12 if parts["ampm"].lower().startswith("p") else 0)
            moment = datetime(year, month, int(parts["d"]), hour, int(parts["M"]), int(parts["S"] or 0))
            offset = _zone_offset(parts["tz"])
            if offset:
                moment = datetime.fromisoformat(moment.isoformat() + offset)
            value = _value(best[0], moment, "minute", site_timezone)
    except ValueError:
        return None
    return value, text[: best.start()]


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
_HEADING_TAGS = frozenset({"h2", "h3", "h4", "div", "p", "span"})
_AS_OF = re.compile(r"^\s*stand\b|\bstand\s*[:\-–]", re.IGNORECASE)
_TOKEN_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
_HEADER_TAGS = frozenset({"article", "header", "main"})
_MAX_TEXT = 80
_MAX_DISTANCE = 60  # elements between headline and a visible date, beyond which it is not "near"
# Class/id words of an element that holds the article's date line: a year or month written there
# is a date statement, not a number in a link or an accordion label.
_DATE_TOKENS = frozenset(
    {
        "date", "datum", "time", "zeit", "published", "publish", "pubdate", "posted", "dateline",
        "meta", "byline", "info", "timestamp", "datetime", "created", "erstellt", "veroeffentlicht",
    }
)
# A short text under one of these is a control or a link, never the article's own date line.
_NO_DATE_TAGS = frozenset({"a", "button", "summary", "label", "option", "select", "li"})
_NO_DATE_TOKENS = frozenset({"accordion", "toggle", "tab", "tabs", "collapse", "dropdown", "pagination"})


_TOKEN_ATTRIBUTES = frozenset(("class", "id", "aria-label", "role"))


def _attribute_tokens(element: Any) -> frozenset[str]:
    """The words of an element's class, id, aria-label and role (one ``items()`` call: each
    ``get`` of an lxml attribute costs as much as reading them all)."""
    values = [value for name, value in element.items() if name in _TOKEN_ATTRIBUTES and value]
    if not values:
        return _NO_TOKENS
    return _tokens(values[0] if len(values) == 1 else " ".join(values))


_NO_TOKENS: frozenset[str] = frozenset()


@lru_cache(maxsize=4096)
def _tokens(raw: str) -> frozenset[str]:
    """Class names repeat within a page and across a site: split each spelling once."""
    return frozenset(token.lower() for token in _TOKEN_SPLIT.split(raw) if token)


def _leading_text(element: Any, limit: int = 60) -> str:
    """The first ``limit`` characters of an element's text: a related-list heading is short, and
    reading the whole text of a big container just to reject it cost 40% of the date stage."""
    parts: list[str] = []
    size = 0
    for piece in element.itertext():
        parts.append(piece)
        size += len(piece)
        if size > limit:
            break
    return "".join(parts)


# Lists of other articles, whose dates are never this article's: all that is removed before
# htmldate's last-resort look at a page that stated no date of its own.
#: "not given" for optional arguments whose None is a meaningful value (a page without headline)
_UNSET: Any = object()

_OTHER_ARTICLES_TOKENS = frozenset(
    {"teaser", "teasers", "related", "more", "mehr", "recommended", "recommendations", "empfehlungen", "weitere",
     "trending"}
)


def _is_boilerplate(element: Any, tokens: frozenset[str] = _BOILERPLATE_TOKENS) -> bool:
    """Teasers, related lists, footers and navigation carry other articles' dates."""
    if not isinstance(element.tag, str):
        return True
    if element.tag in _BOILERPLATE_TAGS:
        return True
    if _attribute_tokens(element) & tokens:
        return True
    if not len(element):
        return False
    for child in element[:3]:
        if child.tag in _HEADING_TAGS:
            first = child.text
            if not first or not first.strip():
                first = next((piece for piece in child.itertext() if piece.strip()), "")
            if _RELATED_HEADINGS.match(first):
                text = _leading_text(child)
                if len(text) < 60 and _RELATED_HEADINGS.match(text):
                    return True
    return False


def _parse_html(html: str) -> Any | None:
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return None


def _drop_boilerplate(
    root: Any, tokens: frozenset[str] = _BOILERPLATE_TOKENS, headline: Any = _UNSET, undo: list[Any] | None = None
) -> None:
    """Remove chrome subtrees in place so no later step can see their dates.

    Document order, and the inside of a removed subtree is not visited (it is gone from the page;
    a menu of 200 links costs one check, not 201).  The body and the containers of the headline
    are never chrome, whatever their classes say: "has-sidebar", "comments-open" or
    "promo-template" on a page's layout wrapper name its neighbours, not itself. ``headline``:
    ``_headline(root)`` when the caller already knows it. ``undo``: each removal is recorded
    there for ``_put_back``."""
    if headline is _UNSET:
        headline = _headline(root)
    keep = set(headline.iterancestors()) if headline is not None else set()
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions hold no date a reader sees
        if (
            element.tag != "body" and element not in keep and _is_boilerplate(element, tokens)
            and not _article_footer(element)
        ):
            if undo is not None:
                undo.append(_detach(element))
            else:
                element.drop_tree()
        elif len(element):
            stack.extend(reversed(element))


def _detach(element: Any) -> tuple[Any, Any, int, Any, str | None]:
    """``drop_tree`` (the element goes, its tail text stays where it was), with what it takes to
    put it back: (element, parent, index, previous sibling, that sibling's tail or the parent's
    text before the tail was joined to it)."""
    parent = element.getparent()
    previous = element.getprevious()
    index = parent.index(element)
    before = previous.tail if previous is not None else parent.text
    element.drop_tree()
    return element, parent, index, previous, before


def _put_back(undo: list[Any]) -> None:
    """Undo ``_detach``es, last first: the page is as it was, text and tails included."""
    while undo:
        element, parent, index, previous, before = undo.pop()
        if previous is not None:
            previous.tail = before
        else:
            parent.text = before
        parent.insert(index, element)


def _article_footer(element: Any) -> bool:
    """An article's own footer ("entry-footer", "rez_footer") holds its date line, not other
    articles' teasers."""
    if element.tag != "footer" and "footer" not in _attribute_tokens(element):
        return False
    if _attribute_tokens(element) & (_BOILERPLATE_TOKENS - {"footer"}):
        return False
    return any(ancestor.tag == "article" for ancestor in element.iterancestors())


def _attached(element: Any, root: Any) -> bool:
    """Is the element still in the page (not inside a subtree removed as chrome)?"""
    node = element
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


# ----- JSON-LD

_JSON_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_JSON_COMMENTS = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|//\s*\]\]>\s*$|^\s*<!--|-->\s*$", re.MULTILINE)
_JSON_DATE_KEY = re.compile(r'"(datePublished|dateModified|dateCreated)"\s*:\s*"([^"]{4,40})"')


def _load_jsonld(text: str) -> Any:
    """JSON-LD as publishers write it: CMS output with CDATA wrappers, trailing commas and raw
    newlines inside strings is still read (json.loads with strict=False, then two repairs)."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    repaired = _JSON_TRAILING_COMMA.sub(r"\1", _JSON_COMMENTS.sub("", text))
    try:
        return json.loads(repaired, strict=False)
    except ValueError:
        return None


def _jsonld_items(root: Any) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Every JSON object of the page's JSON-LD, and for scripts that no repair could read the
    (key, value) date pairs found in their text."""
    items: list[dict[str, Any]] = []
    broken: list[tuple[str, str]] = []
    for script in root.xpath('//script[@type="application/ld+json"]'):
        text = script.text_content()
        if not text or not text.strip():
            continue
        data = _load_jsonld(text)
        if data is None:
            broken.extend((m[1], m[2]) for m in _JSON_DATE_KEY.finditer(text))
            continue
        items.extend(_flatten_jsonld(data))
    return items, broken


def _flatten_jsonld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_jsonld(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _flatten_jsonld(data["@graph"])


def _type_names(item: dict[str, Any]) -> list[str]:
    types = item.get("@type", [])
    return [types] if isinstance(types, str) else [str(t) for t in types] if isinstance(types, list) else []


def _is_article_type(item: dict[str, Any]) -> bool:
    return any(
        name.endswith("Article") or name in {"BlogPosting", "Report", "LiveBlogPosting", "SocialMediaPosting"}
        for name in _type_names(item)
    )


def _is_page_type(item: dict[str, Any]) -> bool:
    """The page node of Yoast's @graph and similar: its datePublished is the article's when no
    Article node states one (listing and search pages are not articles)."""
    return any(
        name.endswith("WebPage") and name not in {"CollectionPage", "SearchResultsPage", "ProfilePage"}
        or name == "ItemPage"
        for name in _type_names(item)
    )


def _own_items(items: list[dict[str, Any]], url: str | None) -> list[dict[str, Any]]:
    own = [a for a in items if url and (a.get("url") == url or url in json.dumps(a.get("mainEntityOfPage", "")))]
    return (own or items)[:1]


def _jsonld_dates(root: Any, url: str | None) -> tuple[list[str], list[str]]:
    """datePublished/dateModified of the article's own JSON-LD (the one for this URL if several);
    a WebPage node's when no Article node states a publication date."""
    items, broken = _jsonld_items(root)
    published: list[str] = []
    modified: list[str] = []
    for accept in (_is_article_type, _is_page_type):
        chosen = _own_items([item for item in items if accept(item) and item.get("datePublished")], url)
        published += [str(a["datePublished"]) for a in chosen]
        modified += [str(a["dateModified"]) for a in chosen if a.get("dateModified")]
        if published:
            break
    if not published:
        modified += [str(a["dateModified"]) for a in _own_items([i for i in items if _is_article_type(i)], url)
                     if a.get("dateModified")]
        published += [value for key, value in broken if key == "datePublished"]
        modified += [value for key, value in broken if key == "dateModified"]
    return published, modified


# ----- meta tags, microdata, <time>, <abbr>

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


_GENERIC_META = frozenset({"date", "dc.date"})


@dataclass
class _RawMarks:
    """Date-bearing elements collected from the page before chrome is removed: chrome removal
    must not delete the page's own microdata, only tell which marks sat in chrome."""

    itemprops: list[Any]
    times: list[Any]
    abbrs: list[Any]


_DATE_ITEMPROPS = frozenset({"datePublished", "dateModified", "dateCreated"})
_MARKS_XPATH = etree.XPath("//*[@itemprop] | //time | //abbr")  # predicates in Python: 4x faster


def _collect_marks(root: Any) -> _RawMarks:
    """One pass over the page (an XPath per kind with predicates cost three times as much)."""
    marks = _RawMarks([], [], [])
    head = root.find("head")
    for element in _MARKS_XPATH(root):
        if element.get("itemprop") in _DATE_ITEMPROPS:
            if not (element.tag == "meta" and head is not None and element.getparent() is head):
                marks.itemprops.append(element)
        elif element.tag == "time" and element.get("datetime"):
            marks.times.append(element)
        elif element.tag == "abbr" and element.get("title") and {"published", "updated"} & set(
            (element.get("class") or "").split()
        ):
            marks.abbrs.append(element)
    return marks


def _mark_value(element: Any) -> str:
    return element.get("datetime") or element.get("content") or element.get("title") or element.text_content()


def _own_marks(elements: list[Any], root: Any, is_published: Callable[[Any], bool]) -> list[Any]:
    """The marks outside chrome; when there are none, those inside it if their publication
    dates all agree (one byline box that a class name made look like chrome, not a teaser list)."""
    kept = [e for e in elements if _attached(e, root)]
    if kept:
        return kept
    stated = {_mark_value(e).strip() for e in elements if is_published(e)}
    return elements if len(stated) <= 1 else []


def _meta_dates(root: Any, marks: _RawMarks) -> tuple[list[str], list[str], list[str], list[str]]:
    """<meta> tags, microdata and <time datetime> inside the article/header, and Blogger's
    ``abbr.published[title]``; microdata is read even where it sat inside chrome when nothing
    outside does (a page's own ``itemprop=datePublished`` in a "related"-classed byline box), as
    long as all of it states one date.  Returns (published, generic, modified, page-wide <time>
    values); generic are the bare ``date``/``dc.date`` tags, which CMSs often fill with the day
    of the last edit or of indexing, so a dateline on the page outranks them."""
    published: list[str] = []
    generic: list[str] = []
    modified: list[str] = []
    for meta in root.xpath("//head//meta[@content] | //meta[@content][not(@itemprop)]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _GENERIC_META:
            generic.append(meta.get("content"))
        elif key in _META_PUBLISHED:
            published.append(meta.get("content"))
        elif key in _META_MODIFIED:
            modified.append(meta.get("content"))
    for element in _own_marks(marks.itemprops, root, lambda e: e.get("itemprop") != "dateModified"):
        value = _mark_value(element)
        (modified if element.get("itemprop") == "dateModified" else published).append(value)
    for abbr in _own_marks(marks.abbrs, root, lambda e: "published" in (e.get("class") or "").split()):
        (published if "published" in (abbr.get("class") or "").split() else modified).append(abbr.get("title"))
    page_times: list[str] = []
    for time in marks.times:
        if time.get("itemprop") or not _attached(time, root):
            continue
        kind, _ = strip_label(" ".join(time.xpath("string(..)").split()))
        if time.xpath("ancestor::article | ancestor::header"):
            (modified if kind == "modified" else published).append(time.get("datetime"))
        elif kind != "modified" and not time.xpath("ancestor::a"):
            page_times.append(time.get("datetime"))
    return published, generic, modified, page_times


# ----- visible text


def _headline(root: Any) -> Any | None:
    """The article's h1: the first one inside an <article>, else the first on the page; when a
    page has several, the one the <title> (or og:title) repeats, not the logo's."""
    for path in ("//article//h1", "//main//h1", "//h1"):
        found = root.xpath(path)
        if len(found) > 1:
            title = " ".join(root.xpath("string(//title)").split()).lower() or " ".join(
                " ".join(root.xpath("//meta[@property='og:title']/@content")).split()
            ).lower()
            for h1 in found:
                text = " ".join(h1.text_content().split()).lower()
                if title and len(text) > 10 and (text in title or title in text):
                    return h1
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


def _short_texts(indexed: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any, str]]:
    """Deepest elements whose whole text is short: date lines, not body paragraphs. ``indexed``:
    (position in the scope, element) of the window near the headline only: the text of an
    element is the text of its whole subtree, and reading it for every element of a big scope
    only to drop the far ones by distance cost more than the rest of the visible-date search."""
    for index, element in indexed:
        if not isinstance(element.tag, str):
            continue
        text = " ".join(element.text_content().split())
        if not text or len(text) > _MAX_TEXT or not re.search(r"\d", text):
            continue
        if any(" ".join(child.text_content().split()) == text for child in element if isinstance(child.tag, str)):
            continue
        yield index, element, text


def _date_context(element: Any, text: str) -> bool:
    """Is this short text written as a date line: labelled ("Veröffentlicht am", "Stand:") or in
    an element (or its parent) named like one (class "date", "meta", "byline", a <time>)?"""
    if strip_label(text)[0] is not None:
        return True
    for node in (element, element.getparent()):
        if node is None:
            continue
        if node.tag == "time" or _attribute_tokens(node) & _DATE_TOKENS:
            return True
    return False


def _in_control(element: Any) -> bool:
    """Inside a link, a button, an accordion or tab label: a year there names a topic or an
    archive, not the article's publication."""
    node = element
    for _ in range(4):
        if node is None:
            return False
        if node.tag in _NO_DATE_TAGS or _attribute_tokens(node) & _NO_DATE_TOKENS or node.get("aria-expanded"):
            return True
        node = node.getparent()
    return False


def _keep_visible(element: Any, text: str, parsed: DateValue) -> bool:
    """A day or minute near the headline is a date line; a bare year or month needs a date-like
    context and must not sit in a link or a control."""
    if parsed.precision in ("day", "minute"):
        return True
    return _date_context(element, text) and not _in_control(element)


_PREFIX_MODIFIED = re.compile(
    r"(?:aktualisiert|geändert|bearbeitet|letzte\s+änderung|stand|updated|modified)\s*(?:am|um|on|at)?\s*[:\-–]?\s*$",
    re.IGNORECASE,
)
_PREFIX_PUBLISHED = re.compile(
    r"(?:veröffentlicht|erschienen|erstellt|publiziert|datum|published|posted|written|created|"
    r"date|(?:pressemitteilung|meldung|beitrag|artikel|nachricht)(?:\s+vom)?)\s*(?:am|um|on|at)?\s*[:\-–|]?\s*$",
    re.IGNORECASE,
)
_LONG_LINE = 120  # a longer text is prose: only a date at its very start is a dateline


def _line_kind(prefix: str) -> str | None:
    tail = prefix[-40:]
    if _PREFIX_MODIFIED.search(tail):
        return "modified"
    if _PREFIX_PUBLISHED.search(tail):
        return "published"
    return None


def _text_nodes(scope: Any, indexed: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any, str, Any | None]]:
    """(position, element, text, labelling sibling) of every text and tail in document order
    that could hold a date, for ``indexed``: (position in ``scope``, element) pairs; a tail
    belongs to the parent, and the element before it may be its label
    (``<h5>Datum:</h5>03.02.2022``)."""
    for index, element in indexed:
        if isinstance(element.tag, str) and element.tag not in _BOILERPLATE_TAGS:
            text = element.text
            if text and _DATE_HINT.search(text):
                yield index, element, text, None
        tail = element.tail
        if tail and element is not scope and _DATE_HINT.search(tail):
            parent = element.getparent()
            if parent is not None:
                yield index, parent, tail, element


def _line_date(
    text: str, element: Any, label: Any | None, site_timezone: str
) -> tuple[str | None, DateValue] | None:
    """A full date inside one text node, with its label kind (own prefix or labelling sibling)."""
    line = " ".join(text.split())
    if len(line) > _LONG_LINE:
        line = line[:40]
    found = _embedded_date(line, site_timezone)
    if found is None:
        return None
    value, prefix = found
    kind = _line_kind(prefix)
    if kind is None and label is not None and isinstance(label.tag, str) and not prefix.strip():
        kind = _line_kind(" ".join((label.text_content() or "").split()))
    if kind is None and not _date_context_node(element, None) and not _dateline_shape(line, prefix, value):
        return None  # a date inside a sentence ("Seit 4. August 2014 ist ...") is not a dateline
    return kind, replace(value, raw=line)


_DATELINE_PREFIX = re.compile(r"^[\W\d]*$|^[A-ZÄÖÜ][\w.\- ]{0,30}[,•|·/–-]\s*$|^.{0,22}\b(?:am|on)\s*$")


def _dateline_shape(line: str, prefix: str, value: DateValue) -> bool:
    """A line that is mostly its date ("Handball Schweiz • 02.02.2022", "Hamburg, 2. November
    2021", "Von A. Autor am 03.05.2013, 11:51")."""
    if not _DATELINE_PREFIX.search(prefix.strip() + (" " if prefix.endswith(" ") else "")):
        return False
    rest = line[len(prefix) + len(value.raw.strip()):] if line.startswith(prefix) else ""
    return len(rest) <= 40


def _date_context_node(element: Any, kind: str | None) -> bool:
    """Labelled, a <time>, or in an element (or its two parents) named like a date line."""
    if kind is not None:
        return True
    node = element
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            return False
        if node.tag == "time" or _attribute_tokens(node) & _DATE_TOKENS:
            return True
        node = node.getparent()
    return False


def _visible_dates(
    root: Any, site_timezone: str, languages: tuple[str, ...], now: datetime | None, date_order: str,
    headline: Any = _UNSET,
) -> tuple[list[DateValue], list[DateValue]]:
    """Dates written near the headline, nearest first, split by their label; when there is no
    headline or nothing near it, the first labelled or date-classed date line of the page.
    ``headline``: ``_headline(root)`` when the caller already knows it."""
    if headline is _UNSET:
        headline = _headline(root)
    found: list[tuple[int, str | None, DateValue]] = []
    body = root.find("body")
    if headline is not None:
        scope = _scope(headline)
        # the scope's elements up to the end of the window, listed once for both searches below
        # (each walk of ``scope.iter()`` makes an lxml object per element)
        elements: list[Any] = []
        anchor = None
        for index, element in enumerate(scope.iter()):
            elements.append(element)
            if anchor is None and element is headline:
                anchor = index
            if anchor is not None and index >= anchor + _MAX_DISTANCE:
                break
        anchor = anchor or 0
        first = max(0, anchor - _MAX_DISTANCE)
        window = list(enumerate(elements[first: anchor + _MAX_DISTANCE + 1], start=first))
        seen: set[str] = set()
        for index, element, text in _short_texts(window):
            distance = abs(index - anchor)
            if distance > _MAX_DISTANCE:
                continue
            parsed = parse_date_text(
                text, site_timezone=site_timezone, languages=languages, now=now, date_order=date_order
            )
            if parsed is None or not _keep_visible(element, text, parsed):
                continue
            kind, _ = strip_label(text)
            found.append((distance, kind, parsed))
            seen.add(parsed.value)
        for index, element, text, label in _text_nodes(scope, window):
            distance = abs(index - anchor)
            if distance > _MAX_DISTANCE:
                continue
            line = _line_date(text, element, label, site_timezone)
            if line is not None and line[1].value not in seen:
                found.append((distance, line[0], line[1]))
    if not found and body is not None:
        for index, element, text, label in _text_nodes(body, enumerate(body.iter())):
            line = _line_date(text, element, label, site_timezone)
            if line is not None and _date_context_node(element, line[0]) and not _in_control(element):
                found.append((index, line[0], line[1]))
                if len(found) >= 3:
                    break
    found.sort(key=lambda item: item[0])
    published = [value for _, kind, value in found if kind != "modified"]
    modified = [value for _, kind, value in found if kind == "modified"]
    # "Stand: ..." is the last update, but on sites that show nothing else it is also the only
    # statement of when the article went out: a last-resort publication candidate.
    published += [value for value in modified if _AS_OF.search(value.raw)]
    return published, modified


# ----- URL, locale, htmldate

_URL_DAY = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|[-_]|$)")
_URL_MONTH = re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/")


def _url_date(url: str | None) -> DateValue | None:
    """/2022/01/10/ (day) or /2022/01/ (month) in the path."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "")
    try:
        if match := _URL_DAY.search(path):
            value = _calendar_iso(int(match[1]), int(match[2]), int(match[3]))
            return DateValue(value, "day", "url", CONFIDENCE["url"], match[0], day=value[:10])
        if match := _URL_MONTH.search(path):
            value = _calendar_iso(int(match[1]), int(match[2]))
            return DateValue(value, "month", "url", CONFIDENCE["url"], match[0], day=value[:10])
    except ValueError:
        return None
    return None


_CANONICAL = etree.XPath("//link[@rel='canonical']/@href", smart_strings=False)  # compiled once


def _canonical_url(root: Any) -> str | None:
    found = _CANONICAL(root)
    return found[0].strip() if found else None


_MONTH_FIRST_LOCALES = frozenset({"en", "en-us", "en_us"})


def page_date_order(root: Any) -> str:
    """"MDY" on pages that say they are US English (html lang en-US or bare en, og:locale en_US),
    else "DMY": decides numeric dates like 01/10/2022 that no part above 12 disambiguates."""
    lang = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip().lower()
    if not lang:
        locale = root.xpath("//meta[@property='og:locale']/@content")
        lang = locale[0].strip().lower() if locale else ""
    return "MDY" if lang.replace("_", "-") in {"en", "en-us"} else "DMY"


def _htmldate_value(root: Any, now: datetime, allow_before: int, *, extensive: bool = False) -> DateValue | None:
    """htmldate's fast search (original date) on the chrome-free tree: one more source with its
    own provenance.  It copies the tree before pruning, so ours is left as it is.  The extensive
    search (about ten times the cost) only for pages where nothing else stated a date."""
    try:
        from htmldate import find_date

        found = find_date(
            root, original_date=True, extensive_search=extensive, max_date=now.strftime("%Y-%m-%d"),
            min_date=f"{allow_before}-01-01",
        )
    except Exception as exc:  # noqa: BLE001 - a third-party heuristic must not fail the page
        log.debug("htmldate failed: %s", exc)
        return None
    if not found:
        return None
    try:
        day = date.fromisoformat(found)
    except ValueError:
        return None
    if extensive and (day.month, day.day) == (1, 1):
        return None  # the extensive search pads a bare year ("© 2022") to 1 January: not a day
    value = _calendar_iso(day.year, day.month, day.day)
    return DateValue(value, "day", "htmldate", CONFIDENCE["htmldate"], found, day=value[:10])


# --------------------------------------------------------------------------- choosing


def _as_source(
    texts: Iterable[str | None], source: str, site_timezone: str, date_order: str = "DMY"
) -> list[DateValue]:
    values = []
    for text in texts:
        if not text:
            continue
        parsed = parse_date_text(text, site_timezone=site_timezone, date_order=date_order)
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
    if coarse.day and fine.day and coarse.precision == "day":
        return coarse.day == fine.day or _local_parts(coarse, site_timezone) == _local_parts(fine, site_timezone)
    return _local_parts(coarse, site_timezone)[:depth] == _local_parts(fine, site_timezone)[:depth]


_COARSE = frozenset({"year", "month"})


def _rank(candidates: list[DateValue]) -> list[DateValue]:
    """Trust order, except that a year or month never beats a day-precision source (the URL or
    better): "2020" in a label says less than any stated day."""
    if not any(c.precision not in _COARSE and c.confidence >= CONFIDENCE["url"] for c in candidates):
        return candidates
    fine = [c for c in candidates if c.precision not in _COARSE or c.confidence < CONFIDENCE["url"]]
    return fine + [c for c in candidates if c not in fine]


def _choose(candidates: list[DateValue], site_timezone: str) -> DateValue | None:
    """The most trusted candidate, refined by a less trusted one that agrees but is more precise
    (JSON-LD "2022-01-08" + feed "2022-01-08T09:14+01:00" -> the feed's minute)."""
    if not candidates:
        return None
    ranked = _rank(candidates)
    best = ranked[0]
    for candidate in ranked[1:]:
        if PRECISIONS.index(candidate.precision) > PRECISIONS.index(best.precision) and _agrees(best, candidate, site_timezone):
            best = candidate
    same = [c for c in candidates if c.value == best.value and c.precision == best.precision]
    named = min(same, key=lambda c: _ATTRIBUTION_ORDER.index(c.source))
    confidence = min(1.0, max(c.confidence for c in same) + 0.05 * (len({c.source for c in same}) - 1))
    return replace(named, confidence=round(confidence, 3))


_UTC_OFFSETS = frozenset({None, "+00:00"})


def _local_day(chosen: DateValue, candidates: list[DateValue], site_timezone: str) -> DateValue:
    """The day as written for an instant the page stated in UTC ("…T03:28Z" is a CMS's storage
    form, not what the reader saw): the day another source of the page states, if one falls
    within the hours the instant could be local time anywhere (UTC-12..+14), else the day in the
    site's time zone."""
    if chosen.precision != "minute" or chosen.offset not in _UTC_OFFSETS:
        return chosen
    other = _placing(chosen, candidates)
    if other is not None:
        if other.precision == "minute" and other.value == chosen.value:
            return replace(chosen, day=other.day, offset=other.offset)
        return chosen if other.day == chosen.day else replace(chosen, day=other.day, offset=None)
    local = _start(chosen).astimezone(ZoneInfo(site_timezone))
    return replace(chosen, day=local.date().isoformat(), offset=_format_offset(local.utcoffset()))


def _disambiguate(
    values: list[DateValue], evidence: list[DateValue], site_timezone: str, date_order: str
) -> list[DateValue]:
    """01/11/2023 read by the page's locale as 11 January, while the page's dateline says
    1 November: a numeric date that neither part disambiguates is read the other way round when
    that is the day another source of the page states (and its own reading is nobody's)."""
    if not any("/" in v.raw for v in values):
        return values
    other_order = "MDY" if date_order == "DMY" else "DMY"
    stated = {v.day for v in evidence if "/" not in v.raw and v.precision not in _COARSE}
    result = []
    for value in values:
        if "/" in value.raw and value.day not in stated:
            alternative = parse_date_text(value.raw, site_timezone=site_timezone, date_order=other_order)
            if alternative is not None and alternative.day in stated:
                value = replace(alternative, source=value.source, confidence=value.confidence)
        result.append(value)
    return result


def _placing(chosen: DateValue, candidates: list[DateValue]) -> DateValue | None:
    """The candidate that tells the local day of a UTC instant: the same instant written with its
    offset, else the first day stated within the hours the instant could be local time anywhere
    (UTC-12..+14)."""
    for other in candidates:
        if other.precision == "minute" and other.value == chosen.value and other.offset not in _UTC_OFFSETS:
            return other
    instant = _start(chosen)
    for other in candidates:
        if other is chosen or not other.day or other.precision in _COARSE or other.source == "http-header":
            continue
        if other.precision == "minute" and other.offset in _UTC_OFFSETS:
            continue
        start = datetime.fromisoformat(other.day).replace(tzinfo=UTC)
        if start - timedelta(hours=14) <= instant < start + timedelta(hours=36):
            return other
    return None


def _worth_asking_htmldate(own: list[DateValue], url_value: DateValue | None = None) -> bool:
    """htmldate can only change the outcome when the page's own sources state no day, disagree
    about it, or state it as a UTC instant whose local day needs a second opinion; when they all
    name one day in the page's own terms its answer is not needed (and its cost not paid)."""
    fine = [c for c in own if c.precision not in _COARSE]
    if not fine:
        return True
    if len({c.day for c in fine}) > 1:
        return True
    if fine[0].precision != "minute" or fine[0].offset not in _UTC_OFFSETS:
        return False
    # a UTC instant: asked only when nothing else on the page (or the URL) tells its local day
    others = fine[1:] + ([url_value] if url_value is not None and url_value.precision == "day" else [])
    return _placing(fine[0], others) is None


def _outvoted(chosen: DateValue, own: list[DateValue], found_by_htmldate: list[DateValue], site_timezone: str) -> DateValue:
    """Two sources that agree beat one that stands alone: when htmldate's reading of the page
    names another day than the chosen value, and one of the page's own other statements (a
    dateline, another meta tag) names that day too while nothing but the chosen source backs the
    chosen day, the agreeing statement wins (a JSON-LD datePublished left at a template's
    creation date, a generic meta date of the last edit)."""
    if not found_by_htmldate or chosen.day is None:
        return chosen
    other_day = found_by_htmldate[0].day
    if other_day == chosen.day:
        return chosen
    backing = {c.source for c in own if c.day == chosen.day or c.value == chosen.value}
    agreeing = [
        c for c in own
        if c.day == other_day and c.value != chosen.value and c.precision not in _COARSE
        and c.confidence != CONFIDENCE["generic-meta"]  # htmldate reads that very tag: not a second voice
    ]
    if not agreeing or len(backing) > 1:
        return chosen
    winner = _local_day(agreeing[0], own, site_timezone)
    return winner if winner.day == other_day else chosen


def _normalise_now(now: datetime | None) -> datetime | None:
    if now is None:
        return None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def find_dates(
    html: str | lxml.html.HtmlElement,
    *,
    url: str | None,
    feed_published: str | None = None,
    feed_updated: str | None = None,
    http_last_modified: str | None = None,
    site_timezone: str = "Europe/Berlin",
    now: datetime | None = None,
    allow_before: int = 1990,
    use_htmldate: bool = True,
    keep_tree: bool = False,
) -> ArticleDates:
    """Publication and modification date of one article page.

    Trust order: JSON-LD, meta tags and microdata, feed entry, visible text near the headline,
    htmldate, URL, the feed's ``updated``, HTTP Last-Modified; a year or month never beats a
    stated day.  Teaser/related/footer chrome is removed before text is read (the page's own
    microdata is read from the page as parsed).  A modification date is only kept if it is later
    than the publication date.

    ``now`` is when the page was fetched (a WARC record's date for archived pages): relative
    dates ("vor 5 Stunden") are resolved against it, and rejected when it is not given; dates
    after it are implausible (the wall clock when not given).

    ``html`` may be the page already parsed (``pipeline.clean.extract.parse_page``): it is read as it is
    and its chrome removed in place; with ``keep_tree`` the removed chrome is put back before
    returning, so the same tree serves the cleaning stage afterwards (no copy of the page).
    """
    fetched = _normalise_now(now)
    moment = fetched or datetime.now(UTC)
    languages = ("de", "en")
    root = html if isinstance(html, lxml.html.HtmlElement) else _parse_html(html)
    ld_pub: list[str] = []
    ld_mod: list[str] = []
    meta_pub: list[str] = []
    meta_generic: list[str] = []
    whole_page = False  # a page with no structured date: htmldate's last resort may read it whole
    headline: Any | None = None
    undo: list[Any] = []
    meta_mod: list[str] = []
    page_times: list[str] = []
    vis_pub: list[DateValue] = []
    vis_mod: list[DateValue] = []
    date_order = "DMY"
    urls = [url]
    if root is not None:
        date_order = page_date_order(root)
        urls.append(_canonical_url(root))
        ld_pub, ld_mod = _jsonld_dates(root, url or urls[-1])
        marks = _collect_marks(root)
        headline = _headline(root)
        # a page with no structured date is kept for htmldate's last-resort judgement (whole when
        # there is no headline to tell article from chrome, else without other articles' lists):
        # the chrome removed below is recorded, to be put back rather than copied beforehand
        whole_page = use_htmldate and not ld_pub and not marks.itemprops
        _drop_boilerplate(root, headline=headline, undo=undo)  # the headline's containers are kept
        visible_headline = headline
        if headline is not None and not _attached(headline, root):
            visible_headline = _headline(root)  # an <h1> classed like chrome went with the chrome
        meta_pub, meta_generic, meta_mod, page_times = _meta_dates(root, marks)
        vis_pub, vis_mod = _visible_dates(root, site_timezone, languages, fetched, date_order, visible_headline)
    url_value = next((v for v in map(_url_date, urls) if v is not None), None)

    def plausible(values: list[DateValue]) -> list[DateValue]:
        return [v for v in values if is_plausible(v, now=moment, allow_before=allow_before)]

    own = plausible(
        _as_source(ld_pub, "json-ld", site_timezone, date_order)
        + _as_source(meta_pub, "meta", site_timezone, date_order)
        + _as_source([feed_published], "feed", site_timezone)
        + vis_pub[:1]
        + [replace(v, confidence=CONFIDENCE["generic-meta"]) for v in _as_source(meta_generic, "meta", site_timezone)]
        + _as_source(page_times[:1], "visible-text", site_timezone, date_order)
    )
    own = _disambiguate(own, own + ([url_value] if url_value else []), site_timezone, date_order)
    found_by_htmldate: list[DateValue] = []
    if use_htmldate and root is not None and _worth_asking_htmldate(own, url_value):
        value = _htmldate_value(root, moment, allow_before)
        if value is None and whole_page and not own:
            _put_back(undo)
            if headline is not None:
                _drop_boilerplate(root, _OTHER_ARTICLES_TOKENS, undo=undo)
            value = _htmldate_value(root, moment, allow_before) or _htmldate_value(
                root, moment, allow_before, extensive=True
            )
        found_by_htmldate = [value] if value is not None else []
    if keep_tree:
        _put_back(undo)
    published_candidates = own + plausible(
        found_by_htmldate
        + ([url_value] if url_value else [])
        + _as_source([feed_updated], "feed-updated", site_timezone)
        + _as_source([http_last_modified], "http-header", site_timezone)
    )
    modified_candidates = plausible(
        _as_source(ld_mod, "json-ld", site_timezone, date_order)
        + _as_source(meta_mod, "meta", site_timezone, date_order)
        + _as_source([feed_updated], "feed", site_timezone)
        + vis_mod[:1]
        + _as_source([http_last_modified], "http-header", site_timezone)
    )
    published = _choose(published_candidates, site_timezone)
    if published is not None:
        published = _local_day(published, published_candidates, site_timezone)
        published = _outvoted(published, own, found_by_htmldate, site_timezone)
    modified = _choose(modified_candidates, site_timezone)
    if modified is not None and published is not None and _start(modified) <= _start(published):
        modified = None
    return ArticleDates(published=published, modified=modified, candidates=tuple(published_candidates))
