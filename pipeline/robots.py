"""robots.txt for the one HTTP client (RFC 9309), parsed with urllib.robotparser.

The client fetches robots.txt itself, through the same SSRF guard, limits and User-Agent as any
other request, and keeps one verdict per origin for the lifetime of the client (one task run), so
a feed run asks each site once. Status handling follows RFC 9309: 2xx -> parse the rules; 4xx ->
no rules, everything allowed; 5xx or unreachable -> assume complete disallow for this run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

# RFC 9309 2.5: crawlers must parse at least 500 KiB; more than that is not read.
MAX_ROBOTS_BYTES = 500 * 1024

DISALLOWED_REASON = "disallowed by robots.txt"


class RobotsUnavailable(Exception):
    """robots.txt could not be fetched (network error, timeout, too large); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# fetch(robots_url) -> (status, body); raises RobotsUnavailable when there is no HTTP answer.
RobotsFetcher = Callable[[str], tuple[int, bytes]]


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


class _Verdict:
    """The rules of one origin, or a blanket allow/deny with the reason it was chosen."""

    def __init__(self, parser: RobotFileParser | None, allow_all: bool, note: str = "") -> None:
        self.parser = parser
        self.allow_all = allow_all
        self.note = note

    def allows(self, user_agent: str, url: str) -> bool:
        if self.parser is not None:
            return self.parser.can_fetch(user_agent, url)
        return self.allow_all


class RobotsCache:
    """Per-origin robots.txt verdicts; thread-safe, one fetch per origin."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._verdicts: dict[str, _Verdict] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def check(self, url: str, fetch: RobotsFetcher) -> str | None:
        """None if ``url`` may be fetched, else the reason (starting with DISALLOWED_REASON).
        ``fetch`` is used only on the first request to the origin."""
        verdict = self._verdict(url, fetch)
        if verdict.allows(self.user_agent, url):
            return None
        return DISALLOWED_REASON + (f" ({verdict.note})" if verdict.note else "")

    def _verdict(self, url: str, fetch: RobotsFetcher) -> _Verdict:
        origin = _origin(url)
        with self._lock:
            lock = self._origin_locks.setdefault(origin, threading.Lock())
        with lock:
            verdict = self._verdicts.get(origin)
            if verdict is None:
                verdict = self._load(robots_url(url), fetch)
                self._verdicts[origin] = verdict
            return verdict

    @staticmethod
    def _load(url: str, fetch: RobotsFetcher) -> _Verdict:
        try:
            status, body = fetch(url)
        except RobotsUnavailable as exc:
            return _Verdict(None, allow_all=False, note=f"robots.txt unreachable: {exc.reason}")
        if status >= 500:
            return _Verdict(None, allow_all=False, note=f"robots.txt answered HTTP {status}")
        if status >= 400:
            return _Verdict(None, allow_all=True)
        parser = RobotFileParser(url)
        parser.parse(body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").splitlines())
        return _Verdict(parser, allow_all=False)
