"""Date-templated archive pages (``https://site/archiv/{date:%Y/%m/%d}/``): the day's page, and
its ``rel="next"`` pages up to ``max_pages``, list the day's articles.

Links are taken from ``link_selector`` (CSS subset or ``xpath:...``) when configured, else from the
page's content: anchors inside ``<main>`` (or the whole body), never in ``<nav>``, ``<header>``,
``<footer>`` or ``<aside>``. Only links of the day page's own host are kept, optionally only those
whose path matches ``link_pattern``. A day page that answers 404 or 410 means the archive has no
page for that day: the partition is done with nothing in it (recorded, not retried).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from pipeline.backfill.discovery import Candidate, DiscoveryError, Fetcher, PartitionLog, is_retryable
from pipeline.backfill.sources import ArchiveSource
from pipeline.fetch.client import FetchError, HttpStatusError
from pipeline.fetch.decode import decode_page
from pipeline.fetch.urls import canonicalize, host_of

_OUTSIDE_CHROME = "not(ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside)"
_DEFAULT_LINKS = f"//main//a[@href][{_OUTSIDE_CHROME}]"
_FALLBACK_LINKS = f"//body//a[@href][{_OUTSIDE_CHROME}]"
_REL_NEXT = "contains(concat(' ', normalize-space(@rel), ' '), ' next ')"
_DEFAULT_NEXT = f"//link[@href][{_REL_NEXT}] | //a[@href][{_REL_NEXT}]"
_REL_PAGING = re.compile(r"\b(next|prev|previous)\b")


def _parse(content: bytes, content_type: str | None) -> html.HtmlElement | None:
    text = decode_page(content, content_type)
    try:
        return html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _links(tree: html.HtmlElement, source: ArchiveSource) -> list[tuple[str, str]]:
    """(href, anchor text) of the listed articles, in page order."""
    xpath = source.link_xpath
    if xpath is None:
        xpath = _DEFAULT_LINKS if tree.xpath("//main") else _FALLBACK_LINKS
    out = []
    for element in tree.xpath(xpath):
        if not isinstance(element, html.HtmlElement):
            continue
        anchors = [element] if element.tag == "a" else element.xpath(".//a[@href]")
        for anchor in anchors:
            if _REL_PAGING.search(anchor.get("rel") or ""):
                continue
            out.append((anchor.get("href", ""), " ".join(anchor.text_content().split())))
    return out


def _next_page(tree: html.HtmlElement, source: ArchiveSource) -> str | None:
    found = tree.xpath(source.next_xpath or _DEFAULT_NEXT)
    for element in found:
        href = element.get("href") if isinstance(element, html.HtmlElement) else str(element)
        if href:
            return href
    return None


def archive_page_candidates(source: ArchiveSource, day: date, fetcher: Fetcher, log: PartitionLog) -> list[Candidate]:
    """The articles linked from ``day``'s archive page(s). The first page failing raises
    DiscoveryError (except 404/410: no page for the day); a later page failing is recorded."""
    first = source.location_for(day)
    host = host_of(first)
    pattern = re.compile(source.link_pattern) if source.link_pattern else None
    found: dict[str, Candidate] = {}
    url: str | None = first
    pages: set[str] = set()
    while url and len(pages) < source.max_pages:
        pages.add(canonicalize(url))
        try:
            response = fetcher.get(url, kind="page")
        except HttpStatusError as exc:
            if url == first and exc.status in (404, 410):
                log.fail("discover", url, f"{exc.reason}: no archive page for {day.isoformat()}", retryable=False)
                return []
            if url == first:
                raise DiscoveryError(url, exc.reason, retryable=is_retryable(exc)) from exc
            log.fail("discover", url, exc.reason, retryable=is_retryable(exc))
            break
        except FetchError as exc:
            if url == first:
                raise DiscoveryError(url, exc.reason, retryable=is_retryable(exc)) from exc
            log.fail("discover", url, exc.reason, retryable=is_retryable(exc))
            break
        tree = _parse(response.content, response.headers.get("content-type"))
        if tree is None:
            raise DiscoveryError(response.url, "archive page is not parseable HTML", retryable=False)
        for href, text in _links(tree, source):
            link = urljoin(response.url, href.strip())
            key = canonicalize(link)
            if urlsplit(link).scheme not in ("http", "https") or host_of(link) != host or key in pages:
                continue
            if pattern is not None and not pattern.search(urlsplit(link).path):
                continue
            found.setdefault(key, Candidate(url=link, title=text or None))
        following = _next_page(tree, source)
        url = urljoin(response.url, following) if following else None
        if url and (canonicalize(url) in pages or host_of(url) != host):
            url = None
    if url and len(pages) >= source.max_pages:
        log.fail("discover", url, f"more than {source.max_pages} pages for one day (max_pages)", retryable=False)
    return [candidate for key, candidate in found.items() if key not in pages]
