"""Per-host politeness shared by every worker: the next allowed request start of each host kept
in Elasticsearch, so parallel tasks (a backfill's mapped tasks beside each other and beside the
nightly run, on any executor) are polite to a site together instead of each on its own.

A request to a host first goes through the process's own :class:`~pipeline.fetch.ratelimit.HostLimiter`
(its concurrency cap and interval), then reserves a start time in the ``<alias>-hostslots`` index:
read the host's ``next_start``, write ``max(now, next_start) + min_interval_s`` back with optimistic
concurrency (``if_seq_no``/``if_primary_term``, ``op_type=create`` for a new host), retry on a
conflict, then sleep until the reserved start. Start times are wall-clock seconds, so workers on
different machines need synchronised clocks (NTP), as Airflow's scheduler does anyway.

Each start is reserved a little ahead (twice the last write's latency, 20-500 ms), so the request
starts at its reserved time unless the write took longer than that; a write that returns after its
reserved start (the first write of a run creates the index, a loaded machine stalls) gives that
slot up and reserves again with the longer lead, since the next worker may already hold the slot
one interval after the one that was missed. What it does not do: cap
concurrent requests across processes (only the spacing of their starts;
with the default 1 s interval a site sees at most about one request a second in all). With
``per_host_min_interval_s: 0`` (and no robots.txt Crawl-delay for the host) there is nothing to share
and no request is made. If Elasticsearch
cannot be reached, the request goes ahead on the local limiter alone, with a warning, and the shared
part rests for a minute: politeness degrades to per task, the run does not stop or crawl for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from elastic_transport import TransportError
from elasticsearch import ApiError, ConflictError, Elasticsearch

from pipeline.fetch.ratelimit import HostLimiter
from pipeline.index.names import hostslots_index

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 50
RETRY_AFTER_S = 60.0
MIN_LEAD_S, MAX_LEAD_S = 0.02, 0.5
# a reservation that the write returned later than this after its start is given up and made again
LATE_TOLERANCE_S = 0.01


class SharedHostLimiter(HostLimiter):
    """A HostLimiter whose start times are also reserved in Elasticsearch (see the module doc)."""

    def __init__(
        self,
        es: Elasticsearch,
        alias: str,
        min_interval_s: float = 1.0,
        max_concurrent: int = 2,
        *,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(min_interval_s, max_concurrent, sleep=sleep)
        self.es = es
        self.index = hostslots_index(alias)
        self._wall_clock = wall_clock
        self._paused_until = 0.0  # after a failure, the shared part rests for RETRY_AFTER_S
        self._lead = 0.1

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with super().slot(host):
            if self.interval(host) > 0 and time.monotonic() >= self._paused_until:
                wait = self._reserve(host.lower())
                if wait > 0:
                    self._sleep(wait)
            yield

    def _reserve(self, host: str) -> float:
        """Seconds to wait before the reserved start (0 when Elasticsearch is unreachable)."""
        try:
            for _attempt in range(MAX_CONFLICT_RETRIES):
                current = self.es.options(ignore_status=404).get(index=self.index, id=host)
                now = self._wall_clock()
                # reserve a start no earlier than the write will have ended (``_lead``: twice the
                # last write's latency), so the request does not start later than reserved
                earliest = now + self._lead
                if current.get("found"):
                    start = max(earliest, float(current["_source"].get("next_start") or 0.0))
                    concurrency = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
                else:
                    start, concurrency = earliest, {"op_type": "create"}
                try:
                    self.es.index(index=self.index, id=host, document={
                        "host": host, "next_start": start + self.interval(host)}, **concurrency)
                except ConflictError:
                    continue  # another worker reserved first: read again
                after = self._wall_clock()
                self._lead = min(MAX_LEAD_S, max(MIN_LEAD_S, 2 * (after - now)))
                if after - start > LATE_TOLERANCE_S:
                    continue  # the reserved start has passed: starting now could crowd the next slot
                return start - after
            log.warning("host %s: no shared slot after %d conflicts; going ahead", host, MAX_CONFLICT_RETRIES)
        except (TransportError, ApiError) as exc:
            log.warning("shared per-host limiter unavailable (%s); politeness is per task for the next %.0f s",
                        exc, RETRY_AFTER_S)
            self._paused_until = time.monotonic() + RETRY_AFTER_S
        return 0.0
