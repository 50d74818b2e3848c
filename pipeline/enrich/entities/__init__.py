"""Enrichment stage: named entities with stable ids and a label per language.

``EntityExtractor(config_dir, models).extract_batch([(text, lang), ...])`` returns, per text, a
list of ``{name, type, id, linked, mentions, first_offset}`` dicts: the ``entities`` field of the
index. ``id`` is the same in every language (Wikidata id, ``iso3166:…`` or ``news:<slug>``), ``name`` the
label in the text's language.
"""

from __future__ import annotations

from pipeline.enrich.entities.extractor import EntityExtractor
from pipeline.enrich.entities.gazetteer import Gazetteer, load_gazetteer
from pipeline.enrich.entities.records import Entry, GazetteerError

__all__ = ["EntityExtractor", "Entry", "Gazetteer", "GazetteerError", "load_gazetteer"]
