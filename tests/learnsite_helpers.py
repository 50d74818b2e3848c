"""Shared set-up for the tests of learned profiles, the raw archive and the canaries: a config
directory pointed at the test node and the Kreisbote fixture site (pipeline.samplesite.learnsite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Settings, load_settings
from pipeline.index.client import es_client
from pipeline.index.template import ensure_index
from tests.conftest import write_config


def learn_feed(name: str, url: str, site: str) -> dict[str, Any]:
    return {"name": name, "url": url, "site": site, "lang": "de", "allow_networks": ["127.0.0.1/32"]}


def setup_config(tmp_path: Path, es_url: str, alias: str, feeds: list[dict[str, Any]], **sections: Any
                 ) -> tuple[Settings, Any]:
    """write_config plus the profiles/archive/canaries sections given; index template applied."""
    directory = write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=feeds)
    main = yaml.safe_load((directory / "pipeline.yaml").read_text(encoding="utf-8"))
    main.update(sections)
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    settings = load_settings(directory, env={})
    es = es_client(settings.elasticsearch)
    ensure_index(es, settings.elasticsearch)
    return settings, es


def body_lines(body: str) -> set[str]:
    return {" ".join(line.split()) for line in body.split("\n") if line.strip()}


def sites_with_learned(config_dir: Path, name: str, path_prefix: str, learned: str) -> Path:
    """A copy of the repo's site rules in ``config_dir/sites`` plus a site file for 127.0.0.1 with
    the given ``learned`` section (YAML lines, indented by two); call before ``setup_config``."""
    import shutil

    from tests.conftest import ROOT

    sites = config_dir / "sites"
    shutil.copytree(ROOT / "config" / "sites", sites)
    (sites / f"{name}.yaml").write_text(
        f"name: {name}\nmatch:\n  hosts: [127.0.0.1]\n  path_prefix: {path_prefix}\nlearned:\n{learned}",
        encoding="utf-8")
    return sites
