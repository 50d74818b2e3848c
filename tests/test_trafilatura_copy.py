"""pipeline.clean.extract.main_text passes the parsed tree itself to each of its trafilatura calls: it
relies on ``trafilatura.bare_extraction`` working on a copy of a tree it is given (trafilatura
2.3.1 does). Should a trafilatura upgrade prune the caller's tree instead, the fallback calls
would read a pruned page; this test says so first."""

from __future__ import annotations

import trafilatura
from lxml import etree

from pipeline.clean.extract import EXTRACT_OPTIONS, FALLBACK_OPTIONS, parse_page

PAGE = """<html><head><title>T</title></head><body>
<nav><a href="/">Home</a> <a href="/a">A section</a></nav>
<div class="sidebar"><p>Related: another story entirely, with a link.</p></div>
<article><h1>Headline</h1>
<p>First paragraph of the article, long enough for trafilatura to keep it as main text here.</p>
<p>Second paragraph of the article, which goes on about the matter at some length as well.</p>
</article>
<footer><p>Copyright, imprint, privacy.</p></footer>
</body></html>"""


def test_bare_extraction_leaves_the_given_tree_as_it_is() -> None:
    tree = parse_page(PAGE)
    before = etree.tostring(tree)
    for options in (EXTRACT_OPTIONS, FALLBACK_OPTIONS):
        doc = trafilatura.bare_extraction(tree, url="https://example.org/a", with_metadata=False, **options)
        assert doc is not None and "First paragraph" in doc.text
        assert etree.tostring(tree) == before
