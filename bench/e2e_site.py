"""A local news site for the end-to-end DAG benchmark (bench/dag_e2e.py).

``pages`` German article pages spread round-robin over ``hosts`` loopback addresses (127.0.0.1,
127.0.0.2, ...: different hosts to the pipeline's politeness and grouping, all on this machine),
each host with ``feeds_per_host`` RSS feeds listing its pages. Pages use the sample site's four
outlet templates (pipeline/samplesite) with generated content: a headline, 8-10 paragraphs of
German text (about 650 words, the word list of bench/synthetic.py plus named entities), one
sub-heading, the outlet's teasers, and site chrome real pages carry around the article (a mega
menu, teaser rails, comments, a footer sitemap, inline CSS and a JSON state blob), about 50 KB of
HTML per page. Every 25th page is a syndicated near-copy of an earlier page on another host.

Deterministic: the same (pages, hosts, feeds_per_host, seed) always give the same bytes. The
servers run in their own process (``python -m bench.e2e_site``), so serving costs no CPU time
of the measured task processes and the rendered pages never sit in their memory.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.synthetic import ENTITY_NAMES, WORDS
from pipeline.samplesite.articles import SampleArticle, load_articles
from pipeline.samplesite.feeds import entry_for
from pipeline.samplesite.outlets import load_outlets
from pipeline.samplesite.render import render_article, render_atom, render_rss

BERLIN = timezone(timedelta(hours=1))
FIRST_PUBLISHED = datetime(2026, 11, 16, 6, 0, tzinfo=BERLIN)
SYNDICATE_EVERY = 25
EXTRA_ENTITIES = (
    ("Kassym-Schomart Tokajew", "PER"), ("Wladimir Putin", "PER"), ("Kasachstan", "LOC"), ("Almaty", "LOC"),
    ("Organisation des Vertrags über kollektive Sicherheit", "ORG"), ("Antony Blinken", "PER"),
)


@dataclass(frozen=True)
class SiteLayout:
    pages: int
    hosts: int = 4
    feeds_per_host: int = 2
    seed: int = 7

    def host_ip(self, host: int) -> str:
        return f"127.0.0.{host + 1}"

    def host_of(self, page: int) -> int:
        return page % self.hosts

    def feed_of(self, page: int) -> int:
        """Feed number within the page's host."""
        return (page // self.hosts) % self.feeds_per_host


def _upper_first(text: str) -> str:
    """Capitalise the first letter only (str.capitalize would lower-case every noun after it)."""
    return text[:1].upper() + text[1:]


def _sentence(rng: random.Random, entities: list[str]) -> str:
    words = rng.choices(WORDS, k=rng.randint(9, 19))
    if entities and rng.random() < 0.35:
        words.insert(rng.randrange(len(words) + 1), rng.choice(entities))
    return _upper_first(" ".join(words)) + "."


def _paragraphs(rng: random.Random) -> tuple[list[str], str]:
    names = [name for name, _kind in rng.sample(ENTITY_NAMES + EXTRA_ENTITIES, rng.randint(4, 8))]
    paras = [" ".join(_sentence(rng, names) for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(8, 10))]
    subheading = _upper_first(" ".join(rng.choices(WORDS, k=rng.randint(3, 6))))
    return paras, subheading


def _syndicated(original: list[str], rng: random.Random) -> list[str]:
    """A near copy: one paragraph dropped, one added at the end, the rest verbatim."""
    copy = list(original)
    del copy[rng.randrange(len(copy))]
    copy.append(" ".join(_sentence(rng, []) for _ in range(3)))
    return copy


def _body(layout: SiteLayout, page: int) -> tuple[list[str], str]:
    rng = random.Random(f"{layout.seed}:{page}")
    paras, subheading = _paragraphs(rng)
    if page % SYNDICATE_EVERY == SYNDICATE_EVERY - 1 and page >= 13:
        source, _ = _paragraphs(random.Random(f"{layout.seed}:{page - 13}"))
        paras = _syndicated(source, rng)
    return paras, subheading


def make_article(layout: SiteLayout, page: int) -> SampleArticle:
    """Page ``page`` as a SampleArticle rendered by its outlet's template."""
    templates = load_articles()
    base = templates[page % len(templates)]
    outlet = load_outlets()[base.outlet]
    rng = random.Random(f"{layout.seed}:{page}:meta")
    paras, subheading = _body(layout, page)
    cut = rng.randint(3, len(paras) - 2)
    paragraphs = [*paras[:cut], subheading, *paras[cut:]]
    published = FIRST_PUBLISHED + timedelta(minutes=3 * page)
    iso = published.isoformat(timespec="seconds")
    title = _upper_first(" ".join(rng.choices(WORDS, k=rng.randint(6, 10))))
    slug = f"artikel-{page:05d}"
    return replace(
        base,
        slug=slug,
        path=f"{outlet.prefix}{base.section.lower()}/{slug}.html",
        title=title,
        lead=paras[0].split(". ")[0] + ".",
        dateline=None,
        paragraphs=tuple(paragraphs),
        paragraph_parts=tuple((p,) for p in paragraphs),
        subheadings=(subheading,),
        inserts=tuple(i for i in base.inserts if i.after < len(paragraphs) - 1),
        published=iso,
        published_source="json-ld" if base.jsonld_published else "feed",
        modified=None,
        visible_date=published.strftime("%d.%m.%Y %H:%M") if base.visible_date else None,
        jsonld_published=iso if base.jsonld_published else None,
        jsonld_modified=None,
        feed_published=iso,
        feed_updated=None,
    )


# ---------------------------------------------------------------------------- site chrome
def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def _chrome_top(rng: random.Random, prefix: str) -> str:
    sections = ("Politik", "Wirtschaft", "Panorama", "Sport", "Kultur", "Wissen", "Digital", "Regional")
    menu = []
    for section in sections:
        links = "".join(
            f'<li class="mega-menu__item"><a class="mega-menu__link" href="{prefix}{section.lower()}/'
            f'{i}/">{_words(rng, 1, 3).title()}</a></li>'
            for i in range(10)
        )
        menu.append(f'<li class="mega-menu__section"><span>{section}</span><ul>{links}</ul></li>')
    ticker = "".join(f'<li><a href="{prefix}ticker/{i}.html">{_words(rng, 5, 9)}</a></li>' for i in range(6))
    style = "".join(
        f".c-{i}{{margin:{i % 7}px;padding:{i % 5}px {i % 3}px;color:#{(i * 2654435761) % 0xFFFFFF:06x}}}"
        for i in range(220)
    )
    return (
        f"<style>{style}</style>"
        f'<header class="site-header"><nav class="mega-menu" aria-label="Hauptmenü"><ul>{"".join(menu)}</ul></nav>'
        f'<div class="ticker"><span class="ticker__label">Eilmeldung</span><ul>{ticker}</ul></div></header>'
    )


def _chrome_bottom(rng: random.Random, prefix: str) -> str:
    rails = []
    for heading in ("Meistgelesen", "Empfehlungen der Redaktion", "Neueste Artikel"):
        cards = "".join(
            f'<article class="teaser"><a href="{prefix}artikel/{rng.randrange(10**6)}.html">'
            f'<img src="{prefix}img/{rng.randrange(10**6)}.jpg" srcset="{prefix}img/s.jpg 320w, {prefix}img/m.jpg 640w"'
            f' alt=""><span class="teaser__kicker">{_words(rng, 1, 2)}</span><h3>{_words(rng, 6, 10)}</h3></a>'
            f'<time datetime="2026-11-1{rng.randrange(10)}T0{rng.randrange(10)}:00:00+01:00">'
            f"{rng.randrange(1, 28)}.11.2026</time><p>{_words(rng, 14, 24)}</p></article>"
            for _ in range(6)
        )
        rails.append(f'<section class="rail"><h2>{heading}</h2>{cards}</section>')
    comments = "".join(
        f'<li class="comment"><b>Leser{rng.randrange(1000)}</b><p>{_words(rng, 12, 40)}</p></li>' for _ in range(6)
    )
    sitemap = "".join(f'<li><a href="{prefix}{_words(rng, 1, 1)}/">{_words(rng, 1, 2)}</a></li>' for _ in range(48))
    state = {
        "page": {"type": "article", "ads": [{"slot": f"content-{i}", "sizes": [[300, 250], [728, 90]]} for i in range(8)]},
        "recommendations": [
            {"id": rng.randrange(10**8), "title": _words(rng, 6, 10), "url": f"{prefix}artikel/{i}.html"}
            for i in range(40)
        ],
        "tracking": {"events": [f"evt-{rng.getrandbits(48):012x}" for _ in range(60)]},
    }
    return (
        f"<aside class=\"rails\">{''.join(rails)}</aside>"
        f'<section class="comments"><h2>Kommentare</h2><ol>{comments}</ol></section>'
        f'<footer class="sitemap"><ul>{sitemap}</ul></footer>'
        f'<script id="__STATE__" type="application/json">{json.dumps(state, ensure_ascii=False)}</script>'
        f"<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{'event':'pageview'}});</script>"
    )


def render_page(layout: SiteLayout, page: int, base_url: str) -> bytes:
    article = make_article(layout, page)
    prefix = load_outlets()[article.outlet].prefix
    rng = random.Random(f"{layout.seed}:{page}:chrome")
    html = render_article(article, base_url)
    html = html.replace("<body>", "<body>" + _chrome_top(rng, prefix), 1)
    html = html.replace("</body>", _chrome_bottom(rng, prefix) + "</body>", 1)
    return html.encode("utf-8")


def feed_path(feed: int) -> str:
    return f"/feeds/{feed}.xml"


# ---------------------------------------------------------------------------- servers
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BenchNewsSite/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without TCP_NODELAY, Nagle's algorithm holds
        # the body until the client's delayed ACK of the headers: ~40 ms per page on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record(self.path)  # type: ignore[attr-defined]
        found = self.server.routes.get(self.path)  # type: ignore[attr-defined]
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.OK, *found)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[bytes, str]]
    request_log: Any = None  # an open text file shared by the servers, or None
    log_lock: threading.Lock

    def record(self, path: str) -> None:
        """One line per request received: wall-clock time, host, path (bench/scaleout_celery.py
        checks the per-host politeness across workers with it)."""
        if self.request_log is not None:
            line = f"{time.time():.6f} {self.server_address[0]} {path}\n"
            with self.log_lock:
                self.request_log.write(line)
                self.request_log.flush()


