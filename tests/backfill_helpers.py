"""Shared set-up of the backfill tests: config dirs with archive sources on a real local sample
site, and small WARC files written with warcio."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.samplesite.archive import ARCHIVE_DAYS, archive_articles, render_archive_article
from tests.conftest import sample_feeds, write_config

DAYS = ARCHIVE_DAYS
FROM, TO = DAYS[0].isoformat(), DAYS[-1].isoformat()
WARC_BASE = "https://warc.example.net"
LOCAL = ["127.0.0.1/32"]


def archive_source(base_url: str, name: str = "archive") -> dict:
    return {"name": name, "type": "archive_pages", "url": base_url + "/archiv/{date:%Y/%m/%d}/",
            "link_selector": "ul.archive-list a", "lang": "de", "allow_networks": LOCAL}


def sitemap_source(base_url: str, name: str = "sitemap") -> dict:
    return {"name": name, "type": "sitemap", "url": base_url + "/sitemap.xml", "lang": "de", "allow_networks": LOCAL}


def warc_source(path: Path, name: str = "warc") -> dict:
    return {"name": name, "type": "warc", "path": str(path), "lang": "de"}


def backfill_config(directory: Path, *, es_url: str, alias: str, base_url: str, sources: list[dict],
                    **extra: object) -> Path:
    write_config(directory, es_url=es_url, alias=alias, feeds=sample_feeds(base_url, "rss"))
    (directory / "backfill.yaml").write_text(yaml.safe_dump({"sources": sources, **extra}), encoding="utf-8")
    return directory


def _response(writer: WARCWriter, url: str, body: bytes, when: datetime, *, status: str = "200 OK",
              content_type: str = "text/html; charset=utf-8") -> None:
    headers = StatusAndHeaders(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                               protocol="HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                       warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    writer.write_record(record)


def write_warc(path: Path, *, base: str = WARC_BASE, per_day: int = 2, extra: list[tuple[str, bytes, datetime]] = ()) -> list[str]:
    """A gzipped WARC: ``per_day`` archive articles of each archive day rendered under ``base``
    (captured at noon UTC of their day), plus records that are no article: a request, an image, a
    404, a redirect, and a page captured the day after the range. Returns the article URLs."""
    urls = []
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for day in DAYS:
            for article in [a for a in archive_articles() if a.day == day][:per_day]:
                url = base + article.path
                when = datetime(day.year, day.month, day.day, 12, 0)
                writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"),
                                                              warc_headers_dict={"WARC-Date": "2022-01-10T12:00:00Z"}))
                _response(writer, url, render_archive_article(article, base).encode("utf-8"), when)
                urls.append(url)
        noon = datetime(2022, 1, 10, 12, 0)
        _response(writer, base + "/logo.png", b"\x89PNG....", noon, content_type="image/png")
        _response(writer, base + "/gone.html", b"<html>gone</html>", noon, status="404 Not Found")
        _response(writer, base + "/moved.html", b"", noon, status="301 Moved Permanently")
        late = archive_articles()[0]
        _response(writer, base + "/later" + late.path, render_archive_article(late, base).encode(), datetime(2022, 1, 13, 9))
        for url, body, when in extra:
            _response(writer, url, body, when)
    return urls


def day_of(value: str) -> date:
    return date.fromisoformat(value)
