"""Full-text search over the article alias: language-aware fields, filters, facets, and stories
collapsed to one hit each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from elasticsearch import Elasticsearch

# ``body`` is not indexed: its text is in exactly one of the body_* fields (pipeline.index.mappings)
SEARCH_FIELDS = [
    "title^3", "title_de^3", "title_en^3", "body_de", "body_en", "body_std", "description", "description_de",
    "description_en",
]
HIGHLIGHT_FIELDS = ("body_de", "body_en", "body_std")
SOURCE_FIELDS = [
    "title", "url", "canonical_url", "site", "lang", "published_at", "published_day", "published_offset",
    "published_precision", "story_id", "flags",
]


@dataclass(frozen=True)
class SearchFilters:
    lang: str | None = None
    site: str | None = None
    entity: str | None = None
    date_from: str | None = None
    date_to: str | None = None


def build_query(query: str, filters: SearchFilters) -> dict[str, Any]:
    must: list[dict[str, Any]] = [{"multi_match": {"query": query, "fields": SEARCH_FIELDS}}] if query else [
        {"match_all": {}}
    ]
    flt: list[dict[str, Any]] = []
    if filters.lang:
        flt.append({"term": {"lang": filters.lang}})
    if filters.site:
        flt.append({"term": {"site": filters.site}})
    if filters.entity:
        flt.append({"term": {"entities.name": filters.entity}})
    if filters.date_from or filters.date_to:
        flt.append(_day_range(filters.date_from, filters.date_to))
    return {"bool": {"must": must, "filter": flt}}


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
) -> dict[str, Any]:
    """Search; with ``stories`` each story (syndicated versions of one report) is one hit, with the
    number of outlets that carried it in ``inner_hits``."""
    filters = filters or SearchFilters(lang=lang)
    extra: dict[str, Any] = {}
    if stories:
        extra["collapse"] = {"field": "story_id", "inner_hits": {"name": "outlets", "size": 0,
                                                                 "_source": False}}
    resp = es.search(
        index=index,
        query=build_query(query, filters),
        size=size,
        source_includes=SOURCE_FIELDS,
        highlight={"fields": {f: {} for f in HIGHLIGHT_FIELDS}, "fragment_size": 160, "number_of_fragments": 1},
        aggs={
            "sites": {"terms": {"field": "site", "size": 10}},
            "languages": {"terms": {"field": "lang", "size": 10}},
            "entities": {"terms": {"field": "entities.name", "size": 10}},
        },
        track_total_hits=True,
        **extra,
    )
    return resp.body


def _facet(resp: dict[str, Any], name: str) -> str:
    buckets = resp.get("aggregations", {}).get(name, {}).get("buckets", [])
    return ", ".join(f"{b['key']} ({b['doc_count']})" for b in buckets) or "-"


def format_hits(resp: dict[str, Any]) -> str:
    hits = resp["hits"]["hits"]
    lines = [f"{resp['hits']['total']['value']} hit(s)"]
    for hit in hits:
        src = hit["_source"]
        snippet = next(iter(hit.get("highlight", {}).values()), [""])[0]
        outlets = hit.get("inner_hits", {}).get("outlets", {}).get("hits", {}).get("total", {}).get("value")
        story = f"  [story of {outlets} article(s)]" if outlets and src.get("story_id") else ""
        lines.append(f"- [{src.get('lang')}] {_when(src)}  {src.get('title')}{story}")
        lines.append(f"  {src.get('canonical_url') or src.get('url')}")  # without tracking parameters
        if snippet:
            lines.append(f"  … {snippet.replace('<em>', '[').replace('</em>', ']')} …")
    lines.append(f"sites: {_facet(resp, 'sites')}")
    lines.append(f"languages: {_facet(resp, 'languages')}")
    lines.append(f"top entities: {_facet(resp, 'entities')}")
    return "\n".join(lines)
