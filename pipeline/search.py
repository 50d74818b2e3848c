"""Full-text search over the article alias, with German/English stemming sub-fields."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

SEARCH_FIELDS = ["title^3", "title.de^3", "title.en^3", "body", "body.de", "body.en", "description"]


def search_articles(
    es: Elasticsearch, index: str, query: str, *, size: int = 10, lang: str | None = None
) -> dict[str, Any]:
    must: list[dict[str, Any]] = [{"multi_match": {"query": query, "fields": SEARCH_FIELDS}}]
    filters: list[dict[str, Any]] = [{"term": {"lang": lang}}] if lang else []
    resp = es.search(
        index=index,
        query={"bool": {"must": must, "filter": filters}},
        size=size,
        source_includes=["title", "url", "site", "lang", "published_at"],
        highlight={"fields": {"body": {}, "body.de": {}, "body.en": {}}, "fragment_size": 160, "number_of_fragments": 1},
        track_total_hits=True,
    )
    return resp.body


def format_hits(resp: dict[str, Any]) -> str:
    hits = resp["hits"]["hits"]
    lines = [f"{resp['hits']['total']['value']} hit(s)"]
    for hit in hits:
        src = hit["_source"]
        snippet = next(iter(hit.get("highlight", {}).values()), [""])[0]
        lines.append(f"- [{src.get('lang')}] {src.get('published_at') or 'undated'}  {src.get('title')}")
        lines.append(f"  {src.get('url')}")
        if snippet:
            lines.append(f"  … {snippet.replace('<em>', '[').replace('</em>', ']')} …")
    return "\n".join(lines)
