"""The one HTTP client for feeds and pages: timeouts, a size cap, bounded redirects, and an SSRF
guard that refuses private, loopback, link-local and multicast addresses on every hop unless the
configuration allows a network explicitly."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import HttpSettings

REDIRECT_CODES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A URL could not be fetched; ``reason`` is short and safe to log."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BlockedAddressError(FetchError):
    pass


class HttpStatusError(FetchError):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"HTTP {status}")
        self.status = status


class TooLargeError(FetchError):
    pass


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


def check_address(url: str, allow_networks: Iterable[str] = ()) -> None:
    """Raise BlockedAddressError unless every address the host resolves to is public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddressError(url, f"scheme {parts.scheme!r} not allowed")
    host = parts.hostname
    if not host:
        raise BlockedAddressError(url, "no host in URL")
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(url, f"cannot resolve host {host!r}: {exc.strerror}") from exc
    allowed = _networks(allow_networks)
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if any(ip in net for net in allowed):
            continue
        if not ip.is_global or ip.is_multicast:
            raise BlockedAddressError(url, f"address {ip} of host {host!r} is not public (blocked by SSRF guard)")


class HttpClient:
    """Fetches with the configured limits. One instance per task; it holds a connection pool."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, allow_networks: Iterable[str] = (), headers: dict[str, str] | None = None) -> Response:
        allow = tuple(self.settings.allow_networks) + tuple(allow_networks)
        current = url
        for _ in range(self.settings.max_redirects + 1):
            check_address(current, allow)
            status, resp_headers, content = self._get_once(current, headers or {})
            if status in REDIRECT_CODES and "location" in resp_headers:
                current = urljoin(current, resp_headers["location"])
                continue
            if status >= 400:
                raise HttpStatusError(current, status)
            return Response(url=current, status=status, headers=resp_headers, content=content)
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    def _get_once(self, url: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        cap = self.settings.max_bytes
        try:
            with self._client.stream("GET", url, headers=headers) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise TooLargeError(url, f"body of {declared} bytes exceeds the {cap}-byte cap")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise TooLargeError(url, f"body exceeds the {cap}-byte cap")
                    chunks.append(chunk)
                return resp.status_code, resp.headers, b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
