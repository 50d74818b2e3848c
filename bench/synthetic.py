"""Deterministic synthetic articles of realistic size for indexing benchmarks.

German-like bodies of about 4 KB built from a word list with a seeded RNG, titles, a handful of
sites, publication dates spread over 24 months (so several monthly indices are written), lang
"de", 5-10 entities, 128 LSH band keys, the MinHash signature and a story id (as pipeline.enrich.stories
writes them). Articles are yielded one at a time: the
generator never holds the whole set, so a consumer's memory can be measured on its own.
``indexing_articles`` makes articles of the same shape about 3x cheaper (bodies from a seeded
sentence pool), for indexing benchmarks where input generation competes for the same 2 cores.

``Article`` has no entity / LSH / story fields yet (the index mapping does), so the generator
yields :class:`SyntheticArticle`, a subclass that adds them; ``to_document`` (``asdict``) picks
them up, so the documents match the strict mapping.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pipeline.article import Article
from pipeline.enrich.stories import BANDS, NUM_PERM

_WORD_TEXT = (
    "der die das und nicht mit auf für von sich dem den ist ein eine einer eines im in zu bei nach "
    "über unter gegen während wegen seit bereits noch immer wieder jedoch allerdings außerdem "
    "Bundesregierung Kanzler Ministerin Landtag Bürgermeister Stadtrat Gemeinde Polizei Feuerwehr "
    "Verkehr Bahn Autobahn Haushalt Steuern Inflation Zinsen Wirtschaft Unternehmen Mitarbeiter "
    "Gewerkschaft Streik Verhandlungen Einigung Vorschlag Entscheidung Gericht Urteil Klage "
    "Schule Lehrer Schüler Universität Forschung Studie Ergebnisse Klimaschutz Energie Strompreis "
    "Wetter Unwetter Hochwasser Temperaturen Wochenende Mannschaft Trainer Spiel Saison Tabelle "
    "Tore Sieg Niederlage Bundesliga Verein Fans Stadion Krankenhaus Gesundheit Pflege Ärzte "
    "sagte erklärte betonte kündigte an forderte kritisierte berichtete teilte mit wurde werden "
    "hatte haben hat sind waren soll sollen könnte müssen will neue neuen große großen ersten "
    "letzten vergangenen kommenden deutlich rund etwa mehr weniger Prozent Millionen Euro Jahr "
    "Jahren Monaten Wochen Tagen heute gestern morgen Berlin Hamburg München Köln Frankfurt "
    "Stuttgart Leipzig Dresden Bremen Hannover Nürnberg Region Land Bund Europa Brüssel"
)
WORDS = tuple(_WORD_TEXT.split())
SITES = ("tagesblatt.example", "rundschau.example", "kurier.example", "anzeiger.example", "morgenpost.example")
ENTITY_NAMES = (
    ("Olaf Scholz", "PER"), ("Friedrich Merz", "PER"), ("Annalena Baerbock", "PER"), ("Robert Habeck", "PER"),
    ("Deutsche Bahn", "ORG"), ("Bundestag", "ORG"), ("Europäische Zentralbank", "ORG"), ("Siemens", "ORG"),
    ("FC Bayern München", "ORG"), ("Verdi", "ORG"), ("Berlin", "LOC"), ("Hamburg", "LOC"), ("München", "LOC"),
    ("Sachsen", "LOC"), ("Brüssel", "LOC"), ("Nordrhein-Westfalen", "LOC"), ("Ukraine", "LOC"),
    ("Bundesliga", "MISC"), ("Deutschlandticket", "MISC"), ("Corona", "MISC"),
)
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730  # 24 months
BODY_BYTES = 4096
_ENTITY_IDS = {name: "Q" + hashlib.sha1(name.encode()).hexdigest()[:8] for name, _kind in ENTITY_NAMES}
#: sentences in the pool of ``indexing_articles``: large enough that a 60 KB block of stored
#: documents (what Lucene compresses together) rarely holds the same sentence twice
POOL_SENTENCES = 20_000


_BAND_PREFIXES = [f"{band}:" for band in range(BANDS)]
_HEX16 = re.compile("[0-9a-f]{16}")


@dataclass
class SyntheticArticle(Article):
    """An Article with the enrichment fields the index mapping already has."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    lsh_bands: list[str] = field(default_factory=list)
    story_id: str | None = None


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 5)):
        words = rng.choices(WORDS, k=rng.randint(8, 20))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _body(rng: random.Random) -> str:
    paras: list[str] = []
    size = 0
    while size < BODY_BYTES:
        para = _paragraph(rng)
        paras.append(para)
        size += len(para.encode("utf-8")) + 1
    return "\n".join(paras)[:BODY_BYTES]


def make_article(n: int, seed: int = 42, version: int = 0) -> SyntheticArticle:
    """The n-th article of the set ``seed``; the same (n, seed, version) always gives the same
    article. A different ``version`` keeps the URL (same document id) but changes the body."""
    rng = random.Random(f"{seed}:{n}:{version}")
    site = SITES[n % len(SITES)]
    published = START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    return _article(n, seed, rng, site, published, _body(rng))


