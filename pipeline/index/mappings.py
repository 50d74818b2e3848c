"""Field mappings. ``dynamic: strict`` on articles: a field the mapping does not know is a bug to
see at once (it lands in the dead-letter index), not a silent new field in Kibana."""

from __future__ import annotations

from typing import Any

KEYWORD = {"type": "keyword"}
DATE = {"type": "date"}

# Language-specific analysis: the indexer copies a text into the field of its language only
# (``body_de`` for lang "de"); the copies stay in _source, as highlighting reads them from there.
# ``title`` and ``description`` are also indexed with the standard analyzer, for every language.
# ``body`` itself is stored but not indexed (template v7): it is searched through exactly one
# field, its language's or ``body_std`` (standard analyzer) for a language without its own
# analyzer. Analysing 4 KB twice was a quarter of the node's CPU per indexed article
# (docs/benchmarks.md); titles and descriptions are short enough to keep both.
LANG_ANALYZERS = {"de": "german", "en": "english"}
LANG_TEXT_FIELDS = ("title", "body", "description")
FALLBACK_SUFFIX = "std"


def body_field(lang: str | None) -> str:
    """The indexed field that holds the body of an article in ``lang``."""
    return f"body_{lang if lang in LANG_ANALYZERS else FALLBACK_SUFFIX}"


def with_language_copies(doc: dict[str, Any]) -> dict[str, Any]:
    """Add ``<field>_<lang>`` copies of the texts for the document's language, and ``body_std``
    for a language without its own analyzer."""
    lang = doc.get("lang")
    if lang in LANG_ANALYZERS:
        for name in LANG_TEXT_FIELDS:
            if doc.get(name):
                doc[f"{name}_{lang}"] = doc[name]
    elif doc.get("body"):
        doc[body_field(lang)] = doc["body"]
    return doc


def _text_fields(name: str, *, keyword: bool = False, indexed: bool = True) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "text"}
    if keyword:
        base["fields"] = {"keyword": {"type": "keyword", "ignore_above": 512}}
    if not indexed:
        base["index"] = False
    fields = {name: base}
    for lang, analyzer in LANG_ANALYZERS.items():
        fields[f"{name}_{lang}"] = {"type": "text", "analyzer": analyzer}
    if not indexed:
        fields[f"{name}_{FALLBACK_SUFFIX}"] = {"type": "text"}
    return fields


ARTICLE_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "url": KEYWORD,
        "canonical_url": KEYWORD,
        "feed": KEYWORD,
        "site": KEYWORD,  # the publisher's name (issue 17); the URL's host is ``host``
        "host": KEYWORD,
        **_text_fields("title", keyword=True),
        **_text_fields("body", indexed=False),
        **_text_fields("description"),
        "authors": KEYWORD,
        "signoff": KEYWORD,
        "agencies": KEYWORD,
        "published_at": DATE,
        "published_precision": KEYWORD,
        "published_source": KEYWORD,
        "published_confidence": {"type": "float"},
        "published_day": {"type": "date", "format": "strict_date"},
        "published_offset": KEYWORD,
        "modified_at": DATE,
        "lang": KEYWORD,
        "lang_prob": {"type": "float"},
        "lang_source": KEYWORD,
        "entities": {
            "properties": {
                # name.words: the name's words, so a search for "Putin" finds "Wladimir Putin"
                "name": {"type": "keyword", "fields": {"words": {"type": "text"}}},
                "type": KEYWORD,
                # the same in every language: a Wikidata id (Q232), iso3166:XX-YY, or news:<slug>;
                # facets count by id (issue 18), ``name`` is the label in the article's language
                "id": KEYWORD,
                "linked": {"type": "boolean"},  # false: a name NER found that the gazetteer does not know
                "mentions": {"type": "integer"},
                "first_offset": {"type": "integer"},
            }
        },
        "story_id": KEYWORD,
        "story_representative": {"type": "boolean"},
        "duplicate_of": KEYWORD,
        # 128 keys a document, only ever matched by a terms query (story candidates): no doc values
        # (nothing sorts or aggregates on them), which saves the node work on every write
        "lsh_bands": {"type": "keyword", "doc_values": False},
        "minhash": {"type": "keyword", "index": False, "doc_values": False},  # the full signature, read back only
        "removals": {"properties": {"rule": KEYWORD, "chars": {"type": "integer"}}},
        "removed_chars": {"type": "integer"},
        "flags": KEYWORD,
        "content_hash": KEYWORD,
        "previous_hash": KEYWORD,
        "content_changed_at": DATE,
        "first_seen_at": DATE,
        "fetched_at": DATE,
        "run_id": KEYWORD,
        "pipeline_version": KEYWORD,
        "template_version": {"type": "integer"},
    },
}

DEADLETTER_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "failed_at": DATE,
        "run_id": KEYWORD,
        "feed": KEYWORD,
        "stage": KEYWORD,
        "doc_id": KEYWORD,
        "url": KEYWORD,
        "index": KEYWORD,
        "reason": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}},
        "document": {"type": "object", "enabled": False},
    },
}

