"""The one record type that flows through every stage."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any


@dataclass
class Article:
    """An article as it moves from fetch to index. Stages fill fields in; none removes any."""

    url: str
    canonical_url: str
    feed: str
    # the publisher's name (feed config ``site``, else og:site_name / JSON-LD publisher, else the
    # host); ``host`` is always the URL's host, so two outlets on one host stay apart by name
    site: str
    title: str | None = None
    host: str | None = None
    body: str = ""
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    signoff: str | None = None
    agencies: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    removals: list[dict[str, Any]] = field(default_factory=list)
    removed_chars: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)
    story_id: str | None = None
    story_representative: bool | None = None
    duplicate_of: str | None = None
    lsh_bands: list[str] = field(default_factory=list)
    minhash: str | None = None
    published_at: str | None = None
    published_precision: str | None = None
    published_source: str | None = None
    published_confidence: float | None = None
    # the publication's own calendar day and UTC offset as written ("2022-01-10", "+09:00"):
    # published_at is the UTC instant, which moves a Tokyo morning to the day before
    published_day: str | None = None
    published_offset: str | None = None
    modified_at: str | None = None
    lang: str = "und"
    lang_prob: float | None = None
    lang_source: str | None = None
    fetched_at: str | None = None
    run_id: str | None = None
    pipeline_version: str | None = None

    @property
    def doc_id(self) -> str:
        """Deterministic id from the canonical URL: the same article is always the same document."""
        return doc_id_for(self.canonical_url)

    @property
    def content_hash(self) -> str:
        payload = "\x1f".join([self.title or "", self.body, self.published_at or ""])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_document(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict plus ``content_hash``. Top-level lists are copied; the
        dicts inside them (entities, removals) are shared with the article, not deep-copied:
        ``dataclasses.asdict``'s deep copy was half of the bulk indexer's client CPU time."""
        doc: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, list):
                # 128 LSH band keys a document: a type check per item, not is_dataclass (a hasattr)
                value = [v if type(v) in _PLAIN else _plain(v) for v in value]
            elif is_dataclass(value) and not isinstance(value, type):
                value = asdict(value)
            doc[name] = value
        doc["content_hash"] = self.content_hash
        return doc


_PLAIN = frozenset({str, dict, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def doc_id_for(canonical_url: str) -> str:
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:40]
