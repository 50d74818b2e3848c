"""A real local HTTP server for the sample news site (articles, feeds, fault endpoints)."""

from __future__ import annotations

import hashlib
import math
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from pipeline.samplesite.archive import (
    SITEMAP_ALL_PATH,
    SITEMAP_INDEX_PATH,
    SITEMAP_PAGES_PATH,
    archive_article_by_path,
    day_sitemap_day,
    gzip_bytes,
    parse_day_page_path,
    render_all_sitemap,
    render_archive_article,
    render_day_page,
    render_day_sitemap,
    render_pages_sitemap,
    render_sitemap_index,
)
from pipeline.samplesite.articles import SampleArticle, load_articles
from pipeline.samplesite.feeds import (
    ATOM_PATH,
    RSS_PATH,
    atom_entries,
    broken_links_entries,
    last_modified,
    rss_entries,
)
from pipeline.samplesite.render import render_article, render_atom, render_index, render_rss

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
XML = "application/xml; charset=utf-8"
GZIP = "application/gzip"

SLOW_DEFAULT_SECONDS = 10.0
SLOW_MAX_SECONDS = 30.0
FAULT_500_PATH = "/faults/500.xml"
FAULT_SLOW_PATH = "/faults/slow.xml"
FAULT_NOT_XML_PATH = "/faults/not-xml.xml"
FAULT_BROKEN_LINKS_PATH = "/faults/broken-links.xml"

_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_NOT_XML_BODY = (
    "Wartungsarbeiten\n\nDieser Feed ist vorübergehend nicht verfügbar. "
    "Bitte versuchen Sie es später erneut. {{ not: xml }} <<< & >>>\n"
)


def slow_seconds(query: str) -> float:
    """Delay for /faults/slow.xml: ``?seconds=N`` (default 10), clamped to 0..30; with ``meet``,
    the longest wait for the other parties (see ``_MeetingPoint``)."""
    values = parse_qs(query).get("seconds")
    try:
        seconds = float(values[0]) if values else SLOW_DEFAULT_SECONDS
    except ValueError:
        seconds = SLOW_DEFAULT_SECONDS
    if math.isnan(seconds):
        seconds = SLOW_DEFAULT_SECONDS
    return min(max(seconds, 0.0), SLOW_MAX_SECONDS)


class _MeetingPoint:
    """Where requests to /faults/slow.xml?meet=KEY&parties=N wait for one another.

    A request with ``meet`` waits until N requests with that key have arrived (counting itself and
    the ones before it), or until its ``seconds`` have passed, whichever is first. One meeting point
    serves every SampleSite of the process, so requests to two sites on different addresses can
    meet: a test that needs two tasks to run at the same time makes each fetch such a feed, and each
    task's fetch then lasts until the other task is running too, however far apart they started."""

    MAX_KEYS = 1024  # the server may be reachable by others (serve-sample): bounded memory

    def __init__(self) -> None:
        self._arrived: Counter[str] = Counter()
        self._changed = threading.Condition()

    def wait(self, key: str, parties: int, timeout: float) -> bool:
        """Arrive at ``key``; True once ``parties`` have arrived, False after ``timeout`` seconds
        (a new key when MAX_KEYS keys are known just waits ``timeout`` seconds: no meeting)."""
        with self._changed:
            if key in self._arrived or len(self._arrived) < self.MAX_KEYS:
                self._arrived[key] += 1
                self._changed.notify_all()
                return self._changed.wait_for(lambda: self._arrived[key] >= parties, timeout=timeout)
        time.sleep(timeout)
        return False

    def arrived(self, key: str) -> int:
        with self._changed:
            return self._arrived[key]


MEETING_POINT = _MeetingPoint()