def _article(
    n: int, seed: int, rng: random.Random, site: str, published: datetime, body: str, description: str | None = None
) -> SyntheticArticle:
    url = f"https://www.{site}/artikel/{n:07d}.html"
    entities = []
    for name, kind in rng.sample(ENTITY_NAMES, rng.randint(5, 10)):
        entities.append(
            {"name": name, "type": kind, "id": _ENTITY_IDS[name],
             "mentions": rng.randint(1, 12), "first_offset": rng.randrange(len(body))}
        )
    # Fingerprints as pipeline.enrich.stories writes them: 128 LSH band keys "<band>:<16 hex>" and the
    # 256-value MinHash signature (8 hex digits a value, 2 KB, in _source only).
    digits = rng.randbytes(4 * NUM_PERM + 8 * BANDS).hex()
    signature = digits[: 8 * NUM_PERM]
    bands = list(map(str.__add__, _BAND_PREFIXES, _HEX16.findall(digits, 8 * NUM_PERM)))
    return SyntheticArticle(
        url=url,
        canonical_url=url,
        feed=f"{site}-rss",
        site=site,
        title=" ".join(rng.choices(WORDS, k=rng.randint(6, 12))).capitalize(),
        body=body,
        description=description if description is not None else _paragraph(rng)[:300],
        authors=[rng.choice(("Anna Schmidt", "Jan Becker", "Lea Wagner", "Tim Krüger"))],
        published_at=published.isoformat(timespec="seconds"),
        published_precision="second",
        published_source="json-ld",
        published_confidence=0.95,
        lang="de",
        lang_prob=0.99,
        lang_source="langdetect",
        fetched_at=(published + timedelta(hours=1)).isoformat(timespec="seconds"),
        run_id="bench",
        pipeline_version="bench",
        entities=entities,
        lsh_bands=bands,
        minhash=signature,
        story_id=f"story-{seed}-{n // 4:07d}",
    )


def synthetic_articles(count: int, seed: int = 42, start: int = 0) -> Iterator[SyntheticArticle]:
    """Yield ``count`` articles lazily, numbered from ``start``."""
    for n in range(start, start + count):
        yield make_article(n, seed)


@cache
def _sentence_pool(seed: int) -> tuple[str, ...]:
    rng = random.Random(f"pool:{seed}")
    return tuple(
        " ".join(rng.choices(WORDS, k=rng.randint(8, 20))).capitalize() + "." for _ in range(POOL_SENTENCES)
    )


@cache
def _paragraph_patterns(seed: int) -> tuple[tuple[int, ...], ...]:
    """Paragraph lengths (2-5 sentences) for a body; 256 seeded patterns of 64 sentences."""
    rng = random.Random(f"patterns:{seed}")
    patterns = []
    for _ in range(256):
        sizes: list[int] = []
        while sum(sizes) < 64:
            sizes.append(rng.randint(2, 5))
        patterns.append(tuple(sizes))
    return tuple(patterns)


def _pooled_body(rng: random.Random, pool: tuple[str, ...], patterns: tuple[tuple[int, ...], ...]) -> str:
    """64 consecutive pool sentences from a random offset, grouped by a random pattern, cut at
    BODY_BYTES like ``_body``."""
    first = rng.randrange(len(pool) - 64)
    paras: list[str] = []
    size = 0
    i = first
    for take in patterns[rng.randrange(len(patterns))]:
        para = " ".join(pool[i: i + take])
        i += take
        paras.append(para)
        size += len(para.encode("utf-8")) + 1
        if size >= BODY_BYTES:
            break
    return "\n".join(paras)[:BODY_BYTES]


def indexing_articles(count: int, seed: int = 42, start: int = 0, span_days: int = SPAN_DAYS) -> Iterator[SyntheticArticle]:
    """Articles of the same shape and size as ``synthetic_articles`` (4 KB German-like body of the
    same vocabulary, 5-10 entities, 128 LSH bands and the MinHash signature, story id, 24 months), about 8x cheaper to make:
    bodies are drawn from a seeded pool of sentences instead of word by word. For indexing
    benchmarks, where generating the input must not cost more CPU than indexing it. Not for story
    benchmarks: unrelated articles share sentences here."""
    pool = _sentence_pool(seed)
    patterns = _paragraph_patterns(seed)
    for n in range(start, start + count):
        rng = random.Random(f"idx:{seed}:{n}")
        published = START + timedelta(seconds=rng.randrange(span_days * 86400))
        body = _pooled_body(rng, pool, patterns)
        lead = rng.randrange(len(pool) - 3)
        description = " ".join(pool[lead: lead + 3])[:300]
        yield _article(n, seed, rng, SITES[n % len(SITES)], published, body, description)
