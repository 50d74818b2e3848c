"""The article index template, the auxiliary indices, and applying them idempotently.

Every article index is in the read alias from the moment it exists, and only
:func:`ensure_article_index` creates one: the template carries the alias (an index the template
creates is readable whoever creates it) and ``allow_auto_create: false`` (a write to a month that
does not exist yet fails with ``index_not_found`` instead of creating an index on the fly; issue 16:
a story's partial update auto-created a month's index outside the alias and 1,500 of 1,500
articles were unsearchable). ``allow_auto_create`` in the template, not the cluster setting
``action.auto_create_index``: it covers exactly this alias's article pattern, travels with the
template, and needs no cluster-wide privilege or change that would affect other tenants or
Kibana's own indices. The alias has no write index (``is_write_index`` is never set): every write
names its monthly index, so the alias is read-only and there is never a second write index.

Text fields carry language fields (``body_de`` with the stock ``german`` analyzer, ``body_en``
with ``english``). Production Elasticsearch has these analyzers built in; the local development
node gets them from the small analysis plugin in :mod:`pipeline.localnode`, so one template serves
both. Additive mapping changes (a new field, a new sub-field) keep the version: the template
carries a digest of the mappings in ``_meta``, a template whose digest differs is put again and
the new fields are added to the existing indices of this version in place (issue 17 added
``host`` and ``entities.name.words`` this way; documents indexed before keep them unset until
they are written again). Bump TEMPLATE_VERSION on a breaking change only: it goes through
``python -m pipeline reindex``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import ElasticsearchSettings
from pipeline.index.mappings import (
    ARTICLE_MAPPINGS,
    DEADLETTER_MAPPINGS,
    FEEDSTATE_MAPPINGS,
    HOSTSLOTS_MAPPINGS,
    LEASE_MAPPINGS,
    PAGEFAILURE_MAPPINGS,
    PROFILE_MAPPINGS,
    RUNLOG_MAPPINGS,
)
from pipeline.index.names import (
    article_index,
    article_pattern,
    deadletter_index,
    feedstate_index,
    hostslots_index,
    leases_index,
    pagefailures_index,
    profiles_index,
    runlog_index,
)

log = logging.getLogger(__name__)

TEMPLATE_VERSION = 8  # 6: lsh_bands without doc values; 7: body not indexed, body_std; 8: published_day/_offset


def mappings_digest() -> str:
    """A short digest of the article mappings: a stored template with another digest is stale."""
    return hashlib.sha256(json.dumps(ARTICLE_MAPPINGS, sort_keys=True).encode()).hexdigest()[:16]


def template_body(settings: ElasticsearchSettings, version: int = TEMPLATE_VERSION) -> dict[str, Any]:
    return {
        "index_patterns": [article_pattern(settings.index_alias, version)],
        "priority": 200,
        "version": version,
        "_meta": {"managed_by": "news-pipeline", "mappings_digest": mappings_digest()},
        "allow_auto_create": False,  # only ensure_article_index creates an article index
        "template": {
            "aliases": {settings.index_alias: {}},  # read alias only: writes name their index
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


#: Refresh interval of the auxiliary indices the pipeline reads by id only (feed state, profiles,
#: host slots, leases). A get by id is realtime: it sees the last write without a refresh. Left
#: unset, Elasticsearch refreshes a shard every second while it is written, until it has had no
#: search for 30 s: a fresh index, or one an operator searched, then pays a refresh a second for
#: documents nobody searches (measured: 33 refreshes, 0.73 s of Elasticsearch time in a 400-page run
#: of 8 feeds, 1.8 ms an article). Searches of them (Kibana, the ``profiles`` command, tests) see
#: writes within this interval, or at once after an explicit refresh. The run log, dead letters
#: and page failures are searched by the pipeline and keep Elasticsearch's default.
BY_ID_REFRESH_INTERVAL = "30s"


def _aux_indices(settings: ElasticsearchSettings) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(index, mappings, settings of its own) of each auxiliary index."""
    alias = settings.index_alias
    by_id = {"refresh_interval": BY_ID_REFRESH_INTERVAL}
    return [
        (deadletter_index(alias), DEADLETTER_MAPPINGS, {}),
        (runlog_index(alias), RUNLOG_MAPPINGS, {}),
        (feedstate_index(alias), FEEDSTATE_MAPPINGS, by_id),
        (profiles_index(alias), PROFILE_MAPPINGS, by_id),
        (hostslots_index(alias), HOSTSLOTS_MAPPINGS, by_id),
        (leases_index(alias), LEASE_MAPPINGS, by_id),
        (pagefailures_index(alias), PAGEFAILURE_MAPPINGS, {}),
    ]


def _update_aux_settings(es: Elasticsearch, wanted: dict[str, dict[str, Any]]) -> bool:
    """Give auxiliary indices created before a setting of theirs existed that setting (one read
    for all of them; a write only where a value differs). True if any was changed."""
    if not wanted:
        return False
    stored = es.indices.get_settings(index=",".join(wanted), flat_settings=True)
    changed = False
    for index, own in wanted.items():
        have = stored.get(index, {}).get("settings", {})
        differ = {k: v for k, v in own.items() if have.get(f"index.{k}") != v}
        if differ:
            es.indices.put_settings(index=index, settings={"index": differ})
            log.info("index %s: settings %s", index, differ)
            changed = True
    return changed


