"""Migrate article indices of older template versions to the current one without downtime:
copy each old monthly index into its new-version twin (created outside the read alias), then
switch the alias from old to new in one atomic call, so searches never see both or neither.

Copying is client-side (scan + bulk), because the local development node has no ``_reindex``
API (its distribution lacks the reindex module) and production has no need for it here. Writes
use ``create``: a document a live ingestion already wrote in the new version is newer and kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan, streaming_bulk

from pipeline.config import ElasticsearchSettings
from pipeline.index.mappings import with_language_copies
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index, ensure_index
from pipeline.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class ReindexResult:
    migrated: dict[str, str] = field(default_factory=dict)  # old index -> new index
    copied: int = 0
    kept_newer: int = 0
    deleted: list[str] = field(default_factory=list)


def old_indices(es: Elasticsearch, alias: str) -> list[tuple[str, int, str]]:
    """(index, version, month suffix) of every article index not on the current version."""
    pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)-(.+)$")
    found = []
    for name in es.indices.get(index=f"{alias}-v*", allow_no_indices=True, expand_wildcards="open"):
        match = pattern.match(name)
        if match and int(match.group(1)) != TEMPLATE_VERSION:
            found.append((name, int(match.group(1)), match.group(2)))
    return sorted(found)


def _actions(es: Elasticsearch, source: str, target: str) -> Iterator[dict[str, Any]]:
    for hit in scan(es, index=source, query={"query": {"match_all": {}}}, size=1000):
        doc = with_language_copies(dict(hit["_source"]))  # language fields may be new in this version
        doc["template_version"] = TEMPLATE_VERSION
        yield {"_op_type": "create", "_index": target, "_id": hit["_id"], "_source": doc}


def reindex(
    es: Elasticsearch,
    settings: ElasticsearchSettings,
    *,
    delete_old: bool = False,
    progress: Callable[[str], None] = print,
) -> ReindexResult:
    alias = settings.index_alias
    ensure_index(es, settings)
    result = ReindexResult()
    olds = old_indices(es, alias)
    if not olds:
        progress(f"all article indices of {alias!r} are on template version {TEMPLATE_VERSION}")
    for n, (source, version, suffix) in enumerate(olds, 1):
        target = f"{alias}-v{TEMPLATE_VERSION}-{suffix}"
        ensure_article_index(es, settings, target, alias=False)
        copied = kept = 0
        with Progress(es.count(index=source)["count"], f"reindex {source}", unit="doc", every=5000) as bar:
            for ok, item in streaming_bulk(es, _actions(es, source, target), chunk_size=500, raise_on_error=False):
                info = item["create"]
                bar.update()
                if ok:
                    copied += 1
                elif info.get("status") == 409:
                    kept += 1
                else:
                    raise RuntimeError(
                        f"reindex of {source} into {target} failed for {info.get('_id')}: {info.get('error')}")
        es.indices.refresh(index=target)
        es.indices.update_aliases(actions=[
            {"add": {"index": target, "alias": alias}},
            {"remove": {"index": source, "alias": alias}},
        ])
        progress(f"[{n}/{len(olds)}] {source} (v{version}) -> {target}: {copied} copied, {kept} newer kept")
        result.migrated[source] = target
        result.copied += copied
        result.kept_newer += kept
        if delete_old:
            es.indices.delete(index=source)
            result.deleted.append(source)
    return result
