"""Tests for pipeline.clean.dates: the five real sample-site pages (served by the local HTTP server,
no mocks) and one unit test per known trap of date extraction on German news pages."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

import pytest

from pipeline.clean.dates import ArticleDates, DateValue, find_dates, parse_date_text, strip_label
from pipeline.samplesite import SampleArticle, load_articles

ARTICLES = load_articles()
NOW = datetime(2022, 1, 20, 12, 0, tzinfo=UTC)


def _utc(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat(timespec="seconds")


def _fetch(base_url: str, article: SampleArticle) -> str:
    with urllib.request.urlopen(base_url + article.path, timeout=10) as response:
        return response.read().decode("utf-8")


def _find(base_url: str, article: SampleArticle, **overrides: object) -> ArticleDates:
    kwargs: dict[str, object] = {
        "url": base_url + article.path,
        "feed_published": article.feed_published,
        "feed_updated": article.feed_updated,
    }
    kwargs.update(overrides)
    return find_dates(_fetch(base_url, article), **kwargs)  # type: ignore[arg-type]


def _by_prefix(prefix: str) -> SampleArticle:
    return next(a for a in ARTICLES if a.seed_file.startswith(prefix))


# --------------------------------------------------------------------------- sample site


@pytest.mark.parametrize("article", ARTICLES, ids=[a.slug for a in ARTICLES])
@pytest.mark.parametrize("now", [None, NOW], ids=["real-clock", "fixed-now"])
def test_sample_pages_published_matches_truth(sample_site: str, article: SampleArticle, now: datetime | None) -> None:
    dates = _find(sample_site, article, now=now)
    assert dates.published is not None
    assert (dates.published.value, dates.published.precision) == (_utc(article.published), article.published_precision)
    expected_source = {"visible": "visible-text"}.get(article.published_source, article.published_source)
    assert dates.published.source == expected_source


@pytest.mark.parametrize("article", ARTICLES, ids=[a.slug for a in ARTICLES])
def test_sample_pages_modified_matches_truth(sample_site: str, article: SampleArticle) -> None:
    dates = _find(sample_site, article)
    if article.modified is None:
        assert dates.modified is None
    else:
        assert dates.modified is not None
        assert (dates.modified.value, dates.modified.precision) == (_utc(article.modified), "minute")


def test_dwn_page_ignores_2025_teasers_and_reads_visible_dates(sample_site: str) -> None:
    article = _by_prefix("004")
    for feed in (article.feed_published, None):
        dates = _find(sample_site, article, feed_published=feed, feed_updated=None)
        assert dates.published == DateValue(
            "2022-01-10T09:00:00+00:00", "minute", "visible-text", dates.published.confidence, "10.01.2022 10:00"
        )
        assert dates.modified is not None
        assert dates.modified.value == "2022-01-10T09:19:00+00:00"
        assert dates.modified.source == "visible-text"


def test_newsde_page_without_feed_is_undated_not_a_teaser_date(sample_site: str) -> None:
    """The page states no date of its own, only 2025 teaser dates in "Mehr zum Thema"."""
    dates = _find(sample_site, _by_prefix("002"), feed_published=None)
    assert dates.published is None
    dates = _find(sample_site, _by_prefix("002"))
    assert dates.published is not None and dates.published.source == "feed"
    assert dates.published.value == "2022-01-16T10:32:00+00:00"


def test_jsonld_day_is_refined_by_agreeing_feed_minute(sample_site: str) -> None:
    article = _by_prefix("003")
    assert article.jsonld_published == "2022-01-08"
    without_feed = _find(sample_site, article, feed_published=None, feed_updated=None)
    assert without_feed.published is not None
    assert (without_feed.published.value, without_feed.published.precision, without_feed.published.source) == (
        "2022-01-08T00:00:00+00:00", "day", "json-ld",
    )
    with_feed = _find(sample_site, article)
    assert with_feed.published is not None and with_feed.published.precision == "minute"
    assert with_feed.modified is None  # feed "updated" equals published: no modification


def test_no_sample_page_yields_a_2025_date(sample_site: str) -> None:
    for article in ARTICLES:
        dates = _find(sample_site, article, feed_published=None, feed_updated=None)
        for value in (dates.published, dates.modified):
            assert value is None or value.value.startswith("2022-")


# --------------------------------------------------------------------------- parse_date_text traps


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Aktualisiert: 10.01.2022 10:19", "modified"),
        ("Stand: 10.01.2022 10:19", "modified"),
        ("Updated 10.01.2022 10:19", "modified"),
        ("Zuletzt aktualisiert am 10.01.2022 10:19", "modified"),
        ("Veröffentlicht am 10.01.2022 10:19", "published"),
        ("10.01.2022 10:19", None),
    ],
)
def test_labels_are_stripped_before_parsing(text: str, kind: str | None) -> None:
    assert strip_label(text) == (kind, "10.01.2022 10:19")
    parsed = parse_date_text(text)
    assert parsed is not None
    assert (parsed.value, parsed.precision, parsed.raw) == ("2022-01-10T09:19:00+00:00", "minute", text)


def test_german_numeric_date_is_day_first() -> None:
    parsed = parse_date_text("10.01.2022", languages=("en",))
    assert parsed is not None
    assert (parsed.value, parsed.precision) == ("2022-01-10T00:00:00+00:00", "day")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.01.2022 10:00", "2022-01-10T09:00:00+00:00"),
        ("7. Januar 2022, 14:32 Uhr", "2022-01-07T13:32:00+00:00"),
        ("Veröffentlicht am 10.01.2022 um 10:00 Uhr", "2022-01-10T09:00:00+00:00"),
        ("Mo., 10.01.2022, 10:00 Uhr", "2022-01-10T09:00:00+00:00"),
        ("2022-01-10T10:00:00+01:00", "2022-01-10T09:00:00+00:00"),
        ("2022-01-10T09:00:00Z", "2022-01-10T09:00:00+00:00"),
    ],
)
def test_minute_precision_forms(text: str, expected: str) -> None:
    parsed = parse_date_text(text)
    assert parsed is not None
    assert (parsed.value, parsed.precision) == (expected, "minute")


def test_relative_date_without_now_is_rejected_never_third_of_january() -> None:
    assert parse_date_text("vor 3 Stunden") is None
    assert parse_date_text("3 Stunden") is None


def test_relative_date_is_resolved_against_now() -> None:
    parsed = parse_date_text("vor 3 Stunden", now=NOW)
    assert parsed is not None
    assert (parsed.value, parsed.precision) == ("2022-01-20T09:00:00+00:00", "minute")
    yesterday = parse_date_text("gestern", now=NOW)
    assert yesterday is not None
    assert (yesterday.value, yesterday.precision) == ("2022-01-19T00:00:00+00:00", "day")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 10 Jan 2022 10:00:00 MEZ", "2022-01-10T09:00:00+00:00"),
        ("Sun, 10 Jul 2022 10:00:00 MESZ", "2022-07-10T08:00:00+00:00"),
        ("Mon, 10 Jan 2022 10:00:00 +0100", "2022-01-10T09:00:00+00:00"),
        ("Mon, 10 Jan 2022 10:00:00 GMT", "2022-01-10T10:00:00+00:00"),
        ("10.07.2022 10:00 MESZ", "2022-07-10T08:00:00+00:00"),
    ],
)
def test_german_zone_names(text: str, expected: str) -> None:
    parsed = parse_date_text(text)
    assert parsed is not None and parsed.value == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.01.2022 10:00", "2022-01-10T09:00:00+00:00"), ("10.07.2022 10:00", "2022-07-10T08:00:00+00:00")],
)
def test_local_times_use_site_timezone_with_dst(text: str, expected: str) -> None:
    parsed = parse_date_text(text)
    assert parsed is not None and parsed.value == expected
    london = parse_date_text(text, site_timezone="Europe/London")
    assert london is not None
    assert london.value == ("2022-01-10T10:00:00+00:00" if "01.2022" in text else "2022-07-10T09:00:00+00:00")


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("date 2022-01", "2022-01-01T00:00:00+00:00", "month"),
        ("2022-01", "2022-01-01T00:00:00+00:00", "month"),
        ("Januar 2022", "2022-01-01T00:00:00+00:00", "month"),
        ("2022-01-08", "2022-01-08T00:00:00+00:00", "day"),
        ("2022", "2022-01-01T00:00:00+00:00", "year"),
    ],
)
def test_coarse_precision_is_kept(text: str, value: str, precision: str) -> None:
    parsed = parse_date_text(text)
    assert parsed is not None and (parsed.value, parsed.precision) == (value, precision)


@pytest.mark.parametrize("text", ["", "Lesezeit: 2 min", "Erstellt von - Uhr", "Politik", "31.02.2022"])
def test_non_dates_are_rejected(text: str) -> None:
    assert parse_date_text(text) is None


# --------------------------------------------------------------------------- find_dates on small pages


def _page(header: str, extra: str = "", head: str = "") -> str:
    return (
        f"<html><head>{head}</head><body><article><header><h1>Titel</h1>{header}</header>"
        f"<p>{'Text ' * 40}</p></article>{extra}</body></html>"
    )


def test_future_date_beyond_a_day_is_rejected() -> None:
    assert find_dates(_page("<div>25.01.2022 10:00</div>"), url="https://x.de/a", now=NOW).published is None
    near = find_dates(_page("<div>21.01.2022 10:00</div>"), url="https://x.de/a", now=NOW).published
    assert near is not None and near.value == "2022-01-21T09:00:00+00:00"


def test_too_old_date_is_rejected() -> None:
    page = _page("<div>10.01.1985 10:00</div>")
    assert find_dates(page, url="https://x.de/a", now=NOW).published is None
    old = find_dates(page, url="https://x.de/a", now=NOW, allow_before=1980).published
    assert old is not None and old.value == "1985-01-10T09:00:00+00:00"


def test_undated_page_has_no_invented_date() -> None:
    dates = find_dates(_page("<p>Von Redaktion</p>"), url="https://x.de/politik/artikel", now=NOW)
    assert dates == ArticleDates(published=None, modified=None)
    assert find_dates("", url="https://x.de/a", now=NOW) == ArticleDates(None, None)


@pytest.mark.parametrize(
    "chrome",
    [
        '<aside><time>19.01.2022</time></aside>',
        '<section class="related-articles"><div>19.01.2022 08:00</div></section>',
        '<div aria-label="Mehr zum Thema"><div>19.01.2022 08:00</div></div>',
        '<div class="box"><h2>Mehr zum Thema</h2><div>19.01.2022 08:00</div></div>',
        '<footer>Stand: 19.01.2022 08:00</footer>',
        '<nav><span>19.01.2022</span></nav>',
    ],
)
def test_chrome_dates_are_ignored(chrome: str) -> None:
    page = f"<html><body><main><h1>Titel</h1>{chrome}<p>{'Text ' * 40}</p></main></body></html>"
    assert find_dates(page, url="https://x.de/a", now=NOW).published is None


def test_time_datetime_in_article_header_is_meta() -> None:
    page = _page('<time datetime="2022-01-10T10:00:00+01:00">10. Januar</time>')
    published = find_dates(page, url="https://x.de/a", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "meta")


def test_page_metadata_beats_feed_and_visible_text() -> None:
    head = '<meta property="article:published_time" content="2022-01-10T10:00:00+01:00">'
    page = _page("<div>11.01.2022 10:00</div>", head=head)
    published = find_dates(page, url="https://x.de/a", feed_published="2022-01-12T10:00:00+01:00", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "meta")


def test_feed_beats_visible_text_when_they_disagree() -> None:
    page = _page("<div>11.01.2022 10:00</div>")
    published = find_dates(page, url="https://x.de/a", feed_published="Mon, 10 Jan 2022 10:00:00 MEZ", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "feed")


def test_url_date_then_http_header_as_last_resorts() -> None:
    page = _page("")
    from_url = find_dates(page, url="https://x.de/2022/01/10/titel", now=NOW).published
    assert from_url is not None and (from_url.value, from_url.precision, from_url.source) == (
        "2022-01-10T00:00:00+00:00", "day", "url",
    )
    header = "Mon, 10 Jan 2022 09:00:00 GMT"
    dates = find_dates(page, url="https://x.de/titel", http_last_modified=header, now=NOW)
    assert dates.published is not None and dates.published.source == "http-header"
    assert dates.published.confidence < 0.5


def test_modified_before_published_is_dropped() -> None:
    page = _page("<div>10.01.2022 10:00</div><div>Aktualisiert: 09.01.2022 10:00</div>")
    dates = find_dates(page, url="https://x.de/a", now=NOW)
    assert dates.published is not None and dates.modified is None


def test_confidence_orders_sources() -> None:
    jsonld = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2022-01-10"}</script>'
    from_jsonld = find_dates(_page("", head=jsonld), url="https://x.de/a", now=NOW).published
    from_text = find_dates(_page("<div>10.01.2022</div>"), url="https://x.de/a", now=NOW).published
    assert from_jsonld is not None and from_text is not None
    assert from_jsonld.precision == "day" and from_jsonld.source == "json-ld"
    assert from_jsonld.confidence > from_text.confidence


def test_stand_is_modified_and_publication_fallback() -> None:
    only_stand = find_dates(_page("<div>Stand: 10.01.2022 10:19 Uhr</div>"), url="https://x.de/a", now=NOW)
    assert only_stand.published is not None and only_stand.published.value == "2022-01-10T09:19:00+00:00"
    assert only_stand.modified is None  # same moment as published: not a modification
    both = find_dates(
        _page("<div>10.01.2022 10:00</div><div>Stand: 10.01.2022 10:19 Uhr</div>"), url="https://x.de/a", now=NOW
    )
    assert both.published is not None and both.published.value == "2022-01-10T09:00:00+00:00"
    assert both.modified is not None and both.modified.value == "2022-01-10T09:19:00+00:00"


def test_slash_numeric_date_is_day_first_via_dateparser() -> None:
    parsed = parse_date_text("10/01/2022")
    assert parsed is not None and (parsed.value, parsed.precision) == ("2022-01-10T00:00:00+00:00", "day")


def test_jsonld_of_this_url_wins_over_other_articles_jsonld() -> None:
    head = (
        '<script type="application/ld+json">[{"@type": "NewsArticle", "url": "https://x.de/other",'
        ' "datePublished": "2022-01-05"}, {"@type": "NewsArticle", "mainEntityOfPage": {"@id": "https://x.de/a"},'
        ' "datePublished": "2022-01-10T10:00:00+01:00"}]</script>'
    )
    published = find_dates(_page("", head=head), url="https://x.de/a", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "json-ld")


# --------------------------------------------------------------------------- issue 15: coverage


def test_own_microdata_inside_chrome_is_read_from_the_raw_page() -> None:
    """A byline box classed like chrome ("related-info") holds the page's own datePublished."""
    page = _page(
        "",
        extra='<div class="related-info"><time itemprop="datePublished" datetime="2022-01-10T10:00:00+01:00">'
        "10. Januar</time></div>",
    )
    published = find_dates(page, url="https://x.de/a", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "meta")
    meta_in_chrome = _page("", extra='<div class="teaser"><meta itemprop="datePublished" content="2022-01-10"></div>')
    published = find_dates(meta_in_chrome, url="https://x.de/a", now=NOW).published
    assert published is not None and published.day == "2022-01-10"


