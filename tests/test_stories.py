"""Stories against a real Elasticsearch: the syndicated seed versions 000 and 001 share a story
across separate runs, unrelated reports do not, the earliest version holds the representative
flag (also after a backfill), exact copies under another URL point at the original, and the
signature is the same in another process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from bench.stories_lookup import SEEDS, seed_body
from bench.synthetic import make_article
from pipeline.article import Article
from pipeline.config import ElasticsearchSettings
from pipeline.enrich import add_stories, stories
from pipeline.enrich.stories import (
    BANDS,
    DEFAULT_THRESHOLD,
    MAX_CANDIDATES,
    MINHASH_MAPPING,
    NUM_PERM,
    SEED,
    StoryStream,
    _coefficients,
    _lookup,
    _lookup_combined,
    _lookup_each,
    _Member,
    assign_stories,
    band_keys,
    body_key,
    decode_signature,
    encode_signature,
    estimate,
    minhash,
    normalise,
    shingles,
)
from pipeline.index.bulk import index_articles
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index, ensure_index

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class StoryArticle(Article):
    """Article plus the story fields (Article itself does not carry them yet; asdict picks these up)."""

    lsh_bands: list[str] = field(default_factory=list)
    minhash: str | None = None
    story_id: str | None = None
    story_representative: bool | None = None
    duplicate_of: str | None = None


def _seed(n: int, published_at: str | None, *, url: str | None = None, body: str | None = None) -> StoryArticle:
    path = sorted(SEEDS.glob("*.txt"))[n]
    link = url or f"https://outlet{n}.example/kasachstan-{n}"
    return StoryArticle(url=link, canonical_url=link, feed="test", site=f"outlet{n}.example",
                        title=f"Seed {n}", body=body if body is not None else seed_body(path),
                        published_at=published_at, lang="de")


MONTHS = ("2022-01-10T00:00:00+00:00", None)


@pytest.fixture
def settings(es, es_url: str, alias: str) -> ElasticsearchSettings:
    """Indices ready for stories: the monthly index the tests write and the minhash field added
    (the proposed mapping addition, not yet in the strict template)."""
    cfg = ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0)
    ensure_index(es, cfg)
    for when in MONTHS:
        ensure_article_index(es, cfg, article_index(alias, TEMPLATE_VERSION, when))
    es.indices.put_mapping(index=article_pattern(alias), properties=MINHASH_MAPPING)
    return cfg


def _run(es, cfg: ElasticsearchSettings, articles: list[StoryArticle]) -> dict:
    fields = assign_stories(es, cfg.index_alias, articles, threshold=DEFAULT_THRESHOLD)
    result = index_articles(es, articles, cfg)
    assert result.failed == 0, result.failures
    es.indices.refresh(index=article_pattern(cfg.index_alias))
    return fields


def _stored(es, alias: str, article: Article) -> dict:
    resp = es.search(index=article_pattern(alias), query={"ids": {"values": [article.doc_id]}})
    return resp["hits"]["hits"][0]["_source"]


def test_normalise_and_band_keys() -> None:
    assert normalise('„Versuchten   Staatsstreich“,\nsagte er.') == normalise('"versuchten Staatsstreich" sagte ER')
    signature = minhash(seed_body(min(SEEDS.glob("*.txt"))))
    assert len(signature) == NUM_PERM and all(0 <= v < 2**31 for v in signature)
    keys = band_keys(signature)
    assert len(keys) == BANDS and keys[0].startswith("0:") and keys[-1].startswith(f"{BANDS - 1}:")
    assert decode_signature(encode_signature(signature)) == signature
    assert estimate(signature, signature) == 1.0
    assert minhash("") == [] and band_keys([]) == []


def test_signature_values_are_stable_across_versions() -> None:
    """Signatures and band keys are stored in the index and compared with new articles' ones: any
    change of their values would split stories across a version upgrade. Pinned values of the
    first seed body (computed by the original ``(outer(h, a) + b) % p`` code), and the textbook
    formula on this text."""
    text = seed_body(min(SEEDS.glob("*.txt")))
    signature = minhash(text)
    assert signature[:4] == [533411, 1413432, 1505160, 21689711] and sum(signature) == 2336153592
    assert all(type(v) is int for v in signature)
    a, b = _coefficients(NUM_PERM, SEED)
    hashes = [int.from_bytes(hashlib.blake2b(x.encode(), digest_size=4).digest(), "big") for x in shingles(text)]
    assert signature == [min((int(ai) * h + int(bi)) % (2**31 - 1) for h in hashes) for ai, bi in zip(a, b, strict=True)]


def test_signature_is_the_same_in_another_process() -> None:
    text = seed_body(sorted(SEEDS.glob("*.txt"))[1])
    code = "import json,sys; from pipeline.enrich.stories import minhash, band_keys; s=minhash(sys.stdin.read()); " \
           "print(json.dumps([s, band_keys(s)]))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True).stdout
    signature = minhash(text)
    assert json.loads(out) == [signature, band_keys(signature)]


def test_seed_versions_share_a_story_across_runs(es, settings: ElasticsearchSettings) -> None:
    first = _seed(0, "2022-01-10T08:00:00+00:00")
    _run(es, settings, [first])
    assert first.story_id == first.doc_id and first.story_representative is True

    later = _seed(1, "2022-01-10T12:00:00+00:00")
    fields = _run(es, settings, [later])  # a separate call: 000 is found through the terms query
    assert later.story_id == first.doc_id
    assert later.story_representative is False and later.duplicate_of is None
    assert fields[later.doc_id].similarity >= DEFAULT_THRESHOLD
    stored = _stored(es, settings.index_alias, later)
    assert stored["story_id"] == first.doc_id and len(stored["lsh_bands"]) == BANDS
    assert decode_signature(stored["minhash"]) == minhash(later.body)


def test_unrelated_reports_do_not_share_a_story(es, settings: ElasticsearchSettings) -> None:
    articles = [_seed(n, f"2022-01-1{n}T08:00:00+00:00") for n in (0, 2, 3, 4)]
    _run(es, settings, articles)
    assert len({a.story_id for a in articles}) == 4
    assert all(a.story_representative for a in articles)
    # a second run: the mirrored copies join their own originals only
    again = [_seed(n, f"2022-01-1{n}T09:00:00+00:00", url=f"https://mirror.example/{n}") for n in (2, 3)]
    _run(es, settings, again)
    assert [a.story_id for a in again] == [articles[1].doc_id, articles[2].doc_id]
    assert [a.duplicate_of for a in again] == [articles[1].doc_id, articles[2].doc_id]


def test_earliest_in_a_batch_is_the_representative(es, settings: ElasticsearchSettings) -> None:
    late = _seed(0, "2022-01-10T12:00:00+00:00")
    early = _seed(1, "2022-01-10T06:00:00+00:00")
    _run(es, settings, [late, early])  # batch order is not publication order
    assert early.story_representative is True and early.story_id == early.doc_id
    assert late.story_representative is False and late.story_id == early.doc_id


def test_backfilled_earlier_version_takes_the_flag(es, settings: ElasticsearchSettings) -> None:
    current = _seed(1, "2022-01-10T12:00:00+00:00")
    _run(es, settings, [current])
    backfill = _seed(0, "2022-01-10T06:00:00+00:00")
    _run(es, settings, [backfill])
    # story_id stays the id of the article that opened the story; only the flag moves
    assert backfill.story_id == current.doc_id and backfill.story_representative is True
    assert _stored(es, settings.index_alias, current)["story_representative"] is False
    reps = es.search(index=article_pattern(settings.index_alias),
                     query={"bool": {"filter": [{"term": {"story_id": current.doc_id}},
                                                {"term": {"story_representative": True}}]}})
    assert [h["_id"] for h in reps["hits"]["hits"]] == [backfill.doc_id]


def test_exact_duplicate_under_another_url(es, settings: ElasticsearchSettings) -> None:
    original = _seed(0, "2022-01-10T08:00:00+00:00")
    _run(es, settings, [original])
    # same words, other case, quotes, spacing and line breaks: the same normalised body
    body = original.body.replace('"', "„").replace(". ", ".\n\n").upper()
    assert body_key(body) == body_key(original.body)
    copy = _seed(0, "2022-01-10T09:00:00+00:00", url="https://aggregator.example/x", body=body)
    in_batch = _seed(0, "2022-01-10T10:00:00+00:00", url="https://aggregator2.example/y", body=original.body + " ")
    _run(es, settings, [copy, in_batch])
    assert copy.duplicate_of == original.doc_id and copy.story_id == original.doc_id
    assert in_batch.duplicate_of == original.doc_id
    assert _stored(es, settings.index_alias, copy)["duplicate_of"] == original.doc_id
    # a near duplicate is in the story but is no exact duplicate
    near = _seed(1, "2022-01-10T11:00:00+00:00")
    _run(es, settings, [near])
    assert near.story_id == original.doc_id and near.duplicate_of is None


def test_reingesting_keeps_the_story(es, settings: ElasticsearchSettings) -> None:
    first, second = _seed(0, "2022-01-10T08:00:00+00:00"), _seed(1, "2022-01-10T12:00:00+00:00")
    _run(es, settings, [first, second])
    again = _seed(0, "2022-01-10T08:00:00+00:00")
    _run(es, settings, [again])  # the same document again: it does not match itself
    assert again.story_id == first.doc_id and again.story_representative is True
    assert again.duplicate_of is None


def test_empty_and_undated_bodies(es, settings: ElasticsearchSettings) -> None:
    empty = _seed(2, None, url="https://outlet.example/empty", body="")
    short = _seed(3, None, url="https://outlet.example/short", body="Kurz.")
    _run(es, settings, [empty, short])
    assert empty.story_id == empty.doc_id and empty.lsh_bands == [] and empty.story_representative is True
    assert short.story_id == short.doc_id and len(short.lsh_bands) == BANDS


def _copies(n: int, count: int, day: str) -> list[StoryArticle]:
    """``count`` syndicated copies of seed ``n`` under other URLs, each with its own last sentence."""
    return [_seed(n, f"{day}T{6 + i % 12:02d}:{i % 60:02d}:00+00:00", url=f"https://copy{i}.example/{n}",
                  body=_seed(n, None).body + f" Ergänzung {i}: Meldung {i * 7} der Agentur.")
            for i in range(count)]


def test_one_query_for_the_batch_finds_what_a_query_per_article_finds(es, settings: ElasticsearchSettings) -> None:
    """The batch's candidate lookup (one terms query with every article's band keys) gives each
    article exactly the hits, in the same order, that a query of its own keys gives: also for a
    story with more members than MAX_CANDIDATES, and for an article that is itself indexed."""
    alias = settings.index_alias
    big = _copies(0, MAX_CANDIDATES + 8, "2022-01-10")
    small = _copies(2, 3, "2022-01-11")
    _run(es, settings, big + small + [_seed(3, "2022-01-12T08:00:00+00:00")])
    batch = [_seed(0, "2022-01-13T08:00:00+00:00", url="https://new.example/0"), _seed(1, "2022-01-13T09:00:00+00:00"), small[0],
             _seed(2, "2022-01-13T10:00:00+00:00", url="https://new.example/2"), _seed(4, "2022-01-13T11:00:00+00:00")]
    pairs = [(a, band_keys(minhash(a.body))) for a in batch]
    combined = _lookup_combined(es, alias, pairs)
    each = _lookup_each(es, alias, pairs)
    assert combined is not None
    ids = [[h["_id"] for h in hits] for hits in combined]
    assert ids == [[h["_id"] for h in hits] for hits in each]
    assert [len(i) for i in ids[:4]] == [MAX_CANDIDATES, MAX_CANDIDATES, 2, 3] and ids[4] == []
    assert small[0].doc_id not in ids[2]  # the article itself is not its own candidate
    assert [h["_source"] for h in combined[2]] == [h["_source"] for h in each[2]]
    assert _lookup(es, alias, pairs) == combined


def test_batch_lookup_falls_back_to_a_query_per_article_when_hits_overflow(
    es, settings: ElasticsearchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the matching articles of the whole batch do not fit in one response, each article is
    looked up on its own, so none loses candidates to the others."""
    _run(es, settings, _copies(0, 12, "2022-01-10"))
    pairs = [(a, band_keys(minhash(a.body))) for a in _copies(0, 14, "2022-01-11")[12:]]
    monkeypatch.setattr(stories, "MAX_CANDIDATES", 5)
    assert _lookup_combined(es, settings.index_alias, pairs) is None  # 12 hits > 2 x 5
    calls: list[str] = []
    real = stories._lookup_each
    monkeypatch.setattr(stories, "_lookup_each", lambda *a: calls.append("each") or real(*a))
    found = stories._lookup(es, settings.index_alias, pairs)
    assert calls == ["each"] and [len(hits) for hits in found] == [5, 5]


