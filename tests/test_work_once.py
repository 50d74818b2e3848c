"""Work done once (issue 16.5), against the real local node and a real local news site that counts
every request: two concurrent ingests of the same feeds fetch each page once and their run logs add
up to the documents indexed (per-feed leases, pipeline.feeds.lease); an expired lease is taken over;
a page that failed permanently is not fetched again before its backoff, is after it, and does not
cost its feed the validators (pipeline.run.pagefailures); a transient failure is retried as before."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.e2e_site import SiteLayout, make_article, render_page
from pipeline.config import load_settings
from pipeline.feeds.lease import FeedLease
from pipeline.feeds.state import state_id
from pipeline.index.client import es_client
from pipeline.index.names import feedstate_index, leases_index, pagefailures_index, runlog_index
from pipeline.index.template import ensure_index
from pipeline.run.ingest import ingest_feed
from pipeline.samplesite.feeds import entry_for
from pipeline.samplesite.render import render_rss
from tests.conftest import ROOT, write_config


class NewsSite:
    """Feeds of generated article pages (bench.e2e_site's pages) on 127.0.0.1, with ETags, a
    robots.txt, fault pages, a count of requests per path, and a gate: page requests of feed 1
    wait until feed 2 was requested (so a second runner is sure to meet the first one's lease)."""

    def __init__(self, feeds: int, pages_per_feed: int, *, gate: bool = False) -> None:
        self.layout = SiteLayout(pages=feeds * pages_per_feed, hosts=1, feeds_per_host=feeds)
        self.feeds = feeds
        self.hits: Counter[str] = Counter()
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.gate = threading.Event() if gate else None
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with site.lock:
                    site.hits[self.path] += 1
                if site.gate is not None:
                    if self.path == "/feeds/1.xml":
                        site.gate.set()
                    elif self.path in site.gated:
                        site.gate.wait(60)
                status, content_type, body = site.routes.get(self.path, (404, "text/plain", b"not found"))
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if status == 200 and self.path.startswith("/feeds/") and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if self.path.startswith("/feeds/"):
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.routes["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
        self.entries: dict[int, list] = {f: [] for f in range(feeds)}
        self.gated: set[str] = set()
        for page in range(self.layout.pages):
            article = make_article(self.layout, page)
            feed = self.layout.feed_of(page)
            self.routes[article.path] = (200, "text/html; charset=utf-8", render_page(self.layout, page, self.base))
            self.entries[feed].append(entry_for(article, self.base))
            if feed == 0:
                self.gated.add(article.path)
        for feed in range(feeds):
            self.render_feed(feed)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def pages(self) -> list[str]:
        return [p for p in self.routes if p.endswith(".html")]

    def render_feed(self, feed: int) -> None:
        xml = render_rss(self.entries[feed], self.base, f"Feed {feed}", f"/feeds/{feed}.xml")
        self.routes[f"/feeds/{feed}.xml"] = (200, "application/rss+xml; charset=utf-8", xml.encode("utf-8"))

    def add_entry(self, feed: int, path: str, *, like: int = 0) -> None:
        """An entry linking to ``path`` (served or not), shaped like the feed's ``like``-th entry."""
        model = self.entries[feed][like]
        self.entries[feed].append(replace(model, link=self.base + path, rss_guid=path, atom_id=path,
                                          title=f"Eintrag {path}"))
        self.render_feed(feed)

    def feed_configs(self) -> list[dict]:
        return [{"name": f"feed-{f + 1}", "url": f"{self.base}/feeds/{f}.xml", "lang": "de",
                 "allow_networks": ["127.0.0.1/32"]} for f in range(self.feeds)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cli_ingest(config: Path) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--config", str(config), "ingest"],
        cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_concurrent_ingests_fetch_each_page_once_and_the_run_logs_add_up(es, es_url, alias, tmp_path) -> None:
    site = NewsSite(feeds=3, pages_per_feed=5, gate=True)
    try:
        config = write_config(tmp_path, es_url=es_url, alias=alias, feeds=site.feed_configs())
        first, second = _cli_ingest(config), _cli_ingest(config)
        outputs = [p.communicate(timeout=300) for p in (first, second)]
        assert [p.returncode for p in (first, second)] == [0, 0], [o[1][-2000:] for o in outputs]
        reports = [json.loads(stdout) for stdout, _stderr in outputs]
        stderr = "\n".join(err for _out, err in outputs)
    finally:
        site.stop()
    pages = site.pages()
    assert len(pages) == 15
    assert {p: site.hits[p] for p in pages} == dict.fromkeys(pages, 1)  # every page fetched once
    es.indices.refresh(index=f"{alias}*")
    indexed = es.count(index=alias)["count"]
    assert indexed == 15
    # the feed the gate held was skipped by the other runner, and it said so
    skipped = [r for run in reports for r in run if r.get("skipped")]
    assert skipped and all(r["skipped"].startswith("leased by cli-") and " until " in r["skipped"] for r in skipped)
    assert "feed(s) skipped, another runner has them" in stderr and "skipped: leased by cli-" in stderr
    # the run logs add up: created over both runs is the number of documents
    run_docs = [h["_source"] for h in es.search(index=runlog_index(alias), query={"term": {"kind": "ingest"}},
                                                size=100)["hits"]["hits"]]
    assert len(run_docs) == sum(len(run) for run in reports) == 6
    assert sum(d["created"] for d in run_docs) == indexed
    assert sum(d["updated"] for d in run_docs) == 0
    assert sum(d["created"] + d["updated"] + d["unchanged"] for d in run_docs) == sum(
        d["extracted"] for d in run_docs)
    assert sum(1 for d in run_docs if d.get("skipped")) == len(skipped)
    # every lease was released at the end
    leases = [h["_source"] for h in es.search(index=leases_index(alias), size=10)["hits"]["hits"]]
    assert len(leases) == 3 and all(lease["released"] for lease in leases)


def _settings(tmp_path: Path, es_url: str, alias: str, feeds: list[dict], **http: object):
    settings = load_settings(write_config(tmp_path, es_url=es_url, alias=alias, feeds=feeds, **http), env={})
    client = es_client(settings.elasticsearch)
    ensure_index(client, settings.elasticsearch)
    return settings, client


def test_a_held_lease_skips_the_feed_and_an_expired_one_is_taken_over(es, es_url, alias, tmp_path) -> None:
    site = NewsSite(feeds=1, pages_per_feed=2)
    try:
        settings, client = _settings(tmp_path, es_url, alias, site.feed_configs())
        feed = settings.feeds[0]
        t0 = datetime.now(UTC)
        dead = FeedLease(client, alias, feed.name, feed.url, run_id="run-dead", ttl_s=120, clock=lambda: t0,
                         holder="run-dead@worker-1:42")
        assert dead.acquire() is None  # a runner that took the lease, then died without releasing it

        held = ingest_feed(feed, settings, es=client, run_id="run-2", clock=lambda: t0 + timedelta(seconds=60))
        until = (t0 + timedelta(seconds=120)).isoformat(timespec="seconds")
        assert held.skipped == f"leased by run-dead@worker-1:42 until {until}"
        assert (held.fetched, held.created, held.leased_by) == (0, 0, "run-dead@worker-1:42")
        assert site.hits["/feeds/0.xml"] == 0
        client.indices.refresh(index=runlog_index(alias))
        [logged] = client.search(index=runlog_index(alias), query={"term": {"run_id": "run-2"}})["hits"]["hits"]
        assert logged["_source"]["skipped"] == held.skipped

        later = lambda: t0 + timedelta(seconds=121)  # the lease expired: taken over
        report = ingest_feed(feed, settings, es=client, run_id="run-3", clock=later)
        assert report.skipped is None and (report.fetched, report.created) == (2, 2)
        lease = client.get(index=leases_index(alias), id=dead.id)["_source"]
        assert lease["holder"].startswith("run-3@") and lease["released"] is True
        assert dead.renew() is False and dead.lost and "run-3@" in dead.lost  # the dead runner, back, knows
    finally:
        site.stop()


def test_a_lease_is_renewed_during_a_long_feed_and_refused_to_a_second_runner(es, alias) -> None:
    url = "http://127.0.0.1:1/feed.xml"
    lease = FeedLease(es, alias, "slow", url, run_id="run-a", ttl_s=2, renew_every_s=0.3)
    assert lease.acquire() is None
    first = es.get(index=leases_index(alias), id=lease.id)
    with lease.heartbeat():
        threading.Event().wait(1.2)
        renewed = es.get(index=leases_index(alias), id=lease.id)
        assert renewed["_seq_no"] >= first["_seq_no"] + 2
        assert renewed["_source"]["expires_at"] > first["_source"]["expires_at"]
        rival = FeedLease(es, alias, "slow", url, run_id="run-b", ttl_s=2)
        held = rival.acquire()
        assert held is not None and held.holder == lease.holder
        threading.Event().wait(2.5)  # longer than the TTL: still held, because it is renewed
        assert rival.acquire() is not None
    assert es.get(index=leases_index(alias), id=lease.id)["_source"]["released"] is True
    assert rival.acquire() is None  # released: the next runner takes it at once
    rival.release()
    # a retry of the same task run takes over its own run's lease without waiting for expiry
    crashed = FeedLease(es, alias, "slow", url, run_id="dag-run-7", ttl_s=600)
    assert crashed.acquire() is None
    assert FeedLease(es, alias, "slow", url, run_id="dag-run-7", ttl_s=600).acquire() is None
    assert FeedLease(es, alias, "slow", url, run_id="dag-run-8", ttl_s=600).acquire() is not None


def test_racing_runners_get_the_lease_exactly_once(es, alias) -> None:
    url = "http://127.0.0.1:1/race.xml"
    winners: list[str] = []
    start = threading.Barrier(6)

    def race(n: int) -> None:
        lease = FeedLease(es, alias, "race", url, run_id=f"run-{n}", ttl_s=60)
        start.wait()
        if lease.acquire() is None:
            winners.append(lease.holder)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


FAILING = {
    "/gone-404.html": (404, "text/plain", b"not found"),
    "/gone-410.html": (410, "text/plain", b"gone"),
    "/paper.pdf": (200, "application/pdf", b"%PDF-1.4"),
    "/private/page.html": (200, "text/html; charset=utf-8", b"<html><body>robots say no</body></html>"),
    "/section.html": (200, "text/html; charset=utf-8", (
        "<html><head><title>Politik</title></head><body><h1>Politik</h1><ul>"
        + "".join(f'<li><a href="/a/{i}.html">Meldung Nummer {i} aus der Politik</a></li>' for i in range(30))
        + "</ul></body></html>").encode("utf-8")),
}


def test_a_permanently_failing_page_waits_for_its_backoff_and_the_feed_keeps_its_validators(
    es, es_url, alias, tmp_path
) -> None:
    site = NewsSite(feeds=2, pages_per_feed=2)
    for path in FAILING:
        site.add_entry(0, path)
    site.routes.update({p: v for p, v in FAILING.items() if p.startswith("/") and p != "/gone-404.html"})
    site.routes["/flaky.html"] = (500, "text/plain", b"try later")
    site.add_entry(1, "/flaky.html")
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    try:
        settings, client = _settings(tmp_path, es_url, alias, site.feed_configs(), max_retries=0)
        perm, transient = settings.feeds

        def run(feed, at: datetime):
            return ingest_feed(feed, settings, es=client, run_id=f"run-{at:%d%H%M}", clock=lambda: at)

        first = run(perm, t0)
        assert first.created == 2 and first.failures_remembered == 5
        assert {(f.url.removeprefix(site.base), f.permanent) for f in first.failures} == {
            ("/gone-404.html", True), ("/gone-410.html", True), ("/paper.pdf", True), ("/private/page.html", True)}
        assert first.skipped_not_article == 1
        assert {p: site.hits[p] for p in FAILING} == {p: (0 if p.startswith("/private/") else 1) for p in FAILING}
        state = client.get(index=feedstate_index(alias), id=state_id(perm.url))["_source"]
        assert state["etag"], "the permanent failures cost the feed its validators"
        client.indices.refresh(index=pagefailures_index(alias))
        remembered = {h["_source"]["url"].removeprefix(site.base): h["_source"] for h in client.search(
            index=pagefailures_index(alias), size=20)["hits"]["hits"]}
        assert {p: r["kind"] for p, r in remembered.items()} == {
            "/gone-404.html": "http-404", "/gone-410.html": "http-410", "/paper.pdf": "not-a-page-type",
            "/private/page.html": "robots", "/section.html": "not-an-article"}
        assert all(r["retry_at"] == "2026-12-02T08:00:00+00:00" and r["failures"] == 1 for r in remembered.values())

        # the transient failure keeps today's behaviour: no validators, retried on the next run
        flaky = run(transient, t0)
        assert [(f.url.removeprefix(site.base), f.reason, f.permanent) for f in flaky.failures] == [
            ("/flaky.html", "HTTP 500", False)]
        assert not client.get(index=feedstate_index(alias), id=state_id(transient.url))["_source"].get(
            "etag")
        assert run(transient, t0 + timedelta(hours=1)).failures and site.hits["/flaky.html"] == 2

        # an hour later, unchanged: a 304 (the stored validators); then a new entry: the failing
        # pages are held back, not fetched
        assert run(perm, t0 + timedelta(hours=1)).not_modified
        site.routes["/fresh.html"] = site.routes[site.pages()[0]]
        site.add_entry(0, "/fresh.html")
        second = run(perm, t0 + timedelta(hours=2))
        assert not second.not_modified and second.skipped_failed == 5 and second.failures == []
        assert {p: site.hits[p] for p in FAILING} == {p: (0 if p.startswith("/private/") else 1) for p in FAILING}

        # after a day: due again. The feed did not change, yet the pages are tried (the poll goes
        # without validators); the 404 page works now and is indexed and forgotten
        site.routes["/gone-404.html"] = site.routes[site.pages()[1]]
        third = run(perm, t0 + timedelta(days=1, minutes=1))
        assert not third.not_modified and third.skipped_failed == 0
        assert {p: site.hits[p] for p in FAILING} == {p: (0 if p.startswith("/private/") else 2) for p in FAILING}
        assert third.failures_remembered == 4
        client.indices.refresh(index=pagefailures_index(alias))
        again = {h["_source"]["url"].removeprefix(site.base): h["_source"] for h in client.search(
            index=pagefailures_index(alias), size=20)["hits"]["hits"]}
        assert "/gone-404.html" not in again and len(again) == 4
        assert all(r["failures"] == 2 and r["retry_at"] == "2026-12-09T08:01:00+00:00" for r in again.values())

        # then a week: not on day 3 (a 304, nothing due), but on day 9
        assert run(perm, t0 + timedelta(days=3)).not_modified
        fourth = run(perm, t0 + timedelta(days=8, minutes=2))
        assert {p: site.hits[p] for p in FAILING if p != "/gone-404.html"} == {
            p: (0 if p.startswith("/private/") else 3) for p in FAILING if p != "/gone-404.html"}
        assert fourth.failures_remembered == 4
    finally:
        site.stop()
