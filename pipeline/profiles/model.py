"""A host's profile: in how many of its recent distinct articles each line or block key was seen.

Bounded by design, so the cost per article stays flat however many articles a host has:
- at most ``max_keys`` counters: past that, the lowest counts are pruned down to three quarters
  (the keys that matter, recurring boilerplate, have the highest counts; pruning only ever
  lowers a count, so a rule is never learned from an inflated one);
- ``window_articles``: past that many articles all counts and the article count are halved, so
  old markup fades out after a redesign and shares stay meaningful;
- the ids of the last ``window_articles`` articles, so an article seen again (an updated page, a
  retried task) is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.config import ProfileSettings

MAX_SAMPLES = 500


@dataclass
class HostProfile:
    site: str
    articles: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)
    halvings: int = 0
    _recent_set: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._recent_set = set(self.recent)

    # -- counting ------------------------------------------------------------------------------

    def seen(self, doc_id: str) -> bool:
        return doc_id in self._recent_set

    def add_article(self, doc_id: str, keys: dict[str, str], settings: ProfileSettings) -> bool:
        """Count one article's keys once; False (nothing counted) if the article was seen."""
        if doc_id in self._recent_set:
            return False
        self.recent.append(doc_id)
        self._recent_set.add(doc_id)
        if len(self.recent) > settings.window_articles:
            dropped = self.recent[: len(self.recent) - settings.window_articles]
            del self.recent[: len(dropped)]
            self._recent_set.difference_update(dropped)
        self.articles += 1
        counts = self.counts
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
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

    def _halve(self) -> None:
        self.articles //= 2
        self.counts = {k: c // 2 for k, c in self.counts.items() if c >= 2}
        self.halvings += 1

    def _prune(self, keep: int) -> None:
        # newest first among equal counts (a stable sort keeps that order), highest counts kept
        items = list(self.counts.items())[::-1]
        items.sort(key=lambda kv: kv[1], reverse=True)
        self.counts = dict(items[:keep])

    # -- learning ------------------------------------------------------------------------------

    def threshold(self, settings: ProfileSettings) -> float | None:
        """The count a key needs to be learned; None while the host has too few articles."""
        if self.articles < settings.min_articles:
            return None
        return max(2.0, settings.min_share * self.articles)

    def learned(self, settings: ProfileSettings) -> frozenset[str]:
        threshold = self.threshold(settings)
        if threshold is None:
            return frozenset()
        return frozenset(k for k, c in self.counts.items() if c >= threshold)

    # -- storage -------------------------------------------------------------------------------

    def to_source(self, settings: ProfileSettings) -> dict[str, Any]:
        learned = self.learned(settings)
        self.samples = {k: v for k, v in self.samples.items() if k in learned}
        return {
            "site": self.site,
            "articles": self.articles,
            "keys": len(self.counts),
            "learned_rules": len(learned),
            "halvings": self.halvings,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "counts": self.counts,
            "recent": self.recent,
            "samples": self.samples,
        }

    @classmethod
    def from_source(cls, site: str, source: dict[str, Any] | None) -> HostProfile:
        if not source:
            return cls(site)
        return cls(
            site=site,
            articles=int(source.get("articles") or 0),
            counts={str(k): int(v) for k, v in (source.get("counts") or {}).items()},
            recent=[str(r) for r in source.get("recent") or []],
            samples={str(k): str(v) for k, v in (source.get("samples") or {}).items()},
            halvings=int(source.get("halvings") or 0),
        )
