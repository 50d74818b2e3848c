"""The preload: with NEWS_PRELOAD=1, Airflow's start-up (plugins/airflow_local_settings.py) loads the
pipeline and its NER model once, so the task processes forked from that process inherit them.

Each case starts a fresh interpreter that imports Airflow the way every Airflow process does, with
the repository's plugins folder as Airflow's plugins folder (as docker-compose.yml mounts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# After Airflow's start-up: what is loaded; then a forked child (as a task process is forked)
# runs the entity stage and reports whether it had to load anything itself.
PROBE = r"""
import json, os, sys, time
import airflow  # Airflow's settings initialisation imports airflow_local_settings
loaded = "pipeline.run.ingest" in sys.modules
out = {"ingest_imported": loaded, "models": [], "child": None}
if loaded:
    from pipeline.enrich.entities import models
    out["models"] = [name for (name, _backend), nlp in models._MODELS.items() if nlp is not None]
if out["models"]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
      try:
        from pathlib import Path
        from pipeline.config import load_settings
        from pipeline.enrich import _extractors, extractor_for
        before = dict(models._MODELS), len(_extractors)
        started = time.process_time()
        found = extractor_for(Path(load_settings().config_dir) / "entities").extract(
            "Bundeskanzler Olaf Scholz traf in Berlin den Präsidenten Frankreichs.", "de")
        report = {"models_before": len(before[0]), "extractors_before": before[1],
                  "models_after": len(models._MODELS), "cpu_s": time.process_time() - started,
                  "entities": sorted(e["name"] for e in found)}
        os.write(write, json.dumps(report).encode())
      finally:
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    out["child"] = json.loads(os.read(read, 1 << 16).decode())
print("PROBE " + json.dumps(out))
"""


def _probe(tmp_path: Path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "NEWS_PRELOAD"}
    environ.update(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=300,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    result = json.loads(line[len("PROBE "):])
    result["stderr"] = done.stderr
    return result


def test_preload_loads_pipeline_and_model_once_for_forked_tasks(tmp_path: Path) -> None:
    result = _probe(tmp_path, NEWS_PRELOAD="1")
    assert result["ingest_imported"]
    assert any(name.endswith("de_germeval_ner") for name in result["models"]), result["models"]
    child = result["child"]
    # the forked "task" found the model and the extractor already loaded and loaded nothing more
    assert child["models_before"] >= 1 and child["extractors_before"] == 1
    assert child["models_after"] == child["models_before"]
    assert "Berlin" in child["entities"]
    assert "pipeline preloaded in" in result["stderr"]


def test_without_the_variable_nothing_is_preloaded(tmp_path: Path) -> None:
    result = _probe(tmp_path)
    assert not result["ingest_imported"]
    assert "pipeline preloaded" not in result["stderr"]


def test_a_failing_preload_does_not_stop_airflow(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-config"
    result = _probe(tmp_path, NEWS_PRELOAD="1", NEWS_CONFIG_DIR=str(missing))
    assert "preloading the pipeline failed" in result["stderr"]
    assert str(missing) in result["stderr"]


def test_an_edited_gazetteer_reaches_a_process_that_loaded_the_old_one(tmp_path: Path) -> None:
    """The preloading process (and a long streaming task) outlive edits of config/entities: the
    extractor is rebuilt when a file there changes, the loaded spaCy model is kept."""
    import shutil

    from pipeline.enrich import extractor_for

    config = tmp_path / "entities"
    shutil.copytree(ROOT / "config" / "entities", config)
    text = "Die Firma Quarzwerk Rabenstein meldete am Montag Gewinne."
    first = extractor_for(config)
    assert extractor_for(config) is first  # unchanged files: the same extractor
    assert "news:quarzwerk-rabenstein" not in {e["id"] for e in first.extract(text, "de") if e["linked"]}
    (config / "local.yaml").write_text(
        "entities:\n  - type: ORG\n    name: Quarzwerk Rabenstein\n", encoding="utf-8")
    second = extractor_for(config)
    assert second is not first
    linked = {e["id"]: e for e in second.extract(text, "de") if e["linked"]}
    assert linked["news:quarzwerk-rabenstein"]["type"] == "ORG"
