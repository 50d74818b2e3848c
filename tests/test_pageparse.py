"""pipeline.clean.pageparse: the same tree as trafilatura's load_html, with element objects made in C."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml import etree
from trafilatura.utils import load_html

from pipeline.clean.pageparse import load_page
from pipeline.samplesite.articles import load_articles
from pipeline.samplesite.render import render_article

DATA = Path(__file__).parent / "data"

ODD_PAGES = [
    "<!DOCTYPE html>\n<html lang='de'><head><title>T</title></head><body><p>Ä ö ü – „Zitat“</p></body></html>",
    '<?xml version="1.0" encoding="utf-8"?><html><body><p>declared encoding in a str</p></body></html>',
    "<html/>\n<body><p>self-closing html tag</p></body>",
    "<p>a fragment</p>",
    "plain text, no markup at all",
    ("<html><body><form><input name='q' value='x'><select><option>1</option></select>"
     "<label for='q'>Suche</label><textarea>t</textarea></form><!-- c --><p>x\x0by</p></body></html>"),
]


def _pages() -> list[str | bytes]:
    pages: list[str | bytes] = [render_article(a, "http://127.0.0.1:8000") for a in load_articles()]
    pages += [path.read_bytes() for path in sorted(DATA.rglob("*.html"))]
    pages += ODD_PAGES
    pages += [page.encode("utf-8") for page in ODD_PAGES] + [ODD_PAGES[0].encode("cp1252")]
    return pages


@pytest.mark.parametrize("page", _pages(), ids=lambda page: repr(page[:40]))
def test_same_tree_as_trafilatura(page: str | bytes) -> None:
    """Node for node (serialised), and None exactly where trafilatura's loader gives None."""
    ours, theirs = load_page(page), load_html(page)
    if theirs is None:
        assert ours is None
        return
    assert ours is not None
    assert etree.tostring(ours, encoding="unicode") == etree.tostring(theirs, encoding="unicode")
    assert [e.tag for e in ours.iter()] == [e.tag for e in theirs.iter()]


def test_elements_are_html_elements_made_without_the_python_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every element is an ``HtmlElement`` (text_content, drop_tree, ... work), and making the
    element objects never calls lxml.html's Python class lookup (what the module is for)."""
    calls = []
    original = lxml.html.HtmlElementClassLookup.lookup

    def counting(self, *args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return original(self, *args)

    monkeypatch.setattr(lxml.html.HtmlElementClassLookup, "lookup", counting)
    page = render_article(load_articles()[0], "http://127.0.0.1:8000")
    tree = load_page(page)
    assert tree is not None
    elements = list(tree.iter())
    assert len(elements) > 50
    assert all(isinstance(e, lxml.html.HtmlElement) for e in elements if isinstance(e.tag, str))
    assert tree.find(".//body").text_content().strip()
    assert calls == []
    load_html(page).find(".//body").text_content()  # trafilatura's parser does call it: the test can fail
    assert calls


def test_a_tree_is_returned_as_it_is() -> None:
    tree = load_page("<html><body><p>x</p></body></html>")
    assert load_page(tree) is tree
    with pytest.raises(TypeError):
        load_page(42)  # type: ignore[arg-type]
