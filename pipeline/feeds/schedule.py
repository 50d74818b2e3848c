"""When to poll a feed next (streaming mode): the interval adapts to how often the feed really
changes, and never undercuts what the publisher asked for.

- A poll that found new or updated entries halves the interval; a 304, a feed with nothing new,
  or a failed poll doubles it. The interval stays within ``min_interval_s`` .. ``max_interval_s``.
- The feed's RSS ``<ttl>`` (minutes) and the response's Cache-Control ``max-age`` are floors of
  the interval (they describe the feed, so they are remembered across 304s, which carry no body);
  ``Retry-After`` of a refused poll delays only the next poll. A publisher's floor wins over
  ``max_interval_s``, capped at ``MAX_HINT_S`` so a typo in a feed cannot silence it for a year.

Pure functions of their inputs and an explicit ``now`` (no clock inside), so tests need no
sleeping. The state they return is stored per feed in the feedstate index (pipeline.feeds.state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

SHRINK = 0.5
GROW = 2.0
MAX_HINT_S = 7 * 86_400.0
# A feed due this little after the planning moment counts as due now: the poll that set
# next_due_at ran some seconds after its own run started, and waiting a whole streaming period
# for those seconds would double the effective interval.
DUE_GRACE_S = 60.0

Outcome = Literal["changed", "unchanged", "not_modified", "failed"]


@dataclass(frozen=True)
class PollHints:
    """What the publisher said about polling, in seconds (None: not said)."""

    ttl_s: float | None = None
    max_age_s: float | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class PollSchedule:
    interval_s: float
    next_due_at: datetime
    last_polled_at: datetime
    last_changed_at: datetime | None = None
    ttl_s: float | None = None
    max_age_s: float | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "next_due_at": _iso(self.next_due_at),
            "last_polled_at": _iso(self.last_polled_at),
            "last_changed_at": _iso(self.last_changed_at),
            "ttl_s": self.ttl_s,
            "max_age_s": self.max_age_s,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PollSchedule | None:
        """None when the document holds no schedule (a feed never polled in this version)."""
        if not doc.get("next_due_at") or not doc.get("interval_s") or not doc.get("last_polled_at"):
            return None
        return cls(
            interval_s=float(doc["interval_s"]),
            next_due_at=datetime.fromisoformat(doc["next_due_at"]),
            last_polled_at=datetime.fromisoformat(doc["last_polled_at"]),
            last_changed_at=datetime.fromisoformat(doc["last_changed_at"]) if doc.get("last_changed_at") else None,
            ttl_s=doc.get("ttl_s"),
            max_age_s=doc.get("max_age_s"),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _hint(value: float | None) -> float | None:
    if value is None or value <= 0:
        return None
    return min(float(value), MAX_HINT_S)


def next_schedule(
    previous: PollSchedule | None,
    outcome: Outcome,
    hints: PollHints,
    now: datetime,
    *,
    min_interval_s: float,
    max_interval_s: float,
    quiet_share: float = 0.0,
) -> PollSchedule:
    """The schedule after a poll at ``now`` with ``outcome``. A feed seen for the first time
    starts from ``min_interval_s`` (poll eagerly until it proves quiet).

    ``quiet_share`` > 0 follows the feed's own rhythm: the interval is at most this share of the
    time since the feed last changed (at least ``min_interval_s``), as HTTP caches take 10 % of a
    response's age as its heuristic freshness (RFC 9111, 4.2.2). A feed that just changed is
    polled at its floor again, one quiet for an hour at ``quiet_share`` hours, and doubling still
    bounds how fast the interval grows. Not applied to failed polls (they back off by doubling)."""
    base = previous.interval_s if previous else min_interval_s
    interval = base * (SHRINK if outcome == "changed" else GROW)
    interval = min(max(interval, min_interval_s), max_interval_s)
    if quiet_share > 0 and outcome != "failed":
        last_change = now if outcome == "changed" else (previous.last_changed_at if previous else None)
        if last_change is not None:
            quiet_s = max(0.0, (now - last_change).total_seconds())
            interval = min(interval, max(min_interval_s, quiet_share * quiet_s))
    # A 304 or a failed poll carries no feed body (no <ttl>), a failed one no usable headers
    # either: keep what the feed said last time.
    body_read = outcome in ("changed", "unchanged")
    ttl = _hint(hints.ttl_s) if body_read else (previous.ttl_s if previous else None)
    max_age = _hint(hints.max_age_s) if outcome != "failed" else (previous.max_age_s if previous else None)
    interval = max(interval, ttl or 0.0, max_age or 0.0)
    delay = max(interval, _hint(hints.retry_after_s) or 0.0)
    changed_at = now if outcome == "changed" else (previous.last_changed_at if previous else None)
    return PollSchedule(
        interval_s=interval,
        next_due_at=now + timedelta(seconds=delay),
        last_polled_at=now,
        last_changed_at=changed_at,
        ttl_s=ttl,
        max_age_s=max_age,
    )


def is_due(schedule: PollSchedule | None, now: datetime, grace_s: float = DUE_GRACE_S) -> bool:
    """A feed without a schedule (never polled) is due."""
    return schedule is None or schedule.next_due_at <= now + timedelta(seconds=grace_s)


def ttl_seconds(raw: object) -> float | None:
    """RSS ``<ttl>`` is minutes; garbage or non-positive values are ignored."""
    try:
        minutes = float(str(raw).strip())
    except ValueError:
        return None
    return minutes * 60.0 if minutes > 0 else None


def max_age_seconds(cache_control: str | None) -> float | None:
    """``max-age`` of a Cache-Control header; None when absent, garbled, or ``no-store``/``no-cache``
    (which say nothing about how often to come back)."""
    if not cache_control:
        return None
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            value = value.strip().strip('"')
            return float(value) if value.isdigit() and int(value) > 0 else None
    return None
