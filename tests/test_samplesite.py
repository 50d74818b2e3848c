"""The bundled sample news site, served for real on an ephemeral port and read with urllib,
feedparser, lxml and trafilatura (no mocks)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from email.message import Message
from urllib.parse import urlsplit, urlunsplit

import feedparser
import lxml.etree
import lxml.html
import pytest
import trafilatura

from pipeline.samplesite import ARTICLE_SLUGS, SampleArticle, SampleSite, load_articles
from pipeline.samplesite.server import MEETING_POINT, _MeetingPoint, meeting, slow_seconds

ARTICLES = load_articles()
BY_SLUG = {a.slug: a for a in ARTICLES}
JSONLD_OUTLETS = {"agentur", "rundschau"}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def strip_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 10
) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def site() -> Iterator[SampleSite]:
    with SampleSite() as running:
        yield running


@pytest.fixture(scope="module")
def pages(site: SampleSite) -> dict[str, str]:
    result = {}
    for article in ARTICLES:
        status, headers, body = fetch(site.article_url(article))
        assert status == 200, article.path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        result[article.slug] = body.decode("utf-8")
    return result


# -- data ---------------------------------------------------------------------------------


def test_five_articles_with_unique_slugs_paths_and_several_outlets() -> None:
    assert len(ARTICLES) == 5
    assert ARTICLE_SLUGS == tuple(a.slug for a in ARTICLES)
    assert len(set(ARTICLE_SLUGS)) == 5
    assert len({a.path for a in ARTICLES}) == 5
    assert {a.outlet for a in ARTICLES} == {"agentur", "rundschau", "newsde", "dwn"}
    for article in ARTICLES:
        assert article.path.startswith(f"/{article.outlet}/")


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_SLUGS)
def test_article_record_is_consistent_and_verbatim_from_its_seed(article: SampleArticle) -> None:
    seed = norm(article.seed_text())
    assert article.lang == "de"
    assert len(article.paragraph_parts) == len(article.paragraphs)
    for parts, paragraph in zip(article.paragraph_parts, article.paragraphs, strict=True):
        assert paragraph == " ".join(parts)
        for part in parts:
            assert norm(part) in seed
    assert set(article.subheadings) <= set(article.paragraphs)
    if article.lead:
        assert norm(article.lead) in seed
    if article.title_from_seed:
        assert norm(article.title) in seed
    if article.signoff:
        assert article.signoff in article.boilerplate
    assert article.published_precision in {"minute", "day", "month"}
    assert article.published_source in {"json-ld", "visible", "feed"}
    assert datetime.fromisoformat(article.published).utcoffset() is not None
    if article.modified:
        assert datetime.fromisoformat(article.modified) >= datetime.fromisoformat(article.published)
    assert not set(article.boilerplate) & set(article.paragraphs)


def test_seed_specific_quirks_are_recorded() -> None:
    agentur = BY_SLUG["putin-keine-revolutionen"]
    assert agentur.dateline == "date 2022-01"
    assert agentur.lead and agentur.paragraphs[0].startswith(agentur.lead)  # repeated lead
    assert not agentur.text.startswith(agentur.lead + "\n")
    split = BY_SLUG["ovks-soldaten-in-almaty"]
    joined = "Das Staatsfernsehen berichtete am Freitag, dass bereits 26 Demonstranten getötet worden seien."
    assert any(p.startswith(joined) for p in split.paragraphs)
    assert any(len(parts) == 2 and parts[0].endswith("getötet worden") for parts in split.paragraph_parts)
    assert "26 TOTE, 4.000 FESTNAHMEN" in split.subheadings
    assert (split.signoff, split.agency) == ("su mit dpa", "dpa")
    newsde = BY_SLUG["putin-100-tote-10000-festnahmen"]
    assert {"Erstellt von - Uhr", "/news.de/dpa"} <= set(newsde.boilerplate)
    assert len(newsde.subheadings) == 3
    dwn = BY_SLUG["putin-keine-farbenrevolution"]
    assert (dwn.published, dwn.modified) == ("2022-01-10T10:00:00+01:00", "2022-01-10T10:19:00+01:00")
    assert {"Lesezeit: 2 min", "Aktualisiert: 10.01.2022 10:19", "article:fokus_txt"} <= set(dwn.boilerplate)
    assert len(dwn.teasers) == 8 and all(t.date.endswith("2025") for t in dwn.teasers)


# -- feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/feeds/rss.xml", "application/rss+xml"), ("/feeds/atom.xml", "application/atom+xml")],
)
def test_feeds_parse_cleanly(site: SampleSite, path: str, content_type: str) -> None:
    status, headers, body = fetch(site.url(path))
    assert status == 200
    assert headers["Content-Type"] == f"{content_type}; charset=utf-8"
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.get("language") == "de"
    assert parsed.entries
    for entry in parsed.entries:
        assert entry.title and entry.link.startswith(site.base_url + "/")
        assert entry.get("published_parsed") and entry.get("summary") and entry.get("author")
        assert entry.get("tags")


def test_feeds_together_cover_all_articles_with_overlap(site: SampleSite) -> None:
    rss = feedparser.parse(fetch(site.rss_url)[2])
    atom = feedparser.parse(fetch(site.atom_url)[2])
    rss_links = [e.link for e in rss.entries]
    atom_links = [e.link for e in atom.entries]
    expected = {site.article_url(a) for a in ARTICLES}
    rss_clean = {strip_query(link) for link in rss_links}
    atom_clean = {strip_query(link) for link in atom_links}
    assert rss_clean | atom_clean == expected
    assert rss_clean & atom_clean  # at least one article in both feeds
    tracked = [link for link in rss_links + atom_links if "utm_source=" in link]
    assert tracked and all(strip_query(link) in rss_clean & atom_clean for link in tracked)
    # feed ids differ per feed, so dedupe must go by canonical URL
    assert not {e.id for e in rss.entries} & {e.id for e in atom.entries}


def test_feed_links_follow_the_request_host(site: SampleSite) -> None:
    port = urlsplit(site.base_url).port
    body = fetch(site.rss_url, headers={"Host": f"localhost:{port}"})[2]
    links = [e.link for e in feedparser.parse(body).entries]
    assert links and all(link.startswith(f"http://localhost:{port}/") for link in links)


def test_feed_conditional_get_and_stable_etag(site: SampleSite) -> None:
    for url in (site.rss_url, site.atom_url):
        status, headers, body = fetch(url)
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        assert status == 200 and etag and last_modified
        again = fetch(url)
        assert again[1]["ETag"] == etag and again[2] == body
        status, headers, body = fetch(url, headers={"If-None-Match": etag})
        assert (status, body) == (304, b"")
        assert headers["ETag"] == etag
        assert fetch(url, headers={"If-Modified-Since": last_modified})[0] == 304
        assert fetch(url, headers={"If-None-Match": '"something-else"'})[0] == 200
        assert fetch(url, headers={"If-Modified-Since": "Sat, 01 Jan 2022 00:00:00 GMT"})[0] == 200


# -- article pages ------------------------------------------------------------------------


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_SLUGS)
def test_article_page_carries_article_and_boilerplate(
    site: SampleSite, pages: dict[str, str], article: SampleArticle
) -> None:
    html = pages[article.slug]
    doc = lxml.html.fromstring(html)
    assert doc.get("lang") == "de"
    assert norm(doc.findtext(".//title")).startswith(norm(article.title))
    assert norm(doc.xpath("string(//h1)")) == norm(article.title)
    assert doc.xpath("//link[@rel='canonical']/@href") == [site.article_url(article)]
    assert doc.xpath("//meta[@name='description']/@content") == [article.description]
    assert doc.xpath("//meta[@property='og:url']/@content") == [site.article_url(article)]
    text = norm(doc.body.text_content())
    for parts in article.paragraph_parts:
        for part in parts:  # the page keeps the seed's mid-sentence splits as separate <p>
            assert norm(part) in text
    headings = [norm(h.text_content()) for h in doc.iter("h2")]
    for heading in article.subheadings:
        assert norm(heading) in headings
    missing = [line for line in article.boilerplate if norm(line) not in text]
    assert not missing, missing
    assert len(article.boilerplate) >= 30


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_SLUGS)
def test_json_ld_dates_only_on_some_outlets(pages: dict[str, str], article: SampleArticle) -> None:
    doc = lxml.html.fromstring(pages[article.slug])
    scripts = doc.xpath("//script[@type='application/ld+json']/text()")
    published_meta = doc.xpath("//meta[@property='article:published_time']")
    if article.outlet in JSONLD_OUTLETS:
        data = json.loads(scripts[0])
        assert data["@type"] == "NewsArticle" and data["headline"] == article.title
        assert data["datePublished"] == article.jsonld_published
        assert data.get("dateModified") == article.jsonld_modified
        assert data["author"] and data["publisher"]["name"]
    else:
        assert not scripts and not published_meta
        assert article.jsonld_published is None
    if article.outlet == "dwn":
        assert article.visible_date and article.visible_date in doc.body.text_content()
    if article.outlet == "newsde":
        assert article.published_source == "feed" and article.visible_date is None


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_SLUGS)
def test_trafilatura_finds_the_article_body(
    site: SampleSite, pages: dict[str, str], article: SampleArticle
) -> None:
    extracted = trafilatura.extract(
        pages[article.slug], url=site.article_url(article), output_format="json", with_metadata=True
    )
    assert extracted
    data = json.loads(extracted)
    assert norm(data["title"]) == norm(article.title)
    body = norm(data["text"])
    for paragraph in article.paragraphs:
        assert norm(paragraph) in body


# -- faults and plumbing ------------------------------------------------------------------


def test_fault_500(site: SampleSite) -> None:
    assert fetch(site.url("/faults/500.xml"))[0] == 500


def test_fault_slow_waits_without_blocking_other_requests(site: SampleSite) -> None:
    results: dict[str, object] = {}

    def slow() -> None:
        started = time.monotonic()
        results["response"] = fetch(site.url("/faults/slow.xml?seconds=1"))
        results["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert fetch(site.rss_url)[0] == 200
    assert time.monotonic() - started < 0.8  # not queued behind the sleeping request
    worker.join(timeout=10)
    status, headers, body = results["response"]  # type: ignore[misc]
    assert results["elapsed"] >= 1.0  # type: ignore[operator]
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0 and parsed.entries


def test_fault_slow_meet_releases_requests_to_two_sites_together(site: SampleSite) -> None:
    """Two requests with the same meet key, to two servers, wait for each other: the first one is
    answered only after the second arrived, and both long before their 20 s bound."""
    other = SampleSite()
    other_base = other.start("127.0.0.1", 0)
    key = f"meet-{time.monotonic_ns()}"
    done: dict[str, float] = {}

    def get(name: str, url: str) -> None:
        status, _, body = fetch(url, timeout=30)
        assert status == 200 and feedparser.parse(body).entries
        done[name] = time.monotonic()

    try:
        started = time.monotonic()
        first = threading.Thread(target=get, args=("first", site.url(f"/faults/slow.xml?seconds=20&meet={key}")))
        first.start()
        time.sleep(1.0)
        assert "first" not in done and MEETING_POINT.arrived(key) == 1  # waiting for the other party
        second_sent = time.monotonic()
        get("second", f"{other_base}/faults/slow.xml?seconds=20&meet={key}")
        first.join(timeout=10)
        assert done["first"] >= second_sent and done["first"] - started < 10
        assert done["second"] - second_sent < 5
    finally:
        other.stop()


def test_fault_slow_meet_alone_waits_its_seconds(site: SampleSite) -> None:
    started = time.monotonic()
    status, _, _ = fetch(site.url(f"/faults/slow.xml?seconds=1&meet=alone-{time.monotonic_ns()}&parties=2"))
    assert status == 200 and 1.0 <= time.monotonic() - started < 5


def test_meeting_point_memory_is_bounded() -> None:
    point = _MeetingPoint()
    point.MAX_KEYS = 2
    assert point.wait("a", 1, timeout=1) and point.wait("b", 1, timeout=1)
    started = time.monotonic()
    assert point.wait("c", 1, timeout=0.2) is False  # a third key is not kept, only waits
    assert time.monotonic() - started >= 0.2 and point.arrived("c") == 0
    assert point.wait("a", 2, timeout=1)  # a known key still meets
    assert meeting("meet=" + "k" * 65) is None  # over-long keys are no meeting


def test_meeting_query_parsing() -> None:
    assert meeting("seconds=1") is None
    assert meeting("meet=k") == ("k", 2)
    assert meeting("meet=k&parties=3") == ("k", 3)
    assert meeting("meet=k&parties=0") == ("k", 1)
    assert meeting("meet=k&parties=x") == ("k", 2)
    assert meeting("meet=k&parties=999") == ("k", 16)


def test_slow_seconds_default_and_cap() -> None:
    assert slow_seconds("") == 10
    assert slow_seconds("seconds=1") == 1
    assert slow_seconds("seconds=0.5") == 0.5
    assert slow_seconds("seconds=999") == 30
    assert slow_seconds("seconds=-3") == 0
    assert slow_seconds("seconds=abc") == 10
    assert slow_seconds("seconds=nan") == 10


def test_fault_not_xml(site: SampleSite) -> None:
    status, headers, body = fetch(site.url("/faults/not-xml.xml"))
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    with pytest.raises(lxml.etree.XMLSyntaxError):
        lxml.etree.fromstring(body)
    parsed = feedparser.parse(body)
    assert parsed.bozo == 1 and not parsed.entries


def test_fault_broken_links(site: SampleSite) -> None:
    status, headers, body = fetch(site.url("/faults/broken-links.xml"))
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0 and len(parsed.entries) == 2
    statuses = sorted(fetch(entry.link)[0] for entry in parsed.entries)
    assert statuses == [200, 404]
    assert site.url("/articles/does-not-exist.html") in [e.link for e in parsed.entries]


def test_unknown_path_404_and_tracking_query_ignored(site: SampleSite) -> None:
    assert fetch(site.url("/nope"))[0] == 404
    assert fetch(site.url("/dwn/516842/gibt-es-nicht"))[0] == 404
    article = BY_SLUG["putin-keine-farbenrevolution"]
    assert fetch(site.article_url(article) + "?utm_source=rss&utm_medium=feed")[0] == 200


def test_head_and_index(site: SampleSite) -> None:
    status, headers, body = fetch(site.rss_url, method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    status, _, body = fetch(site.base_url + "/")
    assert status == 200 and b"/feeds/rss.xml" in body


def test_start_stop_and_context_manager() -> None:
    site = SampleSite()
    base = site.start(port=0)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base) and site.base_url == base
    assert fetch(base + "/feeds/atom.xml")[0] == 200
    site.stop()
    site.stop()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/feeds/atom.xml", timeout=2)
    with SampleSite() as other:
        assert fetch(other.rss_url)[0] == 200
    assert not other.running
