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
from thinc.api import NumpyOps

log = logging.getLogger(__name__)

# Components NER needs; anything else in a full model (parser, lemmatizer, ...) is switched off.
NER_COMPONENTS = {"ner", "tok2vec", "transformer", "entity_ruler", "span_ruler"}

# Matrix products of the NER network: "numpy" (numpy's BLAS, OpenBLAS in the numpy wheels) or
# "blis" (thinc's default). Measured on the 2-core AMD EPYC machines (docs/benchmarks.md,
# enrichment_ner): numpy's BLAS multiplies the tok2vec matrices 2.5x as fast as blis, which takes
# NER from ~14 to ~10 ms per 600-word article; the entities found are the same.
MATRIX_BACKENDS = ("numpy", "blis")
DEFAULT_MATRIX_BACKEND = "numpy"

# Pipelines the repository ships, per language: the default when the configured model is a
# package name that is not installed (no spaCy model package can be installed from the registries
# here). A configured directory, or an installed package, still wins. Trained by
# scripts/train_ner.py on GermEval 2014 (CC BY 4.0, see docs/entities.md).
REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED_MODELS: dict[str, Path] = {"de": REPO_ROOT / "models" / "de_germeval_ner"}

_MODELS: dict[tuple[str, str], Language | None] = {}
_RESOLVED: dict[tuple[str, str], str] = {}
_LOCK = threading.Lock()


def _looks_like_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith(".") or Path(name).exists()


def resolve_model(lang: str, name: str) -> str:
    """What to load for ``name`` configured for ``lang``: ``name`` itself, or the shipped model.

    The shipped model (``SHIPPED_MODELS``) replaces a package name that is not installed; a
    directory is never replaced (the user chose it: if it is missing they hear so), nor is an
    installed package. Logged once per process and (lang, name).
    """
    key = (lang, name)
    with _LOCK:
        if key in _RESOLVED:
            return _RESOLVED[key]
        resolved = name
        shipped = SHIPPED_MODELS.get(lang)
        if (
            shipped is not None
            and not _looks_like_path(name)
            and not spacy.util.is_package(name)
            and (shipped / "meta.json").exists()
        ):
            resolved = str(shipped)
            log.warning(
                "spaCy model %r is not installed; using the model shipped in %s for %r "
                "(install the package with `python -m spacy download %s` on a machine with internet, "
                "or `pip install <wheel>`, to use it instead)",
                name,
                shipped,
                lang,
                name,
            )
        _RESOLVED[key] = resolved
        return resolved


def limit_blas_threads(threads: int) -> None:
    """Cap the threads of the BLAS library numpy loaded, for this whole process (0: leave them).

    numpy's OpenBLAS starts one thread per core for every large enough product. An Airflow worker
    runs one task per core, so those threads compete with the other tasks instead of helping:
    measured with two ingest tasks on two cores, NER at the library's 2 threads made the whole
    run slower than blis had (docs/benchmarks.md, dag_e2e)."""
    if threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")


def _use_backend(nlp: Language, matrix_backend: str) -> None:
    """Give every layer of every component ops of ``matrix_backend`` (layers hold their own)."""
    ops = NumpyOps(use_blis=matrix_backend == "blis")
    for _name, component in nlp.components:
        model = getattr(component, "model", None)
        if model is not None and hasattr(model, "walk"):
            for layer in model.walk():
                layer.ops = ops


def load_model(name: str, matrix_backend: str = DEFAULT_MATRIX_BACKEND) -> Language | None:
    """The pipeline for ``name`` (package name or directory), or None if it cannot be loaded.

    Never downloads anything: ``spacy.load`` only reads installed packages and directories.
    The result, including a failure, is cached for the life of the process, so the warning is
    logged once per process and model. ``matrix_backend`` (one of ``MATRIX_BACKENDS``) picks the
    library the network's matrix products run in: every layer of the loaded model gets its ops.
    """
    if matrix_backend not in MATRIX_BACKENDS:
        raise ValueError(f"matrix_backend must be one of {', '.join(MATRIX_BACKENDS)}, not {matrix_backend!r}")
    key = (name, matrix_backend)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
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
            _use_backend(nlp, matrix_backend)
            extra = [p for p in nlp.pipe_names if p not in NER_COMPONENTS]
            if extra:
                nlp.select_pipes(disable=extra)
            if "ner" not in nlp.pipe_names:
                log.warning(
                    "spaCy model %r has no 'ner' component; entities come from the gazetteer only", name
                )
                nlp = None
        _MODELS[key] = nlp
        return nlp


def clear_cache() -> None:
    """Forget loaded models (tests; a long-lived process after a model upgrade)."""
    with _LOCK:
        _MODELS.clear()
        _RESOLVED.clear()
