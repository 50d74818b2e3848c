"""Shared fixtures: a real local Elasticsearch node and the real bundled sample site.

Airflow reads its configuration when first imported, so its environment is set here, before any
test module imports it: a throwaway AIRFLOW_HOME with a migrated SQLite DB, the repo's dags/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="news-pipeline-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] = "1"  # as docker-compose.yml and the Makefile
os.environ.pop("AIRFLOW_CONN_NEWS_ES", None)

TEST_ES_PORT = int(os.environ.get("NEWS_TEST_ES_PORT", "9250"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Repeat a failure's message after the captured output: tests that run whole DAGs capture
    thousands of log lines, and a CI log that keeps only the end of a report would otherwise
    show the logs without the assertion that failed."""
    report = yield
    crash = getattr(report.longrepr, "reprcrash", None)
    if report.failed and crash is not None:
        report.sections.append((f"failure ({report.when})", f"{crash.path}:{crash.lineno}: {crash.message}"))
    return report


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """URL of a real Elasticsearch: $NEWS_TEST_ES_URL if given, else a local node started here
    (and stopped at the end if this session started it)."""
    external = os.environ.get("NEWS_TEST_ES_URL")
    if external:
        yield external
        return
    from pipeline.localnode import LocalNode, NodeSettings

    node = LocalNode(
        NodeSettings(http_port=TEST_ES_PORT, transport_port=TEST_ES_PORT + 100, cluster_name="news-pipeline-test")
    )
    started = node.start()
    try:
        yield node.url
    finally:
        if started:
            node.stop()


@pytest.fixture(scope="session")
def es(es_url: str):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sample_site() -> Iterator[str]:
    from pipeline.samplesite import SampleSite

    site = SampleSite()
    base_url = site.start()
    try:
        yield base_url
    finally:
        site.stop()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite in the throwaway AIRFLOW_HOME)."""
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True, capture_output=True, env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


@pytest.fixture
def alias(es) -> Iterator[str]:
    """A fresh index alias per test, deleted afterwards, so tests never see each other's data."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    es.indices.delete(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{name}-v*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])


def write_config(directory: Path, *, es_url: str, alias: str, feeds: list[dict], **http: object) -> Path:
    """A config dir like the repo's, pointed at the test node, a test alias and the given feeds."""
    directory.mkdir(parents=True, exist_ok=True)
    main = {
        "elasticsearch": {
            "url": es_url, "index_alias": alias, "number_of_replicas": 0,
        },
        "http": {"connect_timeout_s": 2, "read_timeout_s": 3, "per_host_min_interval_s": 0, **http},
        "feeds_file": "feeds.yaml",
    }
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    for shared in ("sites", "entities"):  # the repo's boilerplate rules and gazetteer
        if not (directory / shared).exists():
            (directory / shared).symlink_to(ROOT / "config" / shared)
    return directory


def sample_feeds(base_url: str, *names: str) -> list[dict]:
    paths = {
        "rss": "/feeds/rss.xml",
        "atom": "/feeds/atom.xml",
        "http-500": "/faults/500.xml",
        "slow": "/faults/slow.xml?seconds=6",
        "not-xml": "/faults/not-xml.xml",
        "broken-links": "/faults/broken-links.xml",
    }
    return [
        {"name": n, "url": base_url + paths[n], "lang": "de", "allow_networks": ["127.0.0.1/32"]}
        for n in names or paths
    ]