def _fillers(count: int, day: str) -> list[StoryArticle]:
    out = []
    for i in range(count):
        a = make_article(i, seed=3)
        out.append(StoryArticle(url=a.url, canonical_url=a.url, feed="test", site="filler.example", title=a.title,
                                body=a.body, published_at=f"{day}T09:00:00+00:00", lang="de"))
    return out


@pytest.mark.parametrize("chunk", [500, 10])
def test_versions_in_one_stream_share_a_story_across_batches(es, settings: ElasticsearchSettings, chunk: int) -> None:
    """Two versions of a report 40 articles apart in one feed run: the first is in an earlier
    batch of 32, not searchable yet (the indexer holds it in its chunk, or wrote it without a
    refresh), and the second still joins its story; the second was published earlier, so it takes
    the flag, and the index ends with exactly one representative."""
    cfg = replace(settings, bulk_chunk_size=chunk)
    first = _seed(0, "2022-01-10T12:00:00+00:00")
    second = _seed(1, "2022-01-10T06:00:00+00:00")
    stream = [first, *_fillers(40, "2022-01-10"), second]
    result = index_articles(es, add_stories(stream, es, cfg.index_alias, threshold=DEFAULT_THRESHOLD), cfg)
    assert result.created == 42 and result.failed == 0
    assert second.story_id == first.doc_id and second.story_representative is True
    assert first.story_representative is False
    es.indices.refresh(index=article_pattern(cfg.index_alias))
    reps = es.search(index=article_pattern(cfg.index_alias),
                     query={"bool": {"filter": [{"term": {"story_id": first.doc_id}},
                                                {"term": {"story_representative": True}}]}})
    assert [h["_id"] for h in reps["hits"]["hits"]] == [second.doc_id]
    assert _stored(es, cfg.index_alias, first)["story_representative"] is False


def test_stream_memory_is_bounded() -> None:
    stream = StoryStream(limit=3)
    for n in range(5):
        signature = minhash(f"Meldung {n} über Kasachstan und die Organisation des Vertrags")
        stream.add(_Member(f"d{n}", np.asarray(signature, dtype=np.uint64), f"d{n}", True, None,
                           keys=band_keys(signature)))
    assert [m.doc_id for m in stream.members] == ["d2", "d3", "d4"]
    assert {m.doc_id for band in stream.by_band.values() for m in band} == {"d2", "d3", "d4"}
