"""Stories: one story per syndicated wire report, across outlets, runs and workers.

Why this shape:

- The same report reaches us under many URLs with small edits (a dpa/AFP text with a new lead,
  a teaser list glued on). Document ids come from canonical URLs, so they cannot see this; a
  MinHash signature over word shingles of the normalised body can, and LSH band keys turn "which
  stored articles look similar?" into a cheap ``terms`` query on the indexed ``lsh_bands`` field.
- State lives in Elasticsearch (DESIGN.md): band keys and the signature are stored with the
  article, so any worker of any later run finds earlier members of a story without local state.
- The signature is built from hash functions defined here (blake2b of each shingle, then
  ``(a*x + b) mod p`` with coefficients from a seeded ``random.Random``), never Python's salted
  ``hash()``, so two processes compute the same signature for the same text.
- Similarity is estimated from the full stored signature (``minhash``), not from the band
  overlap, which is far too coarse (16 bands = steps of 1/16, and all-or-nothing per band).

Backfill rule (kept simple on purpose): ``story_id`` never changes once given. It is the doc id
of the story's first-seen representative. When an article *published earlier* than the current
representative arrives later, it joins that story_id and takes over the flag: it gets
``story_representative: true`` and the old representative gets a one-field partial update to
``false``. Other members are not touched. So ``story_id`` is "the id of the article that opened
the story", and "the earliest article" is the one with the flag.

Exact duplicates (same normalised body under another URL) get ``duplicate_of`` = the doc id of
the earliest copy known when they are assigned (in-batch copies are ordered by publication
time); an already indexed copy is never rewritten to point at a later-arriving earlier one.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch

from pipeline.article import Article
from pipeline.index.names import article_index, article_pattern
from pipeline.index.template import TEMPLATE_VERSION

log = logging.getLogger(__name__)

# Chosen by measurement on the seeds (docs/stories.md): 3-word shingles give the paraphrased pair
# 000/001 the highest Jaccard (0.19) while unrelated pairs stay at noise level (<= 0.01); two rows
# per band keep an unrelated article (J ~ 0.005) from sharing a band key (P ~ 128 * J**2 = 0.3%),
# so the candidate lookup stays flat as the index grows; 128 bands make a pair at J = 0.15 a
# candidate with P = 1 - (1 - J**2)**128 = 94% (J = 0.2: 99.4%).
SHINGLE_SIZE = 3
NUM_PERM = 256
BANDS = 128
ROWS = NUM_PERM // BANDS
SEED = 20220110
DEFAULT_THRESHOLD = 0.1
MAX_CANDIDATES = 50
#: articles whose band keys go into one candidate query: 64 x 128 keys stay far below the node's
#: ``index.max_terms_count`` (65,536)
LOOKUP_ARTICLES = 64
#: articles of one stream kept in memory for later batches of it (StoryStream)
STREAM_MEMBERS = 1000

# The mapping addition this module needs (the article mapping is strict): the full signature,
# kept in _source only, neither indexed nor with doc values.
MINHASH_MAPPING: dict[str, Any] = {"minhash": {"type": "keyword", "index": False, "doc_values": False}}

_PRIME = (1 << 31) - 1  # a, b < p and shingle hashes < 2**32 keep a*x + b below 2**63: exact in uint64
_MAX_HASH = np.uint64(_PRIME)
_WORD = re.compile(r"\w+", re.UNICODE)
_SOURCE_FIELDS = ["minhash", "story_id", "story_representative", "duplicate_of", "published_at", "first_seen_at"]


def _coefficients(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Permutation coefficients; ``random.Random(int)`` is the same in every process and version."""
    rng = random.Random(seed)
    a = np.array([rng.randrange(1, _PRIME) for _ in range(num_perm)], dtype=np.uint64)
    b = np.array([rng.randrange(0, _PRIME) for _ in range(num_perm)], dtype=np.uint64)
    return a, b


_A, _B = _coefficients(NUM_PERM, SEED)


