"""A clean article body: trafilatura's main text minus site chrome, with an audit of each removal.

Order matters and is the point of this module:
1. parse once, read page hints (canonical, lang, JSON-LD paywall flag) before anything is removed;
2. sign-off selectors (their text is metadata) and drop selectors cut site chrome from the tree,
   so trafilatura never sees it;
3. trafilatura extracts paragraphs (sub-headings kept) from the pruned tree; the standfirst it
   left out (the visible block that begins like the page's description) is put back first;
4. line rules run on paragraphs: teaser-list tails, paywall tails, promo/caption/credit lines,
   closing calls to action, sign-offs (moved to metadata);
5. repairs: mid-sentence splits joined, a repeated lead dropped.
Every removal is a ``Removal(rule, chars)`` so a wrong rule can be found from the index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

from pipeline.clean.extract import (
    ExtractionError,
    Paragraph,
    extract_tree,
    normalize_space,
    page_hints,
    parse_page,
)
from pipeline.clean.siterules import Rulebook, SiteRules, class_parts, load_rules
from pipeline.profiles.apply import LearnedRules, NotAnArticle, apply_learned, not_article_reason

__all__ = ["Cleaned", "ExtractionError", "NotAnArticle", "Removal", "clean_article"]

_SENTENCE_END = re.compile(r"""[.!?:;…"'“”»«)\]]$""")
_AGENCIES = re.compile(r"\b(dpa|AFP|Reuters|AP|KNA|epd|dts|sid|SDA|APA|PAP|EFE|ANSA|Belga|Xinhua|Bloomberg)\b",
                       re.IGNORECASE)
_AGENCY_CANON = {a.lower(): a for a in ("dpa", "AFP", "Reuters", "AP", "KNA", "epd", "dts", "sid", "SDA", "APA",
                                        "PAP", "EFE", "ANSA", "Belga", "Xinhua", "Bloomberg")}
_INITIALS = re.compile(r"^([a-zäöü]{2,4})(?:\s*(?:/|mit|,)\s*|$)")
#: a teaser tail is only cut when no paragraph after the heading is this long (real text)
_TEASER_MAX_PARAGRAPH = 320


@dataclass(frozen=True)
class Removal:
    """One thing taken out of the page: which rule, how many characters of text."""

    rule: str
    chars: int


@dataclass
class Cleaned:
    """A cleaned article; drops in where ``pipeline.clean.extract.Extracted`` is used today."""

    title: str | None
    body: str
    paragraphs: list[str]
    description: str | None
    authors: list[str]
    signoff: str | None
    agencies: list[str]
    removals: list[Removal]
    flags: list[str]
    html_lang: str | None
    canonical_url: str | None
    sitename: str | None = None
    categories: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    site_rules: str = "generic"
    observed: dict[str, str] | None = None  # the page's profile keys (pipeline.profiles), when learning