def test_chrome_microdata_of_several_teasers_is_not_the_article_date() -> None:
    teasers = "".join(
        f'<li><a href="/t{day}"><time itemprop="datePublished" datetime="2022-01-{day:02d}">x</time></a></li>'
        for day in (11, 12, 13)
    )
    page = _page("", extra=f'<ul class="related">{teasers}</ul>')
    assert find_dates(page, url="https://x.de/a", now=NOW, use_htmldate=False).published is None


def test_page_without_h1_reads_a_labelled_date_line() -> None:
    page = (
        '<html><body><div class="post"><h2 class="title">Titel</h2>'
        '<p class="meta">Veröffentlicht am 10.01.2022 um 10:00 Uhr</p>'
        f"<p>{'Text ' * 40}</p></div></body></html>"
    )
    published = find_dates(page, url="https://x.de/a", now=NOW).published
    assert published is not None
    assert (published.value, published.precision, published.source) == (
        "2022-01-10T09:00:00+00:00", "minute", "visible-text",
    )


def test_page_without_h1_ignores_an_unlabelled_number_in_prose() -> None:
    page = f"<html><body><div><p>Am 10.01.2022 war {'Text ' * 40}</p></div></body></html>"
    assert find_dates(page, url="https://x.de/a", now=NOW, use_htmldate=False).published is None


