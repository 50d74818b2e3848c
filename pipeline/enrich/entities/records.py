"""Entity records and the names they are built from: the record (an id, a type, a label per
language, aliases), how a word is folded and a name made into a project id. Shared by the
gazetteer (:mod:`pipeline.enrich.entities.gazetteer`) and the records built from packages
(:mod:`pipeline.enrich.entities.places`), which the gazetteer loads."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

# Languages every record should have a label in (the index stores the label of the article's language).
LABEL_LANGUAGES = ("de", "en", "fr", "ru")
# Prefix of project ids (entities without a Wikidata id): ``news:<slug>``.
PROJECT_ID_PREFIX = "news:"
# Words: letters and digits; hyphens, apostrophes and dots separate words, so "Kassym-Schomart" and
# "Kassym Schomart" give the same tokens and "OVKS-Einsatz" contains the alias "OVKS".
WORD = re.compile(r"\w+", re.UNICODE)
_QID = re.compile(r"^Q[1-9][0-9]*$")


class GazetteerError(ValueError):
    """A gazetteer file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One entity record.

    ``labels`` maps a language to the entity's name in it; ``aliases`` are matched in texts of any
    language, ``lang_aliases`` (``(lang, alias)`` pairs) only in texts of their language.
    ``source`` says where the record comes from ("config" or a package name).
    """

    id: str
    type: str
    labels: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    lang_aliases: tuple[tuple[str, str], ...] = ()
    source: str = "config"

    def label(self, lang: str | None) -> str:
        """The name in ``lang``; else English, German, or any label there is."""
        for key in (lang, "en", "de"):
            if key and self.labels.get(key):
                return self.labels[key]
        return next(iter(self.labels.values()), self.id)

    @property
    def name(self) -> str:
        """The English (else German) label: for logs and messages, not for the index."""
        return self.label("en")

    @property
    def wikidata(self) -> bool:
        return bool(_QID.match(self.id))


@functools.lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Case- and accent-insensitive form of one word ("Tokaïev" -> "tokaiev", "Außen" -> "aussen").

    Cached: names repeat within an article and across a run, and the fold of a word is a
    Python-level loop over its characters."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` with their character offsets."""
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


def slug(name: str) -> str:
    """``news:<slug>`` material: folded words joined by hyphens ("Rasmus Nilsson" -> "rasmus-nilsson")."""
    return "-".join(fold(w) for w, _s, _e in tokenize(name))


def project_id(name: str) -> str:
    """The id of an entity without a Wikidata id, from its name: ``news:rasmus-nilsson``."""
    return PROJECT_ID_PREFIX + slug(name)
