"""Gazetteer: entity records (id, type, a label per language, aliases) and a token trie over their names.

An entity is an identity, not a spelling: ``Q232`` is "Kasachstan" in a German article,
"Kazakhstan" in an English one and "Казахстан" in a Russian one, and a facet on the id counts them
as one. Records come from two places: countries, capitals and the regions of large countries are
built from maintained packages (:mod:`pipeline.enrich.entities.places`), people and organisations from
the YAML files of ``config/entities/`` that users extend. A YAML entry with the id of a package
record extends that record (more aliases, a better label) instead of making a second one.

Why a trie over normalised tokens rather than regexes: German inflects names ("Putins",
"Kasachstans"), writers vary hyphens ("Kassym Schomart Tokajew") and case, and one entity has
several names across languages (OVKS / CSTO). Normalising each token once and walking a trie
matches every alias of every entry in one pass over the text, longest match first, in time linear
in the text length whatever the size of the gazetteer.

Two guards keep a gazetteer of a few thousand place names from firing on ordinary words: a name
a package gives in one language (the German "Island" for Iceland) is matched only in texts of
that language, and an alias word written with a capital must start with one in the text too
("turkey" is not Turkey, "US" must be upper case: "us" is a pronoun).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.enrich.entities.places import place_entries
from pipeline.enrich.entities.records import (
    LABEL_LANGUAGES,
    WORD,
    Entry,
    GazetteerError,
    fold,
    project_id,
    tokenize,
)

log = logging.getLogger(__name__)

ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
# Files in the config directory that are not gazetteers.
NON_GAZETTEER_FILES = {"models.yaml", "places.yaml"}
# German genitive / weak-noun endings tried, longest first, when a token is not itself an alias word.
INFLECTION_SUFFIXES = ("es", "en", "s", "n")


@dataclass(frozen=True)
class Match:
    """A gazetteer hit: ``entry`` found at ``text[start:end]``."""

    entry: Entry
    start: int
    end: int


# Per alias word, what the text's word must look like: "U" all upper case (a short abbreviation),
# "C" a capital first letter (a name), "" anything.
_Shape = tuple[str, ...]


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # language (None: any) -> (entry id, shape of the alias words)
    terminal: dict[str | None, tuple[str, _Shape]] = field(default_factory=dict)


def _shape(word: str) -> str:
    if len(word) <= 3 and word.isupper():
        return "U"  # "US" must not match the English pronoun "us"; longer abbreviations (OVKS) are safe anyway
    if word[:1].isupper():
        return "C"
    return ""


def _fits(shape: str, word: str) -> bool:
    if shape == "U":
        return word.isupper()
    if shape == "C":
        return word[:1].isupper() or word[:1].isdigit()
    return True


def _merge(old: Entry, new: Entry) -> Entry:
    """``new`` extends ``old`` (same id): its labels win, aliases add up, its type wins if given."""
    aliases = tuple(dict.fromkeys((*old.aliases, *new.aliases)))
    lang_aliases = tuple(dict.fromkeys((*old.lang_aliases, *new.lang_aliases)))
    return Entry(
        id=old.id,
        type=new.type or old.type,
        labels={**old.labels, **new.labels},
        aliases=aliases,
        lang_aliases=lang_aliases,
        source=old.source if new.source == old.source else f"{old.source}+{new.source}",
    )


class Gazetteer:
    """Entries by id plus a trie keyed by folded alias words; ``find`` returns non-overlapping matches."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._by_id: dict[str, Entry] = {}
        self._root = _Node()
        self._vocab: set[str] = set()
        self._norm_cache: dict[str, str] = {}
        self._label_index: dict[str, str] | None = None
        for entry in entries:
            self.add(entry)

    @property
    def entries(self) -> list[Entry]:
        return list(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, entry: Entry) -> None:
        """Add an entry, or extend the entry with its id: later files and sources extend earlier ones.

        An alias already taken by another entry (in the same language scope) goes to the later
        entry, with a warning when both come from the configuration (a package's overlaps, such as
        a capital named like its country, are resolved by the order the sources are loaded in).
        """
        if not entry.type:
            raise GazetteerError(f"entry {entry.id!r} has no type")
        old = self._by_id.get(entry.id)
        merged = _merge(old, entry) if old is not None else entry
        self._by_id[entry.id] = merged
        names = [(None, a) for a in (*entry.labels.values(), *entry.aliases)] if entry.source == "config" else (
            [(None, a) for a in entry.aliases]
        )
        for lang, alias in (*names, *entry.lang_aliases):
            self._add_alias(alias, lang, merged)
        self._norm_cache = {}  # new alias words change how words normalise
        self._label_index = None

    def _add_alias(self, alias: str, lang: str | None, entry: Entry) -> None:
        words = [w for w, _s, _e in tokenize(alias)]
        if not words:
            return
        node = self._root
        for word in words:
            key = fold(word)
            self._vocab.add(key)
            node = node.children.setdefault(key, _Node())
        previous = node.terminal.get(lang)
        if previous is not None and previous[0] != entry.id:
            other = self._by_id.get(previous[0])
            level = logging.WARNING if entry.source == "config" and other and other.source == "config" else logging.DEBUG
            log.log(level, "gazetteer alias %r belongs to %r and %r; using %r", alias, previous[0], entry.id, entry.id)
        node.terminal[lang] = (entry.id, tuple(_shape(w) for w in words))

    def get(self, entity_id: str) -> Entry | None:
        return self._by_id.get(entity_id)

    def by_label(self, name: str) -> Entry | None:
        """The entry one of whose labels is exactly ``name`` (folded), if any."""
        if self._label_index is None:
            index: dict[str, str] = {}
            for entry in self._by_id.values():
                for label in entry.labels.values():
                    index.setdefault(" ".join(fold(w) for w, _s, _e in tokenize(label)), entry.id)
            self._label_index = index
        found = self._label_index.get(" ".join(fold(w) for w, _s, _e in tokenize(name)))
        return self._by_id.get(found) if found else None

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

    def find(self, text: str, lang: str | None = None, words: list[str] | None = None) -> list[Match]:
        """All alias occurrences in ``text`` (of language ``lang``), longest first at each position,
        never overlapping. Aliases of another language than ``lang`` are not matched.

        Words are plain lists (no object per word), and a match is only tried at a word that starts
        some alias (most words start none): about 3 times cheaper on a news body than walking
        the trie from every word, with the same matches. ``words``: ``WORD.findall(text)``, when
        the caller has it already."""
        if words is None:
            words = WORD.findall(text)
        if not words:
            return []
        cache = self._norm_cache
        norms = [cache.get(w) or self.normalise(w) for w in words]
        first = self._root.children
        matches: list[Match] = []
        spans: list[tuple[int, int]] | None = None
        free = 0  # matches never overlap: no match starts before the end of the previous one
        n = len(norms)
        for i in [k for k, norm in enumerate(norms) if norm in first]:
            if i < free:
                continue
            node = self._root
            best: tuple[int, str] | None = None
            j = i
            while j < n:
                child = node.children.get(norms[j])
                if child is None:
                    break
                node = child
                j += 1
                if node.terminal:
                    hit = node.terminal.get(lang) if lang is not None else None
                    if hit is None:
                        hit = node.terminal.get(None)
                    if hit is not None and all(_fits(s, words[i + k]) for k, s in enumerate(hit[1])):
                        best = (j, hit[0])
            if best is None:
                continue
            if spans is None:
                spans = [m.span() for m in WORD.finditer(text)]
            end, entity_id = best
            matches.append(Match(self._by_id[entity_id], spans[i][0], spans[end - 1][1]))
            free = end
        return matches