def test_date_inside_a_byline_is_found() -> None:
    page = _page('<p class="byline">Von Christian am 09.01.2022, 11:51 | 0 Kommentare</p>')
    published = find_dates(page, url="https://x.de/a", now=NOW).published
    assert published is not None and published.value == "2022-01-09T10:51:00+00:00"


def test_yoast_graph_webpage_date_published() -> None:
    graph = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@type": "Organization", "name": "X"},'
        '{"@type": "WebPage", "@id": "https://x.de/a#webpage", "datePublished": "2022-01-10T08:00:00+00:00",'
        ' "dateModified": "2022-01-12T08:00:00+00:00"}]}</script>'
    )
    dates = find_dates(_page("", head=graph), url="https://x.de/a", now=NOW)
    assert dates.published is not None
    assert (dates.published.value, dates.published.source) == ("2022-01-10T08:00:00+00:00", "json-ld")
    assert dates.modified is not None and dates.modified.value == "2022-01-12T08:00:00+00:00"


@pytest.mark.parametrize(
    "jsonld",
    [
        '{"@type": "NewsArticle", "headline": "Zeile\neins", "datePublished": "2022-01-10T10:00:00+01:00",}',
        '//<![CDATA[\n{"@type": "NewsArticle", "datePublished": "2022-01-10T10:00:00+01:00"}\n//]]>',
        '{"@type": "NewsArticle", "headline": "broken "quote"", "datePublished": "2022-01-10T10:00:00+01:00"}',
    ],
    ids=["trailing-comma-raw-newline", "cdata", "unescaped-quote"],
)
def test_slightly_invalid_jsonld_is_still_read(jsonld: str) -> None:
    head = f'<script type="application/ld+json">{jsonld}</script>'
    published = find_dates(_page("", head=head), url="https://x.de/a", now=NOW).published
    assert published is not None
    assert (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "json-ld")


