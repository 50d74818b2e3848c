"""Per-site and generic cleaning rules from ``config/sites/*.yaml``, loaded once per process.

Rules are data that users edit, so every problem in a rule file (bad YAML, a regex that does not
compile, a selector we cannot translate) becomes a ``ConfigError`` naming the file and the rule:
a typo in one site's file must be found at load time, not as a silent miss in the index.

File format (all keys optional; ``_generic.yaml`` has no ``match`` and applies to every page)::

    name: dwn                      # rule names become "site:dwn:..."; defaults to the file stem
    match:
      hosts: [127.0.0.1, localhost]  # host without port, case-insensitive; "www." is ignored
      path_prefix: /dwn/             # optional; longest matching prefix wins
    drop_selectors: [".teaser", "figure"]        # CSS (simple subset) or "xpath://..."
    drop_class_words: [caption, related]         # a class token part: "image-caption", not "captions"
    signoff_selectors: [".article-source"]       # text kept as signoff, element removed
    drop_lines:                                  # regex, must match a whole paragraph
      - '^Lesezeit: \\d+ min$'                     # rule name = the pattern
      - {name: read-also, pattern: '^Lesen Sie auch:.*'}
    closing_lines: ['Newsletter abonnieren.*']   # like drop_lines, only in the body's last paragraphs
    teaser_headings: ['Mehr zum Thema']          # heading that starts a trailing teaser list
    signoff_patterns: ['su mit dpa']             # sign-off at the very end of the body
    paywall_patterns: ['Weiterlesen mit Abo']    # a body tail that means "truncated"
    min_chars: 300                               # below this the article is flagged too-short
    learned: {veto: [...], pin: [...]}            # learned boilerplate rules: pipeline.profiles.overrides
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import yaml

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2] / "config" / "sites"
GENERIC_FILE = "_generic.yaml"
DEFAULT_MIN_CHARS = 300

_KNOWN_KEYS = {
    "name", "match", "drop_selectors", "drop_class_words", "signoff_selectors", "drop_lines", "closing_lines",
    "teaser_headings", "signoff_patterns", "paywall_patterns", "min_chars", "learned",
}


class ConfigError(ValueError):
    """A rule file that cannot be used; the message names the file and the rule."""


@dataclass(frozen=True)
class LineRule:
    """A compiled regex with the audit name it is reported under."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class SelectorRule:
    """A CSS/XPath selector compiled to XPath once, so each page pays only the evaluation."""

    name: str
    selector: str
    xpath: str
    #: ``etree.XPath(xpath)``, compiled when the rule file is loaded (compiling it per page cost
    #: as much as evaluating it on a small page); lxml serialises concurrent calls of one object.
    compiled: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.compiled is None:
            from lxml import etree

            object.__setattr__(self, "compiled", etree.XPath(self.xpath))


