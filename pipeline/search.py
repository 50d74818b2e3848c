"""Full-text search over the article alias: language-aware fields, filters, facets, and stories
collapsed to one hit each.

The query text has ``simple_query_string`` semantics with AND as the default operator: every
word is required (in any of the searched fields), ``"…"`` is a phrase, ``a | b`` either,
``-word`` excludes, ``prefix*`` a prefix, ``(…)`` groups. A search that failed on any shard
raises :class:`SearchError` instead of showing the hits of the shards that answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.mappings import FALLBACK_SUFFIX, LANG_ANALYZERS

# Each language is searched only in its own analysed fields (``body`` itself is not indexed: its
# text is in exactly one of the body_* fields, pipeline.index.mappings). One query over every
# field would require a German stop word like "und", dropped by the german analyzer, to appear in
# the standard-analysed title or description: with AND, "Putin und Tokajew" lost half its hits.
LANG_SEARCH_FIELDS = {lang: [f"title_{lang}^3", f"body_{lang}", f"description_{lang}"] for lang in LANG_ANALYZERS}
OTHER_SEARCH_FIELDS = ["title^3", f"body_{FALLBACK_SUFFIX}", "description"]  # languages without an analyzer
SEARCH_FIELDS = [*(f for fields in LANG_SEARCH_FIELDS.values() for f in fields), *OTHER_SEARCH_FIELDS]
HIGHLIGHT_FIELDS = ("body_de", "body_en", "body_std")
SOURCE_FIELDS = [
    "title", "url", "canonical_url", "site", "host", "lang", "published_at", "published_day", "published_offset",
    "published_precision", "story_id", "flags", "entities.name",
]
DATE_FORMS = "YYYY-MM-DD or DD.MM.YYYY"
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_GERMAN_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class SearchError(RuntimeError):
    """Elasticsearch answered, but not for every shard: the hits would be silently incomplete."""


def parse_day(text: str) -> str:
    """A day as ``YYYY-MM-DD`` from ``YYYY-MM-DD`` or the German ``DD.MM.YYYY``; ValueError
    naming the accepted forms otherwise (a string Elasticsearch cannot parse fails every shard)."""
    value = text.strip()
    iso, german = _ISO_DAY.match(value), _GERMAN_DAY.match(value)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if german:
            return date(int(german[3]), int(german[2]), int(german[1])).isoformat()
    except ValueError:
        pass
    raise ValueError(f"invalid date {text!r}: use {DATE_FORMS}")


@dataclass(frozen=True)
class SearchFilters:
    """``site`` matches the publisher's name or the host (either case); ``entity`` matches an
    entity by its name, its id (``Q7747``), a word of its name (``Putin`` finds "Wladimir
    Putin", ``Put`` does not) or, through ``entity_names``, the ids of the entities its aliases
    resolve to in any language (pipeline.cli looks them up in the gazetteer)."""

    lang: str | None = None
    site: str | None = None
    entity: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    entity_names: tuple[str, ...] = field(default=())


def build_query(query: str, filters: SearchFilters) -> dict[str, Any]:
    must: list[dict[str, Any]] = [_text_query(query)] if query.strip() else [{"match_all": {}}]
    flt: list[dict[str, Any]] = []
    if filters.lang:
        flt.append({"term": {"lang": filters.lang.strip().lower()}})
    if filters.site:
        flt.append(_any_of([{"term": {f: {"value": filters.site.strip(), "case_insensitive": True}}}
                            for f in ("site", "host")]))
    if filters.entity:
        flt.append(_entity(filters.entity.strip(), filters.entity_names))
    if filters.date_from or filters.date_to:
        flt.append(_day_range(
            parse_day(filters.date_from) if filters.date_from else None,
            parse_day(filters.date_to) if filters.date_to else None,
        ))
    return {"bool": {"must": must, "filter": flt}}


def _text_query(query: str) -> dict[str, Any]:
    """``simple_query_string``, AND by default, per language over that language's fields."""
    def sqs(fields: list[str]) -> dict[str, Any]:
        return {"simple_query_string": {"query": query, "fields": fields, "default_operator": "and"}}

    per_lang = [{"bool": {"filter": [{"term": {"lang": lang}}], "must": [sqs(fields)]}}
                for lang, fields in LANG_SEARCH_FIELDS.items()]
    other = {"bool": {"must_not": [{"terms": {"lang": list(LANG_SEARCH_FIELDS)}}], "must": [sqs(OTHER_SEARCH_FIELDS)]}}
    return _any_of([*per_lang, other])


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _entity(entity: str, ids: Iterable[str]) -> dict[str, Any]:
    """Whole words of the name, all of them (``entities.name.words``, standard analyzer), the
    exact name or id, or the id of an entity the input is a name of (``Kazakhstan`` finds the
    German articles' "Kasachstan": both are Q232)."""
    return _any_of([
        {"match": {"entities.name.words": {"query": entity, "operator": "and"}}},
        {"term": {"entities.name": entity}},
        {"terms": {"entities.id": sorted({entity, *ids})}},
    ])


def _day_range(date_from: str | None, date_to: str | None) -> dict[str, Any]:
    """--from/--to are publication days as the outlet wrote them (``published_day``: a Tokyo
    morning article is on its Tokyo day); documents indexed before that field existed fall back
    to the UTC instant."""
    bounds = {k: v for k, v in (("gte", date_from), ("lte", date_to)) if v}
    return {"bool": {"should": [
        {"range": {"published_day": bounds}},
        {"bool": {"must_not": {"exists": {"field": "published_day"}}, "filter": {"range": {"published_at": bounds}}}},
    ], "minimum_should_match": 1}}


def _when(src: dict[str, Any]) -> str:
    """The day as written, with the time and offset when the page stated them."""
    day, instant, offset = src.get("published_day"), src.get("published_at"), src.get("published_offset")
    if not day:
        return instant or "undated"
    if src.get("published_precision") == "minute" and instant and offset:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = (int(part) for part in offset[1:].split(":"))
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return datetime.fromisoformat(instant).astimezone(zone).strftime("%Y-%m-%d %H:%M") + f" {offset}"
    return day


def search_articles(
    es: Elasticsearch,
    index: str,
    query: str,
    *,
    size: int = 10,
    lang: str | None = None,
    filters: SearchFilters | None = None,
    stories: bool = False,
    body: bool = False,
) -> dict[str, Any]:
    """Search; with ``stories`` each story (syndicated versions of one report) is one hit, with the
    number of articles in it in ``inner_hits`` and the number of stories in the ``stories``
    aggregation. ``body`` adds the article text to each hit's ``_source``. Raises
    :class:`SearchError` when a shard failed, ValueError on a date it cannot read."""
    filters = filters or SearchFilters(lang=lang)
    extra: dict[str, Any] = {}
    aggs: dict[str, Any] = {
        "sites": {"terms": {"field": "site", "size": 10}},
        "languages": {"terms": {"field": "lang", "size": 10}},
        # by id (one entity in every language), shown by the label of one article that has it
        "entities": {"terms": {"field": "entities.id", "size": 10},
                     "aggs": {"label": {"top_hits": {"size": 1, "_source": ["entities.id", "entities.name"]}}}},
    }
    if stories:
        extra["collapse"] = {"field": "story_id", "inner_hits": {"name": "outlets", "size": 0,
                                                                 "_source": False}}
        # exact below the precision threshold; articles without a story_id are counted apart
        aggs["stories"] = {"cardinality": {"field": "story_id", "precision_threshold": 40000}}
        aggs["no_story"] = {"missing": {"field": "story_id"}}
    resp = es.search(
        index=index,
        query=build_query(query, filters),
        size=size,
        source_includes=[*SOURCE_FIELDS, "body"] if body else SOURCE_FIELDS,
        highlight={"fields": {f: {} for f in HIGHLIGHT_FIELDS}, "fragment_size": 160, "number_of_fragments": 1},
        aggs=aggs,
        track_total_hits=True,
        **extra,
    ).body
    _raise_on_shard_failures(resp)
    return resp


def _raise_on_shard_failures(resp: dict[str, Any]) -> None:
    shards = resp.get("_shards", {})
    if not shards.get("failed"):
        return
    reasons = sorted({
        str((f.get("reason") or {}).get("caused_by", {}).get("reason") or (f.get("reason") or {}).get("reason"))
        for f in shards.get("failures", [])
    })
    raise SearchError(
        f"search failed on {shards['failed']} of {shards.get('total', '?')} shard(s): {'; '.join(reasons)[:300]}"
    )


def counts(resp: dict[str, Any]) -> tuple[int, int, int | None]:
    """(hits shown, articles matched, stories matched or None when not collapsed by story)."""
    shown, articles = len(resp["hits"]["hits"]), resp["hits"]["total"]["value"]
    aggs = resp.get("aggregations", {})
    if "stories" not in aggs:
        return shown, articles, None
    return shown, articles, aggs["stories"]["value"] + (1 if aggs.get("no_story", {}).get("doc_count") else 0)


def summary(resp: dict[str, Any]) -> str:
    """"5 articles", "showing 5 of 6 articles", "4 stories (14 articles)", "showing 3 of 4 stories
    (14 articles)": what is counted, and how much of it is shown."""
    shown, articles, stories = counts(resp)
    noun = f"{articles} article{'' if articles == 1 else 's'}"
    if stories is not None:
        total, noun = stories, f"{stories} stor{'y' if stories == 1 else 'ies'} ({noun})"
    else:
        total = articles
    return f"showing {shown} of {noun}" if shown < total else noun


def _facet(resp: dict[str, Any], name: str) -> str:
    buckets = resp.get("aggregations", {}).get(name, {}).get("buckets", [])
    return ", ".join(f"{_bucket_label(b)} ({b['doc_count']})" for b in buckets) or "-"


def _bucket_label(bucket: dict[str, Any]) -> str:
    """An entity id bucket shows the entity's name in one article that has it; others their key."""
    for hit in bucket.get("label", {}).get("hits", {}).get("hits", []):
        for ent in hit.get("_source", {}).get("entities", []):
            if ent.get("id") == bucket["key"] and ent.get("name"):
                return str(ent["name"])
    return str(bucket["key"])


def format_hits(resp: dict[str, Any]) -> str:
    hits = resp["hits"]["hits"]
    lines = [summary(resp)]
    for hit in hits:
        src = hit["_source"]
        snippet = next(iter(hit.get("highlight", {}).values()), [""])[0]
        outlets = hit.get("inner_hits", {}).get("outlets", {}).get("hits", {}).get("total", {}).get("value")
        story = f"  [story of {outlets} article(s)]" if outlets and src.get("story_id") else ""
        site = f"  ({src['site']})" if src.get("site") else ""
        lines.append(f"- [{src.get('lang')}] {_when(src)}  {src.get('title')}{site}{story}")
        lines.append(f"  {src.get('canonical_url') or src.get('url')}")  # without tracking parameters
        if snippet:
            lines.append(f"  … {snippet.replace('<em>', '[').replace('</em>', ']')} …")
    lines.append(f"sites: {_facet(resp, 'sites')}")
    lines.append(f"languages: {_facet(resp, 'languages')}")
    lines.append(f"top entities: {_facet(resp, 'entities')}")
    return "\n".join(lines)


def json_lines(resp: dict[str, Any]) -> list[dict[str, Any]]:
    """One plain record per hit for scripts (``search --json`` prints one per line): the
    document id, its URLs, what a reader filters on, the entity names and the score; the body
    only when it was asked for; ``story_articles`` when hits are stories."""
    out: list[dict[str, Any]] = []
    for hit in resp["hits"]["hits"]:
        src = hit.get("_source", {})
        record: dict[str, Any] = {
            "id": hit.get("_id"),
            "url": src.get("canonical_url") or src.get("url"),
            "title": src.get("title"),
            "site": src.get("site"),
            "host": src.get("host"),
            "lang": src.get("lang"),
            "published_at": src.get("published_at"),
            "published_day": src.get("published_day"),
            "story_id": src.get("story_id"),
            "entities": [e["name"] for e in src.get("entities", []) if e.get("name")],
            "score": hit.get("_score"),
        }
        outlets = hit.get("inner_hits", {}).get("outlets", {}).get("hits", {}).get("total", {}).get("value")
        if outlets is not None:
            record["story_articles"] = outlets
        if "body" in src:
            record["body"] = src["body"]
        out.append(record)
    return out
