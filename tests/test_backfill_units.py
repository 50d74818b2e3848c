"""Backfill pieces without Elasticsearch: config validation, sitemap parsing (safety, caps,
gzip, lastmod), day filtering, grouping of partitions, the version rule, and the sample site's
archive routes over real HTTP."""

from __future__ import annotations

import gzip
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from markupsafe import escape

from pipeline.article import Article
from pipeline.backfill.archivepages import archive_page_candidates
from pipeline.backfill.discovery import DiscoveryError, Fetcher
from pipeline.backfill.run import PartitionReport, days_between, group_partitions, plan_partitions
from pipeline.backfill.sitemap import SitemapCache, SitemapError, parse_sitemap, sitemap_candidates
from pipeline.backfill.sources import load_backfill_config, parse_backfill_config
from pipeline.backfill.versions import newer_reason
from pipeline.config import ConfigError, HttpSettings, Settings
from pipeline.samplesite import SampleSite
from pipeline.samplesite.archive import (
    ARCHIVE_DAYS,
    archive_articles,
    day_entries,
    day_page_path,
    day_sitemap_path,
)

GOOD = {"name": "s", "type": "sitemap", "url": "https://news.example/sitemap.xml"}


def _parse(*sources: dict, **extra: object):
    return parse_backfill_config({"sources": list(sources), **extra}, "backfill.yaml")


# -- config ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "message"), [
    ({"name": "s", "type": "rss", "url": "https://x/"}, "'type' must be one of"),
    ({"name": "s", "type": "sitemap"}, "type sitemap needs 'url'"),
    ({"name": "s", "type": "warc"}, "type warc needs 'path'"),
    ({"type": "sitemap", "url": "https://x/"}, "'name' must be"),
    ({"name": "a b", "type": "sitemap", "url": "https://x/"}, "'name' must be"),
    ({**GOOD, "color": "red"}, "unknown keys ['color'] for type sitemap"),
    ({**GOOD, "link_selector": "a"}, "unknown keys ['link_selector']"),
    ({**GOOD, "url": "ftp://x/sitemap.xml"}, "absolute http(s) URL"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/archiv/"}, "must contain a {date:...} field"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{day}/"}, "may only use {date:<strftime format>}"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{date:%Y}/"}, "same location for every day"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{date:%Y/%m/%d/"}, "bad date template"),
    ({**GOOD, "timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
    ({**GOOD, "allow_networks": ["localhost"]}, "'localhost' is not a network"),
    ({**GOOD, "allow_networks": "127.0.0.1/32"}, "allow_networks must be a list"),
    ({**GOOD, "respect_robots": "no"}, "respect_robots must be true or false"),
    ({**GOOD, "max_bytes": 0}, "max_bytes must be a positive integer"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{date:%F}/", "link_selector": "a:hover"}, "bad selector"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{date:%F}/", "link_selector": "xpath://a["},
     "bad selector"),
    ({"name": "s", "type": "archive_pages", "url": "https://x/{date:%F}/", "link_pattern": "(["}, "not a regular expression"),
    ("just a string", "each source must be a mapping"),
])
def test_bad_sources_are_refused_with_a_clear_message(source, message) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(source)
    assert message in str(caught.value)
    assert "backfill.yaml" in str(caught.value)


def test_config_level_checks() -> None:
    with pytest.raises(ConfigError, match=r"repeated: \['s'\]"):
        _parse(GOOD, GOOD)
    with pytest.raises(ConfigError, match="unknown top-level keys"):
        _parse(GOOD, archives=[])
    with pytest.raises(ConfigError, match="partitions_per_task must be a positive integer"):
        _parse(GOOD, partitions_per_task=0)
    with pytest.raises(ConfigError, match="lease_s must be a positive number"):
        _parse(GOOD, lease_s=-1)
    with pytest.raises(ConfigError, match="'sources' in backfill.yaml must be a list"):
        parse_backfill_config({"sources": {"a": 1}}, "backfill.yaml")