def test_time_datetime_outside_article_and_header() -> None:
    page = (
        "<html><body><div class='content'><h1>Titel</h1><div class='info'><span>von A. Autor</span></div>"
        f"<p>{'Text ' * 40}</p></div><div class='box'><time datetime='2022-01-10T10:00:00+01:00'>Montag</time>"
        "</div></body></html>"
    )
    published = find_dates(page, url="https://x.de/a", now=NOW, use_htmldate=False).published
    assert published is not None and published.value == "2022-01-10T09:00:00+00:00"


def test_blogger_abbr_published() -> None:
    page = _page(
        '<div class="post-footer"><abbr class="published" title="2022-01-10T10:00:00+01:00">10:00</abbr></div>'
    )
    published = find_dates(page, url="https://x.blogspot.com/2022/01/a.html", now=NOW).published
    assert published is not None and (published.value, published.source) == ("2022-01-10T09:00:00+00:00", "meta")


def test_htmldate_is_one_more_source_with_its_own_provenance() -> None:
    head = '<meta name="citation_publication_date" content="2022/01/10">'
    published = find_dates(_page("", head=head), url="https://x.de/a", now=NOW).published
    assert published is not None
    assert (published.day, published.precision, published.source) == ("2022-01-10", "day", "htmldate")
    assert find_dates(_page("", head=head), url="https://x.de/a", now=NOW, use_htmldate=False).published is None


