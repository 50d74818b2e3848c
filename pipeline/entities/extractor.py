"""Named entities with canonical ids: spaCy NER per language, linked through the gazetteer.

Why both: NER finds names nobody listed, the gazetteer gives the names we care about one
canonical form and a Wikidata id whatever their spelling or inflection, and it still works when
no model is installed. Gazetteer matches count even where NER did not fire; an NER span that
overlaps a gazetteer match is that entity, not a second one.
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
from pipeline.entities.gazetteer import Gazetteer, Match, load_gazetteer
from pipeline.entities.models import (
    DEFAULT_MATRIX_BACKEND,
    MATRIX_BACKENDS,
    limit_blas_threads,
    load_model,
    resolve_model,
)

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
    """Extract entities as ``{name, type, id, mentions, first_offset}`` dicts (the index fields).

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
        return [self._link(text or "", spans) for (text, _lang), spans in zip(items, ner_spans, strict=True)]

    def _link(self, text: str, spans: list[_Span]) -> list[dict[str, Any]]:
        matches: list[Match] = self.gazetteer.find(text) if text else []
        found: dict[str, dict[str, Any]] = {}
        types: dict[str, Counter[str]] = {}

        def add(name: str, etype: str, wid: str | None, offset: int) -> None:
            ent = found.get(name)
            if ent is None:
                found[name] = {"name": name, "type": etype, "id": wid, "mentions": 1, "first_offset": offset}
                types[name] = Counter()
            else:
                ent["mentions"] += 1
                ent["first_offset"] = min(ent["first_offset"], offset)
            types[name][etype] += 1

        for m in matches:
            add(m.entry.name, m.entry.type, m.entry.id, m.start)
        # Both lists are sorted by start: one sweep finds the NER spans no gazetteer match overlaps.
        unmatched: list[_Span] = []
        k = 0
        for span in spans:
            while k < len(matches) and matches[k].end <= span.start:
                k += 1
            if k < len(matches) and matches[k].start < span.end:
                continue
            unmatched.append(span)
        surfaces = {_surface(s.text) for s in unmatched}
        for span in unmatched:
            name = _surface(span.text)
            if not name:
                continue
            offset = span.start + span.text.find(name[0]) if name[0] in span.text else span.start
            entry = self.gazetteer.get(name)
            if entry is not None:  # an exact canonical name NER found but the trie missed
                add(entry.name, entry.type, entry.id, offset)
                continue
            if span.label in ("PER", "LOC") and len(name) > 3 and name.endswith("s"):
                bare = name[:-1]
                if bare in surfaces or re.search(r"(?<!\w)" + re.escape(bare) + r"(?!\w)", text):
                    name = bare
            add(name, span.label, None, offset)
        for name, ent in found.items():
            if self.gazetteer.get(name) is None:  # linked entities keep their configured type
                ent["type"] = types[name].most_common(1)[0][0]
        return sorted(found.values(), key=lambda e: (e["first_offset"], e["name"]))