def test_good_sources_and_the_repository_config(tmp_path: Path) -> None:
    config = _parse(
        GOOD,
        {"name": "a", "type": "archive_pages", "url": "https://x/archiv/{date:%Y/%m/%d}/", "link_selector": ".list a",
         "link_pattern": "/artikel/", "timezone": "UTC"},
        {"name": "w", "type": "warc", "path": "/data/{date:%Y%m%d}/*.warc.gz"},
    )
    archive = config.source("a")
    assert archive.location_for(date(2022, 1, 10)) == "https://x/archiv/2022/01/10/"
    assert "archive-list" not in (archive.link_xpath or "") and "list" in (archive.link_xpath or "")
    assert config.source("w").location_for(date(2022, 1, 10)) == "/data/20220110/*.warc.gz"
    with pytest.raises(ConfigError, match="no archive source named 'x'"):
        config.source("x")
    # the shipped config/backfill.yaml is valid; no file means no sources
    shipped = load_backfill_config(Settings(), env={})
    assert {s.type for s in shipped.sources} == {"sitemap", "archive_pages"}
    assert load_backfill_config(Settings(config_dir=str(tmp_path)), env={}).sources == ()
    with pytest.raises(ConfigError, match="NEWS_BACKFILL_FILE points at a missing file"):
        load_backfill_config(Settings(), env={"NEWS_BACKFILL_FILE": str(tmp_path / "nope.yaml")})
    (tmp_path / "backfill.yaml").write_text("sources: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_backfill_config(Settings(config_dir=str(tmp_path)), env={})
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"sources": [GOOD]}), encoding="utf-8")
    assert load_backfill_config(Settings(), env={"NEWS_BACKFILL_FILE": str(tmp_path / "b.yaml")}).sources[0].name == "s"


# -- planning --------------------------------------------------------------------------------------


def test_partitions_days_and_groups() -> None:
    config = _parse(GOOD, {**GOOD, "name": "t"})
    assert days_between(date(2022, 1, 30), date(2022, 2, 2))[-1] == date(2022, 2, 2)
    with pytest.raises(ConfigError, match="is after --to"):
        days_between(date(2022, 1, 2), date(2022, 1, 1))
    parts = plan_partitions(config, date(2022, 1, 1), date(2022, 1, 3))
    assert parts[:4] == [("s", date(2022, 1, 1)), ("s", date(2022, 1, 2)), ("s", date(2022, 1, 3)), ("t", date(2022, 1, 1))]
    assert plan_partitions(config, date(2022, 1, 1), date(2022, 1, 1), ["t", "t"]) == [("t", date(2022, 1, 1))]
    with pytest.raises(ConfigError, match="no archive sources configured"):
        plan_partitions(_parse(), date(2022, 1, 1), date(2022, 1, 1))
    ten_years = [("s", d) for d in days_between(date(2015, 1, 1), date(2024, 12, 31))]
    groups = group_partitions(ten_years, 31, 256)
    assert len(groups) <= 256 and sum(len(g) for g in groups) == len(ten_years) == 3653
    assert [p for g in groups for p in g] == ten_years
    assert [len(g) for g in group_partitions(ten_years[:70], 31, 256)] == [31, 31, 8]
    assert group_partitions([], 31, 256) == []


# -- sitemaps --------------------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example/a</loc><lastmod>2022-01-10T23:30:00+00:00</lastmod></url>
  <url><loc>https://news.example/b</loc><lastmod>2022-01-10</lastmod></url>
  <url><loc>https://news.example/c</loc><news:news><news:publication_date>2022-01-11T08:00:00+01:00</news:publication_date>
    <news:title>C</news:title></news:news></url>
  <url><loc>https://news.example/d</loc></url>
  <url><lastmod>2022-01-10</lastmod></url>