# --------------------------------------------------------------------------- issue 15: wrong values


def test_relative_date_resolves_against_the_fetch_time_not_the_wall_clock() -> None:
    fetched = datetime(2021, 3, 4, 12, 0, tzinfo=UTC)  # a page fetched last year, processed today
    page = _page("<div>vor 5 Stunden</div>")
    published = find_dates(page, url="https://x.de/a", now=fetched).published
    assert published is not None
    assert (published.value, published.day) == ("2021-03-04T07:00:00+00:00", "2021-03-04")
    # without a fetch time the relative date means nothing: rejected, not resolved against today
    assert find_dates(page, url="https://x.de/a", use_htmldate=False).published is None


def test_relative_date_through_clean_and_date_uses_fetched_at() -> None:
    from pipeline.clean.page import clean_and_date

    page = (
        "<html><head><title>Titel</title></head><body><article><h1>Ein langer Titel des Artikels</h1>"
        "<div class='date'>vor 5 Stunden</div>"
        + "".join(f"<p>Absatz {n}: {'Der Text des Artikels geht weiter. ' * 8}</p>" for n in range(6))
        + "</article></body></html>"
    )
    _, dates = clean_and_date(page, "https://x.de/politik/artikel", fetched_at="2021-03-04T12:00:00+00:00")
    assert dates.published is not None and dates.published.value == "2021-03-04T07:00:00+00:00"