def meeting(query: str) -> tuple[str, int] | None:
    """``(key, parties)`` of a /faults/slow.xml query with ``meet=KEY`` (at most 64 characters;
    parties default 2, 1..16)."""
    params = parse_qs(query)
    key = (params.get("meet") or [""])[0]
    if not key or len(key) > 64:
        return None
    raw = (params.get("parties") or ["2"])[0]
    parties = int(raw) if raw.isdigit() else 2
    return key, min(max(parties, 1), 16)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, modified: datetime
) -> bool:
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= since
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    verbose = False
    fallback_base_url = ""
    articles_by_path: dict[str, SampleArticle]
    # request counts per request target (path and query) and injected faults, for tests
    hits: Counter[str]
    fail_next: dict[str, int]
    state_lock: threading.Lock

    def handle_error(self, request: object, client_address: object) -> None:
        if self.verbose:
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "SampleNewsSite/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    # -- helpers ---------------------------------------------------------------------------

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}" if _HOST_HEADER.match(host) else self.server.fallback_base_url

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head and status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(body)

    def _send_feed(self, text: str, content_type: str, modified: datetime, head: bool) -> None:
        body = text.encode("utf-8")
        etag = _etag(body)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
            "Cache-Control": "max-age=300",
        }
        if _not_modified(
            self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), etag, modified
        ):
            self._send(HTTPStatus.NOT_MODIFIED, b"", content_type, head, headers)
        else:
            self._send(HTTPStatus.OK, body, content_type, head, headers)

    def _injected_fault(self) -> bool:
        """Count the request; answer 500 if a test asked for a fault on this target."""
        with self.server.state_lock:
            self.server.hits[self.path] += 1
            left = self.server.fail_next.get(self.path, 0)
            if left:
                self.server.fail_next[self.path] = left - 1
        return left > 0

    def _dispatch(self, head: bool) -> None:
        url = urlsplit(self.path)
        path, base = url.path, self._base_url()
        if self._injected_fault():
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"<h1>500 Internal Server Error</h1>", HTML, head)
            return
        article = self.server.articles_by_path.get(path)
        if article is not None:
            self._send(HTTPStatus.OK, render_article(article, base).encode("utf-8"), HTML, head)
        elif self._dispatch_archive(path, url.query, base, head):
            pass
        elif path == "/":
            self._send(HTTPStatus.OK, render_index(base).encode("utf-8"), HTML, head)
        elif path == "/robots.txt":
            self._send(HTTPStatus.OK, b"User-agent: *\nAllow: /\n", TEXT, head)
        elif path == RSS_PATH:
            entries = rss_entries(base)
            text = render_rss(entries, base, "Sample-Nachrichten – Alle Meldungen", RSS_PATH)
            self._send_feed(text, RSS, last_modified(entries), head)
        elif path == ATOM_PATH:
            entries = atom_entries(base)
            text = render_atom(entries, base, "Sample-Nachrichten – Hintergrund", ATOM_PATH)
            self._send_feed(text, ATOM, last_modified(entries), head)
        elif path == FAULT_500_PATH:
            body = b"<h1>500 Internal Server Error</h1>"
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, body, HTML, head)
        elif path == FAULT_SLOW_PATH:
            meet = meeting(url.query)
            if meet is None:
                time.sleep(slow_seconds(url.query))
            else:
                MEETING_POINT.wait(*meet, timeout=slow_seconds(url.query))
            entries = rss_entries(base)
            text = render_rss(entries, base, "Sample-Nachrichten – Langsamer Feed", FAULT_SLOW_PATH)
            self._send(HTTPStatus.OK, text.encode("utf-8"), RSS, head)
        elif path == FAULT_NOT_XML_PATH:
            self._send(HTTPStatus.OK, _NOT_XML_BODY.encode("utf-8"), TEXT, head)
        elif path == FAULT_BROKEN_LINKS_PATH:
            entries = broken_links_entries(base)
            text = render_rss(entries, base, "Sample-Nachrichten – Defekte Links", FAULT_BROKEN_LINKS_PATH)
            self._send(HTTPStatus.OK, text.encode("utf-8"), RSS, head)
        else:
            self._not_found(head)

    def _not_found(self, head: bool) -> None:
        body = '<!DOCTYPE html><html lang="de"><title>404</title><h1>Seite nicht gefunden</h1></html>'
        self._send(HTTPStatus.NOT_FOUND, body.encode("utf-8"), HTML, head)

    def _dispatch_archive(self, path: str, query: str, base: str, head: bool) -> bool:
        """The archive routes (see pipeline.samplesite.archive); False if ``path`` is none of them."""
        archived = archive_article_by_path(path)
        day = parse_day_page_path(path)
        sitemap_day = day_sitemap_day(path)
        if archived is not None:
            self._send(HTTPStatus.OK, render_archive_article(archived, base).encode("utf-8"), HTML, head)
        elif day is not None:
            pages = parse_qs(query).get("page", ["1"])
            html, found = render_day_page(day, int(pages[0]) if pages[0].isdigit() else 0)
            if found:
                self._send(HTTPStatus.OK, html.encode("utf-8"), HTML, head)
            else:
                self._not_found(head)
        elif sitemap_day is not None:
            text = render_day_sitemap(sitemap_day, base)
            if path.endswith(".gz"):
                self._send(HTTPStatus.OK, gzip_bytes(text), GZIP, head)
            else:
                self._send(HTTPStatus.OK, text.encode("utf-8"), XML, head)
        elif path == SITEMAP_INDEX_PATH:
            self._send(HTTPStatus.OK, render_sitemap_index(base).encode("utf-8"), XML, head)
        elif path == SITEMAP_ALL_PATH:
            self._send(HTTPStatus.OK, render_all_sitemap(base).encode("utf-8"), XML, head)
        elif path == SITEMAP_PAGES_PATH:
            self._send(HTTPStatus.OK, render_pages_sitemap(base).encode("utf-8"), XML, head)
        else:
            return False
        return True


