"""Streaming mode against the real local Elasticsearch, the real sample site and a real local feed
that changes between polls. Time is an injected clock, so nothing sleeps: each "cycle" is what one
streaming DAG run does (plan the due feeds, ingest their groups) at that moment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipeline.config import Settings, load_settings
from pipeline.index.client import es_client
from pipeline.index.template import ensure_index
from pipeline.run.group import ingest_group
from pipeline.run.plan import plan_run
from pipeline.samplesite.articles import load_articles
from tests.conftest import write_config
from tests.livefeed import LiveFeedServer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def live_feed() -> Iterator[LiveFeedServer]:
    with LiveFeedServer() as server:
        yield server


def _streaming_settings(directory: Path, es_url: str, alias: str, feeds: list[dict], **schedule: object) -> Settings:
    config_dir = write_config(directory, es_url=es_url, alias=alias, feeds=feeds, max_retries=0)
    main = yaml.safe_load((config_dir / "pipeline.yaml").read_text(encoding="utf-8"))
    main["schedule"] = {"mode": "streaming", "min_interval_s": 300, "max_interval_s": 3600, **schedule}
    (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    settings = load_settings(config_dir, env={})
    ensure_index(es_client(settings.elasticsearch), settings.elasticsearch)  # the DAG's prepare_index
    return settings


def _cycle(es, settings: Settings, minutes: float) -> dict[str, dict]:
    """One streaming run at T0 + minutes: the feeds it polled, with their results."""
    now = T0 + timedelta(minutes=minutes)
    plan = plan_run(settings, es=es, clock=lambda: now)
    polled: dict[str, dict] = {}
    for group in plan["groups"]:
        feeds = [f for f in settings.feeds if f.name in {g["name"] for g in group["feeds"]}]
        for row in ingest_group(feeds, settings, f"run-{minutes}", es=es, clock=lambda: now)["feeds"]:
            polled[row["feed"]] = row
    assert sorted(polled) == sorted(f.name for f in settings.feeds if f.name not in plan["not_due"])
    return polled


def _due_in_minutes(row: dict, minutes: float) -> float:
    due = datetime.fromisoformat(row["next_due_at"])
    return (due - (T0 + timedelta(minutes=minutes))).total_seconds() / 60


def test_changing_feed_is_polled_at_the_short_interval_and_a_quiet_one_backs_off(
    es, es_url, sample_site, alias, live_feed, tmp_path
) -> None:
    pages = [sample_site + a.path for a in load_articles()]
    live_feed.update(links=pages[:1])
    with LiveFeedServer() as quiet_feed:
        quiet_feed.update(links=pages[3:4])  # never changes: 304s from the second poll on
        feeds = [
            {"name": "live", "url": live_feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"]},
            {"name": "quiet", "url": quiet_feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"]},
        ]
        settings = _streaming_settings(tmp_path / "config", es_url, alias, feeds)
        _changing_and_quiet(es, settings, alias, live_feed, quiet_feed, pages)


def _changing_and_quiet(es, settings: Settings, alias: str, live_feed, quiet_feed, pages: list[str]) -> None:

    first = _cycle(es, settings, 0)  # never polled: both due, both new (changed)
    assert {n: r["interval_s"] for n, r in first.items()} == {"live": 300, "quiet": 300}
    assert first["live"]["created"] == 1 and live_feed.feed.polls == 1

    assert _cycle(es, settings, 2) == {}  # nothing due yet
    assert live_feed.feed.polls == 1  # ... and nothing polled

    live_feed.update(links=pages[:2])
    at5 = _cycle(es, settings, 5)
    assert at5["live"]["created"] == 1 and at5["live"]["interval_s"] == 300  # changed: stays short
    assert at5["quiet"]["not_modified"] and at5["quiet"]["interval_s"] == 600  # quiet: doubles

    at10 = _cycle(es, settings, 10)
    assert set(at10) == {"live"}  # quiet is due at 15
    assert at10["live"]["not_modified"] and at10["live"]["interval_s"] == 600

    at15 = _cycle(es, settings, 15)
    assert set(at15) == {"quiet"} and at15["quiet"]["interval_s"] == 1200
    assert (live_feed.feed.polls, quiet_feed.feed.polls) == (3, 3)  # live at 0, 5, 10; quiet at 0, 5, 15

    live_feed.update(links=pages[:3])
    at20 = _cycle(es, settings, 20)
    assert set(at20) == {"live"}
    assert at20["live"]["created"] == 1 and at20["live"]["interval_s"] == 300  # changed again: shrinks
    assert _due_in_minutes(at20["live"], 20) == 5

    # the quiet feed keeps doubling up to max_interval_s (3600 s)
    quiet = [_cycle(es, settings, m).get("quiet") for m in (35, 55, 95, 155)]
    assert [r["interval_s"] if r else None for r in quiet] == [2400, None, 3600, 3600]
    assert quiet_feed.feed.polls == 6
    # the state is in Elasticsearch: any worker sees it
    es.indices.refresh(index=f"{alias}-feedstate")
    docs = {h["_source"]["feed"]: h["_source"] for h in es.search(index=f"{alias}-feedstate")["hits"]["hits"]}
    assert docs["live"]["last_changed_at"] == (T0 + timedelta(minutes=20)).isoformat()
    assert docs["quiet"]["last_changed_at"] == T0.isoformat()


def test_ttl_max_age_and_retry_after_are_never_undercut(es, es_url, sample_site, alias, live_feed, tmp_path) -> None:
    pages = [sample_site + a.path for a in load_articles()]
    live_feed.update(links=pages[:1], ttl_minutes=120)  # 7,200 s, above max_interval_s (3,600 s)
    feeds = [{"name": "live", "url": live_feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"]}]
    settings = _streaming_settings(tmp_path / "config", es_url, alias, feeds)

    first = _cycle(es, settings, 0)["live"]
    assert first["created"] == 1 and first["interval_s"] == 7200  # changed, yet the ttl holds
    assert _cycle(es, settings, 60) == {}  # the publisher asked for two hours

    live_feed.update(cache_control="public, max-age=10800")  # three hours
    second = _cycle(es, settings, 120)["live"]
    assert second["not_modified"] and second["interval_s"] == 10800  # 304: max-age, ttl remembered

    live_feed.update(refuse_status=503, retry_after="86400")  # come back tomorrow
    third = _cycle(es, settings, 300)["live"]
    assert third["failures_by_stage"] == {"feed": 1} and "HTTP 503" in third["failures"][0]["reason"]
    assert _due_in_minutes(third, 300) == 24 * 60
    assert third["interval_s"] == 10800  # Retry-After delays this poll only
    assert _cycle(es, settings, 300 + 23 * 60) == {}

    live_feed.update(refuse_status=None, retry_after=None, cache_control=None, ttl_minutes=None)
    polls = live_feed.feed.polls
    fourth = _cycle(es, settings, 300 + 24 * 60)["live"]
    assert live_feed.feed.polls == polls + 1
    assert fourth["interval_s"] == 3600  # the feed dropped its ttl and max-age: back within bounds


def test_streaming_loop_polls_each_feed_when_due_never_below_its_floor(
    es, es_url, sample_site, alias, live_feed, tmp_path
) -> None:
    """pipeline.run.streamloop with the real clock: one task polls its feeds as they fall due, for a
    bounded time; a new entry is indexed at the next poll, no feed is polled more often than its
    floor (the feed's min_interval_s), robots.txt is read once per loop, not once per poll."""
    from pipeline.run.streamloop import stream_group

    pages = [sample_site + a.path for a in load_articles()]
    live_feed.update(links=pages[:1])
    feeds = [{"name": "live", "url": live_feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"],
              "min_interval_s": 2}]
    settings = _streaming_settings(tmp_path / "config", es_url, alias, feeds, min_interval_s=30,
                                   streaming_run_s=30, streaming_overlap_s=0, quiet_backoff_share=0.1)
    assert settings.feeds[0].min_interval_s == 2
    import threading

    added = threading.Timer(4.0, lambda: live_feed.update(links=pages[:2]))
    added.start()
    try:
        result = stream_group(settings.feeds, settings, "loop-run", es=es, run_for_s=9)
    finally:
        added.cancel()
    (row,) = result["feeds"]
    assert row["created"] == 2 and row["polls"] >= 3, row  # the first entry, then the one added at 4 s
    assert row["interval_s"] >= 2
    feed_polls = live_feed.feed.polls
    assert 3 <= feed_polls <= 9 / 2 + 1
    es.indices.refresh(index=alias)
    assert es.count(index=alias)["count"] == 2
    # every request to the feed's host: robots.txt once, the feed, the two pages
    assert len(live_feed.request_times) == 1 + feed_polls + 0  # pages live on the sample site
    gaps = [b - a for a, b in zip(live_feed.poll_times, live_feed.poll_times[1:], strict=False)]
    assert min(gaps) >= 2 - 0.05, gaps  # never below the feed's floor


def test_a_loop_that_planned_a_feed_skips_it_when_another_runner_polled_it_meanwhile(
    es, es_url, sample_site, alias, live_feed, tmp_path
) -> None:
    """Two loops (two overlapping runs) may both plan a due feed: the due check under the lease
    lets only the first poll it; the floor holds across runners."""
    from pipeline.run.ingest import ingest_feed

    pages = [sample_site + a.path for a in load_articles()]
    live_feed.update(links=pages[:1])
    feeds = [{"name": "live", "url": live_feed.url, "lang": "de", "allow_networks": ["127.0.0.1/32"]}]
    settings = _streaming_settings(tmp_path / "config", es_url, alias, feeds, min_interval_s=30)
    first = ingest_feed(settings.feeds[0], settings, es=es, run_id="run-a", due_margin_s=1.0)
    assert first.created == 1 and first.skipped is None and live_feed.feed.polls == 1
    second = ingest_feed(settings.feeds[0], settings, es=es, run_id="run-b", due_margin_s=1.0)
    assert second.skipped and second.skipped.startswith("not due until ") and live_feed.feed.polls == 1
    later = ingest_feed(settings.feeds[0], settings, es=es, run_id="run-b", due_margin_s=1.0,
                        clock=lambda: datetime.now(UTC) + timedelta(seconds=32))
    assert later.skipped is None and live_feed.feed.polls == 2
