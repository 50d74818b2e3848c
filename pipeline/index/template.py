"""The article index template and the write index behind the read alias.

Text fields carry language sub-fields (``.de`` with the stock ``german`` analyzer, ``.en`` with
``english``). Production Elasticsearch has these analyzers built in; the local development node
gets them from the small analysis plugin in :mod:`pipeline.localnode`, so one template serves both.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import ElasticsearchSettings

log = logging.getLogger(__name__)

TEMPLATE_VERSION = 2

_TEXT_LANG_FIELDS = {
    "de": {"type": "text", "analyzer": "german"},
    "en": {"type": "text", "analyzer": "english"},
}

ARTICLE_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "url": {"type": "keyword"},
        "canonical_url": {"type": "keyword"},
        "feed": {"type": "keyword"},
        "site": {"type": "keyword"},
        "title": {
            "type": "text",
            "fields": {**_TEXT_LANG_FIELDS, "keyword": {"type": "keyword", "ignore_above": 512}},
        },
        "body": {"type": "text", "fields": _TEXT_LANG_FIELDS},
        "description": {"type": "text", "fields": _TEXT_LANG_FIELDS},
        "authors": {"type": "keyword"},
        "published_at": {"type": "date"},
        "published_precision": {"type": "keyword"},
        "published_source": {"type": "keyword"},
        "published_confidence": {"type": "float"},
        "modified_at": {"type": "date"},
        "lang": {"type": "keyword"},
        "lang_prob": {"type": "float"},
        "lang_source": {"type": "keyword"},
        "fetched_at": {"type": "date"},
        "run_id": {"type": "keyword"},
        "pipeline_version": {"type": "keyword"},
        "content_hash": {"type": "keyword"},
    },
}


def template_name(settings: ElasticsearchSettings) -> str:
    return settings.index_alias


def template_body(settings: ElasticsearchSettings) -> dict[str, Any]:
    return {
        "index_patterns": [f"{settings.index_alias}-*"],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "news-pipeline"},
        "template": {
            "settings": {
                "number_of_shards": settings.number_of_shards,
                "number_of_replicas": settings.number_of_replicas,
            },
            "mappings": ARTICLE_MAPPINGS,
        },
    }


def ensure_index(es: Elasticsearch, settings: ElasticsearchSettings) -> bool:
    """Put the template if its version differs, and create the write index with the read alias if
    missing. Safe to call from every task of every worker; returns True if anything changed."""
    changed = False
    name = template_name(settings)
    current = es.options(ignore_status=404).indices.get_index_template(name=name)
    versions = [t["index_template"].get("version") for t in current.get("index_templates", [])]
    if versions != [TEMPLATE_VERSION]:
        es.indices.put_index_template(name=name, **template_body(settings))
        log.info("index template %s set to version %s", name, TEMPLATE_VERSION)
        changed = True
        if es.indices.exists(index=settings.index_name):
            # additive field changes reach the existing write index too; breaking ones need a reindex
            es.indices.put_mapping(index=settings.index_name, properties=ARTICLE_MAPPINGS["properties"])
    if not es.indices.exists(index=settings.index_name):
        resp = es.options(ignore_status=400).indices.create(
            index=settings.index_name, aliases={settings.index_alias: {"is_write_index": True}}
        )
        if "error" in resp and resp["error"].get("type") != "resource_already_exists_exception":
            raise RuntimeError(f"cannot create index {settings.index_name}: {resp['error']}")
        changed = changed or "error" not in resp
    return changed
