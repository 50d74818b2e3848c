"""Feed grouping (pure) and the schedule/ingest config sections."""

from __future__ import annotations

import math

import pytest

from pipeline.config import ConfigError, FeedConfig, IngestSettings, ScheduleSettings, load_settings
from pipeline.feeds.groups import group_feeds, site_key


def _feeds(per_site: dict[str, int]) -> list[FeedConfig]:
    return [
        FeedConfig(name=f"{site}-{i}", url=f"https://{site}/feed/{i}.xml")
        for site, count in per_site.items()
        for i in range(count)
    ]


def test_a_hundred_feeds_fit_into_the_configured_groups_without_splitting_a_site() -> None:
    sizes = {f"site{n}.example": 1 + n % 7 for n in range(30)}
    feeds = _feeds(sizes)
    groups = group_feeds(feeds, 16)
    assert len(groups) == 16
    placed = [f for g in groups for f in g.feeds]
    assert sorted(f.name for f in placed) == sorted(f.name for f in feeds)  # each feed exactly once
    for site in sizes:
        assert sum(site in g.sites for g in groups) == 1  # a site never spans two groups
        [home] = [g for g in groups if site in g.sites]
        assert {f.name for f in home.feeds} >= {f.name for f in feeds if site_key(f) == site}
    # balanced: no group bigger than the average plus the largest site
    assert max(len(g.feeds) for g in groups) <= math.ceil(len(feeds) / 16) + max(sizes.values())
    assert group_feeds(list(reversed(feeds)), 16)[0].sites == groups[0].sites  # deterministic by site


def test_fewer_sites_than_groups_gives_one_group_per_site_in_configured_order() -> None:
    feeds = [
        FeedConfig(name="a", url="https://www.one.example/rss"),
        FeedConfig(name="b", url="https://two.example/rss"),
        FeedConfig(name="c", url="https://one.example/atom"),  # www. or not: the same site
        FeedConfig(name="d", url="https://feeds.three.example/x", site="three.example"),
        FeedConfig(name="e", url="https://www.three.example/y", site="three.example"),
    ]
    groups = group_feeds(feeds, 16)
    assert [[f.name for f in g.feeds] for g in groups] == [["a", "c"], ["d", "e"], ["b"]]
    assert groups[0].label == "0: one.example (2 feeds)"
    assert group_feeds(feeds, 1)[0].sites == ("one.example", "three.example", "two.example")
    assert group_feeds([], 4) == []
    with pytest.raises(ValueError, match="max_groups"):
        group_feeds(feeds, 0)


def test_schedule_and_ingest_sections_are_validated(tmp_path) -> None:
    with pytest.raises(ConfigError, match="schedule.mode"):
        ScheduleSettings(mode="hourly")
    with pytest.raises(ConfigError, match="min_interval_s"):
        ScheduleSettings(min_interval_s=600, max_interval_s=60)
    with pytest.raises(ConfigError, match="max_feed_groups"):
        IngestSettings(max_feed_groups=0)
    assert ScheduleSettings().active_cron == "0 2 * * *"
    assert ScheduleSettings(mode="streaming").active_cron == "*/5 * * * *"
    (tmp_path / "pipeline.yaml").write_text("ingest: {max_feed_groups: 4, pool: null}\n", encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    settings = load_settings(tmp_path, env={"NEWS_SCHEDULE_MODE": "Streaming"})
    assert settings.ingest == IngestSettings(max_feed_groups=4, pool=None)
    assert settings.schedule.mode == "streaming"
    with pytest.raises(ConfigError, match="schedule.mode"):
        load_settings(tmp_path, env={"NEWS_SCHEDULE_MODE": "sometimes"})
