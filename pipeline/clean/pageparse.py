"""Parse a page once into the tree every stage reads, with lxml element objects made in C.

lxml makes a Python object for an element each time Python code touches one that has none, and
asks the parser's class lookup which class to make. The parser of ``lxml.html`` (and so
trafilatura's ``load_html``) asks ``HtmlElementClassLookup.lookup``, a Python method: about a
microsecond per object, and the date search, the cleaning rules and trafilatura's extraction on
our tree make thousands of them per page. This module's parser has the same options as
trafilatura's and a C lookup (``ElementDefaultClassLookup``) that makes ``HtmlElement``,
``HtmlComment``, ``HtmlProcessingInstruction`` and ``HtmlEntity`` as lxml.html does; what it does
not make are lxml.html's form classes (``FormElement``, ``InputElement``, ... with their form
helpers), which nothing here uses. ``load_page`` is trafilatura 2.3.1's ``load_html`` (pinned)
step for step with this parser: the same repairs, fallbacks and rejection test, so the tree has
the same nodes (tests/test_pageparse.py compares both on every page of a real-page sample).
"""

from __future__ import annotations

import logging

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

log = logging.getLogger(__name__)

_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )
)


def _from_bytes(text: str) -> HtmlElement | None:
    try:
        return fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except Exception as exc:  # noqa: BLE001 - as trafilatura: a page lxml cannot read is None
        log.debug("lxml could not parse the page as bytes: %s", exc)
    return None


def load_page(page: str | bytes | HtmlElement) -> HtmlElement | None:
    """The page as a tree (a tree is returned as it is); None when it is not HTML."""
    if isinstance(page, HtmlElement):
        return page
    if not isinstance(page, (bytes, str)):
        raise TypeError(f"a page is str or bytes, not {type(page).__name__}")
    text = decode_file(page)
    check = is_dubious_html(text[:50].lower())
    text = repair_faulty_html(text, text[:50].lower())
    tree = None
    from_bytes = False
    try:
        tree = fromstring(text, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree = _from_bytes(text)
        from_bytes = True
    except Exception as exc:  # noqa: BLE001
        log.debug("lxml could not parse the page: %s", exc)
    if (tree is None or len(tree) < 1) and not from_bytes:
        tree = _from_bytes(text)
    if tree is not None and check and len(tree) < 2:
        return None  # not (well-formed) HTML at all
    return tree
