"""HttpClient against a real local HTTP server with hostile endpoints (no mocks): hanging and
trickling servers, redirect loops, huge and gzip-bomb bodies, 429/503 with retries, robots.txt,
redirects to metadata/private addresses, content types, per-host politeness."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.config import HttpSettings
from pipeline.fetch.client import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    HttpClient,
    HttpStatusError,
    RobotsDisallowedError,
    TooLargeError,
    _current,
    _GuardedBackend,
    _retry_after,
)
from pipeline.fetch.ratelimit import HostLimiter

LOCAL = ("127.0.0.1/32",)
BIG_BYTES = 50 * 1024 * 1024
BOMB = gzip.compress(b"\0" * (10 * 1024 * 1024), compresslevel=9)
SERVER_LOOP_LIMIT_S = 5.0  # no handler runs longer than this, whatever the client does


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.robots_status = 200
        self.robots_body = b"User-agent: *\nDisallow: /private/\n"
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # the connection closes after each response: simple streaming

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
        for name, value in headers.items():
            if value:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, cap): expected here

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        key = url.path + ("?" + url.query if url.query else "")
        with self.server.lock:
            self.server.hits[key] += 1
            hits = self.server.hits[key]
        path = url.path
        if path in self.server.routes:
            status, headers, body = self.server.routes[path]
            self._reply(status, body, headers)
        elif path == "/robots.txt":
            self._reply(self.server.robots_status, self.server.robots_body, {"Content-Type": "text/plain"})
        elif path == "/hang":
            time.sleep(min(float(query.get("s", "3")), SERVER_LOOP_LIMIT_S))
            self._reply(200, b"<html>late</html>")
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "20")
            self.end_headers()
            self._stream((b"x" for _ in range(20)), interval=0.5, key=key)
        elif path == "/redirect":
            self._reply(302, b"", {"Location": query["to"]})
        elif path == "/loop":
            self._reply(302, b"", {"Location": "/loop"})
        elif path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no Content-Length: the client must count, not trust a header
            chunk = b"a" * 65536
            self._stream((chunk for _ in range(BIG_BYTES // len(chunk))), interval=0.0, key=key)
        elif path == "/bomb":
            self._reply(200, BOMB, {"Content-Encoding": "gzip"})
        elif path == "/gzip-ok":
            self._reply(200, gzip.compress(b"<html>small</html>"), {"Content-Encoding": "gzip"})
        elif path == "/429-then-ok":
            if hits == 1:
                self._reply(429, b"slow down", {"Retry-After": query.get("after", "1")})
            else:
                self._reply(200, b"<html>ok</html>")
        elif path == "/503":
            self._reply(503, b"down")
        else:
            self._reply(404, b"<html>nope</html>")

    def _stream(self, chunks: Iterator[bytes], *, interval: float, key: str) -> None:
        """Bounded in time; stops as soon as the client hangs up."""
        stop = time.monotonic() + SERVER_LOOP_LIMIT_S
        try:
            for chunk in chunks:
                if time.monotonic() > stop:
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
                with self.server.lock:
                    self.server.sent[key] += len(chunk)
                if interval:
                    time.sleep(interval)
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def base(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


FAST = HttpSettings(
    connect_timeout_s=1.0,
    read_timeout_s=1.0,
    total_timeout_s=5.0,
    max_bytes=1_000_000,
    allow_networks=LOCAL,
    per_host_min_interval_s=0.0,
    backoff_base_s=0.05,
)


def client(**over: object) -> HttpClient:
    return HttpClient(replace(FAST, **over))


def test_hanging_server_times_out(server) -> None:
    started = time.monotonic()
    with client(read_timeout_s=0.5) as c, pytest.raises(FetchError) as err:
        c.get(base(server) + "/hang")
    assert "timed out" in err.value.reason
    assert time.monotonic() - started < 2.5


def test_trickling_server_hits_the_total_deadline(server) -> None:
    started = time.monotonic()
    with client(read_timeout_s=2.0, total_timeout_s=1.5) as c, pytest.raises(FetchError) as err:
        c.get(base(server) + "/trickle")
    elapsed = time.monotonic() - started
    assert "timed out" in err.value.reason and "total deadline" in err.value.reason
    assert 1.4 <= elapsed < 3.0


def test_redirect_loop_is_cut_off(server) -> None:
    with client(max_redirects=3) as c, pytest.raises(FetchError) as err:
        c.get(base(server) + "/loop")
    assert err.value.reason == "more than 3 redirects"
    assert server.hits["/loop"] == 4


def test_fifty_megabyte_body_is_aborted_at_the_cap(server) -> None:
    with client() as c, pytest.raises(TooLargeError):
        c.get(base(server) + "/big")
    time.sleep(0.3)  # let the server notice the hang-up
    assert server.sent["/big"] < 10 * 1024 * 1024  # far from the 50 MB the server offered


def test_gzip_bomb_is_aborted_on_decompressed_size_with_small_memory(server) -> None:
    assert len(BOMB) < 50_000
    tracemalloc.start()
    try:
        with client() as c, pytest.raises(TooLargeError) as err:
            c.get(base(server) + "/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "decompressed gzip body exceeds the 1000000-byte cap" in err.value.reason
    assert peak < 4 * 1_000_000  # ~cap plus overhead, not the 10 MB the bomb inflates to


def test_small_gzip_body_is_decoded(server) -> None:
    with client() as c:
        assert c.get(base(server) + "/gzip-ok").content == b"<html>small</html>"


def test_429_with_retry_after_waits_then_succeeds(server) -> None:
    started = time.monotonic()
    with client() as c:
        response = c.get(base(server) + "/429-then-ok?after=1")
    assert response.status == 200 and response.content == b"<html>ok</html>"
    assert time.monotonic() - started >= 1.0
    assert server.hits["/429-then-ok?after=1"] == 2


def test_retry_after_beyond_the_cap_fails_at_once(server) -> None:
    started = time.monotonic()
    with client(max_retry_after_s=5) as c, pytest.raises(HttpStatusError) as err:
        c.get(base(server) + "/429-then-ok?after=120")
    assert err.value.status == 429 and "Retry-After 120s exceeds the 5s cap" in err.value.reason
    assert time.monotonic() - started < 1.0


def test_503_is_retried_then_reported(server) -> None:
    with client(max_retries=2) as c, pytest.raises(HttpStatusError) as err:
        c.get(base(server) + "/503")
    assert err.value.status == 503 and err.value.reason == "HTTP 503 (after 2 retries)"
    assert server.hits["/503"] == 3


def test_connection_refused_is_retried_then_reported() -> None:
    srv = _Server()
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on this port any more
    with client(max_retries=1) as c, pytest.raises(FetchError) as err:
        c.get(f"http://127.0.0.1:{port}/", kind="page")
    assert "ConnectError" in err.value.reason and "after 1 retries" in err.value.reason


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert _retry_after("7") == 7.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert 50 < _retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))) <= 60
    assert _retry_after("soon") is None and _retry_after(None) is None


def test_robots_disallow_is_enforced_and_cached(server) -> None:
    with client(respect_robots=True) as c:
        with pytest.raises(RobotsDisallowedError) as err:
            c.get(base(server) + "/private/page.html")
        assert err.value.reason == "disallowed by robots.txt"
        c.get(base(server) + "/gzip-ok")
        c.get(base(server) + "/gzip-ok")
    assert server.hits["/robots.txt"] == 1
    with client(respect_robots=False) as c, pytest.raises(HttpStatusError):
        c.get(base(server) + "/private/page.html")  # 404 from the server: robots not consulted


def test_robots_404_allows_and_5xx_disallows_everything(server) -> None:
    server.robots_status = 404
    with client() as c:
        assert c.get(base(server) + "/gzip-ok").status == 200
    server.robots_status = 500
    with client() as c, pytest.raises(RobotsDisallowedError) as err:
        c.get(base(server) + "/gzip-ok")
    assert err.value.reason.startswith("disallowed by robots.txt") and "HTTP 500" in err.value.reason


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin"])
def test_redirect_to_metadata_or_private_address_is_blocked(server, target) -> None:
    # these addresses are rejected by the guard from the address alone, before any connection
    with client() as c, pytest.raises(BlockedAddressError) as err:
        c.get(base(server) + "/redirect?to=" + target)
    ip = urlsplit(target).hostname
    assert "SSRF" in err.value.reason and ip in err.value.reason
    assert err.value.url == target


def test_loopback_is_blocked_without_an_allow_list(server) -> None:
    with client(allow_networks=()) as c, pytest.raises(BlockedAddressError) as err:
        c.get(base(server) + "/gzip-ok")
    assert "SSRF" in err.value.reason and "127.0.0.1" in err.value.reason
    assert server.hits["/gzip-ok"] == 0 and server.hits["/robots.txt"] == 0


def test_connect_time_guard_refuses_the_address_it_would_connect_to(server) -> None:
    """The DNS-rebinding defence: even with the pre-check passed, the socket is only opened to an
    address checked at connect time (here the allow-list in force is empty)."""
    token = _current.set((base(server), ()))
    try:
        with pytest.raises(BlockedAddressError) as err:
            _GuardedBackend().connect_tcp("localhost", server.server_address[1], timeout=1)
    finally:
        _current.reset(token)
    assert "SSRF" in err.value.reason
    assert sum(server.hits.values()) == 0


def test_content_type_is_checked_per_kind(server) -> None:
    server.routes["/plain"] = (200, {"Content-Type": "text/plain"}, b"hello")
    server.routes["/xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss/>")
    server.routes["/untyped"] = (200, {"Content-Type": ""}, b"<rss/>")
    with client() as c:
        for kind in ("page", "feed"):
            with pytest.raises(ContentTypeError) as err:
                c.get(base(server) + "/plain", kind=kind)
            assert err.value.reason == f"content type 'text/plain' is not a {kind} type"
        with pytest.raises(ContentTypeError):
            c.get(base(server) + "/xml", kind="page")
        assert c.get(base(server) + "/xml", kind="feed").content == b"<rss/>"
        assert c.get(base(server) + "/untyped", kind="feed").content == b"<rss/>"
        assert c.get(base(server) + "/gzip-ok", kind="page").status == 200
        assert c.get(base(server) + "/plain").content == b"hello"  # kind="any" keeps old behaviour


def test_per_host_interval_spaces_requests(server) -> None:
    started = time.monotonic()
    with client(per_host_min_interval_s=0.3, respect_robots=False) as c:
        for _ in range(3):
            c.get(base(server) + "/gzip-ok")
    assert time.monotonic() - started >= 0.6


def test_host_limiter_caps_concurrency_per_host() -> None:
    limiter = HostLimiter(min_interval_s=0.0, max_concurrent=2)
    peak: Counter[str] = Counter()
    lock = threading.Lock()

    def work(host: str) -> None:
        with limiter.slot(host):
            with lock:
                peak[host] = max(peak[host], limiter.active(host))
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(h,)) for h in ["a.example"] * 6 + ["b.example"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert peak["a.example"] == 2 and peak["b.example"] == 2
    assert limiter.active("a.example") == 0


def test_host_limiter_interval_is_per_host() -> None:
    limiter = HostLimiter(min_interval_s=0.6, max_concurrent=2)
    started = time.monotonic()
    for host in ("a.example", "b.example", "c.example"):
        with limiter.slot(host):
            pass
    assert time.monotonic() - started < 0.3  # different hosts do not wait for each other (2 would be 1.2 s)
    with limiter.slot("a.example"):
        pass
    assert time.monotonic() - started >= 0.59
