"""Extraction-quality canaries: per site and run, a few numbers that move when a site's
extraction breaks (a redesign, a consent wall, a rule that starts eating the text), stored in the
run-log index next to the run reports, and an alert when one leaves the site's recent history.

One document per site, feed and run (``kind: quality``, id ``<run_id>:<feed>:quality:<site>``):
pages tried, articles, median body length, shares without a published date, flagged truncated or
paywalled, of text removed as boilerplate, in another language than the site's usual one, skipped
as not an article, and failed (fetch or extraction), plus the failure counts. An alert
(``kind: quality-alert``) is written, and a warning logged, when

- the median body length falls below ``body_drop_ratio`` x the lowest of the site's last
  ``history_runs`` runs, or rises above ``body_rise_ratio`` x the highest;
- a share leaves [lowest - ``share_tolerance``, highest + ``share_tolerance``] of that history;

once the site has ``min_history_runs`` earlier runs with at least ``min_articles`` pages each
(smaller runs are recorded but neither judged nor used as history).

A learned rule held back by the guard (pipeline.profiles.apply: it would have taken more than
15 % of an article's text) is an alert at once, history or not (``metric: learned_rule_held``, one
per site, feed, run and rule, with the rule's name, the articles it was held on and its largest
share of an article's text): a profile that learned article text needs a look (and a veto).
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.article import Article
from pipeline.config import CanarySettings
from pipeline.index.names import runlog_index

log = logging.getLogger(__name__)

SHARE_METRICS = (
    "share_no_date", "share_truncated", "share_boilerplate", "share_other_lang", "share_not_article", "share_failed",
)
METRICS = ("median_body_chars", *SHARE_METRICS)


@dataclass
class SiteRun:
    """What one run saw of one site."""

    site: str
    body_lengths: list[int] = field(default_factory=list)
    no_date: int = 0
    truncated: int = 0
    removed_chars: int = 0
    langs: Counter[str] = field(default_factory=Counter)
    fetch_failures: int = 0
    extract_failures: int = 0
    not_article: int = 0

    def add(self, article: Article) -> None:
        self.body_lengths.append(len(article.body))
        self.no_date += article.published_at is None
        self.truncated += bool({"truncated", "paywalled"} & set(article.flags))
        self.removed_chars += article.removed_chars
        self.langs[article.lang] += 1

    @property
    def articles(self) -> int:
        return len(self.body_lengths)

    @property
    def pages(self) -> int:
        return self.articles + self.fetch_failures + self.extract_failures + self.not_article


def quality_document(run: SiteRun, usual_lang: str | None) -> dict[str, Any]:
    n, pages = run.articles, run.pages
    body_chars = sum(run.body_lengths)
    main_lang = run.langs.most_common(1)[0][0] if run.langs else None
    usual = usual_lang or main_lang
    return {
        "site": run.site,
        "pages": pages,
        "articles": n,
        "median_body_chars": float(statistics.median(run.body_lengths)) if n else 0.0,
        "share_no_date": run.no_date / n if n else 0.0,
        "share_truncated": run.truncated / n if n else 0.0,
        "share_boilerplate": run.removed_chars / (run.removed_chars + body_chars) if body_chars else 0.0,
        "share_other_lang": sum(c for lang, c in run.langs.items() if lang != usual) / n if n else 0.0,
        "share_not_article": run.not_article / pages if pages else 0.0,
        "share_failed": (run.fetch_failures + run.extract_failures) / pages if pages else 0.0,
        "fetch_failures": run.fetch_failures,
        "extract_failures": run.extract_failures,
        "skipped_not_article": run.not_article,
        "main_lang": main_lang,
        "usual_lang": usual,
    }


@dataclass(frozen=True)
class Alert:
    site: str
    metric: str
    old_value: float  # the median of the site's history
    new_value: float
    low: float        # the band the new value left
    high: float

    @property
    def message(self) -> str:
        return (f"quality alert: site {self.site}: {self.metric} moved from {self.old_value:.3g} "
                f"(recent range {self.low:.3g}..{self.high:.3g}) to {self.new_value:.3g}")


@dataclass(frozen=True)
class HeldRuleAlert:
    """A learned rule the guard kept off ``articles`` articles of ``site`` in one run."""

    site: str
    rule: str
    articles: int
    max_share: float
    example_url: str
    metric: str = "learned_rule_held"

    @property
    def message(self) -> str:
        return (f"quality alert: site {self.site}: learned rule {self.rule} would have removed up to "
                f"{self.max_share:.0%} of an article's text; held back on {self.articles} article(s), "
                f"e.g. {self.example_url} (veto it in config/sites if it is article text)")


def record_held_rules(es: Elasticsearch, alias: str, alerts: list[HeldRuleAlert], *, run_id: str, feed: str) -> None:
    """Write and log one alert per held rule."""
    if not alerts:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    index = runlog_index(alias)
    for alert in alerts:
        log.warning("%s (run %s, feed %s)", alert.message, run_id, feed)
        es.index(index=index, id=f"{run_id}:{feed}:alert:{alert.site}:{alert.metric}:{alert.rule}", document={
            "kind": "quality-alert", "run_id": run_id, "feed": feed, "site": alert.site, "metric": alert.metric,
            "rule": alert.rule, "articles": alert.articles, "new_value": alert.max_share,
            "example_url": alert.example_url, "message": alert.message, "finished_at": now,
        })
    es.indices.refresh(index=index)


def judge(doc: dict[str, Any], history: list[dict[str, Any]], settings: CanarySettings) -> list[Alert]:
    """The metrics of ``doc`` that left ``history`` (earlier quality documents of the site)."""
    if doc["pages"] < settings.min_articles or len(history) < settings.min_history_runs:
        return []
    alerts = []
    for metric in METRICS:
        values = [float(h[metric]) for h in history if h.get(metric) is not None]
        if len(values) < settings.min_history_runs:
            continue
        new = float(doc[metric])
        if metric == "median_body_chars":
            low, high = settings.body_drop_ratio * min(values), settings.body_rise_ratio * max(values)
        else:
            low, high = min(values) - settings.share_tolerance, max(values) + settings.share_tolerance
        if not low <= new <= high:
            alerts.append(Alert(doc["site"], metric, float(statistics.median(values)), new, low, high))
    return alerts


def site_history(es: Elasticsearch, alias: str, site: str, settings: CanarySettings, *, exclude_run: str | None = None
                 ) -> list[dict[str, Any]]:
    """The site's last ``history_runs`` judged quality documents, newest first."""
    must_not = [{"term": {"run_id": exclude_run}}] if exclude_run else []
    resp = es.options(ignore_status=404).search(
        index=runlog_index(alias), size=settings.history_runs, sort=[{"finished_at": "desc"}],
        query={"bool": {
            "filter": [{"term": {"kind": "quality"}}, {"term": {"site": site}},
                       {"range": {"pages": {"gte": settings.min_articles}}}],
            "must_not": must_not,
        }},
    )
    return [hit["_source"] for hit in resp.get("hits", {}).get("hits", [])]