def normalise(text: str) -> str:
    """Casefold, NFKC, punctuation dropped, whitespace collapsed: "„Staatsstreich“" and
    '"Staatsstreich"' must be the same word for both the exact-duplicate key and the shingles."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def body_key(text: str) -> str:
    """The exact-duplicate key: hash of the normalised body."""
    return hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[str]:
    """Word k-shingles of the normalised text (a short text is one shingle of all its words)."""
    words = normalise(text).split()
    if not words:
        return set()
    if len(words) < k:
        return {" ".join(words)}
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _shingle_hashes(items: Iterable[str]) -> np.ndarray:
    """32-bit blake2b of each shingle, read as big-endian unsigned integers."""
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(s.encode("utf-8"), digest_size=4).digest() for s in items])
    return np.frombuffer(digests, dtype=">u4").astype(np.uint64)


def minhash(text: str, k: int = SHINGLE_SIZE) -> list[int]:
    """MinHash signature (NUM_PERM values below 2**31); empty for a body without words. The last
    bodies' signatures are cached: the learned profile (pipeline.run.extras) asks for an
    article's signature when it is cleaned, the story assignment again a batch later."""
    return list(_minhash_cached(text, k))


@lru_cache(maxsize=128)
def _minhash_cached(text: str, k: int) -> tuple[int, ...]:
    hashes = _shingle_hashes(shingles(text, k))
    if hashes.size == 0:
        return ()
    # in place: one (shingles x NUM_PERM) array instead of three temporaries, 3x as fast
    values = np.multiply.outer(hashes, _A)
    values += _B
    np.remainder(values, _MAX_HASH, out=values)
    return tuple(values.min(axis=0).tolist())


def band_keys(signature: Sequence[int], bands: int = BANDS) -> list[str]:
    """LSH band keys "<band>:<hex>"; two signatures share a key iff one band is entirely equal."""
    if not signature:
        return []
    rows = len(signature) // bands
    keys = []
    for band in range(bands):
        chunk = signature[band * rows : (band + 1) * rows]
        digest = hashlib.blake2b(b"".join(v.to_bytes(4, "big") for v in chunk), digest_size=8).hexdigest()
        keys.append(f"{band}:{digest}")
    return keys


def encode_signature(signature: Sequence[int]) -> str:
    """Compact _source form of a signature: 8 hex digits per value (1 KB for 128 values)."""
    return "".join(f"{v:08x}" for v in signature)


def decode_signature(text: str | None) -> list[int]:
    if not text:
        return []
    return [int(text[i : i + 8], 16) for i in range(0, len(text), 8)]


