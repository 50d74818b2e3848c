"""Per-feed leases in Elasticsearch: one runner polls a feed at a time, on any worker.

Two ingests of the same feeds at once (a manual ``ingest`` beside the nightly DAG, a DAG run that
overlaps the next, two Celery or Kubernetes workers) used to fetch every page twice and claim both
writes as "created" (issue 16.5). Before it polls a feed, a runner takes the feed's lease: one
document per feed in ``<alias>-leases`` (id: the feed state's id, a digest of the feed URL) with the
holder, its run and ``expires_at``.

- **Taken atomically**: a lease that does not exist yet is created with ``op_type=create``; an
  expired or released one is taken over with ``if_seq_no``/``if_primary_term`` of the version just
  read. Of two runners racing for it, exactly one write succeeds; the other gets a conflict, reads
  again and finds it held.
- **Expiry**: a lease is good for ``ingest.lease_ttl_s`` (default 120 s) from its last renewal, so
  a worker that died (``kill -9``, an evicted pod, Elasticsearch gone mid-feed) frees its feeds
  within that time. While the feed runs, a background thread renews the lease every
  ``ingest.lease_renew_every_s`` (default 30 s), however long the feed takes.
- **Released** at the end of the feed (``released: true``, ``expires_at`` now): the next runner
  takes it at once. The document stays, so the last holder of each feed remains visible.
- **A retry of the same task** (same ``run_id``, not the CLI's or a test's ``manual``) takes over its
  own run's lease at once: Airflow runs one try of a task at a time, and the previous try, which
  failed because Elasticsearch went away, could not release it.
- **Lost**: a renewal that finds the lease taken over by another runner (this one stalled longer
  than the TTL) marks it lost; the feed stops fetching pages and does not store its validators.

A runner that finds the feed held skips it and says so: ``skipped: leased by <holder> until <time>``
in its report, run log and summary. Expiry times are wall-clock, so workers need synchronised clocks
(NTP), as Airflow's scheduler needs anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, ConflictError, Elasticsearch

from pipeline.feeds.state import state_id
from pipeline.index.names import leases_index

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
SHARED_RUN_IDS = frozenset({"manual", ""})  # run ids that do not identify one task run


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def runner_name(run_id: str) -> str:
    """Who holds a lease, as shown to a person: the run, the host and the process."""
    return f"{run_id}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LeaseHeld:
    """Another runner's lease on the feed."""

    holder: str
    run_id: str | None
    expires_at: datetime

    def reason(self) -> str:
        return f"leased by {self.holder} until {_iso(self.expires_at)}"


class FeedLease:
    """The lease of one feed, for one runner (see the module doc)."""

    def __init__(
        self,
        es: Elasticsearch,
        alias: str,
        feed: str,
        feed_url: str,
        *,
        run_id: str,
        ttl_s: float = 120.0,
        renew_every_s: float = 30.0,
        clock: Callable[[], datetime] = _utcnow,
        holder: str | None = None,
    ) -> None:
        self.es = es
        self.index = leases_index(alias)
        self.id = state_id(feed_url)
        self.feed, self.feed_url, self.run_id = feed, feed_url, run_id
        self.holder = holder or runner_name(run_id)
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_every_s = renew_every_s
        self._clock = clock
        self._version: dict[str, int] | None = None  # if_seq_no/if_primary_term of our last write
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lost: str | None = None  # why the lease was lost while held
        self.taken_over: LeaseHeld | None = None  # the expired lease this runner took over
        self._taken_at = ""

    def _doc(self, now: datetime, taken_at: str) -> dict[str, Any]:
        return {
            "feed": self.feed, "url": self.feed_url, "holder": self.holder, "run_id": self.run_id,
            "taken_at": taken_at, "renewed_at": _iso(now), "expires_at": _iso(now + self.ttl), "released": False,
        }

    def _takeable(self, source: dict[str, Any], now: datetime) -> bool:
        if source.get("released"):
            return True
        if self.run_id not in SHARED_RUN_IDS and source.get("run_id") == self.run_id:
            return True  # a retry of the same task run
        return _expires(source) <= now

    def acquire(self) -> LeaseHeld | None:
        """Take the lease; None when taken, else the lease that holds the feed."""
        for _attempt in range(MAX_ATTEMPTS):
            now = self._clock()
            current = self.es.options(ignore_status=404).get(index=self.index, id=self.id)
            if current.get("found"):
                source = current["_source"]
                if not self._takeable(source, now):
                    return _held(source)
                concurrency: dict[str, Any] = {
                    "if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
            else:
                source, concurrency = {}, {"op_type": "create"}
            try:
                resp = self.es.index(index=self.index, id=self.id, document=self._doc(now, _iso(now)), **concurrency)
            except ConflictError:
                continue  # another runner wrote first: read again
            self._taken_at = _iso(now)
            self._version = {"if_seq_no": resp["_seq_no"], "if_primary_term": resp["_primary_term"]}
            if source and not source.get("released"):
                self.taken_over = _held(source)
                log.warning("feed %s: took over the lease of %s (expired %s)", self.feed, source.get("holder"),
                            source.get("expires_at"))
            return None
        current = self.es.get(index=self.index, id=self.id)
        return _held(current["_source"])

    def renew(self) -> bool:
        """Extend the lease by the TTL from now; False (and ``lost`` set) when another runner
        took it over. A failed request keeps the lease (the next beat tries again)."""
        with self._lock:
            if self._version is None or self.lost:
                return False
            now = self._clock()
            try:
                resp = self.es.index(index=self.index, id=self.id, document=self._doc(now, self._taken_at),
                                     **self._version)
            except ConflictError:
                current = self.es.options(ignore_status=404).get(index=self.index, id=self.id)
                holder = (current.get("_source") or {}).get("holder", "another runner")
                self.lost = f"lease lost: taken over by {holder} (not renewed within {self.ttl.total_seconds():g} s)"
                log.error("feed %s: %s", self.feed, self.lost)
                self._stop.set()
                return False
            except (TransportError, ApiError) as exc:
                log.warning("feed %s: lease not renewed (%s); trying again in %g s", self.feed, exc,
                            self.renew_every_s)
                return True
            self._version = {"if_seq_no": resp["_seq_no"], "if_primary_term": resp["_primary_term"]}
            return True

    def release(self) -> None:
        """Free the lease for the next runner (best effort: when Elasticsearch is gone, the
        lease expires by itself)."""
        self._stop.set()
        with self._lock:
            if self._version is None or self.lost:
                return
            now = self._clock()
            doc = {**self._doc(now, self._taken_at), "expires_at": _iso(now), "released": True,
                   "released_at": _iso(now)}
            try:
                self.es.index(index=self.index, id=self.id, document=doc, **self._version)
            except ConflictError:
                log.warning("feed %s: lease was taken over before it was released", self.feed)
            except (TransportError, ApiError) as exc:
                log.warning("feed %s: lease not released (%s); it expires by itself", self.feed, exc)
            self._version = None

    @contextmanager
    def heartbeat(self) -> Iterator[FeedLease]:
        """Renew the lease every ``renew_every_s`` in a background thread while the block runs;
        release it at the end."""
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(self.renew_every_s):
                self.renew()

        thread = threading.Thread(target=beat, name=f"lease-{self.feed}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=5)
            self.release()


def _expires(source: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(source.get("expires_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: treat as expired


def _held(source: dict[str, Any]) -> LeaseHeld:
    return LeaseHeld(str(source.get("holder") or "another runner"), source.get("run_id"), _expires(source))
