"""robots.txt for the one HTTP client (RFC 9309), parsed with protego (Scrapy's parser).

protego, not ``urllib.robotparser``: the standard library ignores the ``*`` and ``$`` wildcards and
applies the first matching rule instead of the longest, so ``Disallow: /*.pdf$`` and
``Disallow: /*?sessionid=`` were not applied and ``Disallow: /news/`` + ``Allow: /news/public/``
refused an allowed page (issue 16). protego follows RFC 9309: the longest match wins, and an
``Allow`` as long as a ``Disallow`` wins the tie.

The client fetches robots.txt itself, through the same SSRF guard, limits and User-Agent as any
other request, and keeps one verdict per origin for the lifetime of the client (one task run), so
a feed run asks each site once. Status handling follows RFC 9309: 2xx -> parse the rules; 4xx ->
no rules, everything allowed; 5xx -> assume complete disallow for this run. When robots.txt cannot
be fetched at all (the host does not answer, a timeout), that is what is reported, for every page of
the origin this run: :class:`RobotsUnavailable` with the reason, which the client turns into a fetch
failure ("host unreachable: ..."), not a robots.txt refusal.

``Crawl-delay`` (a non-standard but common line) is read for our User-Agent's group; the client
uses it as a floor of the per-host interval, capped at :data:`MAX_CRAWL_DELAY_S`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

log = logging.getLogger(__name__)

# RFC 9309 2.5: crawlers must parse at least 500 KiB; more than that is not read.
MAX_ROBOTS_BYTES = 500 * 1024

# A Crawl-delay above this is honoured as this: one site's ``Crawl-delay: 86400`` would otherwise
# stall the task for days (one page a day). Logged when it applies.
MAX_CRAWL_DELAY_S = 60.0

DISALLOWED_REASON = "disallowed by robots.txt"


class RobotsUnavailable(Exception):
    """robots.txt could not be fetched (network error, timeout, too large); ``reason`` says why,
    ``unreachable`` whether the host did not answer at all (connection refused or timed out, name
    not resolved)."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


# fetch(robots_url) -> (status, body); raises RobotsUnavailable when there is no HTTP answer.
RobotsFetcher = Callable[[str], tuple[int, bytes]]


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


class _Verdict:
    """The rules of one origin, a blanket allow/deny with the reason it was chosen, or the
    failure to fetch robots.txt at all."""

    def __init__(
        self, parser: Protego | None, allow_all: bool, note: str = "", failure: RobotsUnavailable | None = None
    ) -> None:
        self.parser = parser
        self.allow_all = allow_all
        self.note = note
        self.failure = failure
        self.delay: float | None = None  # Crawl-delay for our User-Agent, capped (set by the cache)

    def allows(self, user_agent: str, url: str) -> bool:
        if self.parser is not None:
            return self.parser.can_fetch(url, user_agent)
        return self.allow_all

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None and delay > 0 else None


class RobotsCache:
    """Per-origin robots.txt verdicts; thread-safe, one fetch per origin."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._verdicts: dict[str, _Verdict] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def check(self, url: str, fetch: RobotsFetcher) -> str | None:
        """None if ``url`` may be fetched, else the reason (starting with DISALLOWED_REASON).
        ``fetch`` is used only on the first request to the origin. Raises RobotsUnavailable (the
        same one for every URL of the origin this run) when robots.txt could not be fetched."""
        verdict = self._verdict(url, fetch)
        if verdict.failure is not None:  # a fresh exception each time: no traceback piles up
            raise RobotsUnavailable(verdict.failure.reason, unreachable=verdict.failure.unreachable)
        if verdict.allows(self.user_agent, url):
            return None
        return DISALLOWED_REASON + (f" ({verdict.note})" if verdict.note else "")

    def crawl_delay(self, url: str) -> float | None:
        """The origin's Crawl-delay for our User-Agent in seconds (capped at MAX_CRAWL_DELAY_S),
        None without one or before its robots.txt was read."""
        with self._lock:
            verdict = self._verdicts.get(_origin(url))
        return verdict.delay if verdict is not None else None

    def _verdict(self, url: str, fetch: RobotsFetcher) -> _Verdict:
        origin = _origin(url)
        with self._lock:
            lock = self._origin_locks.setdefault(origin, threading.Lock())
        with lock:
            with self._lock:
                verdict = self._verdicts.get(origin)
            if verdict is None:
                verdict = self._load(robots_url(url), fetch)
                delay = verdict.crawl_delay(self.user_agent)
                if delay is not None and delay > MAX_CRAWL_DELAY_S:
                    log.warning("%s: Crawl-delay %g s honoured as %g s", origin, delay, MAX_CRAWL_DELAY_S)
                    delay = MAX_CRAWL_DELAY_S
                verdict.delay = delay
                with self._lock:
                    self._verdicts[origin] = verdict
            return verdict

    @staticmethod
    def _load(url: str, fetch: RobotsFetcher) -> _Verdict:
        try:
            status, body = fetch(url)
        except RobotsUnavailable as exc:
            return _Verdict(None, allow_all=False, failure=exc)
        if status >= 500:
            return _Verdict(None, allow_all=False, note=f"robots.txt answered HTTP {status}")
        if status >= 400:
            return _Verdict(None, allow_all=True)
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return _Verdict(Protego.parse(text), allow_all=False)
