"""Per-host politeness for the one HTTP client: a minimum interval between request starts to the
same host and a cap on concurrent requests per host. News sites ban crawlers that hammer them, and
one feed run fetches many pages from the same host in a row, so the limit is per host, not global.
A host may ask for more room than the configured interval (robots.txt ``Crawl-delay``):
:meth:`HostLimiter.set_floor` raises that host's interval, never lowers it below the configured one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class HostLimiter:
    """Thread-safe: ``with limiter.slot(host): ...`` waits until ``host`` may be contacted again.

    Start times are reserved under the lock (each caller gets the next free start time), and the
    sleeping happens outside it, so waiting for one host never blocks requests to another host.
    """

    def __init__(
        self,
        min_interval_s: float = 1.0,
        max_concurrent: int = 2,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min_interval_s < 0:
            raise ValueError("min_interval_s must be >= 0")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        self.min_interval_s = min_interval_s
        self.max_concurrent = max_concurrent
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}
        self._floor: dict[str, float] = {}

    def set_floor(self, host: str, seconds: float) -> None:
        """``host`` gets at least ``seconds`` between request starts (its robots.txt Crawl-delay),
        or the configured interval if that is longer."""
        with self._cond:
            self._floor[host.lower()] = max(0.0, seconds)

    def interval(self, host: str) -> float:
        """The minimum gap between request starts to ``host``: the configured interval, raised
        by the host's floor."""
        return max(self.min_interval_s, self._floor.get(host.lower(), 0.0))

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        key = host.lower()
        with self._cond:
            while self._active.get(key, 0) >= self.max_concurrent:
                self._cond.wait()
            self._active[key] = self._active.get(key, 0) + 1
            now = self._clock()
            start = max(now, self._next_start.get(key, now))
            self._next_start[key] = start + self.interval(key)
        try:
            if start > now:
                self._sleep(start - now)
            yield
        finally:
            with self._cond:
                self._active[key] -= 1
                if not self._active[key]:
                    del self._active[key]
                self._cond.notify_all()

    def active(self, host: str) -> int:
        """Requests to ``host`` in flight right now (for tests and diagnostics)."""
        with self._cond:
            return self._active.get(host.lower(), 0)
