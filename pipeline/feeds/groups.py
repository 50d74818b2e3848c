"""Pack feeds into at most N groups, one Airflow task per group.

A hundred feeds should not become a hundred tiny tasks (scheduler overhead, one Python start-up
per task), and two tasks must never hit the same site at once: the per-host politeness limiter
(:mod:`pipeline.fetch.ratelimit`) lives in one process. So every feed of one site lands in the same
group, and the group's feeds share one limiter; groups of different sites run in parallel.

A feed's site key is its configured ``site`` when set (use it when a site's feeds and pages live
on different hosts, e.g. ``feeds.example.org`` and ``www.example.org``), else the host name of
the feed URL without a leading ``www.``. Pure and deterministic: the same feeds give the same
groups on every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import FeedConfig
from pipeline.fetch.urls import host_of


def site_key(feed: FeedConfig) -> str:
    """The politeness key of a feed: all feeds with the same key go into one group."""
    key = (feed.site or host_of(feed.url) or feed.url).lower()
    return key.removeprefix("www.")


@dataclass(frozen=True)
class FeedGroup:
    index: int
    sites: tuple[str, ...]
    feeds: tuple[FeedConfig, ...]

    @property
    def label(self) -> str:
        """Short, readable name for the mapped task (Airflow's map_index_template)."""
        shown = ", ".join(self.sites[:3]) + (f" +{len(self.sites) - 3}" if len(self.sites) > 3 else "")
        return f"{self.index}: {shown} ({len(self.feeds)} feeds)"

    def to_dict(self) -> dict:
        return {
            "index": self.index, "label": self.label, "sites": list(self.sites),
            "feeds": [f.to_dict() for f in self.feeds],
        }


def group_feeds(feeds: Sequence[FeedConfig], max_groups: int) -> list[FeedGroup]:
    """At most ``max_groups`` groups, never splitting a site, balanced by feed count.

    Sites are placed largest first into the group with the fewest feeds so far (ties: the lower
    index), which keeps the biggest group close to the optimum. Within a group feeds keep their
    configured order. Empty input gives no groups."""
    if max_groups < 1:
        raise ValueError("max_groups must be at least 1")
    by_site: dict[str, list[int]] = {}
    for position, feed in enumerate(feeds):
        by_site.setdefault(site_key(feed), []).append(position)
    count = min(max_groups, len(by_site))
    members: list[list[int]] = [[] for _ in range(count)]
    sites: list[list[str]] = [[] for _ in range(count)]
    for site, positions in sorted(by_site.items(), key=lambda item: (-len(item[1]), item[0])):
        target = min(range(count), key=lambda i: (len(members[i]), i))
        members[target].extend(positions)
        sites[target].append(site)
    return [
        FeedGroup(index=i, sites=tuple(sites[i]), feeds=tuple(feeds[p] for p in sorted(members[i])))
        for i in range(count)
    ]
