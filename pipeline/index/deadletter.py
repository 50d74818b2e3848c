"""The dead-letter index: every item the pipeline could not index, with its reason and the
original document, so nothing is silently dropped and a fix can be replayed."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from pipeline.index.names import deadletter_index

log = logging.getLogger(__name__)


def write_deadletters(
    es: Elasticsearch, alias: str, items: list[dict[str, Any]], *, run_id: str, feed: str | None, stage: str
) -> int:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    actions = [
        {"_index": deadletter_index(alias), "_source": {**item, "failed_at": now, "run_id": run_id, "feed": feed,
                                                       "stage": stage}}
        for item in items
    ]
    written, errors = bulk(es, actions, raise_on_error=False, max_retries=3)
    for error in errors:  # the last resort: the log keeps what even the dead-letter index refused
        log.error("dead-letter write failed, item kept in log: %s", json.dumps(error, default=str)[:5000])
    for item in items:
        log.warning("dead-lettered %s (%s): %s", item.get("url"), item.get("doc_id"), item.get("reason"))
    return written