def clean_article(
    page: str | bytes | HtmlElement, url: str, *, rules: Rulebook | SiteRules | None = None,
    learned: LearnedRules | None = None,
) -> Cleaned:
    """Clean one page (markup, or a tree from ``parse_page``, which is pruned). ``rules`` is a Rulebook (picked by URL) or already-resolved SiteRules;
    None loads ``config/sites`` (cached). ``learned``: the site's learned boilerplate rules
    (pipeline.profiles); given, the page is also scanned for the profile and checked for being a
    list of links (NotAnArticle). Raises ExtractionError when the page has no main text; a body
    that is merely short is returned with the flag "too-short"."""
    if rules is None:
        rules = load_rules()
    site = rules.for_url(url) if isinstance(rules, Rulebook) else rules
    tree = parse_page(page)
    hints = page_hints(tree)
    removals: list[Removal] = []
    signoffs = _cut_signoff_elements(tree, site, removals)
    repairs: list[str] = []
    _drop_elements(tree, site, removals, repairs)
    scan = apply_learned(tree, learned) if learned is not None else None
    if scan is not None:
        removals.extend(Removal(rule, chars) for rule, chars in scan.removed)
    try:
        extracted = extract_tree(tree, url, hints)
    except ExtractionError as exc:
        reason = not_article_reason(scan, None, learned.settings) if scan and learned else None
        if reason:
            raise NotAnArticle(reason) from exc
        raise

    paras = list(extracted.paragraphs)
    if extracted.lead:
        repairs.append("added-lead")  # the standfirst trafilatura left out (pipeline.clean.extract.find_lead)
    flags: list[str] = []
    paras = _cut_teaser_tail(paras, site, removals)
    paras, truncated = _cut_paywall_tail(paras, site, removals)
    paras = _drop_lines(paras, site, removals)
    paras = _drop_closing(paras, site, removals)
    paras, signoff = _cut_signoff(paras, site, removals)
    if signoff:
        signoffs.append(signoff)
    paras = _join_split(paras, repairs)
    paras = _drop_repeats(paras, extracted.title, removals)

    texts = [p.text for p in paras]
    body = "\n\n".join(texts)
    if hints.accessible_for_free is False:
        flags.append("paywalled")
    if truncated:
        flags.append("truncated")
    if len(body) < site.min_chars:
        flags.append("too-short")
    if scan is not None and learned is not None and (reason := not_article_reason(scan, len(body), learned.settings)):
        raise NotAnArticle(reason)
    authors, agencies = _signoff_metadata(signoffs, extracted.authors)
    return Cleaned(
        title=extracted.title,
        body=body,
        paragraphs=texts,
        description=extracted.description,
        authors=authors,
        signoff=" | ".join(signoffs) or None,
        agencies=agencies,
        removals=removals,
        flags=flags,
        html_lang=extracted.html_lang,
        canonical_url=extracted.canonical_url,
        sitename=extracted.sitename,
        categories=extracted.categories,
        repairs=repairs,
        site_rules=site.name,
        observed=scan.keys if scan is not None else None,
    )


# --- tree stage ---------------------------------------------------------------------------------


def _text_len(element: HtmlElement) -> int:
    return _space_len(element.text_content())


def _space_len(text: str) -> int:
    """``len(normalize_space(text))`` without the regex pass: ``str.split`` splits at the same
    characters as ``\\s`` (both use ``str.isspace``) and drops the ends as ``strip`` does; on whole
    pages this is several times faster."""
    return len(" ".join(text.split()))


def _remove(element: HtmlElement) -> None:
    """Remove an element but keep its tail text, which belongs to the parent."""
    parent = element.getparent()
    if parent is not None:
        element.drop_tree()


def _cut_signoff_elements(tree: HtmlElement, site: SiteRules, removals: list[Removal]) -> list[str]:
    found: list[str] = []
    for rule in site.signoff_selectors:
        for element in rule.compiled(tree):
            text = normalize_space(element.text_content())
            if text:
                found.append(text)
                removals.append(Removal(rule.name, len(text)))
            _remove(element)
    return found


#: what no drop rule may remove: the page's frame, and any element holding this share of its text
_FRAME_TAGS = frozenset({"html", "body", "main"})
_PROTECTED_SHARE = 0.5
#: an <article> holding this share of the page's text is the article itself, not a teaser card
_ARTICLE_SHARE = 0.2
#: an element with this much text outside links, and this share of the page's, is prose: chrome
#: (captions, teaser lists, newsletter boxes) is short or made of links
_PROSE_MIN_CHARS = 400
_PROSE_SHARE = 0.25


_HIDDEN_TEXT = etree.XPath(".//script//text() | .//style//text() | .//noscript//text()", smart_strings=False)
_LINK_TEXT = etree.XPath(".//a//text()", smart_strings=False)


def _chars_of(texts: list) -> int:
    return _space_len("".join(texts))


def _prose_len(element: HtmlElement, chars: int | None = None) -> tuple[int, int]:
    """(visible characters, visible characters outside links), whitespace runs counted once;
    ``chars``: the element's ``_text_len`` when known (the text of ``.//text()`` joined is the
    element's string value, which ``text_content`` returns in one piece)."""
    if chars is None:
        chars = _text_len(element)
    visible = chars - _chars_of(_HIDDEN_TEXT(element))
    return visible, max(0, visible - _chars_of(_LINK_TEXT(element)))


