"""The Elasticsearch endpoint from the Airflow connection news_es, with the config fallback.

The DAG-level proof (tasks reaching the real node only through the connection) is
tests/test_dag_news_ingest.py::test_streaming_run_polls_only_due_feeds; these check the mapping of
connection fields to settings, through Airflow's own connection parsing of AIRFLOW_CONN_NEWS_ES.
"""

from __future__ import annotations

import pytest

from pipeline.airflow_settings import airflow_settings
from pipeline.config import ConfigError
from tests.conftest import write_config


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "config", es_url="http://127.0.0.1:9", alias="conn-test", feeds=[])
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(directory))
    return directory


def test_without_a_connection_config_and_environment_decide(config_dir, monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NEWS_ES", raising=False)
    assert airflow_settings().elasticsearch.url == "http://127.0.0.1:9"
    monkeypatch.setenv("NEWS_ES_URL", "http://127.0.0.1:19200")
    assert airflow_settings().elasticsearch.url == "http://127.0.0.1:19200"


def test_connection_uri_sets_url_credentials_and_tls(config_dir, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWS_ES",
        "https://elastic:not-logged-secret@es.example.org:9243?api_key=k3y-value&ca_certs=%2Fetc%2Fca.pem",
    )
    es = airflow_settings().elasticsearch
    assert es.url == "https://es.example.org:9243"
    assert (es.username, es.password, es.api_key) == ("elastic", "not-logged-secret", "k3y-value")
    assert es.ca_certs == "/etc/ca.pem" and es.verify_certs is True
    assert es.index_alias == "conn-test"  # everything else still from config
    assert "not-logged-secret" not in repr(es) and "k3y-value" not in repr(es)


def test_connection_defaults_and_errors(config_dir, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_ES", "elasticsearch://es-node?verify_certs=false&scheme=https")
    es = airflow_settings().elasticsearch
    assert (es.url, es.verify_certs, es.username) == ("https://es-node:9200", False, None)
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_ES", "elasticsearch://es-node?scheme=ftp")
    with pytest.raises(ConfigError, match="scheme must be http or https"):
        airflow_settings()


def test_json_form_of_the_readme_and_docker_compose(config_dir, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWS_ES",
        '{"conn_type": "elasticsearch", "host": "elasticsearch", "port": 9200, "schema": "https", '
        '"login": "elastic", "password": "changeme-secret"}',
    )
    es = airflow_settings().elasticsearch
    assert (es.url, es.username, es.password) == ("https://elasticsearch:9200", "elastic", "changeme-secret")