@pytest.mark.parametrize(
    "noise",
    [
        '<a href="/archiv/2020">2020</a>',
        '<button class="accordion">im September 2020</button>',
        '<div class="toggle"><span>im September 2020</span></div>',
    ],
)
def test_bare_year_or_month_in_a_link_or_label_does_not_beat_a_day(noise: str) -> None:
    page = _page(noise, extra="")
    assert find_dates(page, url="https://x.de/a", now=NOW, use_htmldate=False).published is None
    dated = find_dates(page, url="https://x.de/2022/01/10/a", now=NOW, use_htmldate=False).published
    assert dated is not None and (dated.day, dated.precision, dated.source) == ("2022-01-10", "day", "url")


def test_coarse_jsonld_year_never_beats_a_stated_day() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2020"}</script>'
    published = find_dates(_page("", head=head), url="https://x.de/2022/01/10/a", now=NOW).published
    assert published is not None and (published.day, published.precision) == ("2022-01-10", "day")


def test_atom_entry_with_only_updated_does_not_outrank_the_page_dateline() -> None:
    from pipeline.feeds.feeds import parse_feed

    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><title>a</title><link href="https://x.de/a"/><id>1</id>'
        b"<updated>2022-01-15T10:00:00Z</updated></entry></feed>"
    )
    [entry] = parse_feed(atom, "https://x.de/feed.atom")
    assert entry.published_at is None and entry.updated_at == "2022-01-15T10:00:00+00:00"
    page = _page("<div>10.01.2022 10:00</div>")
    dates = find_dates(page, url="https://x.de/a", feed_published=entry.published_at,
                       feed_updated=entry.updated_at, now=NOW)
    assert dates.published is not None
    assert (dates.published.value, dates.published.source) == ("2022-01-10T09:00:00+00:00", "visible-text")
    assert dates.modified is not None and dates.modified.value == "2022-01-15T10:00:00+00:00"
    # with nothing else on the page, updated is a weak fallback
    bare = find_dates(_page(""), url="https://x.de/a", feed_updated=entry.updated_at, now=NOW).published
    assert bare is not None and bare.source == "feed-updated" and bare.confidence < 0.5


