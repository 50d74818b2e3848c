"""One pass over a parsed page: its text blocks and containers, as keys a host profile counts.

- A *line key* is the hash of a leaf block's normalised text (case folded, digits as ``0``, spaces
  collapsed), so "Lesezeit: 4 Minuten" and "Lesezeit: 7 Minuten" are one key. A leaf block is a
  block element (``p``, ``li``, ``div``, ``h2`` ...) with no block element inside it.
- A *block key* is the hash of a container's DOM path signature (tag, classes and digit-free id of
  every ancestor from ``<body>``, positions left out), so a teaser list whose titles change on
  every page but whose markup repeats is one key. Only containers that cannot hold the article
  are candidates: those outside the page's main container (the element holding most of the long
  non-link text, and its ancestors), and link-dense ones anywhere.

A key is *chrome-like* on a page when the block is boilerplate by its nature, not by repetition
alone (issue 21: the shared background paragraphs of a developing story recur as much as any
promo line): a container key (see above); a leaf outside the main container; a link-dense leaf; a
short, label-like leaf (under ``LONG_TEXT`` non-link characters: "Lesezeit: 4 Minuten", "Aus
unserem Archiv"); or long text at the start or the end of the main container's text in markup of
its own (not the path most of the main container's long paragraphs have: a promo line in
``<p class="hinweis">`` after ``<p>`` paragraphs). A long paragraph in the article's own paragraph
markup is never chrome-like, wherever it recurs: inside the main container, or outside it in a
twin wrapper (the text split around an ad), whose container then gets no block key either. Only chrome-like keys
are counted into a profile (``PageBlocks.keys``), and a learned line key only removes a leaf that
is chrome-like on the page at hand. Position alone is checked against the extracted text: a key
chrome-like only because its block is outside the main container (a leaf, or a container) is not
counted when one of its long texts is in the page's cleaned body (``PageBlocks.evidence``): the
main container found here covers only part of the article on many real pages. The criteria and
the measurements behind them:
docs/extraction-quality.md, "Learned boilerplate".

Nothing here looks at other pages; :mod:`pipeline.profiles.model` turns the keys of many pages
into learned rules and :mod:`pipeline.profiles.apply` removes what they match.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

from lxml.html import HtmlElement

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li",
    "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
})
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "head", "select", "option"})
#: a leaf block with at least this much non-link text is "long text" (a sentence-like paragraph)
LONG_TEXT = 80
#: a container whose link text is at least this share of its text is link-dense
LINK_DENSE = 0.6
#: elements that carry the page's metadata are never counted nor removed
PROTECTED_TAGS = frozenset({"h1", "time", "title"})
#: what of a long text is compared with the extracted text, and how many texts per container
EVIDENCE_CHARS = 120
MAX_EVIDENCE = 8
_PROTECTED_ATTR = re.compile(r"headline|author|byline|date|published", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalize_line(text: str) -> str:
    # str.split() and strip() break on exactly the characters ``\s`` matches (str.isspace), so this
    # is _SPACE.sub(" ", text).strip(), without the regex
    return _DIGITS.sub("0", " ".join(text.split()).casefold())


#: (kind, value) -> key: a host's pages repeat their DOM paths and chrome lines
_KEYS: dict[tuple[str, str], str] = {}
_KEYS_MAX = 16384


def key_of(kind: str, value: str) -> str:
    """``line:<16 hex>`` or ``block:<16 hex>``: the names learned rules carry (``learned:`` + key)."""
    found = _KEYS.get((kind, value))
    if found is None:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        found = _KEYS[(kind, value)] = f"{kind}:{hashlib.blake2b(value.encode('utf-8'), digest_size=8).hexdigest()}"
    return found


@dataclass
class Block:
    """One element of the page as the profile sees it."""

    element: HtmlElement
    signature: str
    depth: int
    leaf: bool
    text_len: int = 0
    link_len: int = 0
    links: int = 0
    long_text: int = 0  # non-link chars in leaf blocks of >= LONG_TEXT below this element
    text: str = ""      # leaf blocks only: normalised text
    protected: bool = False
    line_key: str | None = None
    block_key: str | None = None
    chrome: str | None = None   # why the block is chrome-like on this page (None: it is not)
    in_main: bool = False       # inside the main container
    twin: bool = False          # a paragraph of the article outside the main container (see _assign_keys)

    @property
    def link_dense(self) -> bool:
        return self.text_len > 0 and self.link_len >= LINK_DENSE * self.text_len

    @property
    def plain_len(self) -> int:
        """Non-link characters (of the normalised text, for leaves)."""
        return max(0, (len(self.text) if self.leaf else self.text_len) - self.link_len)


@dataclass
class PageBlocks:
    """The blocks of a page in document order, its main container and its keys."""

    blocks: list[Block] = field(default_factory=list)
    main: HtmlElement | None = None
    main_chain: frozenset[int] = frozenset()  # ids of the main container and its ancestors

    def keys(self) -> dict[str, str]:
        """key -> a sample (the text of a line, the signature of a block), for this page: the
        chrome-like keys only, the ones a profile may learn."""
        out: dict[str, str] = {}
        for block in self.blocks:
            if block.line_key and block.chrome:
                out.setdefault(block.line_key, block.text[:160])
            if block.block_key:
                out.setdefault(block.block_key, block.signature[-160:])
        return out

    def evidence(self) -> dict[str, list[str]]:
        """key -> the long texts (normalised, first ``EVIDENCE_CHARS``) of the page's blocks that
        are chrome-like only by position (outside the main container), for the check against the
        extracted text (:func:`pipeline.profiles.apply.learnable_keys`)."""
        out: dict[str, list[str]] = {}
        ancestors: list[Block] = []
        for block in self.blocks:
            while ancestors and ancestors[-1].depth >= block.depth:
                ancestors.pop()
            if block.leaf and block.text and block.plain_len >= LONG_TEXT and not block.link_dense:
                text = block.text[:EVIDENCE_CHARS]
                if block.line_key and block.chrome == "outside-main":
                    out.setdefault(block.line_key, []).append(text)
                for ancestor in ancestors:
                    if ancestor.block_key and ancestor.chrome == "container":
                        texts = out.setdefault(ancestor.block_key, [])
                        if len(texts) < MAX_EVIDENCE:
                            texts.append(text)
            ancestors.append(block)
        return out


def _step(element: HtmlElement) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    classes = sorted(_DIGITS.sub("0", c) for c in (element.get("class") or "").split())[:3]
    ident = element.get("id") or ""
    step = tag + "".join(f".{c}" for c in classes)
    if ident and not _DIGITS.search(ident):
        step += f"#{ident}"
    return step


def _is_protected(element: HtmlElement) -> bool:
    if element.tag in PROTECTED_TAGS:
        return True
    for attr in ("itemprop", "class", "id"):
        value = element.get(attr)
        if value and _PROTECTED_ATTR.search(value):
            return True
    return False


def scan_page(tree: HtmlElement) -> PageBlocks:
    """Walk ``<body>`` once (after the site rules' selectors ran) and return its blocks."""
    bodies = tree.xpath("//body") if tree.tag != "body" else [tree]
    page = PageBlocks()
    if not bodies:
        return page
    parents: dict[int, HtmlElement] = {}
    scores: dict[int, int] = {}
    _walk(bodies[0], "body", 0, _is_protected(bodies[0]), page.blocks, parents, scores)
    if scores:
        main = parents[max(scores, key=lambda k: scores[k])]
        page.main = main
        chain = {id(main)}
        chain.update(id(a) for a in main.iterancestors())
        page.main_chain = frozenset(chain)
    _assign_keys(page)
    return page


#: (tag, class, id, itemprop) -> (the element's path step, whether its attributes protect it); most
#: pages repeat a few hundred such combinations, so _step and _is_protected run once for each
_DESCRIBED: dict[tuple[str, str | None, str | None, str | None], tuple[str, bool]] = {}
_DESCRIBED_MAX = 8192


def _describe(element: HtmlElement) -> tuple[str, bool]:
    """``(_step(element), _is_protected(element))``, cached by the attributes they read."""
    get = element.get
    key = (element.tag, get("class"), get("id"), get("itemprop"))
    found = _DESCRIBED.get(key)
    if found is None:
        if len(_DESCRIBED) >= _DESCRIBED_MAX:
            _DESCRIBED.clear()
        found = _DESCRIBED[key] = (_step(element), _is_protected(element))
    return found


def _walk(
    element: HtmlElement, signature: str, depth: int, protected: bool,
    out: list[Block], parents: dict[int, HtmlElement], scores: dict[int, int],
) -> tuple[int, int, int, int, bool]:
    """Post-order sums (text, link text, links, long text, has block) for ``element``; appends its
    Block (pre-order position) when it is a block element. ``protected``: whether the element or
    an ancestor is protected (the caller checked the element itself)."""
    tag = element.tag
    is_a = tag == "a"
    is_block = tag in BLOCK_TAGS or tag == "body"
    block: Block | None = None
    if is_block:
        block = Block(element, signature, depth, leaf=True, protected=protected)
        out.append(block)
    own = len((element.text or "").strip())
    text, link, links, long_text, has_block = own, own if is_a else 0, int(is_a), 0, False
    for child in element:
        child_tag = child.tag
        if not isinstance(child_tag, str) or child_tag in SKIP_TAGS:
            text += len((child.tail or "").strip())
            continue
        if not len(child) and child_tag not in BLOCK_TAGS and child_tag != "body":
            # an inline element without children (a link, an emphasis): its sums are its own text;
            # no Block, no descendants, so neither its path nor its protection is needed
            c_text = len((child.text or "").strip())
            text += c_text
            if is_a or child_tag == "a":
                link += c_text
            if child_tag == "a":
                links += 1
            text += len((child.tail or "").strip())
            continue
        step, child_protected = _describe(child)
        c_text, c_link, c_links, c_long, c_block = _walk(
            child, f"{signature}/{step}", depth + 1, protected or child_protected, out, parents, scores
        )
        if is_a:
            c_link = c_text
        text += c_text
        link += c_link
        links += c_links
        long_text += c_long
        has_block = has_block or c_block
        text += len((child.tail or "").strip())
    if block is not None:
        block.leaf = not has_block
        block.text_len, block.link_len, block.links = text, link, links
        if block.leaf:
            block.text = normalize_line(element.text_content())
            plain = max(0, len(block.text) - link)
            if plain >= LONG_TEXT:
                long_text += plain
                parent = element.getparent()
                if parent is not None:
                    scores[id(parent)] = scores.get(id(parent), 0) + plain
                    parents[id(parent)] = parent
        block.long_text = long_text
    return text, link, links, long_text, is_block or has_block


def _assign_keys(page: PageBlocks) -> None:
    main_chain = page.main_chain
    main = page.main
    inside_main: set[int] = set()
    if main is not None:
        inside_main = {id(e) for e in main.iterdescendants()}
    main_leaves = []
    for block in page.blocks:
        block.in_main = id(block.element) in inside_main
        if block.protected:
            continue
        if block.leaf and block.text:
            block.line_key = key_of("line", block.text)
            if block.in_main:
                main_leaves.append(block)
        if block.element.tag == "body" or id(block.element) in main_chain or block.text_len == 0:
            continue
        container = not block.leaf or block.element.tag in ("ul", "ol", "nav", "table", "dl")
        if (container and not block.in_main) or block.link_dense:
            block.block_key = key_of("block", block.signature)
            block.chrome = "container" if container and not block.in_main else "link-dense"
    prose = Counter(b.signature for b in main_leaves if b.plain_len >= LONG_TEXT).most_common(1)
    prose_signature = prose[0][0] if prose else None
    edges = {id(main_leaves[0]), id(main_leaves[-1])} if main_leaves else set()
    # A long paragraph outside the main container in the main's own paragraph markup (same DOM path:
    # an article split around an ad or a box into two wrappers) is the article continued: neither
    # it nor the containers holding it are chrome-like.
    twins = {id(b) for b in page.blocks if prose_signature and not b.in_main and b.line_key
             and b.signature == prose_signature and b.plain_len >= LONG_TEXT and not b.link_dense}
    ancestors: list[Block] = []
    for block in page.blocks if twins else ():  # most pages have none: no containers to walk up
        while ancestors and ancestors[-1].depth >= block.depth:
            ancestors.pop()
        if id(block) in twins:
            block.twin = True
            for ancestor in ancestors:
                if ancestor.chrome == "container":
                    ancestor.block_key, ancestor.chrome = None, None
        ancestors.append(block)
    for block in page.blocks:
        if block.line_key is None or block.chrome:
            continue
        if not block.in_main and not block.twin:
            block.chrome = "outside-main"
        elif block.link_dense:
            block.chrome = "link-dense"
        elif block.plain_len < LONG_TEXT:
            block.chrome = "short"
        elif id(block) in edges and block.signature != prose_signature:
            block.chrome = "edge"
