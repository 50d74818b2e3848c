"""Main text and metadata of an article page, by trafilatura."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura
from lxml import html as lxml_html


class ExtractionError(Exception):
    pass


@dataclass(frozen=True)
class Extracted:
    title: str | None
    body: str
    description: str | None
    authors: list[str]
    canonical_url: str | None
    html_lang: str | None


def _page_hints(page: str) -> tuple[str | None, str | None]:
    """The page's own <link rel=canonical> and <html lang>, which trafilatura does not return."""
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return None, None
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    lang = tree.get("lang")
    return (canonical[0].strip() if canonical else None), (lang.split("-")[0].lower() if lang else None)


def extract_article(page: str, url: str) -> Extracted:
    doc = trafilatura.bare_extraction(
        page, url=url, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError("no main text found in page")
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    canonical, html_lang = _page_hints(page)
    return Extracted(
        title=doc.title,
        body=doc.text.strip(),
        description=doc.description,
        authors=authors,
        canonical_url=canonical,
        html_lang=html_lang,
    )