def estimate(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of signature slots that agree."""
    if len(a) == 0 or len(b) == 0 or len(a) != len(b):
        return 0.0
    return int(np.count_nonzero(np.asarray(a, dtype=np.uint64) == np.asarray(b, dtype=np.uint64))) / len(a)


def _decode_array(text: str | None) -> np.ndarray:
    """Fast path of :func:`decode_signature` for the candidate loop (dozens of hits per article)."""
    if not text:
        return np.empty(0, dtype=np.uint64)
    return np.frombuffer(bytes.fromhex(text), dtype=">u4").astype(np.uint64)


def jaccard(a: set[str], b: set[str]) -> float:
    """Exact Jaccard similarity of two shingle sets (for measurement, not the pipeline)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass
class StoryFields:
    """What :func:`assign_stories` decides for one article (the index field names)."""

    lsh_bands: list[str]
    minhash: str
    story_id: str
    story_representative: bool
    duplicate_of: str | None = None
    similarity: float = 1.0  # to the member it was matched on (1.0 when it opened the story)

    def as_source(self) -> dict[str, Any]:
        return {
            "lsh_bands": self.lsh_bands,
            "minhash": self.minhash,
            "story_id": self.story_id,
            "story_representative": self.story_representative,
            "duplicate_of": self.duplicate_of,
        }


@dataclass
class _Member:
    """A known article (indexed or earlier in this batch) that a newcomer may join."""

    doc_id: str
    signature: np.ndarray
    story_id: str
    representative: bool
    published_at: str | None
    body_key: str | None = None  # known for batch members; fetched lazily for indexed ones
    index: str | None = None  # None: in this batch or earlier in the stream, not from the index
    duplicate_of: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # band keys (batch and stream members)
    article: Article | None = None  # stream members: the article, maybe not written yet


class StoryStream:
    """The articles earlier calls of one stream (a feed, a backfill partition) assigned, which
    the index may not show yet: they are written in bulk chunks and searchable only after the
    next refresh, so a later batch of the same stream finds them here. The last ``limit``
    articles are kept (signature, band keys and the article itself: about 25 KB each), so memory
    stays flat however long the stream."""

    def __init__(self, limit: int = STREAM_MEMBERS) -> None:
        self.limit = limit
        self.members: deque[_Member] = deque()
        self.by_band: dict[str, list[_Member]] = {}

    def add(self, member: _Member) -> None:
        self.members.append(member)
        for key in member.keys:
            self.by_band.setdefault(key, []).append(member)
        while len(self.members) > self.limit:
            old = self.members.popleft()
            for key in old.keys:
                band = self.by_band[key]
                band.remove(old)
                if not band:
                    del self.by_band[key]


def _when(published_at: str | None) -> datetime:
    """Sort key: undated articles count as latest, so they never displace a dated representative."""
    if not published_at:
        return datetime.max.replace(tzinfo=UTC)
    try:
        value = datetime.fromisoformat(published_at)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _lookup(es: Elasticsearch, alias: str, batch: list[tuple[Article, list[str]]]) -> list[list[dict[str, Any]]]:
    """Per article, the stored articles sharing at least one band key with it (at most
    MAX_CANDIDATES, itself excluded), in one search for the whole batch.

    One ``terms`` query with the band keys of every article costs the node 40% of the CPU of one
    query per article (0.32 vs 0.82 ms an article at 100,000 indexed, bench/stories_lookup.py).
    Each hit brings its ``lsh_bands``, so every article gets exactly the hits that share one of
    its keys, in hit order: with a
    filter-only query all scores tie and hits come in index order, so the first MAX_CANDIDATES of
    them are what a query of the article's own keys returns. When the combined hits do not all
    fit in one response (a story with many members met by many articles), the batch falls back
    to one query per article (``_lookup_each``)."""
    out: list[list[dict[str, Any]]] = []
    for start in range(0, len(batch), LOOKUP_ARTICLES):
        part = batch[start:start + LOOKUP_ARTICLES]
        out.extend(_lookup_combined(es, alias, part) or _lookup_each(es, alias, part))
    return out


def _lookup_combined(
    es: Elasticsearch, alias: str, batch: list[tuple[Article, list[str]]]
) -> list[list[dict[str, Any]]] | None:
    """None when the matching articles do not all fit in the response."""
    keys = sorted({key for _article, article_keys in batch for key in article_keys})
    if not keys:
        return [[] for _ in batch]
    size = MAX_CANDIDATES * len(batch)
    resp = es.search(
        index=article_pattern(alias), ignore_unavailable=True, allow_no_indices=True, size=size,
        # no scoring: measured twice as fast as scoring by the number of shared bands
        # (bench/stories_lookup.py); with two rows per band unrelated articles almost never share
        # a key, so the hits are story members and any of them can vouch for the story
        query={"bool": {"filter": [{"terms": {"lsh_bands": keys}}]}},
        source_includes=[*_SOURCE_FIELDS, "lsh_bands"],
    )
    total = resp["hits"]["total"]
    if total["relation"] != "eq" or total["value"] > size:
        return None
    hits = resp["hits"]["hits"]
    by_key: dict[str, list[int]] = {}
    for n, hit in enumerate(hits):
        for key in hit["_source"].pop("lsh_bands", None) or ():
            by_key.setdefault(key, []).append(n)
    out = []
    for article, article_keys in batch:
        positions = sorted({n for key in article_keys for n in by_key.get(key, ())})
        mine = [hits[n] for n in positions if hits[n]["_id"] != article.doc_id]
        out.append(mine[:MAX_CANDIDATES])
    return out


def _lookup_each(es: Elasticsearch, alias: str, batch: list[tuple[Article, list[str]]]) -> list[list[dict[str, Any]]]:
    """One query per article, in one msearch round trip."""
    body: list[dict[str, Any]] = []
    for article, keys in batch:
        body.append({"index": article_pattern(alias), "ignore_unavailable": True, "allow_no_indices": True})
        body.append({
            "size": MAX_CANDIDATES,
            "query": {"bool": {
                "filter": [{"terms": {"lsh_bands": keys}}],
                "must_not": [{"ids": {"values": [article.doc_id]}}],
            }},
            "_source": _SOURCE_FIELDS,
        })
    if not body:
        return []
    responses = es.msearch(searches=body)["responses"]
    out = []
    for resp in responses:
        if "error" in resp:
            raise RuntimeError(f"story candidate lookup failed: {resp['error']}")
        out.append(resp["hits"]["hits"])
    return out


def _representatives(es: Elasticsearch, alias: str, story_ids: set[str]) -> dict[str, _Member]:
    """The current flag holder of each story (it need not share a band with the newcomer)."""
    if not story_ids:
        return {}
    resp = es.search(
        index=article_pattern(alias), ignore_unavailable=True, allow_no_indices=True, size=len(story_ids),
        query={"bool": {"filter": [{"terms": {"story_id": sorted(story_ids)}},
                                   {"term": {"story_representative": True}}]}},
        source_includes=["story_id", "published_at"],
    )
    found: dict[str, _Member] = {}
    for hit in resp["hits"]["hits"]:
        src = hit["_source"]
        found[src["story_id"]] = _Member(hit["_id"], np.empty(0, dtype=np.uint64), src["story_id"], True,
                                         src.get("published_at"), index=hit["_index"])
    return found


def _body_keys(es: Elasticsearch, members: list[_Member]) -> None:
    """Fill the exact-duplicate key of indexed members whose signature equals a newcomer's: only
    then can the bodies be equal, so this second read is rare."""
    todo = [m for m in members if m.body_key is None and m.index]
    if not todo:
        return
    docs = es.mget(docs=[{"_index": m.index, "_id": m.doc_id} for m in todo], source_includes=["body"])["docs"]
    for member, doc in zip(todo, docs, strict=True):
        member.body_key = body_key(doc.get("_source", {}).get("body", "")) if doc.get("found") else ""


def assign_stories(
    es: Elasticsearch,
    alias: str,
    articles: list[Article],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    update_representatives: bool = True,
    stream: StoryStream | None = None,
) -> dict[str, StoryFields]:
    """Decide ``lsh_bands``, ``minhash``, ``story_id``, ``story_representative`` and
    ``duplicate_of`` for a batch, before it is bulk indexed; set them as attributes on each
    Article and return them by doc id.

    Candidates come from the index (one ``terms`` query on ``lsh_bands`` for the batch), from
    earlier articles of this same batch, which are not indexed yet, and with ``stream`` from
    the articles earlier calls of the stream assigned (written or not, maybe not searchable
    yet); the batch's articles are added to ``stream``. The batch is
    processed in publication order, so inside a batch the earliest version opens the story.
    With ``update_representatives`` an indexed representative that loses the flag to an earlier
    newcomer is updated in place (one partial update); see the module docstring.
    """
    order = sorted(range(len(articles)), key=lambda i: (_when(articles[i].published_at), i))
    prepared: list[tuple[Article, list[int], list[str]]] = []
    seen: set[str] = set()
    for i in order:
        article = articles[i]
        if article.doc_id in seen:
            continue  # the bulk indexer keeps only the first copy of an id in a batch too
        seen.add(article.doc_id)
        signature = minhash(article.body)
        prepared.append((article, signature, band_keys(signature)))

    hits_per_article = _lookup(es, alias, [(a, k) for a, _, k in prepared if k])
    hits_iter = iter(hits_per_article)
    # the flag holders of every story a hit belongs to, in one query for the whole batch
    stored_stories = {h["_source"]["story_id"] for hits in hits_per_article for h in hits
                      if h["_source"].get("story_id")}
    rep_cache: dict[str, _Member | None] = dict.fromkeys(stored_stories)
    rep_cache.update(_representatives(es, alias, stored_stories))
    earlier: list[_Member] = list(stream.members) if stream is not None else []
    # the stream's flag holders are newer than what the index shows (it may not be refreshed)
    rep_cache.update((m.story_id, m) for m in earlier if m.representative)

    batch_members: list[_Member] = []
    by_band: dict[str, list[_Member]] = {}
    result: dict[str, StoryFields] = {}
    demoted: dict[str, _Member] = {}

    for article, signature, keys in prepared:
        hits = next(hits_iter) if keys else []
        candidates: dict[str, _Member] = {}
        for hit in hits:
            src = hit["_source"]
            stored = _decode_array(src.get("minhash"))
            if not src.get("story_id"):
                continue  # indexed before stories existed: nothing to join
            candidates[hit["_id"]] = _Member(
                hit["_id"], stored, src["story_id"], bool(src.get("story_representative")),
                src.get("published_at"), index=hit["_index"], duplicate_of=src.get("duplicate_of"),
            )
        # the stream's and the batch's views are newer than the index's
        for bands in ((stream.by_band,) if stream is not None else ()) + (by_band,):
            for key in keys:
                for member in bands.get(key, ()):
                    if member.doc_id != article.doc_id:
                        candidates[member.doc_id] = member

        key_of_body = body_key(article.body)
        own = np.asarray(signature, dtype=np.uint64)
        scored = sorted(
            ((estimate(own, m.signature), m) for m in candidates.values()),
            key=lambda pair: (-pair[0], _when(pair[1].published_at), pair[1].doc_id),
        )
        matches = [(s, m) for s, m in scored if s >= threshold]

        duplicate_of = None
        same_signature = [m for s, m in scored if s == 1.0]
        _body_keys(es, same_signature)
        originals = [m for m in same_signature if m.body_key == key_of_body]
        if originals:
            first = min(originals, key=lambda m: (_when(m.published_at), m.doc_id))
            duplicate_of = first.duplicate_of or first.doc_id

        if matches:
            similarity, best = matches[0]
            story_id = best.story_id
            rep = _current_representative(es, alias, story_id, earlier + batch_members, rep_cache)
            if rep is not None and rep.doc_id == article.doc_id:
                representative, rep = True, None  # re-ingesting the representative itself
            else:
                representative = rep is None or _when(article.published_at) < _when(rep.published_at)
            if representative and rep is not None:
                rep.representative = False
                if rep.doc_id in result:  # this batch
                    result[rep.doc_id].story_representative = False
                    _set_attr(articles, rep.doc_id, "story_representative", False)
                else:  # indexed, or earlier in the stream: still buffered by the indexer, or written
                    if rep.article is not None:
                        rep.article.story_representative = False  # type: ignore[attr-defined]
                    demoted[rep.doc_id] = rep
        else:
            similarity, story_id, representative = 1.0, article.doc_id, True

        fields = StoryFields(
            lsh_bands=keys, minhash=encode_signature(signature), story_id=story_id,
            story_representative=representative, duplicate_of=duplicate_of, similarity=similarity,
        )
        result[article.doc_id] = fields
        for name, value in fields.as_source().items():
            setattr(article, name, value)
        member = _Member(article.doc_id, own, story_id, representative, article.published_at,
                         body_key=key_of_body, duplicate_of=duplicate_of, keys=keys, article=article)
        batch_members.append(member)
        if representative:
            rep_cache[story_id] = member
        for key in keys:
            by_band.setdefault(key, []).append(member)

    if update_representatives:
        for member in demoted.values():
            # 404: the old representative moved (its month changed) or was deleted, or it is a
            # stream member the indexer has not written yet (it is written with the flag off)
            index = member.index or article_index(alias, TEMPLATE_VERSION, member.published_at)
            if member.index is None and not es.indices.exists(index=index):
                continue  # not written yet (and an update to a month that does not exist is refused: 404)
            es.options(ignore_status=404).update(
                index=index, id=member.doc_id, doc={"story_representative": False}, retry_on_conflict=3
            )
            log.info("story %s: representative flag moved away from %s", member.story_id, member.doc_id)
    if stream is not None:
        for member in batch_members:
            stream.add(member)
    return result


def _current_representative(
    es: Elasticsearch, alias: str, story_id: str, batch: list[_Member], cache: dict[str, _Member | None]
) -> _Member | None:
    """The flag holder: prefetched for stored stories, tracked in the cache for batch ones."""
    if story_id in cache:
        return cache[story_id]
    for member in batch:
        if member.story_id == story_id and member.representative:
            cache[story_id] = member
            return member
    found = _representatives(es, alias, {story_id}).get(story_id)
    cache[story_id] = found
    return found


def _set_attr(articles: list[Article], doc_id: str, name: str, value: Any) -> None:
    for article in articles:
        if article.doc_id == doc_id:
            setattr(article, name, value)
