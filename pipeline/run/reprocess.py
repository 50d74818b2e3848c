"""Clean already indexed articles again from the raw-page archive, with today's site rules and
learned profiles, and update only the documents whose cleaned text changed.

``python -m pipeline reprocess [--site S] [--dry-run]``: the newest archived capture of each
document is cleaned again (the site's stored profile and the pins/vetoes in config/sites apply,
nothing is learned from it); when the body differs from the indexed one, the document gets the
new body (and its language copy), removals, flags, sign-off metadata, content hash (the old one
kept as ``previous_hash``), ``content_changed_at`` and a fresh MinHash/LSH signature. Its story
assignment and entities are kept. Pages that are not indexed (skipped, failed, never written)
are counted and left alone. A page whose learned rules the guard held back (they would have taken
article text) keeps its whole text, is flagged ``learned-held`` and counted in ``held``, and each
such rule is a quality alert (run id ``reprocess``).

This is how bodies cut by a profile that had learned article text (issue 21) get their text back:
today's rules only remove what is chrome-like on the page, whatever the stored profile learned.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from pipeline.article import doc_id_for
from pipeline.clean.rules import Cleaned, ExtractionError, NotAnArticle, clean_article
from pipeline.clean.siterules import load_rules
from pipeline.config import Settings
from pipeline.enrich.stories import band_keys, encode_signature, minhash
from pipeline.fetch.decode import decode_page
from pipeline.fetch.urls import canonicalize, host_of
from pipeline.index.mappings import LANG_ANALYZERS, body_field
from pipeline.index.names import article_pattern
from pipeline.index.template import TEMPLATE_VERSION
from pipeline.iterutils import chunked
from pipeline.profiles import LearnedRules, ProfileStore, held_rules, load_overrides
from pipeline.profiles.canaries import HeldRuleAlert, record_held_rules
from pipeline.progress import Progress
from pipeline.run.extras import flag_held
from pipeline.run.rawarchive import ArchivedPage, archive_root, iter_pages

log = logging.getLogger(__name__)

BATCH = 100


@dataclass
class ReprocessResult:
    records: int = 0         # archived pages read
    documents: int = 0       # distinct documents among them (newest capture each)
    changed: int = 0         # updated in the index
    unchanged: int = 0
    not_indexed: int = 0
    not_article: int = 0
    held: int = 0            # pages on which the guard held learned rules back
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {"failures": self.failures[:50]}


def _canonical(url: str, declared: str | None) -> str:
    if declared and host_of(declared) == host_of(url):
        return canonicalize(declared)
    return canonicalize(url)


def _newest(root: str, site: str | None, result: ReprocessResult) -> dict[str, tuple[str, int]]:
    """canonical URL -> (file, offset) of its newest capture (files sort by day, records by time)."""
    newest: dict[str, tuple[str, str, int]] = {}
    for page in iter_pages(root):
        result.records += 1
        if site and (page.site or host_of(page.url)) != site:
            continue
        key = canonicalize(page.url)
        when = page.captured_at or ""
        if key not in newest or when >= newest[key][0]:
            newest[key] = (when, page.file, page.offset)
    return {k: (f, o) for k, (_w, f, o) in newest.items()}


def _hash(title: str | None, body: str, published_at: str | None) -> str:
    payload = "\x1f".join([title or "", body, published_at or ""])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _changes(old: dict[str, Any], cleaned: Cleaned, now: str, *, current: bool = True) -> dict[str, Any]:
    """The partial update; ``current``: the document is in an index of the current template version
    (an older index has no ``body_std``, and indexes ``body`` itself)."""
    body = cleaned.body
    doc: dict[str, Any] = {
        "body": body,
        "removals": [{"rule": r.rule, "chars": r.chars} for r in cleaned.removals],
        "removed_chars": sum(r.chars for r in cleaned.removals),
        "flags": cleaned.flags,
        "signoff": cleaned.signoff,
        "agencies": cleaned.agencies,
        "content_hash": _hash(old.get("title"), body, old.get("published_at")),
        "previous_hash": old.get("content_hash"),
        "content_changed_at": now,
    }
    if current or old.get("lang") in LANG_ANALYZERS:
        doc[body_field(old.get("lang"))] = body
    if body:
        signature = minhash(body)
        doc["minhash"] = encode_signature(signature)
        doc["lsh_bands"] = band_keys(signature)
    return doc


def reprocess(es: Elasticsearch, settings: Settings, *, site: str | None = None, dry_run: bool = False
              ) -> ReprocessResult:
    """Re-clean the archive's newest capture of every document and update the changed ones."""
    result = ReprocessResult()
    alias = settings.elasticsearch.index_alias
    root = archive_root(settings.archive, settings.config_dir)
    wanted = {loc: key for key, loc in _newest(root, site, result).items()}
    result.documents = len(wanted)
    rules = load_rules(Path(settings.config_dir) / "sites")
    overrides = load_overrides(Path(settings.config_dir) / "sites")
    store = ProfileStore(es, alias, settings.profiles)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    current_indices = article_pattern(alias, TEMPLATE_VERSION)
    held: dict[tuple[str, str], list[Any]] = {}

    def cleaned_pages() -> Any:
        with Progress(len(wanted), "reprocess", unit="page") as progress:
            for page in iter_pages(root):
                if (page.file, page.offset) not in wanted:
                    continue
                progress.update()
                cleaned = _clean(page, rules, store, overrides, settings, result)
                if cleaned is not None:
                    for rule, share in held_rules(cleaned.observed):
                        entry = held.setdefault((page.site or host_of(page.url), rule), [0, 0.0, page.url])
                        entry[0] += 1
                        entry[1] = max(entry[1], share)
                    yield page, cleaned

    for batch in chunked(cleaned_pages(), BATCH):
        ids = {doc_id_for(_canonical(page.url, cleaned.canonical_url)): (page, cleaned) for page, cleaned in batch}
        resp = es.search(
            index=article_pattern(alias), query={"ids": {"values": list(ids)}}, size=len(ids),
            source_includes=["body", "title", "published_at", "content_hash", "lang"],
            ignore_unavailable=True, allow_no_indices=True,
        )
        found = {hit["_id"]: hit for hit in resp["hits"]["hits"]}
        actions = []
        for doc_id, (_page, cleaned) in ids.items():
            hit = found.get(doc_id)
            if hit is None:
                result.not_indexed += 1
                continue
            if hit["_source"].get("body") == cleaned.body:
                result.unchanged += 1
                continue
            result.changed += 1
            actions.append({"_op_type": "update", "_index": hit["_index"], "_id": doc_id,
                            "doc": _changes(hit["_source"], cleaned, now, current=fnmatch(hit["_index"], current_indices))})
        if actions and not dry_run:
            _ok, errors = bulk(es, actions, raise_on_error=False, max_retries=3)
            for error in errors:
                result.changed -= 1
                result.failed += 1
                info = next(iter(error.values()))
                result.failures.append({"stage": "index", "url": info.get("_id", ""), "reason": str(info.get("error"))[:300]})
    if not dry_run:
        es.indices.refresh(index=alias)
        if held and settings.canaries.enabled:
            record_held_rules(es, alias, [HeldRuleAlert(site, rule, n, share, url)
                                          for (site, rule), (n, share, url) in sorted(held.items())],
                              run_id="reprocess", feed="reprocess")
    log.info("reprocess: %s", {k: v for k, v in result.to_dict().items() if k != "failures"})
    return result


def _clean(page: ArchivedPage, rules: Any, store: ProfileStore, overrides: Any, settings: Settings,
           result: ReprocessResult) -> Cleaned | None:
    site = page.site or host_of(page.url)
    learned = None
    if settings.profiles.enabled:
        learned = LearnedRules.for_page(store.profile(site), settings.profiles, overrides.for_url(page.url))
    try:
        html = decode_page(page.content, page.headers.get("content-type"))
        cleaned = clean_article(html, page.url, rules=rules, learned=learned)
        if held_rules(cleaned.observed):
            flag_held(cleaned.flags)
            result.held += 1
        return cleaned
    except NotAnArticle:
        result.not_article += 1
    except ExtractionError as exc:
        result.failed += 1
        result.failures.append({"stage": "extract", "url": page.url, "reason": str(exc)})
    return None