_COUNT = {"type": "integer"}
RUNLOG_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "run_id": KEYWORD,
        "feed": KEYWORD,
        "kind": KEYWORD,
        "started_at": DATE,
        "finished_at": DATE,
        "duration_s": {"type": "float"},
        "entries": _COUNT,
        "skipped_seen": _COUNT,
        "fetched": _COUNT,
        "extracted": _COUNT,
        "created": _COUNT,
        "updated": _COUNT,
        "unchanged": _COUNT,
        "failed": _COUNT,
        "not_modified": {"type": "boolean"},
        # issue 16.5: a feed another runner held (pipeline.feeds.lease), entries held back because
        # their page failed permanently before (pipeline.run.pagefailures)
        "skipped": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "leased_by": KEYWORD,
        "leased_until": DATE,
        "skipped_failed": _COUNT,
        "failures_remembered": _COUNT,
        "feeds_skipped": KEYWORD,
        # reason.keyword: Kibana's "failures by feed and reason" panel aggregates on it
        "failures": {"properties": {"stage": KEYWORD, "url": KEYWORD, "permanent": {"type": "boolean"}, "reason": {
            "type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}},
        # kind "run-summary": one document per DAG run (pipeline.run.summary); counts under totals
        "mode": KEYWORD,
        "feeds_configured": _COUNT,
        "feeds_polled": _COUNT,
        "feeds_not_due": _COUNT,
        "groups": _COUNT,
        "groups_failed": _COUNT,
        "feeds_failed": KEYWORD,
        "totals": {"properties": {k: _COUNT for k in (
            "entries", "skipped_seen", "skipped_failed", "fetched", "extracted", "created", "updated", "unchanged",
            "failed")}},
        "failures_by_stage": {"properties": {k: _COUNT for k in ("feed", "fetch", "extract", "index", "internal")}},
        "skipped_not_article": _COUNT,
        "skips": {"properties": {"url": KEYWORD, "reason": {"type": "text"}}},
        # kind "quality": one document per site, feed and run (pipeline.profiles.canaries)
        "site": KEYWORD,
        "articles": _COUNT,
        "median_body_chars": {"type": "float"},
        "share_no_date": {"type": "float"},
        "share_truncated": {"type": "float"},
        "share_boilerplate": {"type": "float"},
        "share_other_lang": {"type": "float"},
        "share_not_article": {"type": "float"},
        "share_failed": {"type": "float"},
        "pages": _COUNT,
        "fetch_failures": _COUNT,
        "extract_failures": _COUNT,
        "main_lang": KEYWORD,
        "usual_lang": KEYWORD,
        # kind "quality-alert": a metric that left its recent history
        "metric": KEYWORD,
        "old_value": {"type": "float"},
        "new_value": {"type": "float"},
        "message": {"type": "text"},
    },
}

PROFILE_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "site": KEYWORD,
        "articles": _COUNT,
        "keys": _COUNT,
        "learned_rules": _COUNT,
        "halvings": _COUNT,
        "updated_at": DATE,
        "counts": {"type": "object", "enabled": False},   # key -> articles seen in (bounded)
        "recent": {"type": "keyword", "index": False, "doc_values": False},  # recent article ids
        "samples": {"type": "object", "enabled": False},  # learned key -> text or DOM path
    },
}

FEEDSTATE_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "feed": KEYWORD,
        "url": KEYWORD,
        "etag": KEYWORD,
        "last_modified": KEYWORD,
        "polled_at": DATE,
        "status": {"type": "integer"},
        # streaming mode's poll schedule (pipeline.feeds.schedule)
        "interval_s": {"type": "float"},
        "next_due_at": DATE,
        "last_polled_at": DATE,
        "last_changed_at": DATE,
        "ttl_s": {"type": "float"},
        "max_age_s": {"type": "float"},
    },
}

# <alias>-hostslots: one document per host, the next allowed request start (pipeline.fetch.sharedlimit)
HOSTSLOTS_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {"host": KEYWORD, "next_start": {"type": "double"}},
}

# <alias>-leases: one document per feed, the runner that polls it now and until when (pipeline.feeds.lease)
LEASE_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "feed": KEYWORD,
        "url": KEYWORD,
        "holder": KEYWORD,
        "run_id": KEYWORD,
        "taken_at": DATE,
        "renewed_at": DATE,
        "expires_at": DATE,
        "released": {"type": "boolean"},
        "released_at": DATE,
    },
}

# <alias>-pagefailures: one document per page URL that failed permanently (pipeline.run.pagefailures)
PAGEFAILURE_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "url": KEYWORD,
        "feed": KEYWORD,
        "feed_url": KEYWORD,
        "kind": KEYWORD,
        "reason": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "failures": {"type": "integer"},
        "first_failed_at": DATE,
        "last_failed_at": DATE,
        "retry_at": DATE,
    },
}
