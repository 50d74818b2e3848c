"""trafilatura's author search (``trafilatura.metadata.extract_author``), the same answer without
copying the page.

trafilatura copies the whole page, deletes comment sections, sidebars, ``<time>`` and ``<figure>``
from the copy (AUTHOR_DISCARD_XPATHS), then takes the first element of three XPaths
(AUTHOR_XPATHS) whose text is 3-119 characters. The copy and the four ``//*`` XPaths, whose
``re:test`` predicates call back into Python for every element with a class, cost 3-4 ms on a
full-size page. Every element those XPaths can match has a class, id, rel, itemprop, data-testid
or data-component value holding one of ``pipeline.clean.extract.AUTHOR_NEEDLES`` (tested in
tests/test_author_search.py), so the candidates are the owners of those attribute values, found by
one attribute XPath; the XPaths' predicates and the pruning's are evaluated in Python on those few
elements:

* a candidate that the pruning deletes (it or an ancestor matches a discard expression) is skipped;
* a candidate with something to delete inside it (its text would change) goes trafilatura's own
  way, as does a page with ``<author>`` or ``<rel>`` elements (matched by element name);
* a deleted element's tail text moves to its previous sibling's tail, which no candidate's own
  text includes.

The predicates are those of trafilatura 2.3.1 (``AUTHOR_XPATHS_SOURCE``): with another version
whose expressions differ, trafilatura's function is called. tests/test_author_search.py compares
both on pages that exercise every alternative.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_author
from trafilatura.utils import trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

#: the expressions of the pinned trafilatura that the predicates below restate (whitespace collapsed)
AUTHOR_XPATHS_SOURCE = (
    ("//*[self::a or self::address or self::div or self::link or self::p or self::span or self::strong][ "
    "@rel='author' or @id='author' or @class='author' or @itemprop='author name' or rel='me' or "
    "@data-testid='AuthorCard' or @data-testid='AuthorURL' or re:test(@class, 'author-?name|AuthorName|authorName')]"
    "|//author"),
    ("//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][ @class='byline' or "
    "@class='username' or @class='byl' or @class='BBL' or contains(@itemprop, 'author') or re:test(@id, "
    "'author|zuozhe|bianji|xiaobian') or re:test(@class, "
    "'author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name')]"),
    ("//*[ contains(@data-component, 'Byline') or contains(@itemprop, 'author') or re:test(@id, '[Aa]uthor') or "
    "re:test(@class, '[Aa]uthor|screenname|writer|[Bb]yline')]"),
)
AUTHOR_DISCARD_XPATHS_SOURCE = (
    (".//*[self::a or self::div or self::section or self::span][ @id='comments' or @class='comments' or "
    "@class='title' or @class='date' or re:test(@id, '^comments|comment-?list|ProductReviews') or re:test(@class, "
    "'^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|article-(?:share|support)|"
    "print|category|meta-date|meta-reviewer') or contains(@data-component, 'Figure')]"),
    "//time|//figure",
)


def _collapsed(text: str) -> str:
    return " ".join(text.split())


#: the predicates below stand for trafilatura's XPaths only while those are the ones restated here
MATCHES_TRAFILATURA = (
    tuple(_collapsed(x.path) for x in AUTHOR_XPATHS) == tuple(map(_collapsed, AUTHOR_XPATHS_SOURCE))
    and tuple(_collapsed(x.path) for x in AUTHOR_DISCARD_XPATHS)
    == tuple(map(_collapsed, AUTHOR_DISCARD_XPATHS_SOURCE))
)

_TAGS_0 = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_TAGS_1 = frozenset({"a", "div", "h3", "h4", "p", "span"})
_CLASS_0 = re.compile("author-?name|AuthorName|authorName")
_ID_1 = re.compile("author|zuozhe|bianji|xiaobian")
_CLASS_1 = re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
_ID_2 = re.compile("[Aa]uthor")
_CLASS_2 = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile("^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|article-(?:share|support)|"
    "print|category|meta-date|meta-reviewer"
)


def _first(e: HtmlElement) -> bool:
    get = e.get
    cls = get("class")
    return e.tag in _TAGS_0 and (
        get("rel") == "author" or get("id") == "author" or cls == "author" or get("itemprop") == "author name"
        or get("data-testid") in ("AuthorCard", "AuthorURL") or (cls is not None and _CLASS_0.search(cls) is not None)
    )  # rel='me' (a <rel> child) is left to trafilatura: pages with <rel> elements go its way


def _second(e: HtmlElement) -> bool:
    get = e.get
    cls, ident = get("class"), get("id")
    return e.tag in _TAGS_1 and (
        cls in ("byline", "username", "byl", "BBL") or "author" in (get("itemprop") or "")
        or (ident is not None and _ID_1.search(ident) is not None)
        or (cls is not None and _CLASS_1.search(cls) is not None)
    )


def _third(e: HtmlElement) -> bool:
    get = e.get
    cls, ident = get("class"), get("id")
    return (
        "Byline" in (get("data-component") or "") or "author" in (get("itemprop") or "")
        or (ident is not None and _ID_2.search(ident) is not None)
        or (cls is not None and _CLASS_2.search(cls) is not None)
    )


_PREDICATES: tuple[Callable[[HtmlElement], bool], ...] = (_first, _second, _third)


def _discarded(e: HtmlElement) -> bool:
    """Matched by AUTHOR_DISCARD_XPATHS (deleted, with its subtree, from trafilatura's copy)."""
    tag = e.tag
    if tag in ("time", "figure"):
        return True
    if tag not in _DISCARD_TAGS:
        return False
    get = e.get
    cls, ident = get("class"), get("id")
    return (
        ident == "comments" or cls in ("comments", "title", "date")
        or (ident is not None and _DISCARD_ID.search(ident) is not None)
        or (cls is not None and _DISCARD_CLASS.search(cls) is not None)
        or "Figure" in (get("data-component") or "")
    )


_ATTRIBUTES = etree.XPath("//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component")
_NAMED_ELEMENTS = etree.XPath("boolean(//author | //rel)")


def find_author(tree: HtmlElement, needle: re.Pattern[str]) -> str | None:
    """``extract_author(tree)``'s answer; ``needle`` matches an attribute value of every element
    the author XPaths can match (``pipeline.clean.extract.AUTHOR_NEEDLES``)."""
    if not MATCHES_TRAFILATURA or tree.getparent() is not None or _NAMED_ELEMENTS(tree):
        return extract_author(tree)  # another trafilatura, a subtree, <author>/<rel> elements
    owners = dict.fromkeys(value.getparent() for value in _ATTRIBUTES(tree) if needle.search(value))
    candidates = [e for e in owners if isinstance(e.tag, str)]  # document order, as the XPaths return
    for predicate in _PREDICATES:
        for element in candidates:
            if not predicate(element):
                continue
            if _discarded(element) or any(_discarded(a) for a in element.iterancestors()):
                continue  # not in trafilatura's pruned copy
            if any(_discarded(d) for d in element.iterdescendants()):
                return extract_author(tree)  # the pruning changes this element's text
            content = trim(" ".join(element.itertext()))
            if content and 2 < len(content) < 120:
                return normalize_authors(None, content)
    return None
