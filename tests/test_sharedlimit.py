"""The per-host limiter shared through Elasticsearch: two limiters standing for two workers keep
the configured interval between their requests to one host together (two local limiters do not);
an unreachable Elasticsearch degrades to the local limiter without failing."""

from __future__ import annotations

import itertools
import logging
import threading
import time

from elasticsearch import Elasticsearch

from pipeline.config import ElasticsearchSettings
from pipeline.fetch.ratelimit import HostLimiter
from pipeline.fetch.sharedlimit import SharedHostLimiter
from pipeline.index.names import hostslots_index
from pipeline.index.template import ensure_index

INTERVAL = 0.25


def _starts(limiters: list[HostLimiter], host: str, per_worker: int = 4) -> list[float]:
    """Each limiter in its own thread (a worker) takes ``per_worker`` slots; the wall-clock times
    at which the requests would start, sorted."""
    starts: list[float] = []
    lock = threading.Lock()

    def worker(limiter: HostLimiter) -> None:
        for _ in range(per_worker):
            with limiter.slot(host), lock:
                starts.append(time.time())

    threads = [threading.Thread(target=worker, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(starts)


def _gaps(starts: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(starts)]


def test_two_workers_keep_the_interval_together(es, es_url, alias) -> None:
    ensure_index(es, ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0))
    local = _starts([HostLimiter(INTERVAL, 2), HostLimiter(INTERVAL, 2)], "news.example")
    assert min(_gaps(local)) < INTERVAL / 2  # two local limiters: both workers start at once

    clients = [Elasticsearch(es_url, request_timeout=10) for _ in range(2)]
    shared = _starts([SharedHostLimiter(c, alias, INTERVAL, 2) for c in clients], "News.Example")
    assert len(shared) == 8
    assert min(_gaps(shared)) >= INTERVAL - 0.03, _gaps(shared)
    doc = es.get(index=hostslots_index(alias), id="news.example")["_source"]
    assert doc["host"] == "news.example" and doc["next_start"] >= shared[-1] + INTERVAL - 0.05
    # another host is not held back by this one
    other = _starts([SharedHostLimiter(clients[0], alias, INTERVAL, 2)], "other.example", per_worker=1)
    assert len(other) == 1
    for client in clients:
        client.close()


class _SlowFirstWrite:
    """An Elasticsearch client whose first write answers ``delay`` seconds late (as the write that
    creates the index does, or any write on a stalled machine)."""

    def __init__(self, es: Elasticsearch, delay: float) -> None:
        self.es, self.delay, self.writes = es, delay, 0

    def options(self, **kwargs):
        return self.es.options(**kwargs)

    def index(self, **kwargs):
        result = self.es.index(**kwargs)
        self.writes += 1
        if self.writes == 1:
            time.sleep(self.delay)
        return result


def test_a_write_answered_after_its_reserved_start_reserves_again(es, es_url, alias) -> None:
    ensure_index(es, ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0))
    clients = [Elasticsearch(es_url, request_timeout=10) for _ in range(2)]
    slow = _SlowFirstWrite(clients[0], delay=0.3)
    limiters = [SharedHostLimiter(slow, alias, INTERVAL, 2), SharedHostLimiter(clients[1], alias, INTERVAL, 2)]
    starts: list[float] = []
    lock = threading.Lock()

    def first_request(limiter: SharedHostLimiter, after: float) -> None:
        time.sleep(after)
        with limiter.slot("late.example"), lock:
            starts.append(time.time())

    # the slow limiter reserves first; the other reads its reservation while the write still hangs
    threads = [threading.Thread(target=first_request, args=(limiters[0], 0.0)),
               threading.Thread(target=first_request, args=(limiters[1], 0.1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(starts) == 2 and slow.writes == 2  # the missed slot was reserved again
    assert min(_gaps(sorted(starts))) >= INTERVAL - 0.03, _gaps(sorted(starts))
    for client in clients:
        client.close()


def test_unreachable_elasticsearch_falls_back_to_the_local_limiter(caplog) -> None:
    dead = Elasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    limiter = SharedHostLimiter(dead, "nowhere", INTERVAL, 2)
    caplog.set_level(logging.WARNING, logger="pipeline.fetch.sharedlimit")
    started = time.monotonic()
    starts = _starts([limiter], "news.example", per_worker=3)
    elapsed = time.monotonic() - started
    assert len(starts) == 3 and min(_gaps(starts)) >= INTERVAL - 0.03  # the local interval still holds
    assert elapsed < 5  # one failed attempt, then the shared part rests
    warnings = [r.getMessage() for r in caplog.records if "shared per-host limiter unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_no_interval_means_no_shared_state(es, es_url, alias) -> None:
    ensure_index(es, ElasticsearchSettings(url=es_url, index_alias=alias, number_of_replicas=0))
    with SharedHostLimiter(es, alias, 0.0, 2).slot("fast.example"):
        pass
    es.indices.refresh(index=hostslots_index(alias))
    assert es.count(index=hostslots_index(alias))["count"] == 0
