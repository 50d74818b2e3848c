"""robots.txt with protego (issue 16 item 2), through the real HttpClient against the real local
test server of tests/test_fetch.py: the RFC 9309 matching rules (``*`` and ``$`` wildcards, the
longest match wins, Allow wins a tie), Crawl-delay as a floor of the per-host interval, and an
unreachable host reported as unreachable, not as a robots.txt refusal."""

from __future__ import annotations

import time

import pytest

from pipeline.fetch.client import (
    FetchError,
    HostUnreachableError,
    HttpClient,
    HttpStatusError,
    RobotsDisallowedError,
)
from pipeline.fetch.robots import MAX_CRAWL_DELAY_S
from tests.test_fetch import _Server, base, client, server  # noqa: F401  (server is a fixture)


def _allowed(c: HttpClient, url: str) -> bool:
    """False if robots.txt refuses ``url``; True if the request went out (200 or the server's 404)."""
    try:
        c.get(url)
    except RobotsDisallowedError:
        return False
    except HttpStatusError:
        pass
    return True


# (robots.txt, {path: allowed}); the first four are RFC 9309's own examples (section 2.2.2/5.2)
CASES = {
    "longest match: Allow /p over Disallow /": (
        "User-agent: *\nAllow: /p\nDisallow: /\n",
        {"/page": True, "/other": False},
    ),
    "tie: Allow wins over an equal Disallow": (
        "User-agent: *\nAllow: /folder\nDisallow: /folder\n",
        {"/folder/page": True},
    ),
    "a longer wildcard Disallow beats a shorter Allow": (
        "User-agent: *\nAllow: /page\nDisallow: /*.htm\n",
        {"/page.htm": False, "/page": True},
    ),
    "$ anchors the end": (
        "User-agent: *\nAllow: /$\nDisallow: /\n",
        {"/": True, "/page.htm": False},
    ),
    "issue 16: *.pdf$ and *?sessionid=": (
        "User-agent: *\nDisallow: /*.pdf$\nDisallow: /*?sessionid=\n",
        {"/files/report.pdf": False, "/files/report.pdf.html": True, "/a.html?sessionid=42": False,
         "/a.html": True, "/a.html?page=2": True},
    ),
    "issue 16: Allow /news/public/ inside Disallow /news/": (
        "User-agent: *\nDisallow: /news/\nAllow: /news/public/\n",
        {"/news/public/a.html": True, "/news/internal/a.html": False, "/news/": False},
    ),
    "our own group is used, not the * group": (
        "User-agent: *\nDisallow: /\n\nUser-agent: news-pipeline\nDisallow: /private/\n",
        {"/page.html": True, "/private/x.html": False},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rfc9309_matching(server, name) -> None:  # noqa: F811
    rules, expected = CASES[name]
    server.robots_body = rules.encode()
    with client() as c:
        got = {path: _allowed(c, base(server) + path) for path in expected}
    assert got == expected
    assert server.hits["/robots.txt"] == 1  # one fetch per origin and client
    refused = [p for p, ok in expected.items() if not ok]
    assert all(server.hits[p] == 0 for p in refused)  # a refused page is never requested


def test_crawl_delay_raises_the_per_host_interval(server) -> None:  # noqa: F811
    server.robots_body = b"User-agent: *\nCrawl-delay: 0.4\nDisallow: /private/\n"
    started = time.monotonic()
    with client(per_host_min_interval_s=0.0) as c:
        for _ in range(3):
            c.get(base(server) + "/gzip-ok")
        assert c.limiter.interval("127.0.0.1") == 0.4
    assert time.monotonic() - started >= 0.8  # three pages, two gaps of the Crawl-delay


def test_crawl_delay_is_a_floor_not_a_ceiling_and_is_capped(server) -> None:  # noqa: F811
    server.robots_body = b"User-agent: *\nCrawl-delay: 0.1\n"
    with client(per_host_min_interval_s=0.5) as c:
        c.get(base(server) + "/gzip-ok")
        assert c.limiter.interval("127.0.0.1") == 0.5  # the configured interval is longer: kept
    server.robots_body = b"User-agent: *\nCrawl-delay: 86400\n"
    with client() as c:
        c.get(base(server) + "/gzip-ok")  # the first page does not wait; the next one would
        assert c.limiter.interval("127.0.0.1") == MAX_CRAWL_DELAY_S


def test_unreachable_host_is_reported_as_unreachable_not_as_robots() -> None:
    srv = _Server()
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on this port any more
    with client(max_retries=1) as c:
        for path in ("/a.html", "/b.html"):  # the second page gets the same, cached answer
            with pytest.raises(HostUnreachableError) as err:
                c.get(f"http://127.0.0.1:{port}{path}", kind="page")
            reason = err.value.reason
            assert reason.startswith("host unreachable: ConnectError") and "after 1 retries" in reason, reason
            assert "robots" not in reason and "disallowed" not in reason
            assert err.value.url.endswith(path) and isinstance(err.value, FetchError)
    with client(max_retries=0, respect_robots=False) as c, pytest.raises(HostUnreachableError) as err:
        c.get(f"http://127.0.0.1:{port}/a.html", kind="page")
    assert err.value.reason.startswith("host unreachable: ConnectError")
