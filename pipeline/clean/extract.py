"""Main text and metadata of an article page, by trafilatura.

The page is parsed once: callers that already hold an lxml tree (``pipeline.clean.rules`` removes site
chrome from it first) pass it to ``extract_tree``. Metadata is read with trafilatura's own
metadata helpers minus htmldate's date search, which costs as much as the text extraction and
is done better by ``pipeline.clean.dates``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)

from pipeline.clean import authorsearch
from pipeline.clean.pageparse import load_page

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
    #: the standfirst put back before trafilatura's text (``find_lead``), None if not needed
    lead: str | None = None


def normalize_space(text: str) -> str:
    """Whitespace runs as one space, none at the ends: ``re.sub(r"\\s+", " ", text).strip()``,
    about three times faster: ``str.split`` splits at the characters ``\\s`` matches in a str
    pattern (both test ``str.isspace``) and leaves out empty ends."""
    return " ".join(text.split())


def parse_page(page: str | bytes | HtmlElement) -> HtmlElement:
    """Parse once, tolerant of encoding declarations and broken markup (trafilatura's loader);
    a tree is returned as it is."""
    tree = load_page(page)
    if tree is None:
        raise ExtractionError("page is not parseable HTML")
    return tree


#: compiled once (``tree.xpath(string)`` compiles its expression on every call); plain strings
_CANONICAL = etree.XPath("//link[@rel='canonical']/@href", smart_strings=False)
_JSON_LD = etree.XPath("//script[@type='application/ld+json']/text()", smart_strings=False)


def page_hints(tree: HtmlElement) -> PageHints:
    """rel=canonical, <html lang> and JSON-LD isAccessibleForFree (string or bool, any depth)."""
    canonical = _CANONICAL(tree)
    lang = tree.get("lang") or (tree.getroottree().getroot().get("lang"))
    free: bool | None = None
    for script in _JSON_LD(tree):
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
_AUTHOR_ATTRIBUTES = etree.XPath(
    "//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component", smart_strings=False
)  # plain strings: a "smart" one makes an lxml object for its element


def find_author(tree: HtmlElement) -> str | None:
    """trafilatura's ``extract_author``, skipped on pages where it cannot match anything, else
    answered without its copy of the page (``pipeline.clean.authorsearch``)."""
    if (
        tree.find(".//author") is None
        and tree.find(".//rel") is None
        and _AUTHOR_NEEDLE.search("\x00".join(_AUTHOR_ATTRIBUTES(tree))) is None
    ):
        return None
    return authorsearch.find_author(tree, _AUTHOR_NEEDLE)


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
    # the categories the page's meta tags and JSON-LD give; trafilatura's search of the page's
    # category links and <meta article:section> (extract_catstags, ~1.5 ms a page on its evaluation
    # set) is not made: nothing downstream reads categories (Article has none)
    categories = list(meta.categories or [])
    authors = [a.strip() for a in (author or "").split(";") if a.strip()]
    return title, meta.description, categories, sitename, authors


def _paragraphs(body: Any, text: str) -> list[Paragraph]:
    """Blocks of trafilatura's XML body; line breaks inside a block split it (captions often
    hang off a <br>), the repair step in clean.py joins mid-sentence splits again. Text that
    trafilatura placed in a block's tail (after a heading, a list, a table) is a paragraph of its
    own; a table is one line a row, its cells joined by " | "."""
    if body is None:
        return [Paragraph(normalize_space(line)) for line in text.splitlines() if line.strip()]
    out: list[Paragraph] = []
    for block in body:
        if block.tag == "list":
            for item in block.iter("item"):
                chunks: list[str] = []
                _walk(item, chunks, skip_lists=True)
                _add_lines(out, "".join(chunks), heading=False)
        elif block.tag == "table":
            for row in block.iter("row"):
                cells = [normalize_space("".join(cell.itertext())) for cell in row]
                _add_lines(out, " | ".join(c for c in cells if c), heading=False)
        else:
            chunks = []
            _walk(block, chunks)
            _add_lines(out, "".join(chunks), heading=block.tag == "head")
        _add_lines(out, block.tail or "", heading=False)
    return out


def _alnum(texts: Iterable[str]) -> int:
    """Letters and digits (``str.isalnum``) in ``texts``; an ASCII text is counted by deleting its
    other bytes (the same count, in C)."""
    count = 0
    for text in texts:
        if text.isascii():
            count += len(text.encode("ascii").translate(None, _ASCII_NOT_ALNUM))
        else:
            count += sum(map(str.isalnum, text))
    return count


_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def _add_lines(out: list[Paragraph], text: str, *, heading: bool) -> None:
    for line in text.split("\n"):
        line = normalize_space(line)
        if line:
            out.append(Paragraph(line, heading))


def _walk(element: Any, chunks: list[str], *, skip_lists: bool = False) -> None:
    """Text in document order, with <lb/> as a line break; a nested list's items (reached from
    their own <item>) are left to the caller when ``skip_lists``."""
    chunks.append("\n" if element.tag == "lb" else element.text or "")
    for child in element:
        if skip_lists and child.tag == "list":
            chunks.append("\n")
        else:
            _walk(child, chunks, skip_lists=skip_lists)
        chunks.append(child.tail or "")
        if child.tag == "item":
            chunks.append("\n")


#: The call, chosen on trafilatura's public evaluation set (docs/extraction-quality.md): tables
#: are article text (results, recipes, standings); ``fast`` skips trafilatura's second opinion
#: (its baseline and jusText comparison), which only pays on pages where the first pass finds
#: little; ``favor_precision`` lost whole articles and is kept for short texts (below).
EXTRACT_OPTIONS: dict[str, Any] = {"include_comments": False, "include_tables": True, "fast": True}
#: trafilatura's full call, for pages where the fast one finds nothing or too little
FALLBACK_OPTIONS: dict[str, Any] = {"include_comments": False, "include_tables": True}
#: "too little": less than this share of the text in the page's <p> elements
FALLBACK_SHARE = 0.2
#: when the full call too finds under FALLBACK_SHARE (a slogan where the page holds an article:
#: 16 pages of trafilatura's eval set), the recall call, which keeps more of the candidates
RECALL_OPTIONS: dict[str, Any] = {**EXTRACT_OPTIONS, "favor_recall": True}
#: Below trafilatura's ``min_extracted_size`` its recall settings pad a short text with whatever
#: its baseline finds (a menu's "Start"); there the precise call decides, and may find nothing.
SHORT_TEXT_CHARS = 250
SHORT_OPTIONS: dict[str, Any] = {**EXTRACT_OPTIONS, "favor_precision": True}
#: when the precise call finds nothing, a short text of at least this size is still the body
#: (flagged too-short downstream); less is a menu or a button, and the page has no main text
MIN_TEXT_CHARS = 100


def _paragraph_chars(tree: HtmlElement) -> int:
    return sum(len(normalize_space(t)) for t in _P_TEXT(tree))


_P_TEXT = etree.XPath("//p//text()", smart_strings=False)


def _text_chars(doc: Any) -> int:
    return len((doc.text or "").strip()) if doc is not None else 0


def main_text(tree: HtmlElement, url: str) -> Any:
    """trafilatura's document for the page (None: no main text): the fast call; the full call
    when that finds nothing or under ``FALLBACK_SHARE`` of the page's paragraph text, and the
    recall call when that too finds under the share; the precise call when the text is short.
    ``tree`` is left as it is: ``bare_extraction`` (trafilatura 2.3.1, pinned) works on its own
    copy of a tree it is given (``if tree is filecontent: tree = copy(tree)``), so each call here
    gets the page as parsed without a copy of ours (a deep copy per page and one per further call
    used to be made; tests/test_trafilatura_copy.py checks that trafilatura still copies)."""
    expected = _paragraph_chars(tree)
    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **EXTRACT_OPTIONS)
    found = _text_chars(doc)
    if found < FALLBACK_SHARE * expected or not found:
        second = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **FALLBACK_OPTIONS)
        if _text_chars(second) > found:
            doc, found = second, _text_chars(second)
        if found < FALLBACK_SHARE * expected:
            third = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **RECALL_OPTIONS)
            if _text_chars(third) > found:
                doc, found = third, _text_chars(third)
    if found < SHORT_TEXT_CHARS:
        precise = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **SHORT_OPTIONS)
        if _text_chars(precise) or found < MIN_TEXT_CHARS:
            doc = precise
    return doc


#: The standfirst (the lead under the headline) often sits outside the element trafilatura takes
#: for the article (in the header, beside the headline), and trafilatura leaves it out. On
#: trafilatura's public evaluation set 71 lost `with` snippets are in the page's description
#: (docs/extraction-quality.md). The lead is the visible block whose text starts like the
#: page's description: the description itself is never put in the body, only text the page
#: shows, and only a block of lead size.
LEAD_MIN_DESCRIPTION = 40
LEAD_NEEDLE_CHARS = 30
LEAD_MAX_CHARS = 600
_TEXT_WITH = etree.XPath("//body//text()[contains(., $needle)]")
_INLINE = frozenset({"a", "span", "strong", "b", "em", "i", "u", "font", "small"})
_NOT_LEAD = frozenset({"script", "style", "noscript", "title", "template", "textarea", "option", "button",
                       "select", "figcaption", "nav", "footer", "aside", "form", "label"})


def find_lead(tree: HtmlElement, description: str | None) -> str | None:
    """The page's visible block that begins like its description (the standfirst), or None."""
    description = normalize_space(description or "")
    if len(description) < LEAD_MIN_DESCRIPTION:
        return None
    needle = description[:LEAD_NEEDLE_CHARS]
    for node in _TEXT_WITH(tree, needle=needle):
        element = node.getparent()
        if node.is_tail and element is not None:
            element = element.getparent()
        while element is not None and element.tag in _INLINE and element.getparent() is not None:
            element = element.getparent()
        if element is None or not isinstance(element.tag, str) or element.tag in _NOT_LEAD:
            continue
        if any(a.tag in _NOT_LEAD for a in element.iterancestors()):
            continue
        text = normalize_space(element.text_content())
        if needle in text and LEAD_MIN_DESCRIPTION <= len(text) <= max(LEAD_MAX_CHARS, len(description)):
            return text[text.index(needle):]  # from where the description starts: no dateline or kicker
    return None


