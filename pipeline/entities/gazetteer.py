"""Gazetteer: canonical entities from ``config/entities/*.yaml`` and a token trie over their aliases.

Why a trie over normalised tokens rather than regexes: German inflects names ("Putins",
"Kasachstans"), writers vary hyphens ("Kassym Schomart Tokajew") and case, and one entity has
several names across languages (OVKS / CSTO). Normalising each token once and walking a trie
matches every alias of every entry in one pass over the text, longest match first, in time linear
in the text length whatever the size of the gazetteer.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
# Files in the config directory that are not gazetteers.
NON_GAZETTEER_FILES = {"models.yaml"}
# German genitive / weak-noun endings tried, longest first, when a token is not itself an alias word.
INFLECTION_SUFFIXES = ("es", "en", "s", "n")
# Words: letters and digits; hyphens, apostrophes and dots separate words, so "Kassym-Schomart" and
# "Kassym Schomart" give the same tokens and "OVKS-Einsatz" contains the alias "OVKS".
_WORD = re.compile(r"\w+", re.UNICODE)


class GazetteerError(ValueError):
    """A gazetteer file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One canonical entity."""

    name: str
    type: str
    id: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Token:
    """A word of the text with its character span and normalised form."""

    text: str
    start: int
    end: int
    norm: str


@dataclass(frozen=True)
class Match:
    """A gazetteer hit: ``entry`` found at ``text[start:end]``."""

    entry: Entry
    start: int
    end: int


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # (entry, positions of alias tokens that must be upper case in the text)
    terminal: tuple[Entry, tuple[int, ...]] | None = None


def fold(word: str) -> str:
    """Case- and accent-insensitive form of one word ("Tokaïev" -> "tokaiev", "Außen" -> "aussen")."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` with their character offsets."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _must_be_upper(word: str) -> bool:
    # "US" must not match the English pronoun "us"; longer abbreviations (OVKS) are safe anyway.
    return len(word) <= 3 and word.isupper()


class Gazetteer:
    """Entries plus a trie keyed by folded alias words; ``find`` returns non-overlapping matches."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: list[Entry] = []
        self._root = _Node()
        self._vocab: set[str] = set()
        self._by_name: dict[str, Entry] = {}
        self._norm_cache: dict[str, str] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        """Add (or, for a name already present, replace) an entry: later files extend earlier ones."""
        if entry.name in self._by_name:
            log.info("gazetteer entry %r defined again; the later definition wins", entry.name)
            self.entries = [e for e in self.entries if e.name != entry.name]
        self._by_name[entry.name] = entry
        self.entries.append(entry)
        for alias in (entry.name, *entry.aliases):
            words = [w for w, _s, _e in tokenize(alias)]
            if not words:
                continue
            node = self._root
            for word in words:
                key = fold(word)
                self._vocab.add(key)
                node = node.children.setdefault(key, _Node())
            upper = tuple(i for i, w in enumerate(words) if _must_be_upper(w))
            if node.terminal is not None and node.terminal[0].name != entry.name:
                log.warning(
                    "gazetteer alias %r belongs to %r and %r; using %r",
                    alias,
                    node.terminal[0].name,
                    entry.name,
                    entry.name,
                )
            node.terminal = (entry, upper)
        # An entry may add alias words that change how words normalise: start the cache afresh.
        self._norm_cache = {}

    def get(self, name: str) -> Entry | None:
        return self._by_name.get(name)

    def normalise(self, word: str) -> str:
        """Folded word, or its stem without a German ending when only the stem is an alias word."""
        cached = self._norm_cache.get(word)
        if cached is not None:
            return cached
        key = fold(word)
        if key not in self._vocab:
            for suffix in INFLECTION_SUFFIXES:
                if key.endswith(suffix) and key[: -len(suffix)] in self._vocab:
                    key = key[: -len(suffix)]
                    break
        if len(self._norm_cache) < 200_000:
            self._norm_cache[word] = key
        return key

    def tokens(self, text: str) -> list[Token]:
        return [Token(w, s, e, self.normalise(w)) for w, s, e in tokenize(text)]

    def find(self, text: str) -> list[Match]:
        """All alias occurrences in ``text``, longest first at each position, never overlapping."""
        toks = self.tokens(text)
        matches: list[Match] = []
        i = 0
        while i < len(toks):
            node = self._root
            best: tuple[int, Entry] | None = None
            j = i
            while j < len(toks):
                child = node.children.get(toks[j].norm)
                if child is None:
                    break
                node = child
                j += 1
                if node.terminal is not None:
                    entry, upper = node.terminal
                    if all(toks[i + k].text.isupper() for k in upper):
                        best = (j, entry)
            if best is None:
                i += 1
                continue
            end, entry = best
            matches.append(Match(entry, toks[i].start, toks[end - 1].end))
            i = end
        return matches


def _entry_from_raw(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise GazetteerError(f"{where}: an entry needs at least a 'name': {raw!r}")
    unknown = set(raw) - {"name", "type", "id", "aliases"}
    if unknown:
        raise GazetteerError(f"{where}: entry {raw['name']!r} has unknown keys {sorted(unknown)}")
    etype = str(raw.get("type") or "MISC").upper()
    if etype not in ENTITY_TYPES:
        raise GazetteerError(f"{where}: entry {raw['name']!r} has type {etype!r}, not one of {ENTITY_TYPES}")
    aliases = raw.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list):
        raise GazetteerError(f"{where}: aliases of {raw['name']!r} must be a list")
    wid = raw.get("id")
    return Entry(
        name=str(raw["name"]).strip(),
        type=etype,
        id=str(wid).strip() if wid else None,
        aliases=tuple(str(a).strip() for a in aliases if str(a).strip()),
    )


def load_gazetteer(config_dir: str | Path) -> Gazetteer:
    """Read every ``*.yaml`` in ``config_dir`` except ``models.yaml``, in name order.

    Each file holds ``entities: [...]``; users extend the gazetteer by dropping in a file, so a
    local list survives upgrades of the shipped one.
    """
    base = Path(config_dir)
    gazetteer = Gazetteer(())
    if not base.is_dir():
        log.warning("entity config directory %s does not exist; the gazetteer is empty", base)
        return gazetteer
    for path in sorted(base.glob("*.yaml")):
        if path.name in NON_GAZETTEER_FILES:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise GazetteerError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("entities") or [], list):
            raise GazetteerError(f"{path} must hold a mapping with an 'entities' list")
        for n, raw in enumerate(data.get("entities") or []):
            gazetteer.add(_entry_from_raw(raw, f"{path} entry {n}"))
    return gazetteer
