"""Learned rules applied to a page, and whether the page is an article at all.

``apply_learned`` runs in :func:`pipeline.clean.clean_article` after the site rules' selectors and
before trafilatura: it scans the page once (:func:`pipeline.profiles.blocks.scan_page`), removes
the blocks that learned rules match (a block key: the whole container; a line key: the leaf
block), and returns what it removed (``learned:line:<key>`` / ``learned:block:<key>`` with the
characters, for the article's ``removals``), the page's keys (for the profile) and the page's
link statistics (for the not-an-article check).

Never removed, whatever was learned: the title, bylines and dates (metadata), the page's main
container and its ancestors, and more than half of the page's long text (paragraphs of 80+
non-link characters) in all: a profile gone wrong (say, a story republished under many URLs,
whose paragraphs then recur) cannot empty an article.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml.html import HtmlElement

from pipeline.config import ProfileSettings
from pipeline.profiles.blocks import scan_page
from pipeline.profiles.model import HostProfile
from pipeline.profiles.overrides import Overrides


class NotAnArticle(ValueError):
    """The page is a section front, tag page or other list of links, not an article."""


@dataclass(frozen=True)
class LearnedRules:
    """The rules for one page: learned keys of its site (minus vetoes, plus pins) and limits."""

    keys: frozenset[str] = frozenset()
    settings: ProfileSettings = field(default_factory=ProfileSettings)

    @classmethod
    def for_page(cls, profile: HostProfile | None, settings: ProfileSettings, overrides: Overrides) -> LearnedRules:
        if not overrides.enabled:
            return cls(frozenset(), settings)
        learned = profile.learned(settings) if profile is not None else frozenset()
        return cls((learned - overrides.vetoes) | overrides.pins, settings)


@dataclass
class PageScan:
    """What a page looked like to the profile, and what the learned rules took out."""

    keys: dict[str, str]
    removed: list[tuple[str, int]]
    text_chars: int   # after removal
    link_chars: int
    links: int


def apply_learned(tree: HtmlElement, rules: LearnedRules) -> PageScan:
    page = scan_page(tree)
    keys = page.keys()
    removed: list[tuple[str, int]] = []
    body = page.blocks[0] if page.blocks else None
    text_chars = body.text_len if body else 0
    link_chars = body.link_len if body else 0
    links = body.links if body else 0
    total_long = body.long_text if body else 0
    if rules.keys and body is not None:
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
            if key is None and block.leaf and block.line_key in rules.keys:
                key = block.line_key
            if key is None:
                continue
            removed.append((f"learned:{key}", _chars(block.element)))
            removed_long += block.long_text
            text_chars -= block.text_len
            link_chars -= block.link_len
            links -= block.links
            block.element.drop_tree()
            skip_depth = block.depth
    return PageScan(keys, removed, max(0, text_chars), max(0, link_chars), max(0, links))


def _chars(element: HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def not_article_reason(scan: PageScan, body_chars: int | None, settings: ProfileSettings) -> str | None:
    """Why the page is not an article (None: it is one). ``body_chars`` None: extraction found
    no main text. A page qualifies when its cleaned body is short (or missing) and what is left
    of the page after the boilerplate is mostly links."""
    if body_chars is not None and body_chars >= settings.not_article_max_body_chars:
        return None
    if scan.links < settings.not_article_min_links:
        return None
    if scan.text_chars == 0 or scan.link_chars < settings.not_article_link_share * scan.text_chars:
        return None
    body = "no main text" if body_chars is None else f"body of {body_chars} chars"
    return (f"not an article: {body}, {scan.links} links, link text "
            f"{scan.link_chars / scan.text_chars:.0%} of the page's remaining text")
