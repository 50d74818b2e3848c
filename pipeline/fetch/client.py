"""The one HTTP client for feeds and pages.

Everything a crawler of untrusted URLs needs lives here, so no caller can forget a part of it:
connect/read timeouts plus a total deadline per exchange (a server trickling one byte at a time
never trips a per-read timeout); a size cap counted on the *decompressed* body (a gzip bomb is cut
off after max_bytes, not inflated in memory); bounded redirects; retries with backoff on
429/502/503/504 and connection failures, honouring a capped Retry-After; per-host politeness
(pipeline.fetch.ratelimit); robots.txt (pipeline.fetch.robots); content-type checks per kind of document;
and an SSRF guard that refuses private, loopback, link-local and multicast addresses on every hop
unless the configuration allows a network explicitly. The guard runs twice: once before a request
(so a blocked URL is never contacted) and again at connect time on the very address the socket
connects to, which defeats DNS rebinding (a name that resolves to a public address for the check
and to 169.254.169.254 for the connection).
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Self
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from pipeline.config import HttpSettings
from pipeline.fetch.ratelimit import HostLimiter
from pipeline.fetch.robots import MAX_ROBOTS_BYTES, RobotsCache, RobotsUnavailable

REDIRECT_CODES = {301, 302, 303, 307, 308}
RETRY_STATUSES = {429, 502, 503, 504}
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({
    "text/xml", "application/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml",
})
# Servers that do not know what they serve; the feed parser decides (and reports "not a valid feed").
FEED_GENERIC_TYPES = frozenset({"", "application/octet-stream"})
# Only encodings we can inflate with a bounded output buffer; brotli is not installed.
ACCEPT_ENCODING = "gzip, deflate"

Kind = Literal["any", "page", "feed"]


class FetchError(Exception):
    """A URL could not be fetched; ``reason`` is short and safe to log."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BlockedAddressError(FetchError):
    pass


