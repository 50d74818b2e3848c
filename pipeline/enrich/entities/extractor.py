"""Named entities with stable ids: spaCy NER per language, linked through the gazetteer.

Why both: NER finds names nobody listed, the gazetteer gives the entities we know one id (a
Wikidata id where known) and a label per language whatever their spelling or inflection, and it
still works when no model is installed. Gazetteer matches count even where NER did not fire; an
NER span that overlaps a gazetteer match is that entity, not a second one.

A name NER finds and the gazetteer does not know is kept, ``linked: false``, under a normalised
name (German genitive stripped: "Nilssons" -> "Nilsson" when the article also writes "Nilsson";
"Mirsijojews" -> "Mirsijojew" for Slavic surnames), and one person is one entity in an article:
"Nilsson" after "Dr. Rasmus Nilsson" is Rasmus Nilsson. Its id is ``news:<slug>``, the id a
gazetteer entry with that English label would get, so adding the entry later keeps facets whole.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import REPO_CONFIG_DIR, ConfigError
from pipeline.enrich.entities.gazetteer import Gazetteer, Match, load_gazetteer
from pipeline.enrich.entities.models import (
    DEFAULT_MATRIX_BACKEND,
    MATRIX_BACKENDS,
    limit_blas_threads,
    load_model,
    resolve_model,
)
from pipeline.enrich.entities.records import WORD, fold, project_id, tokenize

log = logging.getLogger(__name__)

DEFAULT_CONFIG_DIR = REPO_CONFIG_DIR / "entities"
DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_CHARS = 100_000

# spaCy label schemes differ: German models use PER/LOC/ORG/MISC (WikiNER), English ones OntoNotes,
# the shipped German model GermEval's PER/LOC/ORG/OTH.
LABEL_MAP = {
    "OTH": "MISC",
    "PER": "PER",
    "PERSON": "PER",
    "LOC": "LOC",
    "GPE": "LOC",
    "FAC": "LOC",
    "ORG": "ORG",
    "MISC": "MISC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}  # DATE, TIME, MONEY, PERCENT, QUANTITY, ORDINAL, CARDINAL are not entities for us
_STRIP = " \t\n\r\"'„“”‚‘’«»()[]{}.,;:!?-–—"
# Titles NER often includes in a person's span ("Dr. Rasmus Nilsson"); not part of the name.
TITLES = {"dr", "prof", "professor", "herr", "frau", "mr", "mrs", "ms", "mme", "m", "sir", "dame", "hr", "fr"}
# Slavic surnames with a German genitive -s ("Mirsijojews Besuch", "Tokajews Sprecher"): the
# nominative never ends like this, so the -s goes even when the article has no bare form.
# German common nouns the small shipped model tags as names ("Behördenangaben", "Staatstrauer"):
# a one-word name unknown to the gazetteer that ends like an abstract noun, or that NER calls a
# person or place and that follows an article or a preposition fused with one ("im Nachbarland"),
# is dropped.
_DE_ARTICLES = {"der", "die", "das", "dem", "den", "des", "ein", "eine", "einem", "einen", "einer", "eines",
                "im", "am", "zum", "zur", "vom", "beim", "ins"}
_DE_NOUN_ENDINGS = re.compile(r"(?:ung|ungen|heit|heiten|keit|keiten|schaft|schaften|tion|tionen|ität|ismus|"
                              r"nahme|nahmen|angabe|angaben)$")
_TITLE_BEFORE = re.compile(r"\b(?:Dr|Prof|Professor|Mr|Mrs|Ms|Mme|Sir)\.?\s+(?P<given>(?:[A-ZÄÖÜ][\w-]+\s+){1,2})")
_SLAVIC_GENITIVE = re.compile(r"(?:ow|ew|ev|ov|ski|sky|skij|enko)s$", re.IGNORECASE)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    label: str
    text: str


def load_models_config(config_dir: str | Path) -> dict[str, Any]:
    """``models.yaml`` of ``config_dir`` as a dict (empty if absent)."""
    path = Path(config_dir) / "models.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping")
    return data


def _surface(text: str) -> str:
    return " ".join(text.split()).strip(_STRIP)


class EntityExtractor:
    """Extract entities as ``{name, type, id, linked, mentions, first_offset}`` dicts (the index fields).

    ``name`` is the entity's label in the text's language (linked) or its normalised name
    (unlinked); ``id`` is the same in every language.

    ``config_dir`` holds ``models.yaml`` and the gazetteer files; ``models`` (language -> model
    name or directory) replaces the configured models when given, e.g. to point at a test model.
    """

    def __init__(
        self,
        config_dir: str | Path = DEFAULT_CONFIG_DIR,
        models: dict[str, str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> None:
        cfg = load_models_config(config_dir)
        configured = cfg.get("models") or {}
        if not isinstance(configured, dict):
            raise ConfigError(f"'models' in {Path(config_dir) / 'models.yaml'} must map language -> model")
        chosen = models if models is not None else configured
        self.models: dict[str, str] = {str(k): str(v) for k, v in chosen.items()}
        self.batch_size = int(batch_size or cfg.get("batch_size") or DEFAULT_BATCH_SIZE)
        self.max_chars = int(cfg.get("max_chars") or DEFAULT_MAX_CHARS)
        self.matrix_backend = str(cfg.get("matrix_backend") or DEFAULT_MATRIX_BACKEND)
        if self.matrix_backend not in MATRIX_BACKENDS:
            raise ConfigError(
                f"'matrix_backend' in {Path(config_dir) / 'models.yaml'} must be one of "
                f"{', '.join(MATRIX_BACKENDS)}, not {self.matrix_backend!r}"
            )
        self.gazetteer: Gazetteer = load_gazetteer(config_dir)
        self.blas_threads = int(cfg.get("blas_threads", 1))
        if self.models:
            limit_blas_threads(self.blas_threads)

    def extract(self, text: str, lang: str) -> list[dict[str, Any]]:
        """Entities of one text; prefer ``extract_batch`` for many (NER runs batched)."""
        return self.extract_batch([(text, lang)])[0]

    def extract_batch(self, items: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
        """Entities of each ``(text, lang)``, in input order; each list sorted by ``first_offset``."""
        ner_spans: list[list[_Span]] = [[] for _ in items]
        by_lang: dict[str, list[int]] = {}
        for i, (text, lang) in enumerate(items):
            if text and text.strip():
                by_lang.setdefault(lang, []).append(i)
        for lang, indices in by_lang.items():
            name = self.models.get(lang)
            nlp = load_model(resolve_model(lang, name), self.matrix_backend) if name else None
            if nlp is None:
                continue
            texts = [items[i][0][: self.max_chars] for i in indices]
            try:
                docs = nlp.pipe(texts, batch_size=self.batch_size)
                for i, doc in zip(indices, docs, strict=True):
                    ner_spans[i] = [
                        _Span(ent.start_char, ent.end_char, LABEL_MAP[ent.label_], ent.text)
                        for ent in doc.ents
                        if ent.label_ in LABEL_MAP
                    ]
            except Exception:  # one bad batch must not lose the gazetteer entities of the others
                log.exception(
                    "NER failed on a batch of %d %r texts; using the gazetteer only", len(indices), lang
                )
                for i in indices:
                    ner_spans[i] = []
        return [self._link(text or "", spans, lang) for (text, lang), spans in zip(items, ner_spans, strict=True)]

    def _link(self, text: str, spans: list[_Span], lang: str | None) -> list[dict[str, Any]]:
        text_words = WORD.findall(text)
        matches: list[Match] = self.gazetteer.find(text, lang, text_words) if text else []
        found: dict[str, dict[str, Any]] = {}
        types: dict[str, Counter[str]] = {}

        def add(key: str, name: str, etype: str, linked: bool, offset: int) -> None:
            ent = found.get(key)
            if ent is None:
                found[key] = {"name": name, "type": etype, "id": key, "linked": linked, "mentions": 1,
                              "first_offset": offset}
                types[key] = Counter()
            else:
                ent["mentions"] += 1
                ent["first_offset"] = min(ent["first_offset"], offset)
            types[key][etype] += 1

        for m in matches:
            add(m.entry.id, m.entry.label(lang), m.entry.type, True, m.start)
        # Both lists are sorted by start: one sweep finds the NER spans no gazetteer match overlaps.
        unmatched: list[_Span] = []
        k = 0
        for span in spans:
            while k < len(matches) and matches[k].end <= span.start:
                k += 1
            if k < len(matches) and matches[k].start < span.end:
                continue
            unmatched.append(span)
        unmatched = [_extend_after_title(span, text) for span in unmatched]
        cleaned = [(span, _name(span)) for span in unmatched]
        surfaces = {name for _span, name in cleaned if name}
        words = set(text_words)  # for _uninflect
        for span, name in cleaned:
            if not name or not any(ch.isupper() for ch in name):
                continue
            offset = span.start + max(span.text.find(name.split()[0]), 0)
            entry = self.gazetteer.by_label(name)
            if entry is not None:  # a label NER found but the trie did not match (another language's, say)
                add(entry.id, entry.label(lang), entry.type, True, offset)
                continue
            if lang == "de" and _german_common_noun(name, span, text):
                continue
            name = _uninflect(name, span.label, text, surfaces, words)
            key = project_id(name)
            entry = self.gazetteer.get(key)
            if entry is not None:
                add(entry.id, entry.label(lang), entry.type, True, offset)
                continue
            add(key, name, span.label, False, offset)
        _one_person_one_entity(found, types)
        for key, ent in found.items():
            if not ent["linked"]:  # linked entities keep their configured type
                ent["type"] = types[key].most_common(1)[0][0]
        return sorted(found.values(), key=lambda e: (e["first_offset"], e["name"]))


def _name(span: _Span) -> str:
    """The span's text without quotes, punctuation and titles ("Dr. Rasmus Nilsson" -> "Rasmus Nilsson")."""
    name = _surface(span.text)
    words = name.split()
    while len(words) > 1 and fold(words[0].rstrip(".")) in TITLES:
        words = words[1:]
    return " ".join(words).strip(_STRIP)


def _german_common_noun(name: str, span: _Span, text: str) -> bool:
    """One word, an abstract noun's ending, or after an article when NER calls it a person or place
    (organisations take articles: "die Nato", "der Bundestag")."""
    if " " in name:
        return False
    if _DE_NOUN_ENDINGS.search(name):
        return True
    before = text[max(0, span.start - 12):span.start].split()
    return span.label != "ORG" and bool(before) and before[-1].casefold() in _DE_ARTICLES


def _extend_after_title(span: _Span, text: str) -> _Span:
    """"Dr. Rasmus [Nilsson]": a person span NER started after the first name, right after a title."""
    if span.label != "PER":
        return span
    found = _TITLE_BEFORE.search(text, max(0, span.start - 60), span.start)
    if found is None or found.end() != span.start:
        return span
    start = found.start("given")
    return _Span(start, span.end, span.label, text[start:span.end])


def _uninflect(name: str, label: str, text: str, surfaces: set[str], words: set[str] | None = None) -> str:
    """``name`` without a German genitive ending: "-s"/"-es" goes when the article also has the bare
    name (as a word of the text, or another span), and after a Slavic surname always.

    ``words``: the text's words (``WORD.findall``), if the caller has them: a one-word bare name
    is then looked up there instead of searched for in the text (the same answer: a word of
    word characters stands alone in the text exactly when it is one of its words)."""
    if label not in ("PER", "LOC", "ORG") or len(name) <= 3:
        return name
    if name.endswith(("'", "’")):
        return name[:-1]
    for suffix in ("s", "es"):
        if not name.endswith(suffix) or name.endswith("ss"):
            continue
        bare = name[: -len(suffix)]
        if len(bare) < 3:
            continue
        if bare in surfaces:
            return bare
        if words is not None and WORD.fullmatch(bare):
            if bare in words:
                return bare
        elif re.search(r"(?<!\w)" + re.escape(bare) + r"(?!\w)", text):
            return bare
    if label == "PER" and _SLAVIC_GENITIVE.search(name):
        return name[:-1]
    return name


def _one_person_one_entity(found: dict[str, dict[str, Any]], types: dict[str, Counter[str]]) -> None:
    """Merge an unlinked name that is the end of exactly one longer person's name in the same
    article into that person: "Nilsson" (whatever NER typed it) after "Rasmus Nilsson"."""
    people = [
        (key, [fold(w) for w, _s, _e in tokenize(ent["name"])])
        for key, ent in found.items()
        if types[key].most_common(1)[0][0] == "PER" or ent["type"] == "PER"
    ]
    for key in list(found):
        ent = found[key]
        if ent["linked"]:
            continue
        words = [fold(w) for w, _s, _e in tokenize(ent["name"])]
        if not words:
            continue
        owners = [
            other for other, full in people
            if other != key and len(full) > len(words) and full[-len(words):] == words
        ]
        if len(owners) != 1:
            continue  # no longer name, or two people of that surname: leave it alone
        owner = found[owners[0]]
        owner["mentions"] += ent["mentions"]
        owner["first_offset"] = min(owner["first_offset"], ent["first_offset"])
        types[owners[0]].update(types[key])
        del found[key]