def _create(es: Elasticsearch, name: str, body: dict[str, Any]) -> bool:
    resp = es.options(ignore_status=400).indices.create(index=name, **body)
    error = resp.get("error") if isinstance(resp.body, dict) else None
    if error and error.get("type") != "resource_already_exists_exception":
        raise RuntimeError(f"cannot create index {name}: {error.get('reason')}")
    return not error


@dataclass
class IndexSetup:
    """What :func:`setup_index` did: ``changed`` (template, auxiliary or article index created or
    updated), ``repaired`` (article indices found outside the read alias and added to it), and
    ``left_for_reindex`` (current-version indices outside the alias because an older version of
    the same month still serves it: a reindex is filling them and switches the alias itself)."""

    changed: bool = False
    repaired: list[str] = field(default_factory=list)
    left_for_reindex: list[str] = field(default_factory=list)


def ensure_index(es: Elasticsearch, settings: ElasticsearchSettings) -> bool:
    """:func:`setup_index`, returning only whether anything changed (True if so)."""
    return setup_index(es, settings).changed


def _template_current(stored: list[dict[str, Any]], settings: ElasticsearchSettings) -> bool:
    """The stored template is this version, carries the alias and the auto-create refusal (a
    template of the same version stored before issue 16 lacks both and is put again) and the
    current mappings (their digest: an additive mapping change is put again, in place)."""
    if len(stored) != 1:
        return False
    body = stored[0]["index_template"]
    return (
        body.get("version") == TEMPLATE_VERSION
        and body.get("allow_auto_create") is False
        and settings.index_alias in body.get("template", {}).get("aliases", {})
        and body.get("_meta", {}).get("mappings_digest") == mappings_digest()
    )


def setup_index(es: Elasticsearch, settings: ElasticsearchSettings) -> IndexSetup:
    """Put the template if it is not current, create the auxiliary indices and an (empty)
    ``undated`` article index so the read alias exists, and add any current-version article index
    found outside the read alias to it (:func:`repair_read_alias`). Safe to call from every task of
    every worker at once."""
    result = IndexSetup()
    name = template_name(settings)
    current = es.options(ignore_status=404).indices.get_index_template(name=name)
    if not _template_current(current.get("index_templates", []), settings):
        _drop_superseded_templates(es, settings, keep=name)
        es.indices.put_index_template(name=name, **template_body(settings))
        log.info("index template %s set to version %s", name, TEMPLATE_VERSION)
        result.changed = True
        existing = es.indices.get(index=article_pattern(settings.index_alias, TEMPLATE_VERSION), allow_no_indices=True)
        if existing:
            es.indices.put_mapping(
                index=article_pattern(settings.index_alias, TEMPLATE_VERSION), properties=ARTICLE_MAPPINGS["properties"]
            )
    replicas = {"number_of_shards": 1, "number_of_replicas": settings.number_of_replicas}
    existing_aux: dict[str, dict[str, Any]] = {}
    for index, mappings, own in _aux_indices(settings):
        if not es.indices.exists(index=index):
            result.changed |= _create(es, index, {"mappings": mappings, "settings": {**replicas, **own}})
        else:  # additive, idempotent: new fields of the auxiliary indices reach existing ones
            es.indices.put_mapping(index=index, properties=mappings["properties"])
            if own:
                existing_aux[index] = own
    result.changed |= _update_aux_settings(es, existing_aux)
    result.changed |= ensure_article_index(es, settings, article_index(settings.index_alias, TEMPLATE_VERSION, None))
    result.repaired, result.left_for_reindex = repair_read_alias(es, settings)
    result.changed |= bool(result.repaired)
    return result


def repair_read_alias(es: Elasticsearch, settings: ElasticsearchSettings) -> tuple[list[str], list[str]]:
    """Add every article index of the current template version that is outside the read alias
    to it (an index auto-created before the template carried the alias); return (repaired,
    left for reindex). Older-version indices are never added back (a reindex took them out after
    copying them), nor a current-version index whose month an older version still serves in the
    alias: that is a reindex target being filled, and adding it would show each article twice."""
    alias = settings.index_alias
    pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)-(.+)$")
    indices = es.indices.get_alias(index=article_pattern(alias), allow_no_indices=True, expand_wildcards="open")
    in_alias: dict[str, set[int]] = {}  # month suffix -> versions in the alias
    outside: list[tuple[str, str]] = []
    for name, info in indices.items():
        match = pattern.match(name)
        if not match:
            continue
        version, suffix = int(match.group(1)), match.group(2)
        if alias in info.get("aliases", {}):
            in_alias.setdefault(suffix, set()).add(version)
        elif version == TEMPLATE_VERSION:
            outside.append((name, suffix))
    repaired: list[str] = []
    left: list[str] = []
    for name, suffix in sorted(outside):
        if any(v != TEMPLATE_VERSION for v in in_alias.get(suffix, ())):
            left.append(name)
            continue
        es.indices.update_aliases(actions=[{"add": {"index": name, "alias": alias}}])
        log.warning("article index %s was outside the read alias %s: added", name, alias)
        repaired.append(name)
    return repaired, left


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
    fills its targets first and switches the alias atomically afterwards). The one place an
    article index is created: the template refuses auto-creation.

    The template puts every index it matches in the alias, so ``alias=False`` takes the new,
    still empty index out again at once (an empty index in the alias for that moment shows
    nothing twice)."""
    if es.indices.exists(index=name):
        return False
    created = _create(es, name, {"aliases": {settings.index_alias: {}}} if alias else {})
    if created and not alias:
        es.options(ignore_status=404).indices.delete_alias(index=name, name=settings.index_alias)
    return created
