"""Backfill runs: partitions (source, day) planned, claimed, ingested and recorded.

One partition goes through the same per-page path as a feed (``pipeline.run.ingest.article_from_page``:
clean, dates, language; then entities, stories, the idempotent bulk indexer), after discovery
(sitemap, archive page, WARC) and the version checks of :mod:`pipeline.backfill.versions`.

Outcome of a partition: ``done`` when everything it lists was indexed, skipped as already indexed
or newer, or failed for good (a 404, a page without main text); ``failed`` when its listing could
not be read or a page failed in a way worth retrying (5xx, timeout). A re-run skips ``done``
partitions and redoes the others, where the pages indexed the first time are skipped without
being fetched. Elasticsearch being unreachable raises: the task fails (its retry resumes).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Self

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipeline.article import Article
from pipeline.backfill import state
from pipeline.backfill.archivepages import archive_page_candidates
from pipeline.backfill.discovery import ArchivedPage, Candidate, DiscoveryError, Fetcher, is_retryable
from pipeline.backfill.sitemap import SitemapCache, sitemap_candidates
from pipeline.backfill.sources import ArchiveSource, BackfillSettings
from pipeline.backfill.versions import drop_older_copies, unseen_candidates
from pipeline.config import ConfigError, Settings
from pipeline.enrich import add_entities, add_stories, extractor_for
from pipeline.feeds.feeds import FeedEntry
from pipeline.fetch.client import FetchError
from pipeline.fetch.sharedlimit import SharedHostLimiter
from pipeline.index.bulk import index_articles
from pipeline.index.names import runlog_index
from pipeline.index.unchanged import UnchangedArticles
from pipeline.run.extras import RunExtras
from pipeline.run.ingest import PAGE_CONTENT_TYPES, article_from_page

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 30.0
MAX_FAILURES_KEPT = 1000


@dataclass
class PartitionReport:
    """Counts and failures of one partition; its summary (without failures) fits an XCom."""

    source: str
    source_type: str
    day: str
    run_id: str
    status: str = "running"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float = 0.0
    candidates: int = 0
    skipped_seen: int = 0
    fetched: int = 0
    extracted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    skipped_not_article: int = 0
    undated: int = 0
    offsite: int = 0
    skipped_records: int = 0
    failed: int = 0
    error: str | None = None
    retry_needed: bool = False
    failures: list[dict[str, Any]] = field(default_factory=list)
    kept_newer_urls: list[dict[str, str]] = field(default_factory=list)

    @property
    def partition(self) -> str:
        return f"{self.source}:{self.day}"

    def fail(self, stage: str, url: str, reason: str, *, retryable: bool = False) -> None:
        """A failed item; ``retryable`` ones leave the partition ``failed`` so a re-run tries again."""
        self.failed += 1
        self.retry_needed |= retryable
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append({"stage": stage, "url": url, "reason": reason, "retryable": retryable})
        log.warning("partition %s: %s failed for %s: %s", self.partition, stage, url, reason)

    def note_kept_newer(self, url: str, reason: str) -> None:
        if len(self.kept_newer_urls) < MAX_FAILURES_KEPT:
            self.kept_newer_urls.append({"url": url, "reason": reason})
        log.info("partition %s: kept the newer indexed version of %s (%s)", self.partition, url, reason)

    def to_dict(self) -> dict[str, Any]:
        return {"partition": self.partition, **asdict(self)}

    def summary(self, max_failures: int = 20) -> dict[str, Any]:
        """Ids and counts (and the first few failures): what an Airflow XCom may carry."""
        doc = self.to_dict()
        doc["failures"] = doc["failures"][:max_failures]
        doc["kept_newer_urls"] = doc["kept_newer_urls"][:max_failures]
        return doc


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ConfigError(f"backfill range is empty: --from {start} is after --to {end}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def plan_partitions(config: BackfillSettings, start: date, end: date, names: Iterable[str] = ()) -> list[tuple[str, date]]:
    """(source, day) for every chosen source (all when ``names`` is empty) and day, day-major per
    source, so one task works through consecutive days of one source."""
    chosen = [config.source(n) for n in dict.fromkeys(names)] if names else list(config.sources)
    if not chosen:
        raise ConfigError(f"no archive sources configured (in {config.file})")
    days = days_between(start, end)
    return [(source.name, day) for source in chosen for day in days]


def group_partitions(partitions: list[tuple[str, date]], per_task: int, max_tasks: int) -> list[list[tuple[str, date]]]:
    """Consecutive runs of partitions, ``per_task`` each, more per task if that would exceed
    ``max_tasks`` tasks (thousands of days must not become thousands of tiny tasks)."""
    if not partitions:
        return []
    size = max(per_task, -(-len(partitions) // max_tasks))
    return [partitions[i:i + size] for i in range(0, len(partitions), size)]


def pending_partitions(es: Elasticsearch, alias: str, partitions: list[tuple[str, date]]) -> list[tuple[str, date]]:
    """The partitions not ``done`` yet (in their order)."""
    states = state.load_states(es, alias, [state.partition_id(s, d) for s, d in partitions])
    return [(s, d) for s, d in partitions if states.get(state.partition_id(s, d), {}).get("status") != "done"]


class Backfill:
    """Runs partitions in this process: one per call, with the HTTP clients, sitemap cache and
    entity extractor shared across them. Use as a context manager (closes the clients)."""

    def __init__(
        self, settings: Settings, config: BackfillSettings, es: Elasticsearch, *, run_id: str = "manual"
    ) -> None:
        self.settings = settings
        self.config = config
        self.es = es
        self.alias = settings.elasticsearch.index_alias
        self.run_id = run_id
        http = settings.http
        self.fetcher = Fetcher(http, SharedHostLimiter(es, self.alias, http.per_host_min_interval_s,
                                                       http.per_host_max_concurrent))
        self.sitemaps = SitemapCache()
        self._last_beat = 0.0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fetcher.close()

    # -- one partition --------------------------------------------------------------------------

    def run_partition(self, source: ArchiveSource, day: date) -> PartitionReport:
        report = PartitionReport(source=source.name, source_type=source.type, day=day.isoformat(), run_id=self.run_id)
        claim = state.claim(self.es, self.alias, source.name, source.type, day, run_id=self.run_id,
                            lease_s=self.config.lease_s)
        report.attempts = claim.attempts
        if claim.outcome != "claimed":
            report.status = "skipped-done" if claim.outcome == "done" else "skipped-busy"
            log.info("partition %s: %s, not run", report.partition,
                     "already done" if claim.outcome == "done" else "running elsewhere")
            return report
        report.started_at = state.now_iso()
        started = time.monotonic()
        self._last_beat = started
        try:
            self._ingest(source, day, report)
        except DiscoveryError as exc:
            report.error = f"{exc.url}: {exc.reason}"
            report.fail("discover", exc.url, exc.reason, retryable=True)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) or INTERRUPTED.is_set():
                # Ctrl-C arrives wherever the work is: a library may turn it into its own error
                # (langdetect reports "Profile format error" when interrupted while loading)
                report.error, report.status = "interrupted (Ctrl-C); the next run resumes this partition", "interrupted"
                self._record(report, started)
                raise KeyboardInterrupt from exc
            report.error = f"interrupted: {type(exc).__name__}: {exc}"[:1000]
            report.status = "failed"
            self._record(report, started)
            raise
        report.status = "failed" if report.error or report.retry_needed else "done"
        if report.status == "failed" and not report.error:
            retry = [f for f in report.failures if f["retryable"]]
            report.error = f"{len(retry)} item(s) to retry, first: {retry[0]['url']}: {retry[0]['reason']}"
        self._record(report, started)
        return report

    def _record(self, report: PartitionReport, started: float) -> None:
        """Final state and run-log entry; best effort when the cluster itself is what failed."""
        report.finished_at = state.now_iso()
        report.duration_s = round(time.monotonic() - started, 3)
        try:
            state.finish(self.es, self.alias, report.to_dict())
            doc = report.to_dict()
            doc["failures"] = doc["failures"][:state.MAX_FAILURES_STORED]
            doc["kept_newer_urls"] = doc["kept_newer_urls"][:state.MAX_FAILURES_STORED]
            self.es.index(index=runlog_index(self.alias), id=f"{self.run_id}:{report.partition}",
                          document={**doc, "kind": "backfill", "feed": report.source})
        except (ApiError, TransportError) as exc:
            if report.status != "failed":
                raise
            log.error("partition %s: could not record its failure: %s", report.partition, exc)
        log.info(
            "partition %s: %s in %.1fs: %d listed, %d already indexed, %d fetched, %d extracted, %d created, "
            "%d updated, %d unchanged, %d kept newer, %d failures%s",
            report.partition, report.status, report.duration_s, report.candidates, report.skipped_seen,
            report.fetched, report.extracted, report.created, report.updated, report.unchanged, report.kept_newer,
            report.failed, f" ({report.error})" if report.error else "",
        )

    def _beat(self, source: ArchiveSource, day: date) -> None:
        if time.monotonic() - self._last_beat >= HEARTBEAT_EVERY_S:
            state.heartbeat(self.es, self.alias, source.name, day)
            self._last_beat = time.monotonic()

    def _ingest(self, source: ArchiveSource, day: date, report: PartitionReport) -> None:
        fetcher = self.fetcher.for_source(source)
        # Learned profiles are applied and updated, section/tag pages skipped, fetched pages
        # archived when archiving is on; no quality canaries (old pages are not the site's present).
        extras = RunExtras(self.es, self.settings, run_id=self.run_id, feed=source.name, feed_site=source.site,
                           canaries=False)
        with contextlib.closing(extras):
            if source.type == "warc":
                from pipeline.backfill.warc import warc_pages

                pages = warc_pages(source, day, fetcher, report, max_page_bytes=self.settings.http.max_bytes)
                articles = self._from_archive(source, day, pages, report, extras)
            else:
                if source.type == "sitemap":
                    candidates = sitemap_candidates(source, day, fetcher, report, self.sitemaps)
                else:
                    candidates = archive_page_candidates(source, day, fetcher, report)
                report.candidates = len(candidates)
                fresh = unseen_candidates(self.es, self.alias, candidates, report)
                articles = self._fetched(source, day, fresh, report, extras)
            kept = drop_older_copies(self.es, self.alias, articles, report)
            unchanged = UnchangedArticles(self.es, self.alias)  # stored as they are: not enriched again
            enriched = add_stories(
                add_entities(unchanged.mark(kept), extractor_for(Path(self.settings.config_dir) / "entities"),
                             skip=unchanged.ids),
                self.es, self.alias, threshold=self.settings.story_threshold, skip=unchanged.ids,
            )
            result = index_articles(
                self.es, enriched, self.settings.elasticsearch, run_id=self.run_id, feed=source.name,
                not_enriched=unchanged.ids,
            )
        report.created, report.updated, report.unchanged = result.created, result.updated, result.unchanged
        for failed in result.failures:
            report.fail("index", failed["url"], failed["reason"])
        self.es.indices.refresh(index=self.alias)
        extras.finish([])
        report.skipped_not_article = len(extras.skips)

    def _fetched(
        self, source: ArchiveSource, day: date, candidates: list[Candidate], report: PartitionReport,
        extras: RunExtras,
    ) -> Iterator[Article]:
        feed = source.as_feed()
        client = self.fetcher.client()
        for candidate in candidates:
            self._beat(source, day)
            try:
                response = client.get(candidate.url, allow_networks=source.allow_networks, kind="page")
            except FetchError as exc:
                report.fail("fetch", candidate.url, exc.reason, retryable=is_retryable(exc))
                continue
            report.fetched += 1
            if response.content_type and response.content_type not in PAGE_CONTENT_TYPES:
                report.fail("fetch", candidate.url, f"content type {response.content_type!r} is not HTML")
                continue
            extras.archive(response.url, response.status, response.headers, response.content)
            entry = FeedEntry(candidate.url, candidate.title, candidate.published_at, None, source.lang)
            article = article_from_page(
                response.content, response.url, response.headers, entry, feed, self.settings, report, self.run_id,
                extras=extras,
            )
            if article is not None:
                yield article

    def _from_archive(
        self, source: ArchiveSource, day: date, pages: Iterator[ArchivedPage], report: PartitionReport,
        extras: RunExtras,
    ) -> Iterator[Article]:
        """Articles from archived pages. A listing that fails while being read (a WARC that cannot
        be opened) ends the stream here, so the pages read before it are still indexed."""
        feed = source.as_feed()
        try:
            for page in pages:
                self._beat(source, day)
                report.candidates += 1
                entry = FeedEntry(page.url, None, None, None, source.lang)
                article = article_from_page(
                    page.content, page.url, page.headers, entry, feed, self.settings, report, self.run_id,
                    fetched_at=page.fetched_at, extras=extras,
                )
                if article is not None:
                    yield article
        except DiscoveryError as exc:
            report.error = f"{exc.url}: {exc.reason}"
            report.fail("discover", exc.url, exc.reason, retryable=True)

    # -- many partitions ------------------------------------------------------------------------

    def run(
        self, partitions: Iterable[tuple[str, date]], *, on_done: Callable[[PartitionReport], None] | None = None
    ) -> list[PartitionReport]:
        reports = []
        for name, day in partitions:
            report = self.run_partition(self.config.source(name), day)
            reports.append(report)
            if on_done is not None:
                on_done(report)
        return reports


#: set by the command line's SIGINT handler (pipeline.backfill.cli) before the KeyboardInterrupt
INTERRUPTED = threading.Event()


def totals(reports: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Sums over partition summaries, and how many partitions ended in each status."""
    keys = ("candidates", "skipped_seen", "fetched", "extracted", "created", "updated", "unchanged",
            "kept_newer", "skipped_not_article", "failed")
    out = dict.fromkeys(keys, 0)
    for report in reports:
        for key in keys:
            out[key] += int(report.get(key) or 0)
        status = f"partitions_{report.get('status', 'unknown')}".replace("-", "_")
        out[status] = out.get(status, 0) + 1
    return out