_CLASS_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CLASS_PARTS = re.compile(r"[-_\s]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class ClassWordRule:
    """A word that marks chrome when it is a whole part of a class token: ``caption`` matches
    ``image-caption`` and ``caption_box``, never ``wp-featherlight-captions`` nor ``node-promoted``
    (a substring test, CSS ``[class*=...]``, hit body and article elements of real pages).
    Multi-part words (``reading-time``) match consecutive parts."""

    name: str
    word: str


@lru_cache(maxsize=4096)
def class_parts(class_attr: str) -> str:
    """A class attribute as ``-part-part- -part-`` (lower case, tokens split at ``-``/``_`` and
    at a camel-case hump: ``TestReport__AuthorBox`` is ``-test-report-author-box-``), so a word is
    found by one substring test for ``-word-``."""
    return " ".join(
        f"-{_CLASS_PARTS.sub('-', _CAMEL.sub('-', token)).strip('-').lower()}-" for token in class_attr.split()
    )


@dataclass(frozen=True)
class SiteRules:
    """The effective rules for one page: generic rules followed by the matching site's rules."""

    name: str
    drop_selectors: tuple[SelectorRule, ...] = ()
    drop_class_words: tuple[ClassWordRule, ...] = ()
    signoff_selectors: tuple[SelectorRule, ...] = ()
    drop_lines: tuple[LineRule, ...] = ()
    closing_lines: tuple[LineRule, ...] = ()
    teaser_headings: tuple[LineRule, ...] = ()
    signoff_patterns: tuple[LineRule, ...] = ()
    paywall_patterns: tuple[LineRule, ...] = ()
    min_chars: int = DEFAULT_MIN_CHARS

    def merged(self, site: SiteRules) -> SiteRules:
        return SiteRules(
            name=site.name,
            drop_selectors=self.drop_selectors + site.drop_selectors,
            drop_class_words=self.drop_class_words + site.drop_class_words,
            signoff_selectors=self.signoff_selectors + site.signoff_selectors,
            drop_lines=self.drop_lines + site.drop_lines,
            closing_lines=self.closing_lines + site.closing_lines,
            teaser_headings=self.teaser_headings + site.teaser_headings,
            signoff_patterns=site.signoff_patterns + self.signoff_patterns,
            paywall_patterns=self.paywall_patterns + site.paywall_patterns,
            min_chars=site.min_chars if site.min_chars != DEFAULT_MIN_CHARS else self.min_chars,
        )


@dataclass(frozen=True)
class SiteMatch:
    hosts: frozenset[str]
    path_prefix: str
    rules: SiteRules


@dataclass(frozen=True)
class Rulebook:
    """All rule files of a directory; ``for_url`` picks generic + the best matching site."""

    generic: SiteRules
    sites: tuple[SiteMatch, ...] = field(default=())

    def for_url(self, url: str) -> SiteRules:
        best = best_site(self.sites, url)
        return self.generic.merged(best.rules) if best else self.generic


class _SiteEntry(Protocol):
    hosts: frozenset[str]
    path_prefix: str


_Entry = TypeVar("_Entry", bound=_SiteEntry)


def best_site(sites: Iterable[_Entry], url: str) -> _Entry | None:
    """The entry for ``url`` among per-site entries of the rule files (``hosts`` normalised by
    ``norm_host``, ``path_prefix``): its host matches, and of those the longest matching prefix."""
    parts = urlsplit(url)
    host = norm_host(parts.hostname or "")
    path = parts.path or "/"
    best: _Entry | None = None
    for site in sites:
        if host in site.hosts and path.startswith(site.path_prefix) and (
            best is None or len(site.path_prefix) > len(best.path_prefix)
        ):
            best = site
    return best


def norm_host(host: str) -> str:
    """Host as the rule files match it: lower case, no trailing dot, no leading ``www.``."""
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


# --- CSS to XPath -------------------------------------------------------------------------------

_CSS_TOKEN = re.compile(
    r"""(?P<ws>\s*>\s*|\s+)
      | (?P<tag>[a-zA-Z][\w-]*|\*)
      | \.(?P<cls>[\w-]+)
      | \#(?P<id>[\w-]+)
      | \[(?P<attr>[\w-]+)(?:(?P<op>[~^$*|]?=)["']?(?P<val>[^"'\]]*)["']?)?\]""",
    re.VERBOSE,
)


def css_to_xpath(selector: str) -> str:
    """Translate a simple CSS selector (tag, .class, #id, [attr], [attr=v], ^= $= *= ~=,
    descendant and child combinators, comma groups) to XPath.

    cssselect is not a dependency of this project, and site rules only need this subset; a
    selector outside it raises ValueError so the rule file fails loudly.
    """
    try:
        from cssselect import GenericTranslator  # type: ignore[import-not-found]

        return str(GenericTranslator().css_to_xpath(selector))
    except ImportError:
        pass
    groups = []
    for group in selector.split(","):
        group = group.strip()
        if not group:
            raise ValueError(f"empty selector in {selector!r}")
        step_tag, pos = "*", 0
        conds: list[str] = []
        steps: list[str] = []
        axis = "descendant-or-self::"
        while pos < len(group):
            m = _CSS_TOKEN.match(group, pos)
            if not m or m.end() == pos:
                raise ValueError(f"unsupported CSS at {group[pos:]!r} in {selector!r}")
            pos = m.end()
            if m.group("ws") is not None:
                steps.append(axis + step_tag + "".join(f"[{c}]" for c in conds))
                axis = "/" if ">" in m.group("ws") else "//"
                step_tag, conds = "*", []
            elif m.group("tag"):
                step_tag = m.group("tag").lower()
            elif m.group("cls"):
                conds.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {m.group('cls')} ')")
            elif m.group("id"):
                conds.append(f"@id='{m.group('id')}'")
            else:
                attr, op, val = m.group("attr"), m.group("op"), m.group("val")
                conds.append(_attr_condition(attr, op, val or ""))
        steps.append(axis + step_tag + "".join(f"[{c}]" for c in conds))
        groups.append("".join(steps))
    return " | ".join(groups)


def _attr_condition(attr: str, op: str | None, val: str) -> str:
    if op is None:
        return f"@{attr}"
    quoted = f"'{val}'"
    return {
        "=": f"@{attr}={quoted}",
        "^=": f"starts-with(@{attr}, {quoted})",
        "$=": f"substring(@{attr}, string-length(@{attr}) - {len(val) - 1})={quoted}",
        "*=": f"contains(@{attr}, {quoted})",
        "~=": f"contains(concat(' ', normalize-space(@{attr}), ' '), ' {val} ')",
        "|=": f"(@{attr}={quoted} or starts-with(@{attr}, '{val}-'))",
    }[op]


# --- loading ------------------------------------------------------------------------------------


def _selectors(raw: Any, path: Path, key: str, prefix: str, kind: str) -> tuple[SelectorRule, ...]:
    from lxml import etree

    out = []
    for selector in _as_list(raw, path, key):
        if not isinstance(selector, str) or not selector.strip():
            raise ConfigError(f"{path}: {key}: selector must be a non-empty string, got {selector!r}")
        try:
            xpath = selector[6:] if selector.startswith("xpath:") else css_to_xpath(selector)
            compiled = etree.XPath(xpath)
        except (ValueError, etree.XPathSyntaxError) as exc:
            raise ConfigError(f"{path}: {key}: bad selector {selector!r}: {exc}") from exc
        out.append(SelectorRule(f"{prefix}:{kind}:{selector}", selector, xpath, compiled))
    return tuple(out)


def _class_words(raw: Any, path: Path, prefix: str) -> tuple[ClassWordRule, ...]:
    out = []
    for word in _as_list(raw, path, "drop_class_words"):
        if not isinstance(word, str) or not _CLASS_WORD.fullmatch(word.lower()):
            raise ConfigError(
                f"{path}: drop_class_words: {word!r} must be letters and digits, parts joined by '-'"
            )
        out.append(ClassWordRule(f"{prefix}:class:{word.lower()}", word.lower()))
    return tuple(out)


def _patterns(raw: Any, path: Path, key: str, prefix: str, kind: str) -> tuple[LineRule, ...]:
    out = []
    for entry in _as_list(raw, path, key):
        if isinstance(entry, str):
            name, pattern = entry, entry
        elif isinstance(entry, dict) and isinstance(entry.get("pattern"), str):
            pattern = entry["pattern"]
            name = str(entry.get("name") or pattern)
        else:
            raise ConfigError(f"{path}: {key}: entry must be a regex string or {{name, pattern}}, got {entry!r}")
        try:
            compiled = re.compile(pattern, re.IGNORECASE if kind != "line" else 0)
        except re.error as exc:
            raise ConfigError(f"{path}: {key}: rule {name!r}: bad regex {pattern!r}: {exc}") from exc
        out.append(LineRule(f"{prefix}:{name}" if kind == "line" else f"{prefix}:{kind}:{name}", compiled))
    return tuple(out)


def _as_list(raw: Any, path: Path, key: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: {key} must be a list, got {type(raw).__name__}")
    return raw


def load_rule_file(path: Path, *, generic: bool = False) -> tuple[SiteRules, frozenset[str], str]:
    """One rule file -> (rules, hosts, path prefix). Raises ConfigError naming file and rule."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read rule file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}")
    name = str(data.get("name") or path.stem.lstrip("_"))
    prefix = "generic" if generic else f"site:{name}"
    min_chars = data.get("min_chars", DEFAULT_MIN_CHARS)
    if not isinstance(min_chars, int) or min_chars < 0:
        raise ConfigError(f"{path}: min_chars must be a non-negative integer")
    rules = SiteRules(
        name=name,
        drop_selectors=_selectors(data.get("drop_selectors"), path, "drop_selectors", prefix, "selector"),
        drop_class_words=_class_words(data.get("drop_class_words"), path, prefix),
        signoff_selectors=_selectors(data.get("signoff_selectors"), path, "signoff_selectors", prefix, "signoff"),
        drop_lines=_patterns(data.get("drop_lines"), path, "drop_lines", prefix, "line"),
        closing_lines=_patterns(data.get("closing_lines"), path, "closing_lines", prefix, "line"),
        teaser_headings=_patterns(data.get("teaser_headings"), path, "teaser_headings", prefix, "teaser-list"),
        signoff_patterns=_patterns(data.get("signoff_patterns"), path, "signoff_patterns", prefix, "signoff"),
        paywall_patterns=_patterns(data.get("paywall_patterns"), path, "paywall_patterns", prefix, "paywall"),
        min_chars=min_chars,
    )
    match = data.get("match") or {}
    if generic:
        return rules, frozenset(), ""
    if not isinstance(match, dict) or not match.get("hosts"):
        raise ConfigError(f"{path}: match.hosts is required for a site rule file")
    hosts = match["hosts"] if isinstance(match["hosts"], list) else [match["hosts"]]
    return rules, frozenset(norm_host(str(h)) for h in hosts), str(match.get("path_prefix") or "/")


def build_rulebook(files: Iterable[Path], generic_file: Path | None) -> Rulebook:
    generic = load_rule_file(generic_file, generic=True)[0] if generic_file else SiteRules(name="generic")
    sites = []
    for path in files:
        rules, hosts, prefix = load_rule_file(path)
        sites.append(SiteMatch(hosts, prefix, rules))
    return Rulebook(generic=generic, sites=tuple(sites))


@cache
def load_rules(directory: Path | str = DEFAULT_RULES_DIR) -> Rulebook:
    """All rule files of ``directory``, cached per process (rules change with a deploy, not a run)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: rule directory does not exist")
    generic = directory / GENERIC_FILE
    files = sorted(p for p in directory.glob("*.yaml") if p.name != GENERIC_FILE)
    return build_rulebook(files, generic if generic.exists() else None)
