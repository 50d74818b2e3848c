"""Learned rules applied to a page, and whether the page is an article at all.

``apply_learned`` runs in :func:`pipeline.clean.rules.clean_article` after the site rules' selectors and
before trafilatura: it scans the page once (:func:`pipeline.profiles.blocks.scan_page`), removes
the blocks that learned rules match (a block key: the whole container; a line key: the leaf
block), and returns what it removed (``learned:line:<key>`` / ``learned:block:<key>`` with the
characters, for the article's ``removals``), the page's keys (for the profile) and the page's
link statistics (for the not-an-article check).

Never removed, whatever was learned: the title, bylines and dates (metadata), the page's main
container and its ancestors, a leaf that is not chrome-like on this page (a long paragraph in the
main container's own paragraph markup: pipeline.profiles.blocks) unless a user pinned its key,
and more than half of the page's long text (paragraphs of 80+ non-link characters) in all.

The guard (issue 21): when the matched blocks would take more than ``MAX_ARTICLE_SHARE`` (15 %)
of the article's text (the non-link text of the main container's leaves; link-dense blocks do not
count, they are chrome by nature) none of the rules that take article text is applied to the page
(``PageScan.held``): the article keeps its text, gets the flag ``learned-held``, and the run writes
a quality alert naming the site and the rules (pipeline.run.extras).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml.html import HtmlElement

from pipeline.config import ProfileSettings
from pipeline.profiles.blocks import LONG_TEXT, Block, PageBlocks, normalize_line, scan_page
from pipeline.profiles.model import HostProfile
from pipeline.profiles.overrides import Overrides

#: learned rules that together would take more than this share of an article's text are held
MAX_ARTICLE_SHARE = 0.15


class PageKeys(dict[str, str]):
    """The page's profile keys (key -> sample), as ``Cleaned.observed`` carries them to the run;
    riding along: ``held``, the learned rules the guard held back on this page, and ``evidence``,
    the long texts of the keys that are chrome-like by position only (see ``learnable_keys``)."""

    held: list[tuple[str, float]]
    evidence: dict[str, list[str]]

    def __init__(self, keys: dict[str, str], evidence: dict[str, list[str]] | None = None) -> None:
        super().__init__(keys)
        self.held = []
        self.evidence = evidence or {}


def learnable_keys(observed: dict[str, str] | None, body: str) -> dict[str, str]:
    """The keys of a cleaned page that a profile may count: those chrome-like by position only
    (outside the main container) are dropped when one of their long texts is in the extracted
    ``body`` (the page's main container did not hold the whole article)."""
    if not observed:
        return {}
    evidence: dict[str, list[str]] = getattr(observed, "evidence", None) or {}
    if not evidence:
        return dict(observed)
    text = normalize_line(body)
    out: dict[str, str] = {}
    for key, sample in observed.items():
        texts = evidence.get(key)
        if texts and any(t in text for t in texts):
            continue
        out[key] = sample
    return out


def held_rules(observed: dict[str, str] | None) -> list[tuple[str, float]]:
    """The rules held back on a cleaned page (``Cleaned.observed``), biggest share first."""
    return list(getattr(observed, "held", None) or [])


class NotAnArticle(ValueError):
    """The page is a section front, tag page or other list of links, not an article."""


@dataclass(frozen=True)
class LearnedRules:
    """The rules for one page: learned keys of its site (minus vetoes, plus pins) and limits."""

    keys: frozenset[str] = frozenset()
    settings: ProfileSettings = field(default_factory=ProfileSettings)
    pins: frozenset[str] = frozenset()  # users' pins: applied even where a line is not chrome-like

    @classmethod
    def for_page(cls, profile: HostProfile | None, settings: ProfileSettings, overrides: Overrides) -> LearnedRules:
        if not overrides.enabled:
            return cls(frozenset(), settings)
        learned = profile.learned(settings) if profile is not None else frozenset()
        return cls((learned - overrides.vetoes) | overrides.pins, settings, overrides.pins)


@dataclass
class PageScan:
    """What a page looked like to the profile, and what the learned rules took out."""

    keys: PageKeys
    removed: list[tuple[str, int]]
    text_chars: int   # after removal
    link_chars: int
    links: int
    #: non-link characters in paragraphs of LONG_TEXT (80)+ characters, after removal
    long_chars: int = 0
    #: rules not applied to this page because together they would have removed more than
    #: ``MAX_ARTICLE_SHARE`` of its article text: (rule name, share of the article text each)
    held: list[tuple[str, float]] = field(default_factory=list)


def apply_learned(tree: HtmlElement, rules: LearnedRules) -> PageScan:
    page = scan_page(tree)
    keys = PageKeys(page.keys(), page.evidence())
    body = page.blocks[0] if page.blocks else None
    text_chars = body.text_len if body else 0
    link_chars = body.link_len if body else 0
    links = body.links if body else 0
    scan = PageScan(keys, [], text_chars, link_chars, links, long_chars=body.long_text if body else 0)
    if not rules.keys or body is None:
        return scan
    matches = _matches(page, rules, body.long_text)
    article_chars = sum(b.plain_len for b in page.blocks if b.leaf and (b.in_main or b.twin) and not b.protected)
    share: dict[str, int] = {}
    for key, block in matches:
        if (block.in_main or block.twin) and block.chrome != "link-dense":
            share[key] = share.get(key, 0) + block.plain_len
    held: set[str] = set()
    if article_chars and sum(share.values()) > MAX_ARTICLE_SHARE * article_chars:
        held = {k for k, chars in share.items() if chars}
        scan.held = sorted(((f"learned:{k}", share[k] / article_chars) for k in held), key=lambda kv: -kv[1])
        keys.held = scan.held
    for key, block in matches:
        if key in held:
            continue
        scan.removed.append((f"learned:{key}", _chars(block.element)))
        scan.text_chars -= block.text_len
        scan.link_chars -= block.link_len
        scan.links -= block.links
        scan.long_chars -= block.long_text
        block.element.drop_tree()
    scan.text_chars, scan.link_chars, scan.links = max(0, scan.text_chars), max(0, scan.link_chars), max(0, scan.links)
    return scan


def _matches(page: PageBlocks, rules: LearnedRules, total_long: int) -> list[tuple[str, Block]]:
    """The blocks learned rules match on this page, outermost only: a container key matches the
    container; a line key a leaf that is chrome-like here (pipeline.profiles.blocks)."""
    out: list[tuple[str, Block]] = []
    skip_depth: int | None = None
    removed_long = 0
    for block in page.blocks[1:]:
        if skip_depth is not None:
            if block.depth > skip_depth:
                continue
            skip_depth = None
        if block.protected or id(block.element) in page.main_chain:
            continue
        if total_long and (removed_long + block.long_text) * 2 >= total_long:
            continue  # never more than half of the page's long text, whatever was learned
        key = block.block_key if block.block_key in rules.keys else None
        if key is None and block.leaf and block.line_key in rules.keys and (block.chrome or block.line_key in rules.pins):
            key = block.line_key
        if key is None:
            continue
        out.append((key, block))
        removed_long += block.long_text
        skip_depth = block.depth
    return out


def _chars(element: HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def not_article_reason(scan: PageScan, body_chars: int | None, settings: ProfileSettings) -> str | None:
    """Why the page is not an article (None: it is one). ``body_chars`` None: extraction found
    no main text. A page qualifies when its cleaned body is short (or missing), or the page has no
    paragraph of prose at all (no leaf of ``LONG_TEXT`` non-link characters: a list of teasers the
    extractor took for text), and what is left of the page after the boilerplate is mostly links."""
    no_prose = scan.long_chars < LONG_TEXT
    if body_chars is not None and body_chars >= settings.not_article_max_body_chars and not no_prose:
        return None
    if scan.links < settings.not_article_min_links:
        return None
    if scan.text_chars == 0 or scan.link_chars < settings.not_article_link_share * scan.text_chars:
        return None
    if body_chars is None:
        body = "no main text"
    elif body_chars >= settings.not_article_max_body_chars:
        body = f"body of {body_chars} chars without a paragraph of prose"
    else:
        body = f"body of {body_chars} chars"
    return (f"not an article: {body}, {scan.links} links, link text "
            f"{scan.link_chars / scan.text_chars:.0%} of the page's remaining text")