</urlset>"""


def test_parse_sitemap_dates_news_tags_and_gzip() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.kind == "urlset" and [e.loc for e in sitemap.entries] == [f"https://news.example/{c}" for c in "abcd"]
    a, b, c, d = sitemap.entries
    assert a.lastmod == datetime(2022, 1, 10, 23, 30, tzinfo=UTC) and b.lastmod == date(2022, 1, 10)
    assert c.lastmod is None and c.published.isoformat() == "2022-01-11T08:00:00+01:00" and c.title == "C"
    assert d.lastmod is None and d.published is None
    assert parse_sitemap(gzip.compress(URLSET)) == sitemap


@pytest.mark.parametrize(("body", "reason"), [
    ((b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     b"<urlset><url><loc>&lol2;</loc></url></urlset>"), "<!DOCTYPE lolz> (DTDs can declare entities (XXE))"),
    (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://169.254.169.254/"><urlset/>', "refused: the document has a <!DOCTYPE x>"),
    (b"<html><body>not a sitemap</body></html>", "neither <urlset> nor <sitemapindex>"),
    (b"<urlset><url><loc>https://x/</loc>", "not a valid sitemap"),
    (b"", "not a valid sitemap"),
    (b"\x1f\x8b\x08\x00garbage", "bad gzip data"),
])
def test_unsafe_or_broken_sitemaps_are_refused(body: bytes, reason: str) -> None:
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(body)
    assert reason in caught.value.reason


def test_sitemap_size_caps_hold_before_and_after_gunzip() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 20_000_000 + b"</urlset>")
    assert len(bomb) < 100_000
    with pytest.raises(SitemapError, match="exceeds the 1000000-byte cap"):
        parse_sitemap(bomb, max_bytes=1_000_000)
    with pytest.raises(SitemapError, match="exceeds the 100-byte cap"):
        parse_sitemap(URLSET, max_bytes=100)


def _report() -> PartitionReport:
    return PartitionReport(source="s", source_type="sitemap", day="2022-01-10", run_id="t")


def _local_source(base_url: str, path: str, **extra):
    return _parse({"name": "s", "type": "sitemap", "url": base_url + path, "allow_networks": ["127.0.0.1/32"],
                   **extra}).sources[0]


def test_sitemap_day_filter_in_the_source_timezone_over_real_http() -> None:
    """Day filtering uses the source's zone: 23:30 UTC on the 10th is the 11th in Berlin."""
    with SampleSite() as site, Fetcher(HttpSettings(per_host_min_interval_s=0)) as fetcher:
        source = _local_source(site.base_url, "/sitemap.xml")
        cache = SitemapCache()
        for day in ARCHIVE_DAYS:
            report = _report()
            found = sitemap_candidates(source, day, fetcher.for_source(source), report, cache)
            assert sorted(c.url for c in found) == sorted(site.base_url + e.path for e in day_entries(day))
            assert all(c.version_at is not None for c in found) and report.failed == 0
        assert site.hits("/sitemap.xml") == 1 and site.hits(day_sitemap_path(ARCHIVE_DAYS[2])) == 1
        # the flat sitemap gives the same days
        flat = _local_source(site.base_url, "/sitemaps/all.xml")
        found = sitemap_candidates(flat, ARCHIVE_DAYS[1], fetcher.for_source(flat), _report(), SitemapCache())
        assert len(found) == 3
        # no URLs the day before the archive; a sitemap that is not one fails the partition's discovery
        assert sitemap_candidates(source, date(2022, 1, 9), fetcher.for_source(source), _report(), cache) == []
        html = _local_source(site.base_url, "/")
        with pytest.raises(DiscoveryError, match=r"<!DOCTYPE html> \(an HTML page\?\)"):
            sitemap_candidates(html, ARCHIVE_DAYS[0], fetcher.for_source(html), _report(), SitemapCache())