def _drop_elements(tree: HtmlElement, site: SiteRules, removals: list[Removal], repairs: list[str]) -> None:
    """Site and generic drop rules (selectors, class words), each removal audited. An element
    that frames the page or holds most of its text is kept whatever matched it (recorded in
    ``repairs`` as ``kept:<rule>``): real pages put ``captions`` on <body> and ``promoted`` on
    <article>, and one rule must never empty a page."""
    root = tree.getroottree().getroot()
    page: tuple[int, int] | None = None
    for rule, element in _drop_candidates(tree, site):
        if element.getroottree().getroot() is not root:
            continue  # inside an element an earlier rule already removed
        chars = _text_len(element)
        if page is None:
            page = _prose_len(root)
        tag = element.tag if isinstance(element.tag, str) else ""
        # ``chars`` (script text included) bounds the visible text: most matches are short chrome
        short = chars < _PROSE_MIN_CHARS and chars < _ARTICLE_SHARE * page[0]
        visible, prose = (chars, 0) if short else _prose_len(element, chars)
        if (
            tag in _FRAME_TAGS or visible >= _PROTECTED_SHARE * page[0]
            or (tag == "article" and visible >= _ARTICLE_SHARE * page[0])
            or (prose >= _PROSE_MIN_CHARS and prose >= _PROSE_SHARE * page[1])
        ):
            repairs.append(f"kept:{rule}")
            continue
        removals.append(Removal(rule, chars))
        _remove(element)


def _drop_candidates(tree: HtmlElement, site: SiteRules) -> Iterator[tuple[str, HtmlElement]]:
    for rule in site.drop_selectors:
        for element in rule.compiled(tree):
            yield rule.name, element
    if site.drop_class_words:
        rule_of = _class_matcher(tuple((rule.name, f"-{rule.word}-") for rule in site.drop_class_words))
        elements = _CLASS_ELEMENTS(tree)
        for element in elements:
            name = rule_of(element.get("class"))
            if name is not None:
                yield name, element


#: the elements with a class attribute, in document order, each asked for its class: fewer lxml
#: objects than a "smart" string per ``//@class`` value (each made its element's proxy as well);
#: an XPath fetching only the elements of the matching values cost more: libxml2 evaluates a
#: predicate at about 2.5 us an element
_CLASS_ELEMENTS = etree.XPath("//*[@class]")


@lru_cache(maxsize=64)
def _class_matcher(words: tuple[tuple[str, str], ...]) -> Callable[[str], str | None]:
    """For one rule set's ``(name, -word-)`` pairs: class attribute -> the first rule (in rule
    order) whose ``-word-`` is in the attribute's ``class_parts``, or None. Class attributes
    repeat within a page and across pages, so answers are kept (up to ``_CLASS_CACHE`` of them);
    most attributes match no word, which one combined search tells (it finds a match exactly when
    one needle is a substring: each alternative is tried at every position). Before that, an
    attribute whose lower-case text holds no word's longest part cannot match (``class_parts``
    only lower-cases, puts ``-`` between characters and turns ``-``/``_``/space runs into ``-``:
    the characters of a part stay adjacent), and is answered without building its parts."""
    anyword = re.compile("|".join(re.escape(needle) for _, needle in words))
    anypart = re.compile("|".join(
        re.escape(max(needle.strip("-").split("-"), key=len)) for _, needle in words
    ))
    known: dict[str, str | None] = {}

    def rule_of(class_attr: str) -> str | None:
        try:
            return known[class_attr]
        except KeyError:
            pass
        name = None
        if anypart.search(class_attr.lower()):
            parts = class_parts(class_attr)
            if anyword.search(parts):
                name = next((name for name, needle in words if needle in parts), None)
        if len(known) >= _CLASS_CACHE:
            known.clear()
        known[class_attr] = name
        return name

    return rule_of


_CLASS_CACHE = 20000


# --- paragraph stage ----------------------------------------------------------------------------


