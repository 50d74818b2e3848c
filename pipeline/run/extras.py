"""What a feed run does besides fetch, clean and index: learned boilerplate profiles, the raw-page
archive and the quality canaries, behind one object so :mod:`pipeline.run.ingest` only calls it.

- ``learned_for(site, url)``: the site's learned rules for a page (pins and vetoes applied);
- ``archive(...)``: the fetched page into the run's WARC file, when archiving is on;
- ``observe(article, cleaned)``: the page's keys into its site's profile (with the MinHash of its
  body, so the versions of one story count once), its numbers into the site's canary; learned
  rules the guard held back on the page flag the article ``learned-held`` and become a quality
  alert at ``finish`` (pipeline.profiles.canaries.HeldRuleAlert);
- ``skip(site, url, reason)``: a page that is not an article (a section or tag page);
- ``finish(report)``: profiles flushed to Elasticsearch, archive closed, canaries and alerts
  written. Safe to call when nothing was observed;
- ``close()``: the archive closed when the run ends early (an exception), so its WARC file is whole.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.article import Article
from pipeline.clean.rules import Cleaned
from pipeline.config import Settings
from pipeline.enrich.stories import minhash
from pipeline.fetch.urls import host_of
from pipeline.profiles import LearnedRules, ProfileStore, held_rules, learnable_keys, load_overrides
from pipeline.profiles.canaries import HeldRuleAlert, SiteRun, record_held_rules, record_quality
from pipeline.run.rawarchive import RawArchive, archive_root

log = logging.getLogger(__name__)

HELD_FLAG = "learned-held"


def flag_held(flags: list[str]) -> None:
    """Mark an article whose learned rules were held back (its text kept whole)."""
    if HELD_FLAG not in flags:
        flags.append(HELD_FLAG)


class RunExtras:
    def __init__(self, es: Elasticsearch, settings: Settings, *, run_id: str, feed: str,
                 feed_site: str | None = None, canaries: bool = True) -> None:
        """``canaries=False``: learn and apply profiles, archive, skip non-articles, but record no
        quality metrics (a backfill of old pages is not this week's quality of the site)."""
        self.es = es
        self.canaries = canaries and settings.canaries.enabled
        self.settings = settings
        self.alias = settings.elasticsearch.index_alias
        self.run_id = run_id
        self.feed = feed
        self.feed_site = feed_site
        self.store = ProfileStore(es, self.alias, settings.profiles) if settings.profiles.enabled else None
        self.overrides = load_overrides(Path(settings.config_dir) / "sites") if self.store else None
        self.raw = (
            RawArchive(archive_root(settings.archive, settings.config_dir), run_id=run_id, feed=feed,
                       gzip=settings.archive.gzip)
            if settings.archive.enabled else None
        )
        self.sites: dict[str, SiteRun] = {}
        self.skips: list[dict[str, str]] = []
        self.held: dict[tuple[str, str], list[Any]] = {}  # (site, rule) -> [articles, max share, url]

    def site_of(self, url: str) -> str:
        return self.feed_site or host_of(url)

    def _run(self, site: str) -> SiteRun:
        return self.sites.setdefault(site, SiteRun(site))

    def learned_for(self, url: str) -> LearnedRules | None:
        if self.store is None or self.overrides is None:
            return None
        profile = self.store.profile(self.site_of(url))
        return LearnedRules.for_page(profile, self.settings.profiles, self.overrides.for_url(url))

    def archive(self, url: str, status: int, headers: Any, content: bytes) -> None:
        if self.raw is not None:
            self.raw.write(url, status, headers, content, site=self.site_of(url))

    def observe(self, article: Article, cleaned: Cleaned) -> None:
        held = held_rules(cleaned.observed)
        if held:
            flag_held(article.flags)
            for rule, share in held:
                entry = self.held.setdefault((self.site_of(article.url), rule), [0, 0.0, article.url])
                entry[0] += 1
                entry[1] = max(entry[1], share)
        # canaries and profiles stay keyed by the feed's site or the host (site_of), as the page's
        # own publisher name (article.site, issue 17) would split one site's history in two
        self._run(self.site_of(article.url)).add(article)
        if self.store is not None and cleaned.observed is not None:
            self.store.observe(self.site_of(article.url), article.doc_id, learnable_keys(cleaned.observed, cleaned.body),
                               minhash(cleaned.body) if cleaned.body else None)

    def skip(self, url: str, reason: str) -> None:
        self._run(self.site_of(url)).not_article += 1
        self.skips.append({"url": url, "reason": reason})
        log.info("feed %s: skipped %s: %s", self.feed, url, reason)

    def close(self) -> None:
        """Close the raw archive (its WARC file stays readable) when a run ends early; idempotent."""
        if self.raw is not None:
            self.raw.close()

    def finish(self, failures: list[Any]) -> list[Any]:
        """Flush, close, record the canaries (``failures``: the run's Failure entries); returns
        the quality alerts."""
        if self.store is not None:
            self.store.flush()
        if self.raw is not None:
            self.raw.close()
        for failure in failures:
            if failure.stage in ("fetch", "extract"):
                run = self._run(self.site_of(failure.url))
                if failure.stage == "fetch":
                    run.fetch_failures += 1
                else:
                    run.extract_failures += 1
        alerts: list[Any] = [HeldRuleAlert(site, rule, n, share, url)
                             for (site, rule), (n, share, url) in sorted(self.held.items())]
        if alerts and self.settings.canaries.enabled:
            record_held_rules(self.es, self.alias, alerts, run_id=self.run_id, feed=self.feed)
        if not self.canaries:
            return alerts
        return alerts + record_quality(self.es, self.alias, self.sites, self.settings.canaries, run_id=self.run_id,
                              feed=self.feed)
