"""The article index template, the auxiliary indices, and applying them idempotently.

Text fields carry language fields (``body_de`` with the stock ``german`` analyzer, ``body_en``
with ``english``). Production Elasticsearch has these analyzers built in; the local development
node gets them from the small analysis plugin in :mod:`pipeline.localnode`, so one template serves
both. Bump TEMPLATE_VERSION on any mapping change: additive changes are applied in place,
breaking ones go through ``python -m pipeline reindex``.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import ElasticsearchSettings
from pipeline.index.mappings import (
    ARTICLE_MAPPINGS,
    DEADLETTER_MAPPINGS,
    FEEDSTATE_MAPPINGS,
    HOSTSLOTS_MAPPINGS,
    PROFILE_MAPPINGS,
    RUNLOG_MAPPINGS,
)
from pipeline.index.names import (
    article_index,
    article_pattern,
    deadletter_index,
    feedstate_index,
    hostslots_index,
    profiles_index,
    runlog_index,
)

log = logging.getLogger(__name__)

TEMPLATE_VERSION = 8  # 6: lsh_bands without doc values; 7: body not indexed, body_std; 8: published_day/_offset


def template_body(settings: ElasticsearchSettings, version: int = TEMPLATE_VERSION) -> dict[str, Any]:
    return {
        "index_patterns": [article_pattern(settings.index_alias, version)],
        "priority": 200,
        "version": version,
        "_meta": {"managed_by": "news-pipeline"},
        "template": {
            "settings": {
                "number_of_shards": settings.number_of_shards,
                "number_of_replicas": settings.number_of_replicas,
                "refresh_interval": settings.refresh_interval,
            },
            "mappings": ARTICLE_MAPPINGS,
        },
    }


def template_name(settings: ElasticsearchSettings, version: int = TEMPLATE_VERSION) -> str:
    return f"{settings.index_alias}-v{version}"


def _aux_indices(settings: ElasticsearchSettings) -> list[tuple[str, dict[str, Any]]]:
    alias = settings.index_alias
    return [
        (deadletter_index(alias), DEADLETTER_MAPPINGS),
        (runlog_index(alias), RUNLOG_MAPPINGS),
        (feedstate_index(alias), FEEDSTATE_MAPPINGS),
        (profiles_index(alias), PROFILE_MAPPINGS),
        (hostslots_index(alias), HOSTSLOTS_MAPPINGS),
    ]


def _create(es: Elasticsearch, name: str, body: dict[str, Any]) -> bool:
    resp = es.options(ignore_status=400).indices.create(index=name, **body)
    error = resp.get("error") if isinstance(resp.body, dict) else None
    if error and error.get("type") != "resource_already_exists_exception":
        raise RuntimeError(f"cannot create index {name}: {error.get('reason')}")
    return not error


def ensure_index(es: Elasticsearch, settings: ElasticsearchSettings) -> bool:
    """Put the template if its version differs, create the auxiliary indices and an (empty)
    ``undated`` article index so the read alias exists. The template carries no alias: article
    indices join the read alias when they are created by :func:`ensure_article_index`. Safe to call from every task of every
    worker at once; returns True if anything changed."""
    changed = False
    name = template_name(settings)
    current = es.options(ignore_status=404).indices.get_index_template(name=name)
    versions = [t["index_template"].get("version") for t in current.get("index_templates", [])]
    if versions != [TEMPLATE_VERSION]:
        _drop_superseded_templates(es, settings, keep=name)
        es.indices.put_index_template(name=name, **template_body(settings))
        log.info("index template %s set to version %s", name, TEMPLATE_VERSION)
        changed = True
        existing = es.indices.get(index=article_pattern(settings.index_alias, TEMPLATE_VERSION), allow_no_indices=True)
        if existing:
            es.indices.put_mapping(
                index=article_pattern(settings.index_alias, TEMPLATE_VERSION), properties=ARTICLE_MAPPINGS["properties"]
            )
    replicas = {"number_of_shards": 1, "number_of_replicas": settings.number_of_replicas}
    for index, mappings in _aux_indices(settings):
        if not es.indices.exists(index=index):
            changed |= _create(es, index, {"mappings": mappings, "settings": replicas})
        else:  # additive, idempotent: new fields of the auxiliary indices reach existing ones
            es.indices.put_mapping(index=index, properties=mappings["properties"])
    changed |= ensure_article_index(es, settings, article_index(settings.index_alias, TEMPLATE_VERSION, None))
    return changed


def _drop_superseded_templates(es: Elasticsearch, settings: ElasticsearchSettings, keep: str) -> None:
    """Templates of earlier versions for this alias only ever created indices that exist already;
    left in place, an older catch-all pattern would collide with the new one at the same priority."""
    prefix = settings.index_alias
    found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
    for template in found.get("index_templates", []):
        body = template["index_template"]
        ours = body.get("_meta", {}).get("managed_by") == "news-pipeline"
        if ours and template["name"] != keep and all(p.startswith(f"{prefix}-") for p in body["index_patterns"]):
            es.indices.delete_index_template(name=template["name"])
            log.info("removed superseded index template %s", template["name"])


def ensure_article_index(es: Elasticsearch, settings: ElasticsearchSettings, name: str, *, alias: bool = True) -> bool:
    """Create a monthly article index, in the read alias unless ``alias`` is False (a reindex
    fills its targets first and switches the alias atomically afterwards)."""
    if es.indices.exists(index=name):
        return False
    return _create(es, name, {"aliases": {settings.index_alias: {}}} if alias else {})
