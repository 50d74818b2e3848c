"""One setting for one place: NEWS_ES_LOCAL_PORT moves the local node and every command with it;
NEWS_SAMPLE_PORT moves the sample site and the bundled feeds and archive sources with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.backfill.sources import load_backfill_config
from pipeline.config import ConfigError, load_settings
from pipeline.index.names import article_pattern

ROOT = Path(__file__).resolve().parent.parent


def test_local_port_alone_moves_every_command(es, es_url: str, alias: str) -> None:
    port = str(urlsplit(es_url).port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    env |= {"NEWS_ES_LOCAL_PORT": port, "NEWS_ES_INDEX_ALIAS": alias}
    assert load_settings(ROOT / "config", env=env).elasticsearch.url.rstrip("/") == f"http://127.0.0.1:{port}"
    run = subprocess.run([sys.executable, "-m", "pipeline", "setup-index"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert es.indices.get_index_template(name=f"{alias}-v*")["index_templates"], "template on the moved node"
    assert article_pattern(alias).startswith(alias)


def test_an_explicit_url_still_wins_over_the_local_port() -> None:
    settings = load_settings(ROOT / "config", env={"NEWS_ES_LOCAL_PORT": "9400", "NEWS_ES_URL": "http://es.example:9200"})
    assert urlsplit(str(settings.elasticsearch.url)).hostname == "es.example"


def test_sample_port_moves_feeds_and_archive_sources() -> None:
    env = {"NEWS_SAMPLE_PORT": "18999"}
    settings = load_settings(ROOT / "config", env=env)
    assert {urlsplit(f.url).port for f in settings.feeds} == {18999}
    backfill = load_backfill_config(settings, env=env)
    assert backfill.sources and all(":18999/" in source.location for source in backfill.sources)
    default = load_settings(ROOT / "config", env={})
    assert {urlsplit(f.url).port for f in default.feeds} == {8765}


def test_an_unset_variable_without_default_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text("feeds_file: feeds.yaml\n", encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - name: a\n    url: http://${NO_SUCH_HOST_VAR}/f.xml\n",
                                         encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds.yaml: \$\{NO_SUCH_HOST_VAR\} is used but NO_SUCH_HOST_VAR is not set"):
        load_settings(tmp_path, env={})


def test_a_bad_local_port_is_refused() -> None:
    with pytest.raises(ConfigError, match="NEWS_ES_LOCAL_PORT"):
        load_settings(ROOT / "config", env={"NEWS_ES_LOCAL_PORT": "92OO"})