class HttpStatusError(FetchError):
    """``retry_after_s``: the server's Retry-After, when it sent one (streaming mode waits that
    long before polling the feed again)."""

    def __init__(self, url: str, status: int, detail: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(url, f"HTTP {status}" + (f" ({detail})" if detail else ""))
        self.status = status
        self.retry_after_s = retry_after_s


class TooLargeError(FetchError):
    pass


class ContentTypeError(FetchError):
    """The server answered with a type that is not the kind of document asked for."""

    def __init__(self, url: str, content_type: str, kind: str) -> None:
        super().__init__(url, f"content type {content_type!r} is not a {kind} type")
        self.content_type = content_type


class RobotsDisallowedError(FetchError):
    pass


class HostUnreachableError(FetchError):
    """The host did not answer at all: its name does not resolve, or connecting was refused or
    timed out (after the retries). Reported as such also when it is robots.txt, the first request
    to a host, that found out."""


class RobotsUnavailableError(FetchError):
    """robots.txt could not be read although the host answers (a timeout while reading it, a body
    over the cap): per RFC 9309 the site is not crawled this run, and the reason says why."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _networks(specs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(s, strict=False) for s in specs]


def _blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str, allowed: list) -> str | None:
    if any(ip in net for net in allowed):
        return None
    if not ip.is_global or ip.is_multicast:
        return f"address {ip} of host {host!r} is not public (blocked by SSRF guard)"
    return None


def _resolve(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def check_address(url: str, allow_networks: Iterable[str] = ()) -> None:
    """Raise BlockedAddressError unless every address the host resolves to is public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddressError(url, f"scheme {parts.scheme!r} not allowed")
    host = parts.hostname
    if not host:
        raise BlockedAddressError(url, "no host in URL")
    try:
        addresses = _resolve(host, parts.port or 80)
    except socket.gaierror as exc:
        raise HostUnreachableError(url, f"host unreachable: cannot resolve host {host!r}: {exc.strerror}") from exc
    allowed = _networks(allow_networks)
    for address in addresses:
        reason = _blocked_reason(ipaddress.ip_address(address), host, allowed)
        if reason:
            raise BlockedAddressError(url, reason)


# The URL and allow-list of the request being made on this thread, read by the connect-time guard.
_current: contextvars.ContextVar[tuple[str, tuple[str, ...]]] = contextvars.ContextVar("fetch_current")


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host once, checks every address, and connects to a checked address (TLS SNI
    and the Host header still use the name, since httpcore takes them from the URL's origin)."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        url, allow = _current.get(("", ()))
        try:
            addresses = _resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
        allowed = _networks(allow)
        for address in addresses:
            reason = _blocked_reason(ipaddress.ip_address(address), host, allowed)
            if reason:
                raise BlockedAddressError(url or host, reason)
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, built once per process and shared by every client
    (it is safe to share): building it loads the CA bundle, about 30 ms of CPU, which every
    HttpClient paid before, i.e. every poll of a feed in the streaming loop (pipeline.run.streamloop)."""
    return httpx.create_ssl_context()


def _guarded_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=_tls_context())
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx/httpcore internals changed: cannot install the connect-time SSRF guard")
    pool._network_backend = _GuardedBackend()
    return transport


class _Inflater:
    """Decodes Content-Encoding with a hard output bound, so a bomb never inflates in memory."""

    def __init__(self, url: str, encoding: str) -> None:
        self.url = url
        self.encoding = encoding
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError(url, f"unsupported content encoding {encoding!r}")
        self._first = True

    def feed(self, data: bytes, budget: int) -> bytes:
        """Decoded bytes of ``data``; at most ``budget + 1`` are produced (one more = over cap)."""
        if self._z is None:
            return data
        try:
            out = self._z.decompress(data, budget + 1)
        except zlib.error as exc:
            if self.encoding == "deflate" and self._first:  # some servers send raw deflate
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                return self.feed(data, budget)
            raise FetchError(self.url, f"bad {self.encoding} body: {exc}") from exc
        self._first = False
        return out


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _content_type_ok(content_type: str, kind: Kind) -> bool:
    if kind == "page":
        return content_type in PAGE_TYPES or content_type == ""
    if kind == "feed":
        return content_type in FEED_TYPES or content_type.endswith("+xml") or content_type in FEED_GENERIC_TYPES
    return True


class HttpClient:
    """Fetches with the configured limits. One instance per task; it holds a connection pool, the
    per-host limiter and the robots.txt verdicts, so all of them last one task run."""

    def __init__(self, settings: HttpSettings, *, limiter: HostLimiter | None = None) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            transport=_guarded_transport(),
            # A proxy from the environment would receive the connection instead of the checked
            # address, which defeats the SSRF guard; the crawler connects directly.
            trust_env=False,
        )
        self.limiter = limiter or HostLimiter(settings.per_host_min_interval_s, settings.per_host_max_concurrent)
        self.robots = RobotsCache(settings.user_agent)
        self.sleep = time.sleep  # tests may observe waits; production sleeps

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        allow_networks: Iterable[str] = (),
        headers: dict[str, str] | None = None,
        kind: Kind = "any",
    ) -> Response:
        """GET ``url`` following redirects; ``kind`` refuses bodies of the wrong content type
        before they are downloaded. Raises a FetchError subclass with a loggable ``reason``."""
        allow = tuple(self.settings.allow_networks) + tuple(allow_networks)
        return self._fetch(url, allow, headers or {}, kind, check_robots=self.settings.respect_robots)

    def _fetch(
        self, url: str, allow: tuple[str, ...], headers: dict[str, str], kind: Kind, *, check_robots: bool,
        cap: int | None = None,
    ) -> Response:
        current = url
        for _ in range(self.settings.max_redirects + 1):
            check_address(current, allow)
            if check_robots:
                self._check_robots(current, allow)
            status, resp_headers, content = self._get_with_retries(current, allow, headers, kind, cap)
            if status in REDIRECT_CODES and "location" in resp_headers:
                current = urljoin(current, resp_headers["location"])
                continue
            if status >= 400:
                raise HttpStatusError(current, status)
            return Response(url=current, status=status, headers=resp_headers, content=content)
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    # -- robots.txt ---------------------------------------------------------------------------

    def _check_robots(self, url: str, allow: tuple[str, ...]) -> None:
        """Refuse what robots.txt disallows; report a host that does not answer as unreachable
        (not as a robots.txt refusal); raise the host's interval to its Crawl-delay."""
        try:
            reason = self.robots.check(url, lambda robots: self._fetch_robots(robots, allow))
        except RobotsUnavailable as exc:
            if exc.unreachable:
                raise HostUnreachableError(url, exc.reason) from None  # "host unreachable: ..."
            raise RobotsUnavailableError(
                url, f"robots.txt could not be read ({exc.reason}); the site is not crawled this run (RFC 9309)"
            ) from None
        if reason:
            raise RobotsDisallowedError(url, reason)
        delay = self.robots.crawl_delay(url)
        if delay is not None:
            self.limiter.set_floor(urlsplit(url).hostname or "", delay)

    def _fetch_robots(self, url: str, allow: tuple[str, ...]) -> tuple[int, bytes]:
        """Through the same guard and limits; the status matters, not just success."""
        try:
            response = self._fetch(url, allow, {}, "any", check_robots=False, cap=MAX_ROBOTS_BYTES)
        except HttpStatusError as exc:
            return exc.status, b""
        except BlockedAddressError:
            raise  # the page itself is blocked too; report the SSRF reason, not robots
        except HostUnreachableError as exc:
            raise RobotsUnavailable(exc.reason, unreachable=True) from exc
        except FetchError as exc:
            raise RobotsUnavailable(exc.reason) from exc
        return response.status, response.content

    # -- one hop --------------------------------------------------------------------------------

    def _get_with_retries(
        self, url: str, allow: tuple[str, ...], headers: dict[str, str], kind: Kind, cap: int | None
    ) -> tuple[int, httpx.Headers, bytes]:
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                status, resp_headers, content = self._get_once(url, allow, headers, kind, cap)
            except _Retryable as exc:
                if last:
                    reason = exc.reason + (f" (after {retries} retries)" if retries else "")
                    if exc.unreachable:
                        raise HostUnreachableError(url, f"host unreachable: {reason}") from exc
                    raise FetchError(url, reason) from exc
                self.sleep(self.settings.backoff_base_s * 2**attempt)
                continue
            if status not in RETRY_STATUSES:
                return status, resp_headers, content
            wait = _retry_after(resp_headers.get("retry-after"))
            if last:
                raise HttpStatusError(url, status, f"after {retries} retries" if retries else "", retry_after_s=wait)
            if wait is not None and wait > self.settings.max_retry_after_s:
                raise HttpStatusError(
                    url, status, f"Retry-After {wait:.0f}s exceeds the {self.settings.max_retry_after_s:.0f}s cap",
                    retry_after_s=wait,
                )
            self.sleep(wait if wait is not None else self.settings.backoff_base_s * 2**attempt)
        raise AssertionError("unreachable")

    def _get_once(
        self, url: str, allow: tuple[str, ...], headers: dict[str, str], kind: Kind, cap: int | None
    ) -> tuple[int, httpx.Headers, bytes]:
        cap = self.settings.max_bytes if cap is None else min(cap, self.settings.max_bytes)
        s = self.settings
        token = _current.set((url, allow))
        try:
            with self.limiter.slot(urlsplit(url).hostname or ""):
                deadline = time.monotonic() + s.total_timeout_s
                timeout = httpx.Timeout(
                    min(s.read_timeout_s, s.total_timeout_s), connect=min(s.connect_timeout_s, s.total_timeout_s)
                )
                with self._client.stream("GET", url, headers=headers, timeout=timeout) as resp:
                    return self._read(url, resp, kind, cap, deadline)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise _Retryable(f"timed out ({type(exc).__name__})", unreachable=True) from exc
            raise FetchError(url, f"timed out ({type(exc).__name__})") from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            unreachable = isinstance(exc, httpx.ConnectError)
            raise _Retryable(f"{type(exc).__name__}: {exc}", unreachable=unreachable) from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        finally:
            _current.reset(token)

    def _read(
        self, url: str, resp: httpx.Response, kind: Kind, cap: int, deadline: float
    ) -> tuple[int, httpx.Headers, bytes]:
        status = resp.status_code
        if status in REDIRECT_CODES or status >= 400:
            return status, resp.headers, b""  # the body of an error or redirect is never used
        content_type = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if not _content_type_ok(content_type, kind):
            raise ContentTypeError(url, content_type, kind)
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise TooLargeError(url, f"body of {declared} bytes exceeds the {cap}-byte cap")
        encoding = resp.headers.get("content-encoding", "").strip().lower()
        inflater = _Inflater(url, encoding)
        chunks: list[bytes] = []
        size = 0
        for raw in resp.iter_raw():  # as received: a chunk size would buffer a trickle
            if time.monotonic() > deadline:
                raise FetchError(url, f"timed out (total deadline of {self.settings.total_timeout_s:g}s exceeded)")
            data = inflater.feed(raw, cap - size)
            size += len(data)
            if size > cap:
                what = f"decompressed {encoding} body" if inflater._z is not None else "body"
                raise TooLargeError(url, f"{what} exceeds the {cap}-byte cap")
            chunks.append(data)
        return status, resp.headers, b"".join(chunks)


class _Retryable(Exception):
    """A failure worth another attempt (connection refused/reset, connect timeout);
    ``unreachable``: no connection was made at all."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable
