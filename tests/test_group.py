"""ingest_group (one mapped task) against the real local Elasticsearch and real local servers:
one feed's failure never fails the others; Elasticsearch being down fails the task (retried);
feeds of one site share one per-host limiter."""

from __future__ import annotations

import itertools
import socket
from dataclasses import replace

import pytest

from pipeline.config import load_settings
from pipeline.index.template import ensure_index
from pipeline.run.group import ElasticsearchUnavailable, ingest_group
from tests.conftest import sample_feeds, write_config
from tests.livefeed import LiveFeedServer


def test_a_failing_or_crashing_feed_does_not_fail_the_others(es, es_url, sample_site, alias, tmp_path) -> None:
    feeds = [
        *sample_feeds(sample_site, "http-500"),
        {"name": "bad-config", "url": sample_site + "/feeds/atom.xml", "allow_networks": ["127.0.0.1/32"]},
        *sample_feeds(sample_site, "rss"),
    ]
    settings = load_settings(write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=feeds), env={})
    # an allow_networks entry that is not a network: load_settings refuses it (tests/test_config.py),
    # so it is put in after loading, standing for any unexpected error inside one feed's work
    settings = replace(settings, feeds=tuple(
        replace(f, allow_networks=("not-a-network",)) if f.name == "bad-config" else f for f in settings.feeds))
    ensure_index(es, settings.elasticsearch)  # the DAG's prepare_index

    result = ingest_group(settings.feeds, settings, "run-g1", es=es)

    rows = {row["feed"]: row for row in result["feeds"]}
    assert list(rows) == ["http-500", "bad-config", "rss"]
    assert rows["rss"]["created"] == 4 and rows["rss"]["failed"] == 0
    assert rows["http-500"]["failures_by_stage"] == {"feed": 1}
    [crash] = rows["bad-config"]["failures"]
    assert crash["stage"] == "internal" and crash["reason"].startswith("ValueError:")
    assert es.count(index=alias)["count"] == 4
    # the XCom holds counts and short failures, no article text
    assert all(set(row) >= {"created", "failures", "next_due_at"} and "body" not in row for row in rows.values())
    # every feed, the crashed one too, has its run-log document
    es.indices.refresh(index=f"{alias}-runs")
    logged = es.search(index=f"{alias}-runs", query={"term": {"run_id": "run-g1"}}, size=10)["hits"]["hits"]
    assert {h["_source"]["feed"] for h in logged if h["_source"]["kind"] == "ingest"} == set(rows)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_elasticsearch_down_fails_the_task_after_every_feed_had_its_turn(sample_site, alias, tmp_path) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    feeds = sample_feeds(sample_site, "rss", "atom")
    settings = load_settings(write_config(tmp_path / "config", es_url=dead, alias=alias, feeds=feeds), env={})
    with pytest.raises(ElasticsearchUnavailable, match="feed\\(s\\) rss, atom; retry the task"):
        ingest_group(settings.feeds, settings, "run-g2")


def test_feeds_of_one_site_share_the_per_host_limiter(es, es_url, alias, tmp_path) -> None:
    with LiveFeedServer() as one, LiveFeedServer() as two:  # two feeds, one host (127.0.0.1)
        feeds = [
            {"name": n, "url": s.url, "allow_networks": ["127.0.0.1/32"]} for n, s in (("one", one), ("two", two))
        ]
        config_dir = write_config(
            tmp_path / "config", es_url=es_url, alias=alias, feeds=feeds, per_host_min_interval_s=2.5
        )
        settings = load_settings(config_dir, env={})
        ensure_index(es, settings.elasticsearch)
        result = ingest_group(settings.feeds, settings, "run-g3", es=es)
        times = sorted(one.request_times + two.request_times)
    assert [row["failed"] for row in result["feeds"]] == [0, 0]
    assert len(times) == 4  # robots.txt and the feed, per server
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # one limiter for the group: feed two's first request waits for feed one's last
    assert min(gaps) >= 2.4, gaps  # (without it, feed two starts as soon as feed one is indexed)