def _matches(rules: tuple, text: str) -> str | None:
    """The name of the first rule (in rule order) whose pattern matches the whole text."""
    cached = _ANY_OF.get(id(rules))
    if cached is None or cached[0] is not rules:
        if len(_ANY_OF) >= 256:
            _ANY_OF.clear()  # a site's merged rules are new tuples per page: bounded, not leaked
        cached = _ANY_OF[id(rules)] = (rules, _any_of(rules))
    combined = cached[1]
    if combined is not None and combined.fullmatch(text) is None:
        return None  # most paragraphs: one regex call instead of one per rule
    for rule in rules:
        if rule.pattern.fullmatch(text):
            return str(rule.name)
    return None


_LEADING_FLAGS = re.compile(r"^\(\?([imsx]+)\)")


#: the combined pattern of a rule tuple, by the tuple's id (the tuple is kept, so the id stays
#: its own; an lru_cache hashed every rule of the tuple on each call, more than the saving)
_ANY_OF: dict[int, tuple[tuple, re.Pattern[str] | None]] = {}


def _any_of(rules: tuple) -> re.Pattern[str] | None:
    """One pattern that matches a whole text exactly when one of the rules' patterns does: the
    alternation of the patterns, each in a group with its own flags (a leading "(?i)" becomes
    "(?i:...)"); fullmatch backtracks into the next alternative when one cannot match the whole
    text. None (every rule tried in turn) for rules it cannot join: a back-reference or a named
    group would change meaning, other flags cannot be scoped."""
    parts = []
    for rule in rules:
        source, flags = rule.pattern.pattern, rule.pattern.flags
        if "(?P" in source or re.search(r"\\[1-9]", source) or flags & ~(re.IGNORECASE | re.UNICODE):
            return None
        lead = _LEADING_FLAGS.match(source)
        scoped = set(lead.group(1)) if lead else set()
        if flags & re.IGNORECASE:
            scoped.add("i")
        body = source[lead.end():] if lead else source
        parts.append(f"(?{''.join(sorted(scoped))}:{body})" if scoped else f"(?:{body})")
    try:
        return re.compile("|".join(parts)) if parts else None
    except re.error:
        return None


def _cut_teaser_tail(paras: list[Paragraph], site: SiteRules, removals: list[Removal]) -> list[Paragraph]:
    """A "Mehr zum Thema"/"Related" heading and the teaser list after it, when they end the
    article; mid-article (real long paragraphs follow) only the heading line goes."""
    for i, para in enumerate(paras):
        if i == 0 or len(para.text) > 80:
            continue
        rule = _matches(site.teaser_headings, para.text.rstrip(":"))
        if rule is None:
            continue
        tail = paras[i:]
        if all(len(p.text) <= _TEASER_MAX_PARAGRAPH for p in tail[1:]):
            removals.append(Removal(rule, sum(len(p.text) for p in tail)))
            return paras[:i]
        removals.append(Removal(rule, len(para.text)))
        return _cut_teaser_tail(paras[:i] + paras[i + 1:], site, removals)
    return paras


def _cut_paywall_tail(
    paras: list[Paragraph], site: SiteRules, removals: list[Removal]
) -> tuple[list[Paragraph], bool]:
    """A paywall call-to-action in the last paragraphs: drop it and what follows, flag truncated."""
    start = max(0, len(paras) - 3)
    for i in range(start, len(paras)):
        text = paras[i].text
        if len(text) > 200:
            continue
        for rule in site.paywall_patterns:
            if rule.pattern.fullmatch(text):
                removals.append(Removal(rule.name, sum(len(p.text) for p in paras[i:])))
                return paras[:i], True
    return paras, False


def _drop_lines(paras: list[Paragraph], site: SiteRules, removals: list[Removal]) -> list[Paragraph]:
    kept = []
    for para in paras:
        rule = _matches(site.drop_lines, para.text)
        if rule is None:
            kept.append(para)
        else:
            removals.append(Removal(rule, len(para.text)))
    return kept


#: closing lines (calls to subscribe, follow, support) are looked for among the body's last
#: paragraphs (and in its second half) only, and only when short: the same words inside the
#: article are its text
_CLOSING_SPAN = 6
_CLOSING_MAX_CHARS = 250