def test_archive_page_links_pagination_and_missing_days_over_real_http() -> None:
    with SampleSite() as site, Fetcher(HttpSettings(per_host_min_interval_s=0)) as fetcher:
        def source(**extra):
            raw = {"name": "a", "type": "archive_pages", "url": site.base_url + "/archiv/{date:%Y/%m/%d}/",
                   "allow_networks": ["127.0.0.1/32"], **extra}
            return _parse(raw).sources[0]

        selected, default = source(link_selector="ul.archive-list a"), source()
        for configured in (selected, default):
            report = _report()
            found = archive_page_candidates(configured, ARCHIVE_DAYS[0], fetcher.for_source(configured), report)
            # both pages of the first day; no navigation, pagination, feed or off-site link
            assert [c.url for c in found] == [site.base_url + e.path for e in day_entries(ARCHIVE_DAYS[0])]
            assert found[0].title and report.failed == 0
        assert site.hits(day_page_path(ARCHIVE_DAYS[0]) + "?page=2") == 2
        # a link pattern narrows the links down
        seeds_only = source(link_pattern=r"^/(agentur|rundschau|dwn)/")
        assert len(archive_page_candidates(seeds_only, ARCHIVE_DAYS[0], fetcher.for_source(seeds_only), _report())) == 3
        # max_pages stops the pagination and says so
        one_page = source(max_pages=1)
        report = _report()
        assert len(archive_page_candidates(one_page, ARCHIVE_DAYS[0], fetcher.for_source(one_page), report)) == 4
        assert "max_pages" in report.failures[0]["reason"] and not report.retry_needed
        # a day without an archive page (404) has nothing to backfill: recorded, not to be retried
        report = _report()
        assert archive_page_candidates(selected, date(2022, 1, 20), fetcher.for_source(selected), report) == []
        assert "no archive page for 2022-01-20" in report.failures[0]["reason"] and not report.retry_needed


# -- versions ----------------------------------------------------------------------------------------


def test_the_newer_version_rule() -> None:
    copy = Article(url="u", canonical_url="u", feed="w", site="s", fetched_at="2022-01-11T09:30:00+00:00",
                   modified_at="2022-01-11T08:00:00+00:00")
    later_fetch = {"fetched_at": "2026-11-23T10:00:00+00:00", "modified_at": None}
    assert "fetched" in newer_reason(later_fetch, copy)
    later_edit = {"fetched_at": "2022-01-10T00:00:00+00:00", "modified_at": "2022-01-12T08:00:00+00:00"}
    assert "modified" in newer_reason(later_edit, copy)  # modified later wins even if fetched earlier
    # the copy was modified after the indexed version: the copy may be written
    assert newer_reason({"fetched_at": "2026-11-23T10:00:00+00:00", "modified_at": "2022-01-10T08:00:00+00:00"},
                        copy) is None
    assert newer_reason({"fetched_at": "2022-01-11T09:30:00+00:00"}, copy) is None  # the same capture
    assert newer_reason({"fetched_at": "2021-01-01T00:00:00+00:00"}, copy) is None


# -- the sample site's archive ----------------------------------------------------------------------


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_sample_site_archive_routes_and_fault_injection() -> None:
    articles = archive_articles()
    assert len(articles) == 9 and {a.day for a in articles} == set(ARCHIVE_DAYS)
    assert len({a.paragraphs for a in articles}) == 9
    with SampleSite() as site:
        status, ctype, body = _get(site.url("/sitemap.xml"))
        assert status == 200 and ctype.startswith("application/xml") and b"<sitemapindex" in body
        status, ctype, body = _get(site.url(day_sitemap_path(ARCHIVE_DAYS[2])))
        assert (status, ctype) == (200, "application/gzip") and b"<urlset" in gzip.decompress(body)
        status, _, body = _get(site.url(day_page_path(ARCHIVE_DAYS[0])))
        assert status == 200 and b'rel="next"' in body
        assert _get(site.url(day_page_path(ARCHIVE_DAYS[0]) + "?page=3"))[0] == 404
        assert _get(site.url(day_page_path(date(2022, 1, 20))))[0] == 404
        status, _, body = _get(site.url(articles[0].path))
        assert status == 200 and str(escape(articles[0].paragraphs[1])).encode() in body
        assert site.hits(articles[0].path) == 1 and site.hits() == 6
        site.fail_next("/sitemap.xml", times=2)
        assert [_get(site.url("/sitemap.xml"))[0] for _ in range(3)] == [500, 500, 200]
