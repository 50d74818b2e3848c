"""A host's profile: in how many of its recent distinct *stories* each line or block key was seen.

Counted over stories, not articles (issue 21): the versions of one developing story (updates,
follow-ups, agency copies repeating the same background paragraphs) share most of their text, and
counted per article that text looked like the host's boilerplate. An article whose body is a near
copy of a recent story's (MinHash of the body, :mod:`pipeline.enrich.stories`' functions, estimated
Jaccard >= ``SAME_STORY``) is a version of that story: it is remembered (``articles``, ``recent``)
but its keys are not counted again, so a story adds one to a key's count however many versions
it has. ``SAME_STORY`` is stricter than the story assignment's 0.1 on purpose (measured in
docs/extraction-quality.md, "Learned boilerplate"): distinct articles of one site share chrome and
vocabulary (the Kreisbote fixture's reach 0.47), versions of one story stay above 0.67; grouping
at 0.1 would make a whole site one story and nothing would ever be learned. The story assignment
itself runs after cleaning, in batches, so the profile cannot wait for its ``story_id``.

Bounded by design, so the cost per article stays flat however many articles a host has:
- at most ``max_keys`` counters: past that, the lowest counts are pruned down to three quarters
  (the keys that matter, recurring boilerplate, have the highest counts; pruning only ever
  lowers a count, so a rule is never learned from an inflated one);
- ``window_articles``: past that many articles all counts and the article count are halved, so
  old markup fades out after a redesign and shares stay meaningful;
- the ids of the last ``window_articles`` articles, so an article seen again (an updated page, a
  retried task) is counted once;
- the signatures of the last ``RECENT_STORIES`` stories (the newest version's, so a story that
  drifts as it develops is still recognised).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress, repeat
from operator import ge, itemgetter
from typing import Any

import numpy as np

from pipeline.config import ProfileSettings

log = logging.getLogger(__name__)

MAX_SAMPLES = 500
#: estimated Jaccard similarity of two bodies at which the second is a version of the first's story
SAME_STORY = 0.6
#: stories whose signatures a profile keeps (about 1.4 KB each in the stored document)
RECENT_STORIES = 64


def encode_story(signature: Sequence[int]) -> str:
    """A MinHash signature (values below 2**32) as base64 of big-endian uint32s."""
    return base64.b64encode(np.asarray(signature, dtype=">u4").tobytes()).decode("ascii")


def decode_story(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=">u4").astype(np.uint64)


@dataclass
class HostProfile:
    site: str
    articles: int = 0   # distinct articles observed (recent window)
    counts: dict[str, int] = field(default_factory=dict)   # key -> distinct stories seen in
    recent: list[str] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)
    halvings: int = 0
    stories: int | None = None   # distinct stories among the articles: the shares' denominator
    story_signatures: list[str] = field(default_factory=list)  # recent stories, oldest first
    _recent_set: set[str] = field(default_factory=set, repr=False)
    _matrix: np.ndarray | None = field(default=None, repr=False)
    #: learned()'s last answer: (the counts dict it read, the threshold, the keys), and the keys
    #: add_article counted since (None: no answer yet). Counts only change in place through
    #: add_article; _halve and _prune make a new dict, which is not the one the answer read.
    _learned: tuple[dict[str, int], float, frozenset[str]] | None = field(default=None, repr=False, compare=False)
    _touched: set[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._recent_set = set(self.recent)
        if self.stories is None:  # built in code from articles alone: each one its own story
            self.stories = self.articles

    # -- counting ------------------------------------------------------------------------------

    def seen(self, doc_id: str) -> bool:
        return doc_id in self._recent_set

    def add_article(self, doc_id: str, keys: dict[str, str], settings: ProfileSettings,
                    signature: Sequence[int] | None = None) -> bool:
        """Count one article's keys once; False (nothing counted) if the article was seen.
        ``signature``: the MinHash of its body; an article of a recent story counts no keys.
        Without one the article is a story of its own."""
        if doc_id in self._recent_set:
            return False
        self.recent.append(doc_id)
        self._recent_set.add(doc_id)
        if len(self.recent) > settings.window_articles:
            dropped = self.recent[: len(self.recent) - settings.window_articles]
            del self.recent[: len(dropped)]
            self._recent_set.difference_update(dropped)
        self.articles += 1
        if self._same_story(signature):
            if self.articles > settings.window_articles:
                self._halve()
            return True
        self.stories = (self.stories or 0) + 1
        counts = self.counts
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        if self._touched is not None:
            self._touched.update(keys)
        if self.articles > settings.window_articles:
            self._halve()
        if len(counts) > settings.max_keys:
            self._prune(settings.max_keys * 3 // 4)
        threshold = self.threshold(settings)
        if threshold is not None:
            for key, sample in keys.items():
                if key not in self.samples and counts.get(key, 0) >= threshold and len(self.samples) < MAX_SAMPLES:
                    self.samples[key] = sample
        return True

    def _same_story(self, signature: Sequence[int] | None) -> bool:
        """Whether ``signature`` belongs to a recent story (which then takes it as its newest
        version's); if not, it is remembered as a new story."""
        if signature is None or len(signature) == 0:
            return False
        own = np.asarray(signature, dtype=np.uint64)
        matrix = self._matrix
        if matrix is None or matrix.shape != (len(self.story_signatures), own.size):
            rows = [r for r in (decode_story(s) for s in self.story_signatures) if r.shape == own.shape]
            if len(rows) != len(self.story_signatures):  # stored with another signature size
                self.story_signatures = [encode_story(r) for r in rows]
            matrix = np.vstack(rows) if rows else np.empty((0, own.size), dtype=np.uint64)
        encoded = encode_story(own)
        if matrix.shape[0]:
            similar = np.count_nonzero(matrix == own, axis=1)
            best = int(similar.argmax())
            if similar[best] >= SAME_STORY * own.size:
                del self.story_signatures[best]
                self.story_signatures.append(encoded)
                self._matrix = np.vstack([np.delete(matrix, best, axis=0), own[None, :]])
                return True
        self.story_signatures.append(encoded)
        matrix = np.vstack([matrix, own[None, :]])
        if len(self.story_signatures) > RECENT_STORIES:
            del self.story_signatures[0]
            matrix = matrix[1:]
        self._matrix = matrix
        return False

    def _halve(self) -> None:
        self.articles //= 2
        self.stories = (self.stories or 0) // 2
        self.counts = {k: c // 2 for k, c in self.counts.items() if c >= 2}
        self.halvings += 1

    def _prune(self, keep: int) -> None:
        # newest first among equal counts (a stable sort keeps that order), highest counts kept
        items = list(self.counts.items())[::-1]
        items.sort(key=itemgetter(1), reverse=True)
        self.counts = dict(items[:keep])

    # -- learning ------------------------------------------------------------------------------

    def threshold(self, settings: ProfileSettings) -> float | None:
        """The count a key needs to be learned; None while the host has too few articles."""
        stories = self.stories or 0
        if stories < settings.min_articles:
            return None
        return max(2.0, settings.min_share * stories)

    def learned(self, settings: ProfileSettings) -> frozenset[str]:
        threshold = self.threshold(settings)
        if threshold is None:
            return frozenset()
        counts = self.counts
        last, touched = self._learned, self._touched
        if last is not None and touched is not None and last[0] is counts and threshold >= last[1]:
            # only the touched keys' counts changed since: an untouched key at or above this
            # threshold was at or above the last one (never lower), so it is among the last keys
            if threshold == last[1] and not touched:
                return last[2]
            learned = frozenset(k for k in (*last[2], *touched) if counts.get(k, 0) >= threshold)
        else:
            # the keys whose count is >= threshold, the comparisons done in C
            learned = frozenset(compress(counts.keys(), map(ge, counts.values(), repeat(threshold))))
        self._learned, self._touched = (counts, threshold, learned), set()
        return learned

    # -- storage -------------------------------------------------------------------------------

    def to_source(self, settings: ProfileSettings) -> dict[str, Any]:
        learned = self.learned(settings)
        self.samples = {k: v for k, v in self.samples.items() if k in learned}
        return {
            "site": self.site,
            "articles": self.articles,
            "stories": self.stories,
            "keys": len(self.counts),
            "learned_rules": len(learned),
            "halvings": self.halvings,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "counts": self.counts,
            "recent": self.recent,
            "samples": self.samples,
            "story_signatures": self.story_signatures,
        }

    @classmethod
    def from_source(cls, site: str, source: dict[str, Any] | None) -> HostProfile:
        """The stored profile; one written before stories were counted (no ``stories`` field)
        starts afresh: its counts are per article, the very thing that learned story text as
        boilerplate (issue 21), and cannot be recounted per story."""
        if not source:
            return cls(site)
        if source.get("stories") is None:
            log.warning("profile of %s: counted per article (before stories); starting afresh", site)
            return cls(site)
        return cls(
            site=site,
            articles=int(source.get("articles") or 0),
            counts={str(k): int(v) for k, v in (source.get("counts") or {}).items()},
            recent=[str(r) for r in source.get("recent") or []],
            samples={str(k): str(v) for k, v in (source.get("samples") or {}).items()},
            halvings=int(source.get("halvings") or 0),
            stories=int(source["stories"]),
            story_signatures=[str(s) for s in source.get("story_signatures") or []],
        )