def _drop_closing(paras: list[Paragraph], site: SiteRules, removals: list[Removal]) -> list[Paragraph]:
    """Calls to action that end an article (newsletter, subscription, "follow us on", "support
    our journalism", app downloads): ``closing_lines`` rules, tried on the last paragraphs."""
    if not site.closing_lines or len(paras) < 2:
        return paras
    start = max(1, len(paras) - _CLOSING_SPAN, len(paras) // 2)
    kept = paras[:start]
    for para in paras[start:]:
        rule = _matches(site.closing_lines, para.text) if len(para.text) <= _CLOSING_MAX_CHARS else None
        if rule is None:
            kept.append(para)
        else:
            removals.append(Removal(rule, len(para.text)))
    return kept


def _cut_signoff(
    paras: list[Paragraph], site: SiteRules, removals: list[Removal]
) -> tuple[list[Paragraph], str | None]:
    """A sign-off as the last paragraph ("su mit dpa") or at the end of it ("... sagte er. (dpa)")."""
    if not paras:
        return paras, None
    last = paras[-1].text
    for rule in site.signoff_patterns:
        if rule.pattern.fullmatch(last):
            removals.append(Removal(rule.name, len(last)))
            return paras[:-1], last
    for rule in site.signoff_patterns:
        match = re.search(r"(?:^|\s)(" + rule.pattern.pattern + r")$", last, rule.pattern.flags)
        if match and _SENTENCE_END.search(last[: match.start(1)].rstrip() or "."):
            signoff = match.group(1)
            removals.append(Removal(rule.name, len(signoff)))
            return paras[:-1] + [Paragraph(last[: match.start(1)].rstrip(), paras[-1].heading)], signoff
    return paras, None


def _join_split(paras: list[Paragraph], repairs: list[str]) -> list[Paragraph]:
    """Join a paragraph that stops mid-sentence with the next one when that starts lower-case."""
    out: list[Paragraph] = []
    for para in paras:
        prev = out[-1] if out else None
        if (
            prev is not None and not prev.heading and not para.heading
            and not _SENTENCE_END.search(prev.text) and para.text[:1].islower()
        ):
            out[-1] = Paragraph(f"{prev.text} {para.text}")
            repairs.append("joined-split-paragraph")
        else:
            out.append(para)
    return out


def _drop_repeats(paras: list[Paragraph], title: str | None, removals: list[Removal]) -> list[Paragraph]:
    """Drop a paragraph repeated verbatim, the headline repeated as the first paragraph, and a
    lead that the next paragraph starts with (the page shows it as teaser and as body)."""
    seen: set[str] = set()
    if paras and title and paras[0].text.casefold() == normalize_space(title).casefold():
        removals.append(Removal("repair:repeated-title", len(paras[0].text)))
        paras = paras[1:]
    out: list[Paragraph] = []
    for i, para in enumerate(paras):
        key = para.text.casefold()
        nxt = paras[i + 1].text if i + 1 < len(paras) else ""
        if key in seen and len(key) > 40:
            removals.append(Removal("repair:repeated-paragraph", len(para.text)))
            continue
        if i == 0 and len(para.text) > 40 and nxt != para.text and nxt.startswith(para.text):
            removals.append(Removal("repair:repeated-lead", len(para.text)))
            continue
        seen.add(key)
        out.append(para)
    return out


def _signoff_metadata(signoffs: list[str], authors: list[str]) -> tuple[list[str], list[str]]:
    """Agencies named in sign-offs; author initials ("su mit dpa") added to authors once."""
    agencies: list[str] = []
    authors = list(authors)
    for signoff in signoffs:
        for match in _AGENCIES.finditer(signoff):
            name = _AGENCY_CANON[match.group(1).lower()]
            if name not in agencies:
                agencies.append(name)
        initials = _INITIALS.match(signoff.strip("()/ "))
        if (
            initials and initials.group(1).lower() not in _AGENCY_CANON
            and initials.group(1).casefold() not in {a.casefold() for a in authors}
        ):
            authors.append(initials.group(1))
    return authors, agencies