def test_us_month_first_date_on_an_en_us_page() -> None:
    later = datetime(2022, 12, 1, tzinfo=UTC)
    us = _page('<p class="date">01/10/2022</p>').replace("<html>", '<html lang="en-US">')
    published = find_dates(us, url="https://x.com/a", now=later, use_htmldate=False).published
    assert published is not None and published.day == "2022-01-10"
    german = _page('<p class="date">01/10/2022</p>').replace("<html>", '<html lang="de-DE">')
    published = find_dates(german, url="https://x.de/a", now=later, use_htmldate=False).published
    assert published is not None and published.day == "2022-10-01"
    # a part above 12 decides whatever the locale
    published = find_dates(us.replace("01/10/2022", "13/01/2022"), url="https://x.com/a", now=later,
                           use_htmldate=False).published
    assert published is not None and published.day == "2022-01-13"


def test_gestern_with_a_time_keeps_its_minute() -> None:
    parsed = parse_date_text("gestern, 18:40 Uhr", now=NOW)
    assert parsed is not None
    assert (parsed.value, parsed.precision, parsed.day) == ("2022-01-19T17:40:00+00:00", "minute", "2022-01-19")


def test_dateparser_never_invents_the_current_year() -> None:
    parsed = parse_date_text("2 min 04.04.2020")
    assert parsed is None or parsed.day == "2020-04-04"


# --------------------------------------------------------------------------- issue 15: day as written


def test_tokyo_morning_article_keeps_its_local_day_and_offset() -> None:
    head = '<meta property="article:published_time" content="2022-01-10T08:00:00+09:00">'
    published = find_dates(_page("", head=head), url="https://x.jp/a", site_timezone="Asia/Tokyo", now=NOW).published
    assert published is not None
    assert published.value == "2022-01-09T23:00:00+00:00"  # the UTC instant is the evening before
    assert (published.day, published.offset) == ("2022-01-10", "+09:00")


def test_utc_stamped_new_york_evening_takes_the_day_the_page_states() -> None:
    """ "2022-01-11T01:30:00Z" is 20:30 in New York on the 10th: the URL says which day it was."""
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2022-01-11T01:30:00Z"}</script>'
    published = find_dates(_page("", head=head), url="https://x.com/2022/01/10/a", now=NOW).published
    assert published is not None
    assert (published.value, published.day) == ("2022-01-11T01:30:00+00:00", "2022-01-10")
    # without other evidence the day is the one in the site's zone
    ny = find_dates(_page("", head=head), url="https://x.com/a", site_timezone="America/New_York", now=NOW,
                    use_htmldate=False).published
    assert ny is not None and (ny.day, ny.offset) == ("2022-01-10", "-05:00")


def test_search_cli_shows_and_filters_by_the_day_as_written() -> None:
    from pipeline.search import SearchFilters, build_query, format_hits

    hit = {"_source": {
        "lang": "ja", "title": "朝のニュース", "url": "https://x.jp/a", "published_at": "2022-01-09T23:00:00+00:00",
        "published_day": "2022-01-10", "published_offset": "+09:00", "published_precision": "minute",
    }}
    printed = format_hits({"hits": {"total": {"value": 1}, "hits": [hit]}})
    assert "2022-01-10 08:00 +09:00" in printed
    query = build_query("", SearchFilters(date_from="2022-01-10", date_to="2022-01-10"))
    ranges = json.dumps(query["bool"]["filter"])
    assert '"published_day": {"gte": "2022-01-10", "lte": "2022-01-10"}' in ranges
    assert '"published_at"' in ranges  # documents indexed before published_day existed


def test_kibana_saved_objects_use_the_local_day() -> None:
    from pipeline.kibana import SAVED_OBJECTS_FILE, fields_referenced

    used = fields_referenced(SAVED_OBJECTS_FILE.read_text(encoding="utf-8"))["news-pipeline-articles-dataview"]
    assert "published_day" in used