class SampleSite:
    """The sample news site on a local port; ``with SampleSite() as site: site.base_url``."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve in a daemon thread; returns the base URL (e.g. http://127.0.0.1:54321)."""
        if self._server is not None:
            raise RuntimeError("SampleSite is already running")
        server_cls = _V6Server if ":" in host else _Server
        server = server_cls((host, port), _Handler)
        server.verbose = self.verbose
        bound_port = server.server_address[1]
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
        server.fallback_base_url = f"http://{shown_host}:{bound_port}"
        server.articles_by_path = {a.path: a for a in load_articles()}
        server.hits = Counter()
        server.fail_next = {}
        server.state_lock = threading.Lock()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="samplesite", daemon=True
        )
        self._thread.start()
        return server.fallback_base_url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SampleSite is not running")
        return self._server.fallback_base_url

    @property
    def rss_url(self) -> str:
        return self.base_url + RSS_PATH

    @property
    def atom_url(self) -> str:
        return self.base_url + ATOM_PATH

    def url(self, path: str) -> str:
        """Absolute URL of a site path such as ``/feeds/rss.xml``."""
        return self.base_url + path

    def article_url(self, article: SampleArticle) -> str:
        return self.base_url + article.path

    def hits(self, target: str | None = None) -> int:
        """How many requests this server got for ``target`` (path plus query, as requested), or
        in all when ``target`` is None."""
        server = self._running()
        with server.state_lock:
            return server.hits[target] if target is not None else sum(server.hits.values())

    def fail_next(self, target: str, times: int = 1) -> None:
        """Answer the next ``times`` requests for ``target`` (path plus query) with HTTP 500."""
        server = self._running()
        with server.state_lock:
            server.fail_next[target] = times

    def _running(self) -> _Server:
        if self._server is None:
            raise RuntimeError("SampleSite is not running")
        return self._server

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_forever(host: str = "127.0.0.1", port: int = 8765, verbose: bool = True) -> None:
    """Serve in the foreground until Ctrl-C (used by ``python -m pipeline.samplesite``)."""
    site = SampleSite(verbose=verbose)
    base = site.start(host, port)
    # SIGTERM (docker stop, kill) and SIGINT both end the loop below and close the socket.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    print(f"Sample news site: {base}/", flush=True)
    print(f"  RSS 2.0 feed:   {site.rss_url}", flush=True)
    print(f"  Atom 1.0 feed:  {site.atom_url}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr, flush=True)
    finally:
        site.stop()
