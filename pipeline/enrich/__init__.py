"""Enrichment stage: named entities and stories for batches of articles (spaCy and the story
lookup both run best on batches), as a stream: articles go in one by one and come out in the same
order, a batch at a time."""

from __future__ import annotations

import os
from collections.abc import Container, Iterable, Iterator
from pathlib import Path

from elasticsearch import Elasticsearch

from pipeline.article import Article
from pipeline.config import ConfigError
from pipeline.enrich.entities import EntityExtractor
from pipeline.enrich.stories import StoryStream, assign_stories
from pipeline.iterutils import chunked

_extractors: dict[Path, tuple[tuple[tuple[str, int, int], ...], EntityExtractor]] = {}


def models_from_env(value: str | None) -> dict[str, str] | None:
    """``NEWS_SPACY_MODELS="de=de_core_news_md,en=en_core_web_sm"`` overrides models.yaml."""
    if not value or not value.strip():
        return None
    pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise ConfigError(f"NEWS_SPACY_MODELS must look like 'de=de_core_news_md,en=en_core_web_sm', got {value!r}")
    return {lang.strip(): model.strip() for lang, model in pairs}


def _files_signature(config_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, mtime and size of the YAML files of ``config_dir``: a changed gazetteer or models.yaml
    changes it."""
    try:
        paths = sorted(config_dir.glob("*.y*ml"))
        return tuple((p.name, (st := p.stat()).st_mtime_ns, st.st_size) for p in paths)
    except OSError:
        return ()


def extractor_for(config_dir: Path) -> EntityExtractor:
    """One extractor (and so one loaded spaCy pipeline per language) per worker process, rebuilt
    when a file of ``config_dir`` changed: a process that outlives an edit of the gazetteer (a
    long streaming task, or the forking process of pipeline.run.preload) must not keep the old one.
    spaCy models stay loaded (pipeline.enrich.entities.models caches them by name)."""
    key = config_dir.resolve()
    signature = _files_signature(key)
    cached = _extractors.get(key)
    if cached is None or cached[0] != signature:
        _extractors[key] = (signature, EntityExtractor(key, models_from_env(os.environ.get("NEWS_SPACY_MODELS"))))
    return _extractors[key][1]


def entity_text(article: Article) -> str:
    """What entities are read from: the title, the lead (when the body does not start with it) and
    the body, blank-line separated; ``entities.first_offset`` counts in this text. A reader marks
    the names of the headline and the lead too, and some outlets name the place only there."""
    body = article.body or ""
    parts = [article.title or ""]
    lead = (article.description or "").strip()
    if lead and lead[:200] not in body:
        parts.append(lead)
    parts.append(body)
    return "\n\n".join(p for p in parts if p.strip())


def add_entities(
    articles: Iterable[Article], extractor: EntityExtractor, *, batch_size: int = 32, skip: Container[str] = (),
) -> Iterator[Article]:
    """Entities of each article, NER batched; articles whose id is in ``skip`` (stored unchanged:
    pipeline.index.unchanged) are passed through without."""
    for batch in chunked(articles, batch_size):
        todo = [a for a in batch if a.doc_id not in skip]
        found = extractor.extract_batch([(entity_text(a) if a.body and a.body.strip() else "", a.lang) for a in todo])
        for article, entities in zip(todo, found, strict=True):
            article.entities = entities
        yield from batch


def add_stories(
    articles: Iterable[Article], es: Elasticsearch, alias: str, *, threshold: float, batch_size: int = 32,
    skip: Container[str] = (),
) -> Iterator[Article]:
    """Story ids from MinHash/LSH candidates in the index and earlier in the stream (written in
    bulk chunks, these are not searchable before the next refresh); articles whose id is in
    ``skip`` (stored unchanged, with their story) are passed through."""
    stream = StoryStream()
    for batch in chunked(articles, batch_size):
        todo = [a for a in batch if a.doc_id not in skip]
        if todo:
            assign_stories(es, alias, todo, threshold=threshold, stream=stream)
        yield from batch
