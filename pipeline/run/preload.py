"""Load the pipeline once in the process that forks the task processes, not once per task.

Every Airflow task process on Linux is a fork: of a LocalExecutor worker, itself forked from the
scheduler, or of a Celery pool process, forked from the Celery worker. Without this, each ingest
task imports the pipeline (spaCy, the Elasticsearch client, trafilatura: about 2.5-5 CPU seconds
here) and loads the NER models, the gazetteer and the language profiles (about 1.5 s) before its
first page; a nightly task of a few hundred articles spends more on that than on its pages.
Done once in the forking process, every task inherits the loaded modules and models
(copy-on-write; nothing loaded here keeps a socket or a file open).

Turned on by ``NEWS_PRELOAD=1`` in the environment of the process that forks the tasks (the
scheduler with the LocalExecutor, the Celery worker): ``plugins/airflow_local_settings.py``, which
Airflow imports at start-up in every Airflow process, calls :func:`preload_from_env`. Off by
default, because the other Airflow processes (API server, DAG processor, triggerer) would carry
the models for nothing (about 250 MB). A failure is logged and never stops the Airflow process:
the tasks then load what they need themselves, as without the preload.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENV_VAR = "NEWS_PRELOAD"
#: what the DAGs' tasks import (the rest comes with them)
TASK_MODULES = ("pipeline.run.group", "pipeline.run.ingest", "pipeline.run.streamloop", "pipeline.run.summary",
                "pipeline.index.template", "pipeline.run.plan", "pipeline.airflow_settings")


def preload(config_dir: str | Path | None = None) -> float:
    """Import what the ingest tasks run and load the models of ``config_dir`` (default: as
    ``load_settings`` finds it); returns the seconds it took. Everything it loads is cached for the
    process, so a second call costs milliseconds, and one with another config directory builds
    only that directory's gazetteer."""
    started = time.perf_counter()
    for module in TASK_MODULES:
        importlib.import_module(module)
    from pipeline.clean.language import langdetect_best, py3langid_best
    from pipeline.config import load_settings
    from pipeline.enrich import extractor_for

    settings = load_settings(config_dir)
    extractor = extractor_for(Path(settings.config_dir) / "entities")
    for lang in extractor.models:  # each configured model loaded (or its absence noted) once
        extractor.extract("Berlin", lang)
    sample = "Die Regierung in Berlin hat am Montag neue Pläne für die Bahn vorgestellt."
    langdetect_best(sample)  # both detectors' profiles: which one a body needs depends on the body
    py3langid_best(sample)
    _warm_htmldate()
    took = time.perf_counter() - started
    log.info("pipeline preloaded in %.1f s (modules, NER models %s, gazetteer, language profiles)",
             took, ", ".join(sorted(extractor.models)) or "none")
    return took


def _warm_htmldate() -> None:
    """htmldate's month names of every dateparser locale (about 0.5 s, built when its extensive
    search first needs them) and its dateparser instance; both are cached for the process. Looked
    up by name: helpers of the pinned htmldate, skipped if a version lacks them."""
    from htmldate import extractors

    for name in ("month_words", "get_external_parser"):
        warm = getattr(extractors, name, None)
        if callable(warm):
            warm()


def preload_from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """:func:`preload` when ``NEWS_PRELOAD`` is 1/true/yes; False (and a logged error) when it fails."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR, "").strip().lower() not in ("1", "true", "yes"):
        return False
    try:
        took = preload(environ.get("NEWS_CONFIG_DIR") or None)
    except Exception:  # an Airflow process must start even when the preload fails
        log.exception("%s=1: preloading the pipeline failed; the tasks will load it themselves", ENV_VAR)
        return False
    # Airflow configures logging only after its local settings are imported: say it on stderr too
    sys.stderr.write(f"news-pipeline: {ENV_VAR}=1: pipeline preloaded in {took:.1f} s\n")
    return True