class BenchSite:
    """All hosts' servers in this process; ``start()`` renders everything up front."""

    def __init__(self, layout: SiteLayout, request_log: Path | None = None, feed_format: str = "rss") -> None:
        self.layout = layout
        self.feed_format = feed_format  # "atom": entries carry <updated> (bench/rerun_cost.py)
        self._servers: list[_Server] = []
        self.page_sizes: list[int] = []
        self._request_log = request_log.open("a", encoding="utf-8") if request_log else None
        self._log_lock = threading.Lock()

    def start(self) -> list[dict]:
        """Start one server per host; return the feed configs (name, url, lang, allow_networks)."""
        layout = self.layout
        servers = [_Server((layout.host_ip(h), 0), _Handler) for h in range(layout.hosts)]
        bases = [f"http://{layout.host_ip(h)}:{s.server_address[1]}" for h, s in enumerate(servers)]
        routes: list[dict[str, tuple[bytes, str]]] = [
            {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")} for _ in servers
        ]
        entries: dict[tuple[int, int], list] = {}
        for page in range(layout.pages):
            host = layout.host_of(page)
            body = render_page(layout, page, bases[host])
            self.page_sizes.append(len(body))
            article = make_article(layout, page)
            routes[host][article.path] = (body, "text/html; charset=utf-8")
            entries.setdefault((host, layout.feed_of(page)), []).append(entry_for(article, bases[host]))
        feeds = []
        for (host, feed), items in sorted(entries.items()):
            items.sort(key=lambda e: e.published, reverse=True)
            name = f"bench-h{host + 1}-f{feed + 1}"
            render, kind = (render_atom, "atom") if self.feed_format == "atom" else (render_rss, "rss")
            xml = render(items, bases[host], f"Bench-Nachrichten {name}", feed_path(feed))
            routes[host][feed_path(feed)] = (xml.encode("utf-8"), f"application/{kind}+xml; charset=utf-8")
            feeds.append({
                "name": name, "url": bases[host] + feed_path(feed), "lang": "de",
                "allow_networks": [f"{layout.host_ip(host)}/32"], "entries": len(items),
            })
        for server, table in zip(servers, routes, strict=True):
            server.routes = table
            server.request_log, server.log_lock = self._request_log, self._log_lock
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        self._servers = servers
        return feeds

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []
        if self._request_log is not None:
            self._request_log.close()
            self._request_log = None


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the end-to-end benchmark's news site until stdin closes.")
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--feeds-per-host", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--request-log", type=Path, help="append 'time host path' per request received")
    parser.add_argument("--feed-format", choices=("rss", "atom"), default="rss")
    args = parser.parse_args(argv)
    site = BenchSite(SiteLayout(args.pages, args.hosts, args.feeds_per_host, args.seed), args.request_log,
                     args.feed_format)
    feeds = site.start()
    sizes = sorted(site.page_sizes)
    print(json.dumps({
        "feeds": feeds,
        "page_bytes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1],
                       "mean": sum(sizes) / len(sizes)},
    }), flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
