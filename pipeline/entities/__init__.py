"""Enrichment stage: named entities with canonical names and Wikidata ids.

``EntityExtractor(config_dir, models).extract_batch([(text, lang), ...])`` returns, per text, a
list of ``{name, type, id, mentions, first_offset}`` dicts: the ``entities`` field of the index.
"""

from __future__ import annotations

from pipeline.entities.extractor import EntityExtractor
from pipeline.entities.gazetteer import Entry, Gazetteer, GazetteerError, load_gazetteer

__all__ = ["EntityExtractor", "Entry", "Gazetteer", "GazetteerError", "load_gazetteer"]
