"""Settings for tasks run by Airflow: the Elasticsearch endpoint from an Airflow connection.

The one place the pipeline reads Airflow state (imported by the DAG files' tasks only; Airflow is
imported lazily, so the rest of the pipeline runs without it). A connection ``news_es`` - e.g.
``AIRFLOW_CONN_NEWS_ES='https://user:secret@es.example.org:9200?ca_certs=/etc/ca.pem'`` or one
defined in the Airflow UI or a secrets backend - replaces the URL and credentials of the config;
without one, config and the ``NEWS_ES_*`` variables decide (the environment fallback).

Connection fields used: the scheme from ``schema`` when it is ``http``/``https`` (the JSON form
``{"conn_type": "elasticsearch", "schema": "https", ...}``), else ``extra.scheme``, else the conn
type when it is ``http``/``https`` (the URI form ``https://...``), else ``http``; host, port
(default 9200), login and password (basic auth); extras ``api_key``, ``ca_certs`` and
``verify_certs`` (``false`` only for a test cluster).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipeline.config import ConfigError, Settings, load_settings, parse_bool

ES_CONNECTION_ID = "news_es"


def settings_from_connection(settings: Settings, conn: Any) -> Settings:
    """``settings`` with its Elasticsearch endpoint and credentials from Airflow connection ``conn``."""
    extra = conn.extra_dejson or {}
    if not conn.host:
        raise ConfigError(f"Airflow connection {conn.conn_id!r} has no host")
    web = ("http", "https")
    scheme = (conn.schema if conn.schema in web else None) or extra.get("scheme") or (
        conn.conn_type if conn.conn_type in web else "http")
    if scheme not in ("http", "https"):
        raise ConfigError(f"Airflow connection {conn.conn_id!r}: scheme must be http or https, got {scheme!r}")
    current = settings.elasticsearch
    verify = extra.get("verify_certs", current.verify_certs)
    es = replace(
        current,
        url=f"{scheme}://{conn.host}:{conn.port or 9200}",
        username=conn.login or None,
        password=conn.password or None,
        api_key=extra.get("api_key") or current.api_key,
        ca_certs=extra.get("ca_certs") or current.ca_certs,
        verify_certs=parse_bool(verify, f"Airflow connection {conn.conn_id!r}: extra verify_certs"),
    )
    return replace(settings, elasticsearch=es)


def airflow_settings(conn_id: str = ES_CONNECTION_ID) -> Settings:
    """Settings with the Elasticsearch connection taken from Airflow connection ``conn_id`` when
    one is defined, else from config and NEWS_ES_* variables."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    settings = load_settings()
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:  # not defined: config and environment decide
        return settings
    return settings_from_connection(settings, conn)
