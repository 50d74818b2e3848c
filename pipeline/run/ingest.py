"""One feed, end to end: poll -> fetch pages -> extract -> language -> bulk index.

This is the entry point an Airflow task calls. Bad input never raises out of here: a broken feed
or page becomes a failure entry (stage, URL, reason) in the report and the rest goes on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from elasticsearch import Elasticsearch

import pipeline
from pipeline.article import Article
from pipeline.clean.language import detect_language
from pipeline.clean.page import clean_and_date
from pipeline.clean.rules import ExtractionError, NotAnArticle
from pipeline.clean.siterules import load_rules
from pipeline.config import FeedConfig, Settings
from pipeline.enrich import add_entities, add_stories, extractor_for
from pipeline.feeds.feeds import FeedEntry, FeedError, FeedPoll, poll_feed_conditional
from pipeline.feeds.lease import FeedLease
from pipeline.feeds.schedule import Outcome, PollHints, is_due, next_schedule
from pipeline.feeds.state import FeedState, load_state, save_schedule, save_state, unseen_entries
from pipeline.fetch.client import FetchError, HttpClient
from pipeline.fetch.decode import decode_document
from pipeline.fetch.ratelimit import HostLimiter
from pipeline.fetch.robots import RobotsCache
from pipeline.fetch.urls import canonicalize, host_of
from pipeline.index.bulk import index_articles
from pipeline.index.client import es_client
from pipeline.index.runlog import write_run_report
from pipeline.index.unchanged import UnchangedArticles
from pipeline.progress import Progress
from pipeline.run.extras import RunExtras
from pipeline.run.pagefailures import PageFailures, permanent_kind

log = logging.getLogger(__name__)

PAGE_CONTENT_TYPES = {"text/html", "application/xhtml+xml"}


@dataclass
class Failure:
    stage: str
    url: str
    reason: str
    # the page fails the same way next time (404/410, not a page type, blocked): remembered with
    # a backoff (pipeline.run.pagefailures) and no obstacle to storing the feed's validators
    permanent: bool = False


@dataclass
class FeedReport:
    """Counts and failures of one feed's run; small enough for an Airflow XCom."""

    feed: str
    url: str
    run_id: str = "manual"
    started_at: str | None = None
    finished_at: str | None = None
    not_modified: bool = False
    entries: int = 0
    skipped_seen: int = 0
    fetched: int = 0
    extracted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped_not_article: int = 0  # section fronts, tag pages: not indexed, not failures (not retried)
    skips: list[dict[str, str]] = field(default_factory=list)
    quality_alerts: int = 0
    next_due_at: str | None = None  # streaming mode: when this feed is due again
    interval_s: float | None = None
    # not polled because another runner holds the feed: "leased by <holder> until <time>"
    skipped: str | None = None
    leased_by: str | None = None
    leased_until: str | None = None
    skipped_failed: int = 0  # entries whose page failed permanently before and is not due again yet
    failures_remembered: int = 0  # permanent page failures of this run, written with their retry time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, stage: str, url: str, reason: str, *, permanent: bool = False) -> None:
        self.failures.append(Failure(stage, url, reason, permanent))
        log.warning("feed %s: %s failed for %s: %s", self.feed, stage, url, reason)