def _str_list(value: Any, what: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise GazetteerError(f"{where}: {what} must be a list")
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def _entry_from_raw(raw: Any, where: str, known: Gazetteer) -> Entry:
    """One YAML entry. ``labels`` (language -> name) or ``name`` (the label for languages without
    one); ``id`` a Wikidata id, a package record's id (to extend it) or empty (a ``news:`` id from
    the English, else first, label)."""
    if not isinstance(raw, dict) or not (raw.get("name") or raw.get("labels") or raw.get("id")):
        raise GazetteerError(f"{where}: an entry needs a 'name', 'labels' or an 'id': {raw!r}")
    unknown = set(raw) - {"name", "labels", "type", "id", "aliases"}
    if unknown:
        raise GazetteerError(f"{where}: entry {raw.get('name') or raw.get('id')!r} has unknown keys {sorted(unknown)}")
    labels_raw = raw.get("labels") or {}
    if not isinstance(labels_raw, dict):
        raise GazetteerError(f"{where}: labels of {raw.get('name')!r} must map language -> name")
    labels = {str(k).strip(): str(v).strip() for k, v in labels_raw.items() if v and str(v).strip()}
    name = str(raw.get("name") or "").strip()
    if name:
        for lang in LABEL_LANGUAGES:
            labels.setdefault(lang, name)
    wid = str(raw.get("id") or "").strip()
    if not wid:
        if not labels:
            raise GazetteerError(f"{where}: entry needs a 'name' or 'labels'")
        wid = project_id(labels.get("en") or next(iter(labels.values())))
    existing = known.get(wid)
    etype = str(raw.get("type") or (existing.type if existing else "MISC")).upper()
    if etype not in ENTITY_TYPES:
        raise GazetteerError(f"{where}: entry {name or wid!r} has type {etype!r}, not one of {ENTITY_TYPES}")
    if not labels and existing is None:
        raise GazetteerError(f"{where}: entry {wid!r} extends no known record and has no 'name' or 'labels'")
    return Entry(
        id=wid,
        type=etype,
        labels=labels,
        aliases=tuple(_str_list(raw.get("aliases"), "aliases", where)),
    )


def load_gazetteer(config_dir: str | Path, *, places: bool = True) -> Gazetteer:
    """Package places (``places.yaml`` of ``config_dir`` says which, :mod:`pipeline.enrich.entities.places`)
    and then every ``*.yaml`` in ``config_dir`` except ``models.yaml`` and ``places.yaml``, in name order.

    Each file holds ``entities: [...]``; users extend the gazetteer by dropping in a file, so a
    local list survives upgrades of the shipped one.
    """
    base = Path(config_dir)
    gazetteer = Gazetteer(())
    if places:
        for entry in place_entries(base / "places.yaml"):
            gazetteer.add(entry)
    if not base.is_dir():
        log.warning("entity config directory %s does not exist; only package places are known", base)
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
            gazetteer.add(_entry_from_raw(raw, f"{path} entry {n}", gazetteer))
    return gazetteer
