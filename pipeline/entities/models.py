"""spaCy pipelines per language: loaded once per worker process, missing ones reported once.

Why a module-level cache: loading a model takes seconds and hundreds of MB; an Airflow worker
process runs many tasks, and each ``EntityExtractor`` must not pay that again. Why a warning
instead of an error: a missing model only lowers recall (the gazetteer still links the entities
users care about), so ingestion goes on, but the operator must hear about it once, not per article.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import spacy
from spacy.language import Language

log = logging.getLogger(__name__)

# Components NER needs; anything else in a full model (parser, lemmatizer, ...) is switched off.
NER_COMPONENTS = {"ner", "tok2vec", "transformer", "entity_ruler", "span_ruler"}

_MODELS: dict[str, Language | None] = {}
_LOCK = threading.Lock()


def _looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith(".") or Path(name).exists()


def load_model(name: str) -> Language | None:
    """The pipeline for ``name`` (package name or directory), or None if it cannot be loaded.

    Never downloads anything: ``spacy.load`` only reads installed packages and directories.
    The result, including a failure, is cached for the life of the process, so the warning is
    logged once per process and model.
    """
    with _LOCK:
        if name in _MODELS:
            return _MODELS[name]
        nlp: Language | None
        try:
            nlp = spacy.load(name)
        except OSError:
            nlp = None
            if _looks_like_path(name):
                log.warning(
                    "spaCy model directory %r does not exist or holds no model; "
                    "entities come from the gazetteer only",
                    name,
                )
            else:
                log.warning(
                    "spaCy model %r is not installed; install it with `python -m spacy download %s` "
                    "on a machine with internet, or `pip install <wheel>`; "
                    "entities come from the gazetteer only",
                    name,
                    name,
                )
        except Exception as exc:  # noqa: BLE001 - a broken or incompatible model must not stop ingestion
            nlp = None
            log.warning(
                "spaCy model %r could not be loaded (%s: %s); entities come from the gazetteer only",
                name,
                type(exc).__name__,
                exc,
            )
        if nlp is not None:
            extra = [p for p in nlp.pipe_names if p not in NER_COMPONENTS]
            if extra:
                nlp.select_pipes(disable=extra)
            if "ner" not in nlp.pipe_names:
                log.warning(
                    "spaCy model %r has no 'ner' component; entities come from the gazetteer only", name
                )
                nlp = None
        _MODELS[name] = nlp
        return nlp


def clear_cache() -> None:
    """Forget loaded models (tests; a long-lived process after a model upgrade)."""
    with _LOCK:
        _MODELS.clear()