def _unique_entries(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = canonicalize(entry.link)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


def _canonical(fetched_url: str, declared: str | None) -> str:
    """Trust a page's rel=canonical only on its own host, so a page cannot claim (and overwrite)
    another site's document."""
    if declared and host_of(declared) == host_of(fetched_url):
        return canonicalize(declared)
    return canonicalize(fetched_url)


def _publisher(sitename: str | None) -> str | None:
    """The page's own publisher name (og:site_name, JSON-LD publisher), whitespace collapsed;
    None when it is empty or implausibly long for a name (a sentence in the meta tag)."""
    name = " ".join((sitename or "").split())
    return name if 0 < len(name) <= 100 else None


class PageReport(Protocol):
    """What the per-page path records into: a feed's report, or a backfill partition's."""

    extracted: int

    def fail(self, stage: str, url: str, reason: str) -> None: ...


def build_article(
    entry: FeedEntry, feed: FeedConfig, client: HttpClient, settings: Settings, report: FeedReport, run_id: str,
    extras: RunExtras | None = None, failed_pages: PageFailures | None = None,
) -> Article | None:
    """Fetch, clean, date and label one entry's page; None (with a failure recorded) when the page
    cannot be fetched or has no main text at all. A short or paywalled body is kept and flagged.
    ``failed_pages``: where a permanent failure is remembered (and a page that works forgotten)."""

    def permanent(kind: str, reason: str) -> None:
        report.fail("fetch", entry.link, reason, permanent=True)
        if failed_pages is not None:
            failed_pages.record(entry.link, kind, reason)

    try:
        response = client.get(entry.link, allow_networks=feed.allow_networks, kind="page")
    except FetchError as exc:
        kind = permanent_kind(exc)
        if kind is None:
            report.fail("fetch", entry.link, exc.reason)
        else:
            permanent(kind, exc.reason)
        return None
    report.fetched += 1
    if response.content_type and response.content_type not in PAGE_CONTENT_TYPES:
        permanent("not-a-page-type", f"content type {response.content_type!r} is not HTML")
        return None
    if extras is not None:
        extras.archive(response.url, response.status, response.headers, response.content)
    skips = len(extras.skips) if extras is not None else 0
    article = article_from_page(
        response.content, response.url, response.headers, entry, feed, settings, report, run_id, extras=extras
    )
    if failed_pages is not None:
        if extras is not None and len(extras.skips) > skips:  # not an article (a section or tag page)
            failed_pages.record(entry.link, "not-an-article", extras.skips[-1]["reason"])
        elif article is not None:
            failed_pages.forget(entry.link)
    return article


def article_from_page(
    content: bytes,
    url: str,
    headers: Mapping[str, str],
    entry: FeedEntry,
    feed: FeedConfig,
    settings: Settings,
    report: PageReport,
    run_id: str,
    *,
    fetched_at: str | None = None,
    extras: RunExtras | None = None,
) -> Article | None:
    """Clean, date and label a page already in hand (fetched just now, or read from a WARC
    record, whose capture time is ``fetched_at``); ``headers`` are the HTTP response headers,
    looked up in lower case. None (with a failure recorded) when the page has no main text."""
    decoded = decode_document(content, headers.get("content-type"))
    page = decoded.text
    fetched_at = fetched_at or _now()
    try:
        cleaned, dates = clean_and_date(
            page, url, rules=load_rules(Path(settings.config_dir) / "sites"),
            learned=extras.learned_for(url) if extras else None, feed_published=entry.published_at,
            feed_updated=entry.updated_at, http_last_modified=headers.get("last-modified"),
            site_timezone=feed.timezone, fetched_at=fetched_at,
        )
    except NotAnArticle as exc:  # a section or tag page: reported, not retried, not indexed
        if extras is not None:
            extras.skip(url, str(exc))
        else:
            log.info("feed %s: skipped %s: %s", feed.name, url, exc)
        return None
    except ExtractionError as exc:
        report.fail("extract", url, str(exc))
        return None
    report.extracted += 1
    published, modified = dates.published, dates.modified
    guess = detect_language(
        cleaned.body, seed=settings.language_seed, fallback=cleaned.html_lang or entry.lang or feed.lang
    )
    article = Article(
        url=url,
        canonical_url=_canonical(url, cleaned.canonical_url),
        feed=feed.name,
        site=feed.site or _publisher(cleaned.sitename) or host_of(url),
        host=host_of(url),
        title=cleaned.title or entry.title,
        body=cleaned.body,
        description=cleaned.description or entry.summary,
        authors=cleaned.authors,
        signoff=cleaned.signoff,
        agencies=cleaned.agencies,
        flags=cleaned.flags + ([f"encoding:{decoded.repair}"] if decoded.repair else []),
        removals=[{"rule": r.rule, "chars": r.chars} for r in cleaned.removals],
        removed_chars=sum(r.chars for r in cleaned.removals),
        published_at=published.value if published else None,
        published_precision=published.precision if published else None,
        published_source=published.source if published else None,
        published_confidence=published.confidence if published else None,
        published_day=published.day if published else None,
        published_offset=published.offset if published else None,
        modified_at=modified.value if modified else None,
        lang=guess.lang,
        lang_prob=guess.probability,
        lang_source=guess.source,
        fetched_at=fetched_at,
        run_id=run_id,
        pipeline_version=pipeline.__version__,
    )
    if extras is not None:
        extras.observe(article, cleaned)
    return article


def _poll(
    feed: FeedConfig, client: HttpClient, es: Elasticsearch, alias: str, report: FeedReport, state: FeedState,
    failed_pages: PageFailures,
) -> tuple[list[FeedEntry], FeedPoll | None, FeedError | None]:
    """Conditional GET with the validators stored in Elasticsearch (none when a page that failed
    permanently is due for another try, so its entry is seen); only entries not indexed yet, and
    not held back after a permanent failure."""
    due = failed_pages.any_due()
    etag, last_modified = (None, None) if due else (state.etag, state.last_modified)
    try:
        poll = poll_feed_conditional(feed, client, etag=etag, last_modified=last_modified)
    except FeedError as exc:
        report.fail("feed", feed.url, exc.reason)
        return [], None, exc
    report.not_modified = poll.not_modified
    entries = _unique_entries(poll.entries)
    report.entries = len(entries)
    fresh, report.skipped_seen = unseen_entries(es, alias, entries)
    fresh, held = failed_pages.hold_back(fresh)
    report.skipped_failed = len(held)
    return fresh, poll, None


def _remember(
    es: Elasticsearch, alias: str, feed: FeedConfig, poll: FeedPoll | None, report: FeedReport, lease: FeedLease
) -> None:
    """Store the validators only once every entry went through: after a page that failed for a
    transient reason, the next poll must see the whole feed again (not a 304) so the page is
    retried. Permanent failures do not count: they are remembered per page (pipeline.run.pagefailures)."""
    if poll is None or lease.lost or any(f.stage != "feed" and not f.permanent for f in report.failures):
        return
    save_state(es, alias, feed.name, feed.url, FeedState(poll.etag, poll.last_modified),
               status=304 if poll.not_modified else 200)


def _reschedule(
    es: Elasticsearch, settings: Settings, feed: FeedConfig, state: FeedState, poll: FeedPoll | None,
    error: FeedError | None, report: FeedReport, polled_at: datetime,
) -> None:
    """Streaming mode's next poll of this feed (written in every mode, so switching to streaming
    starts from what is known). New or updated entries count as a change."""
    outcome: Outcome
    if poll is None:
        outcome, hints = "failed", PollHints(retry_after_s=error.retry_after_s if error else None)
    else:
        hints = PollHints(ttl_s=poll.ttl_s, max_age_s=poll.max_age_s)
        if poll.not_modified:
            outcome = "not_modified"
        else:
            outcome = "changed" if report.entries > report.skipped_seen else "unchanged"
    floor = feed.min_interval_s or settings.schedule.min_interval_s  # the feed's own floor, if configured
    schedule = next_schedule(
        state.schedule, outcome, hints, polled_at,
        min_interval_s=floor, max_interval_s=max(floor, settings.schedule.max_interval_s),
        quiet_share=settings.schedule.quiet_backoff_share,
    )
    save_schedule(es, settings.elasticsearch.index_alias, feed.name, feed.url, schedule)
    report.next_due_at = schedule.next_due_at.isoformat(timespec="seconds")
    report.interval_s = schedule.interval_s


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ingest_feed(
    feed: FeedConfig,
    settings: Settings,
    *,
    es: Elasticsearch | None = None,
    run_id: str = "manual",
    limiter: HostLimiter | None = None,
    clock: Callable[[], datetime] = _utcnow,
    robots: RobotsCache | None = None,
    due_margin_s: float | None = None,
) -> FeedReport:
    """Ingest one feed. Bad feeds and pages become failures in the report; an unreachable
    Elasticsearch raises (the task is retried, and the retry duplicates nothing).

    One runner polls a feed at a time: when another holds the feed's lease (pipeline.feeds.lease),
    nothing is fetched and the report says ``skipped: leased by <holder> until <time>``.

    ``limiter``: a per-host limiter shared with other feeds of the same site (pipeline.run.group);
    ``clock``: the time of the poll for the feed's next poll schedule, of its lease and of its
    pages' failure backoff (tests inject one); ``robots``: robots.txt verdicts kept across the
    polls of a long-running task (pipeline.run.streamloop), so each poll is one request, not two;
    ``due_margin_s``: poll only if the feed's schedule is due (``next_due_at`` at least this long
    ago), checked once the lease is held, so two loops that both planned the feed never poll it
    twice in a row (the second finds it polled and skips it: ``skipped: not due until <time>``)."""
    report = FeedReport(feed=feed.name, url=feed.url, run_id=run_id, started_at=_now())
    es = es or es_client(settings.elasticsearch)
    alias = settings.elasticsearch.index_alias
    lease = FeedLease(es, alias, feed.name, feed.url, run_id=run_id, ttl_s=settings.ingest.lease_ttl_s,
                      renew_every_s=settings.ingest.lease_renew_every_s, clock=clock)
    held = lease.acquire()
    if held is not None:  # another runner polls this feed now: not twice
        report.skipped, report.leased_by = held.reason(), held.holder
        report.leased_until = held.expires_at.isoformat(timespec="seconds")
        report.finished_at = _now()
        write_run_report(es, alias, report.to_dict())
        log.info("feed %s: skipped: %s", feed.name, report.skipped)
        return report
    if due_margin_s is not None:
        schedule = load_state(es, alias, feed.url).schedule
        if schedule is not None and not is_due(schedule, clock(), grace_s=-due_margin_s):
            lease.release()  # polled by another runner since this one planned it
            report.skipped = f"not due until {schedule.next_due_at.isoformat(timespec='seconds')}"
            report.finished_at = _now()
            return report
    with lease.heartbeat():
        _ingest_leased(feed, settings, es, report, lease, run_id=run_id, limiter=limiter, clock=clock, robots=robots)
    return report


def _ingest_leased(
    feed: FeedConfig, settings: Settings, es: Elasticsearch, report: FeedReport, lease: FeedLease, *, run_id: str,
    limiter: HostLimiter | None, clock: Callable[[], datetime], robots: RobotsCache | None = None,
) -> None:
    """:func:`ingest_feed` once the feed's lease is held."""
    extras = RunExtras(es, settings, run_id=run_id, feed=feed.name, feed_site=feed.site)
    alias = settings.elasticsearch.index_alias
    http = settings.http if feed.respect_robots is None else replace(settings.http, respect_robots=feed.respect_robots)
    state = load_state(es, alias, feed.url)
    failed_pages = PageFailures(es, alias, feed=feed.name, feed_url=feed.url,
                                backoff_s=settings.ingest.failed_page_backoff_s, clock=clock)
    with HttpClient(http, limiter=limiter) as client, contextlib.closing(extras):
        if robots is not None and http.user_agent == robots.user_agent:
            client.robots = robots
        entries, poll, poll_error = _poll(feed, client, es, alias, report, state, failed_pages)
        # the next poll is due an interval after this one's request was answered: measured from
        # before it, a wait for the per-host limiter could bring the next request below the floor
        polled_at = clock()

        def articles() -> Iterator[Article]:
            with Progress(len(entries), f"feed {feed.name}", unit="page") as progress:
                for n, entry in enumerate(entries):
                    if lease.lost:  # another runner has the feed now: leave the rest to it
                        report.fail("feed", feed.url, f"{lease.lost}; {len(entries) - n} page(s) left to it")
                        return
                    article = build_article(entry, feed, client, settings, report, run_id, extras=extras,
                                            failed_pages=failed_pages)
                    progress.update()
                    if article is not None:
                        yield article

        unchanged = UnchangedArticles(es, alias)  # stored as they are: no NER, no story lookup
        enriched = add_stories(
            add_entities(unchanged.mark(articles()), extractor_for(Path(settings.config_dir) / "entities"),
                         skip=unchanged.ids),
            es, alias, threshold=settings.story_threshold, skip=unchanged.ids,
        )
        result = index_articles(es, enriched, settings.elasticsearch, run_id=run_id, feed=feed.name,
                                not_enriched=unchanged.ids)
    report.created, report.updated, report.unchanged = result.created, result.updated, result.unchanged
    for failed in result.failures:
        report.fail("index", failed["url"], failed["reason"])
    if result.created or result.updated:  # searchable now; nothing written, nothing to refresh
        es.indices.refresh(index=alias)
    failed_pages.flush()
    report.failures_remembered = failed_pages.recorded
    _remember(es, alias, feed, poll, report, lease)
    report.quality_alerts = len(extras.finish(report.failures))
    report.skips, report.skipped_not_article = extras.skips[:50], len(extras.skips)
    _reschedule(es, settings, feed, state, poll, poll_error, report, polled_at)
    report.finished_at = _now()
    write_run_report(es, alias, report.to_dict())
    log.info(
        "feed %s: %d entries, %d fetched, %d extracted, %d created, %d updated, %d unchanged, %d failures "
        "(%d permanent), %d held back after a permanent failure",
        feed.name, report.entries, report.fetched, report.extracted, report.created, report.updated,
        report.unchanged, len(report.failures), sum(f.permanent for f in report.failures), report.skipped_failed,
    )