def _usual_lang(history: list[dict[str, Any]]) -> str | None:
    langs = Counter(h["main_lang"] for h in history if h.get("main_lang"))
    return langs.most_common(1)[0][0] if langs else None


def record_quality(
    es: Elasticsearch, alias: str, runs: dict[str, SiteRun], settings: CanarySettings, *, run_id: str, feed: str
) -> list[Alert]:
    """Write one quality document per site of this feed's run, judge it against the site's
    history, write and log the alerts; returns them."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    alerts: list[Alert] = []
    index = runlog_index(alias)
    for site, run in sorted(runs.items()):
        if run.pages == 0:
            continue
        history = site_history(es, alias, site, settings, exclude_run=run_id)
        doc = quality_document(run, _usual_lang(history))
        doc.update({"kind": "quality", "run_id": run_id, "feed": feed, "finished_at": now})
        es.index(index=index, id=f"{run_id}:{feed}:quality:{site}", document=doc)
        for alert in judge(doc, history, settings):
            log.warning("%s (run %s, feed %s)", alert.message, run_id, feed)
            es.index(index=index, id=f"{run_id}:{feed}:alert:{site}:{alert.metric}", document={
                "kind": "quality-alert", "run_id": run_id, "feed": feed, "site": site, "metric": alert.metric,
                "old_value": alert.old_value, "new_value": alert.new_value, "message": alert.message,
                "finished_at": now,
            })
            alerts.append(alert)
    es.indices.refresh(index=index)
    return alerts


def quality_trend(es: Elasticsearch, alias: str, *, site: str | None = None, runs: int = 10
                  ) -> dict[str, list[dict[str, Any]]]:
    """Per site, its last ``runs`` quality documents and alerts, oldest first (for the CLI)."""
    filters: list[dict[str, Any]] = [{"terms": {"kind": ["quality", "quality-alert"]}}]
    if site:
        filters.append({"term": {"site": site}})
    resp = es.options(ignore_status=404).search(
        index=runlog_index(alias), size=0, query={"bool": {"filter": filters}},
        aggs={"sites": {"terms": {"field": "site", "size": 500},
                        "aggs": {"last": {"top_hits": {"size": min(runs * 2, 100),
                                                       "sort": [{"finished_at": "desc"}]}}}}},
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for bucket in resp.get("aggregations", {}).get("sites", {}).get("buckets", []):
        docs = [h["_source"] for h in bucket["last"]["hits"]["hits"]]
        quality = [d for d in docs if d.get("kind") == "quality"][:runs]
        oldest = quality[-1]["finished_at"] if quality else ""
        alerts = [d for d in docs if d.get("kind") == "quality-alert" and d.get("finished_at", "") >= oldest]
        out[bucket["key"]] = sorted(quality + alerts, key=lambda d: (d.get("finished_at", ""), d.get("kind", "")))
    return out


def format_trend(trend: dict[str, list[dict[str, Any]]]) -> str:
    if not trend:
        return "no quality records yet (they are written by every ingestion run)"
    lines = []
    head = f"{'finished':20} {'feed':16} {'pages':>5} {'arts':>5} {'median':>7} {'nodate':>6} {'trunc':>6} " \
           f"{'boiler':>6} {'lang':>6} {'notart':>6} {'failed':>6}"
    for site, docs in sorted(trend.items()):
        lines += [f"== {site}", head]
        for d in docs:
            if d.get("kind") == "quality-alert":
                lines.append(f"   ALERT {d.get('message', '')}")
                continue
            lines.append(
                f"{d.get('finished_at', '')[:19]:20} {str(d.get('feed', ''))[:16]:16} {d.get('pages', 0):>5} "
                f"{d.get('articles', 0):>5} {d.get('median_body_chars', 0):>7.0f} "
                + " ".join(f"{100 * float(d.get(m) or 0):>5.0f}%" for m in SHARE_METRICS)
            )
    return "\n".join(lines)