def extract_tree(tree: HtmlElement, url: str, hints: PageHints | None = None) -> Extracted:
    """Extract from a parsed page (trafilatura works on its own copy of the tree: see ``main_text``)."""
    hints = hints or page_hints(tree)
    title, description, categories, sitename, authors = _metadata(tree)
    lead = find_lead(tree, description)
    doc = main_text(tree, url)
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError("no main text found in page")
    paragraphs = _paragraphs(doc.body, doc.text)
    if _alnum(p.text for p in paragraphs) < _alnum(doc.text.split("\n")):  # lines: ASCII ones count fast
        # a shape of trafilatura's XML this conversion does not know: its own text loses nothing
        log.warning("%s: paragraph conversion lost text; using trafilatura's text lines", url)
        paragraphs = _paragraphs(None, doc.text)
    if lead and normalize_space(lead[:LEAD_MAX_CHARS])[:50] not in normalize_space(doc.text or ""):
        paragraphs.insert(0, Paragraph(lead))
    else:
        lead = None
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
        lead=lead,
    )


def extract_article(page: str, url: str) -> Extracted:
    """Main text and metadata of a page, without cleaning rules (see pipeline.clean.rules for those)."""
    tree = parse_page(page)
    return extract_tree(tree, url, page_hints(tree))
