"""A real local HTTP server for one RSS feed that the test changes between polls: its items (links
to pages of the sample site), its ``<ttl>``, its Cache-Control, and whether it refuses with a
status and Retry-After. It answers conditional GETs with 304 (ETag) and counts the polls."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from xml.sax.saxutils import escape

FEED_PATH = "/live.xml"


@dataclass
class LiveFeed:
    links: list[str] = field(default_factory=list)
    ttl_minutes: int | None = None
    cache_control: str | None = None
    refuse_status: int | None = None  # e.g. 503: answer this instead of the feed
    retry_after: str | None = None
    polls: int = 0

    def body(self) -> bytes:
        ttl = f"<ttl>{self.ttl_minutes}</ttl>" if self.ttl_minutes else ""
        items = "".join(
            f"<item><title>Meldung {i}</title><link>{escape(link)}</link><guid>{escape(link)}</guid></item>"
            for i, link in enumerate(self.links)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Live</title>'
            f"<link>http://127.0.0.1/</link><language>de</language>{ttl}{items}</channel></rss>"
        ).encode()


class LiveFeedServer:
    def __init__(self) -> None:
        self.feed = LiveFeed()
        self.request_times: list[float] = []  # every request's arrival (time.monotonic)
        self.poll_times: list[float] = []  # the feed's requests only (not robots.txt)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.request_times.append(time.monotonic())
                if self.path == "/robots.txt":
                    self._reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
                    return
                if self.path != FEED_PATH:
                    self._reply(404, b"", {})
                    return
                with server._lock:
                    feed = server.feed
                    feed.polls += 1
                    server.poll_times.append(time.monotonic())
                    if feed.refuse_status:
                        headers = {"Retry-After": feed.retry_after} if feed.retry_after else {}
                        self._reply(feed.refuse_status, b"", headers)
                        return
                    body = feed.body()
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
                    if feed.cache_control:
                        headers["Cache-Control"] = feed.cache_control
                if self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
                else:
                    self._reply(200, body, headers)

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{FEED_PATH}"

    def update(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self.feed, name, value)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