def test_article_document_carries_day_and_offset() -> None:
    from pipeline.article import Article
    from pipeline.index.mappings import ARTICLE_MAPPINGS

    doc = Article(url="u", canonical_url="u", feed="f", site="s", published_day="2022-01-10",
                  published_offset="+09:00").to_document()
    assert (doc["published_day"], doc["published_offset"]) == ("2022-01-10", "+09:00")
    assert {"published_day", "published_offset"} <= set(ARTICLE_MAPPINGS["properties"])


def test_ambiguous_numeric_meta_date_follows_the_page_dateline() -> None:
    head = '<meta name="pubdate" content="11/01/2023 12:43:42">'
    page = _page('<p class="date">Erstellt am: 01.11.2023</p>', head=head).replace("<html>", '<html lang="de">')
    later = datetime(2023, 12, 1, tzinfo=UTC)
    published = find_dates(page, url="https://x.ch/a", now=later, use_htmldate=False).published
    assert published is not None and (published.day, published.source) == ("2023-11-01", "meta")


# --------------------------------------------------------------------------- cost: window, headline


def _big_article_page() -> str:
    """A headline in the middle of a long <article>: dates before, near and far after it."""
    before = "".join(f"<p>Vorspann {n}, 0{n % 9 + 1}.01.2021</p>" for n in range(80))
    after = "".join(f"<p>Absatz {n} mit Zahl {n}: 1{n % 9}.02.2021</p>" for n in range(200))
    return (
        "<html><head><title>Der Titel</title></head><body><article>"
        f"{before}<h1>Der Titel</h1><div class='meta'>Veröffentlicht am 10.01.2022, 10:00 Uhr</div>{after}"
        "</article></body></html>"
    )


def test_visible_date_search_reads_only_the_window_around_the_headline() -> None:
    """``_short_texts``/``_text_nodes`` with a window give exactly the full walk's items inside it
    (the full walk read every element's whole text only to drop the far ones by distance)."""
    import lxml.html

    from pipeline.clean.dates import _headline, _scope, _short_texts, _text_nodes

    root = lxml.html.document_fromstring(_big_article_page())
    headline = _headline(root)
    scope = _scope(headline)
    anchor = next(i for i, e in enumerate(scope.iter()) if e is headline)
    first, last = anchor - 60, anchor + 60
    indexed = list(enumerate(scope.iter()))
    for walk, args in ((_short_texts, ()), (_text_nodes, (scope,))):
        full = [item for item in walk(*args, indexed) if first <= item[0] <= last]
        assert list(walk(*args, indexed[first: last + 1])) == full
        assert len(full) < len(list(walk(*args, indexed)))
    published = find_dates(_big_article_page(), url=None, now=NOW).published
    assert published is not None and published.value == "2022-01-10T09:00:00+00:00"


def test_headline_classed_like_chrome_is_found_again_after_chrome_removal() -> None:
    """find_dates passes the headline it found to chrome removal and the visible-date search; an
    <h1> that is itself chrome goes with it, and the search then uses the page's next headline, as
    a fresh look at the pruned page would."""
    import lxml.html

    from pipeline.clean.dates import _drop_boilerplate, _headline, _visible_dates

    page = (
        "<html><body><h1 class='teaser-title'>Andere Meldung</h1><div><h1>Titel</h1>"
        "<p>10.01.2022 10:00</p><p>" + "Text " * 40 + "</p></div></body></html>"
    )
    root = lxml.html.document_fromstring(page)
    first = _headline(root)
    _drop_boilerplate(root, headline=first)
    assert first.getparent() is None or first not in list(root.iter())
    fresh = _visible_dates(root, "Europe/Berlin", ("de", "en"), NOW, "DMY")
    assert fresh == _visible_dates(root, "Europe/Berlin", ("de", "en"), NOW, "DMY", _headline(root))
    published = find_dates(page, url=None, now=NOW).published
    assert published is not None and published.value == "2022-01-10T09:00:00+00:00"
