"""The poll-schedule policy (pure; an explicit clock) and the publisher hints it reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.feeds.schedule import (
    DUE_GRACE_S,
    MAX_HINT_S,
    PollHints,
    PollSchedule,
    is_due,
    max_age_seconds,
    next_schedule,
    ttl_seconds,
)

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
BOUNDS = {"min_interval_s": 300.0, "max_interval_s": 3600.0}


NO_HINTS = PollHints()


def _after(previous, outcome, hints=NO_HINTS, now=NOW):
    return next_schedule(previous, outcome, hints, now, **BOUNDS)


def test_interval_halves_on_change_doubles_when_quiet_within_bounds() -> None:
    first = _after(None, "unchanged")
    assert first.interval_s == 600 and first.next_due_at == NOW + timedelta(seconds=600)
    assert first.last_changed_at is None and first.last_polled_at == NOW
    grown = _after(_after(_after(first, "not_modified"), "failed"), "unchanged")
    assert grown.interval_s == 3600  # 1200, 2400, then capped
    shrunk = _after(grown, "changed")
    assert shrunk.interval_s == 1800 and shrunk.last_changed_at == NOW
    assert _after(_after(shrunk, "changed"), "changed").interval_s == 450
    assert _after(_after(_after(shrunk, "changed"), "changed"), "changed").interval_s == 300


def test_ttl_and_max_age_are_floors_remembered_across_bodyless_polls() -> None:
    with_ttl = _after(None, "changed", PollHints(ttl_s=5400))
    assert with_ttl.interval_s == 5400  # above max_interval_s: the publisher wins
    after_304 = _after(with_ttl, "not_modified", PollHints(max_age_s=60))
    assert after_304.interval_s == 5400 and after_304.ttl_s == 5400  # a 304 has no <ttl>: kept
    dropped = _after(after_304, "unchanged", PollHints())  # a body without <ttl>: dropped
    assert dropped.ttl_s is None and dropped.interval_s == 3600
    short = PollSchedule(interval_s=300, next_due_at=NOW, last_polled_at=NOW, max_age_s=900)
    failed = _after(short, "failed")
    assert failed.max_age_s == 900 and failed.interval_s == 900  # a failure keeps the last max-age
    absurd = _after(None, "changed", PollHints(ttl_s=10 * 365 * 86400.0))
    assert absurd.interval_s == MAX_HINT_S


def test_retry_after_delays_only_the_next_poll() -> None:
    refused = _after(_after(None, "changed"), "failed", PollHints(retry_after_s=7200))
    assert refused.interval_s == 600
    assert refused.next_due_at == NOW + timedelta(seconds=7200)


def test_due_with_grace_and_round_trip_through_the_stored_document() -> None:
    schedule = _after(None, "changed")
    assert is_due(None, NOW)
    assert not is_due(schedule, NOW + timedelta(seconds=300 - DUE_GRACE_S - 1))
    assert is_due(schedule, NOW + timedelta(seconds=300 - DUE_GRACE_S))
    assert PollSchedule.from_doc(schedule.to_doc()) == schedule
    assert PollSchedule.from_doc({"etag": '"x"'}) is None  # validators only: never scheduled


def test_publisher_hints_are_parsed_defensively() -> None:
    assert ttl_seconds("15") == 900 and ttl_seconds(" 60 ") == 3600
    assert ttl_seconds(None) is None and ttl_seconds("soon") is None and ttl_seconds("-5") is None
    assert max_age_seconds("public, max-age=300") == 300
    assert max_age_seconds('max-age="120", must-revalidate') == 120
    assert max_age_seconds("no-cache, max-age=300") is None
    assert max_age_seconds("max-age=0") is None and max_age_seconds("max-age=abc") is None
    assert max_age_seconds(None) is None and max_age_seconds("private") is None


def test_quiet_share_follows_the_feeds_rhythm() -> None:
    """quiet_share: the interval is at most that share of the time since the last change, never
    below the floor; a change brings the feed back to its floor; failures still double."""
    floor = {"min_interval_s": 30.0, "max_interval_s": 86_400.0, "quiet_share": 0.1}
    first = next_schedule(None, "changed", PollHints(), NOW, **floor)
    assert first.interval_s == 30.0 and first.last_changed_at == NOW
    # quiet for 2 minutes: 10 % of that is 12 s, below the floor
    quiet = next_schedule(first, "not_modified", PollHints(), NOW + timedelta(minutes=2), **floor)
    assert quiet.interval_s == 30.0
    # quiet for an hour, previously at 300 s: doubling would give 600, the rhythm allows 360
    hour = next_schedule(replace(first, interval_s=300.0), "unchanged", PollHints(), NOW + timedelta(hours=1), **floor)
    assert hour.interval_s == 360.0
    # a change: straight back to the floor (halving alone would give 180)
    again = next_schedule(hour, "changed", PollHints(), NOW + timedelta(hours=1, minutes=6), **floor)
    assert again.interval_s == 30.0
    # the publisher's max-age still wins, and a failed poll still backs off by doubling
    capped = next_schedule(again, "not_modified", PollHints(max_age_s=120), NOW + timedelta(hours=2), **floor)
    assert capped.interval_s == 120.0
    failed = next_schedule(again, "failed", PollHints(), NOW + timedelta(hours=2), **floor)
    assert failed.interval_s == 60.0
    # without quiet_share: doubling as before
    assert next_schedule(first, "not_modified", PollHints(), NOW + timedelta(minutes=2),
                         min_interval_s=30.0, max_interval_s=86_400.0).interval_s == 60.0
