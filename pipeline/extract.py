"""Main text and metadata of an article page, by trafilatura.

The page is parsed once: callers that already hold an lxml tree (``pipeline.clean`` removes site
chrome from it first) pass it to ``extract_tree``. Metadata is read with trafilatura's own
metadata helpers minus htmldate's date search, which costs as much as the text extraction and
is done better by ``pipeline.dates``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import (
    examine_meta,
    extract_author,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.utils import load_html

log = logging.getLogger(__name__)


class ExtractionError(Exception):
    pass


@dataclass(frozen=True)
class Paragraph:
    """One block of the main text; ``heading`` marks a sub-heading (kept as its own paragraph)."""

    text: str
    heading: bool = False


@dataclass(frozen=True)
class PageHints:
    """What the raw page says about itself that trafilatura does not return."""

    canonical_url: str | None = None
    html_lang: str | None = None
    accessible_for_free: bool | None = None


@dataclass(frozen=True)
class Extracted:
    title: str | None
    body: str
    description: str | None
    authors: list[str]
    canonical_url: str | None
    html_lang: str | None
    sitename: str | None = None
    categories: list[str] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    accessible_for_free: bool | None = None


_WS = re.compile(r"\s+")


def normalize_space(text: str) -> str:
    return _WS.sub(" ", text).strip()


def parse_page(page: str | bytes | HtmlElement) -> HtmlElement:
    """Parse once, tolerant of encoding declarations and broken markup (trafilatura's loader);
    a tree is returned as it is."""
    tree = load_html(page)
    if tree is None:
        raise ExtractionError("page is not parseable HTML")
    return tree


def page_hints(tree: HtmlElement) -> PageHints:
    """rel=canonical, <html lang> and JSON-LD isAccessibleForFree (string or bool, any depth)."""
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    lang = tree.get("lang") or (tree.getroottree().getroot().get("lang"))
    free: bool | None = None
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        value = _find_key(data, "isAccessibleForFree")
        if value is not None:
            free = value if isinstance(value, bool) else str(value).strip().lower() not in {"false", "0", "no"}
            break
    return PageHints(
        canonical_url=canonical[0].strip() if canonical else None,
        html_lang=lang.split("-")[0].lower() if lang else None,
        accessible_for_free=free,
    )


def _find_key(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        if key in data:
            return data[key]
        children: Any = data.values()
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = _find_key(child, key)
        if found is not None:
            return found
    return None


# trafilatura's author search (``extract_author``: a copy of the tree, pruned, then three XPaths
# whose regex tests call back into Python for every element with a class) costs 2-3 ms on a
# full-size page; it runs when the page's meta tags and JSON-LD name no author. Every element
# those XPaths (AUTHOR_XPATHS of the pinned trafilatura) can match is an <author>, has a <rel>
# child, or has one of these substrings in its class, id, rel, itemprop, data-testid or
# data-component attribute: a page with none of them has no author for trafilatura, which a
# 0.3 ms attribute scan finds out. tests/test_author_search.py checks that every literal and
# regex alternative of AUTHOR_XPATHS contains one of the substrings.
AUTHOR_NEEDLES = (
    "uthor", "yline", "byl", "BBL", "username", "channel-name", "zuozhe", "bianji", "xiaobian",
    "submitted-by", "posted-by", "journalist-name", "screenname", "writer",
)
_AUTHOR_NEEDLE = re.compile("|".join(map(re.escape, AUTHOR_NEEDLES)))
_AUTHOR_ATTRIBUTES = etree.XPath("//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component")


def find_author(tree: HtmlElement) -> str | None:
    """trafilatura's ``extract_author``, skipped on pages where it cannot match anything."""
    if (
        tree.find(".//author") is None
        and tree.find(".//rel") is None
        and _AUTHOR_NEEDLE.search("\x00".join(_AUTHOR_ATTRIBUTES(tree))) is None
    ):
        return None
    return extract_author(tree)


def _metadata(tree: HtmlElement) -> tuple[str | None, str | None, list[str], str | None, list[str]]:
    """title, author string, categories, site name, description — trafilatura's rules, no date."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except Exception as exc:  # noqa: BLE001 - trafilatura's JSON-LD parser has bugs on odd input
        log.debug("JSON-LD metadata failed: %s", exc)
    title = meta.title or extract_title(tree)
    author = meta.author or find_author(tree)
    sitename = meta.sitename or extract_sitename(tree)
    if sitename:
        sitename = sitename.lstrip("@")
    categories = list(meta.categories or extract_catstags("category", tree) or [])
    authors = [a.strip() for a in (author or "").split(";") if a.strip()]
    return title, meta.description, categories, sitename, authors


def _paragraphs(body: Any, text: str) -> list[Paragraph]:
    """Blocks of trafilatura's XML body; line breaks inside a block split it (captions often
    hang off a <br>), the repair step in clean.py joins mid-sentence splits again."""
    if body is None:
        return [Paragraph(normalize_space(line)) for line in text.splitlines() if line.strip()]
    out: list[Paragraph] = []
    for block in body:
        if block.tag == "list":
            items = [i for i in block.iter("item")]
            for item in items:
                line = normalize_space("".join(item.itertext()))
                if line:
                    out.append(Paragraph(line))
            continue
        chunks: list[str] = []
        _walk(block, chunks)
        heading = block.tag == "head"
        for line in "".join(chunks).split("\n"):
            line = normalize_space(line)
            if line:
                out.append(Paragraph(line, heading))
    return out


def _walk(element: Any, chunks: list[str]) -> None:
    """Text in document order, with <lb/> as a line break."""
    chunks.append("\n" if element.tag == "lb" else element.text or "")
    for child in element:
        _walk(child, chunks)
        chunks.append(child.tail or "")


def extract_tree(tree: HtmlElement, url: str, hints: PageHints | None = None) -> Extracted:
    """Extract from a parsed page. Note: trafilatura prunes the tree it is given."""
    hints = hints or page_hints(tree)
    title, description, categories, sitename, authors = _metadata(tree)
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=False,
        favor_precision=True, fast=True,
    )
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError("no main text found in page")
    paragraphs = _paragraphs(doc.body, doc.text)
    return Extracted(
        title=title,
        body="\n\n".join(p.text for p in paragraphs),
        description=description,
        authors=authors,
        canonical_url=hints.canonical_url,
        html_lang=hints.html_lang,
        sitename=sitename,
        categories=categories,
        paragraphs=paragraphs,
        accessible_for_free=hints.accessible_for_free,
    )


def extract_article(page: str, url: str) -> Extracted:
    """Main text and metadata of a page, without cleaning rules (see pipeline.clean for those)."""
    tree = parse_page(page)
    return extract_tree(tree, url, page_hints(tree))
