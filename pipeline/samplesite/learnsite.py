"""A second fixture site, "Kreisbote Online", for learned boilerplate and quality canaries.

Forty deterministic German local-news articles share boilerplate that no shipped rule covers: a
membership promo line at the end of the text and an "Aus unserem Archiv" block of links to four
other articles placed between the paragraphs (its links change from page to page, its markup does
not). The site also has a section front and a tag page (lists of links, not articles) and a
"redesign" switch: the same articles rendered by a client-side app whose text sits in a JSON
script, so extraction finds only the lead.

``LearnSite()`` serves it on 127.0.0.1 (ephemeral port); ``/feed.xml?from=0&to=30&lists=1`` is an
RSS feed of articles ``[from, to)`` (``lists=1`` adds the section and tag pages). The truth of
every page (article lines, boilerplate lines) is in :func:`learn_articles`.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

from pipeline.samplesite.quiet import QuietHandler

ARTICLE_COUNT = 40
PROMO_LINE = ("Unterstützen Sie unabhängigen Lokaljournalismus: Mit einem Digitalabo für 4,90 Euro im Monat "
              "lesen Sie alle Beiträge des Kreisboten.")
RELATED_HEADING = "Aus unserem Archiv"
MENU = ("Startseite", "Lokales", "Politik", "Wirtschaft", "Sport", "Kultur", "Service")
FOOTER = ("Impressum", "Datenschutz", "Kontakt", "Mediadaten")
SECTION_PATH = "/ressort/lokales/"
TAG_PATH = "/thema/stadtrat/"

_PLACES = ("Neustadt", "Altdorf", "Bergheim", "Talhausen", "Wiesenfeld", "Lindau am See", "Kirchberg", "Hofstetten")
_SUBJECTS = ("Der Stadtrat", "Die Bürgermeisterin", "Der Kreistag", "Die Feuerwehr", "Der Sportverein",
             "Die Grundschule", "Das Klinikum", "Die Stadtwerke", "Der Heimatverein", "Die Polizei")
_VERBS = ("hat am Dienstagabend beschlossen", "kündigte am Mittwoch an", "berichtete in der Sitzung",
          "stellte am Wochenende vor", "bestätigte auf Nachfrage", "will in den kommenden Monaten prüfen")
_OBJECTS = ("den Neubau der Sporthalle", "eine neue Buslinie in die Innenstadt", "die Sanierung des Freibads",
            "höhere Gebühren für Parkplätze", "ein Förderprogramm für Vereine", "den Ausbau der Radwege",
            "die Erweiterung des Kindergartens", "einen Zuschuss für das Stadtfest")
_DETAILS = ("Die Kosten liegen nach ersten Schätzungen bei rund {n} Millionen Euro.",
            "Mehrere Anwohner hatten sich zuvor in einem offenen Brief beschwert.",
            "Eine endgültige Entscheidung soll nach der Sommerpause fallen.",
            "Der Kämmerer mahnte, die Finanzlage der Gemeinde bleibe angespannt.",
            "Bis zum Baubeginn müssen noch mehrere Gutachten eingeholt werden.",
            "Die Opposition kritisierte, die Bürger seien zu spät beteiligt worden.",
            "Nach Angaben der Verwaltung sollen die Arbeiten im Frühjahr {y} beginnen.",
            "Vertreter aller Fraktionen lobten die gute Zusammenarbeit im Ausschuss.",
            "Im vergangenen Jahr waren ähnliche Pläne noch am Widerstand der Nachbarn gescheitert.",
            "Die Verwaltung rechnet mit etwa {k} Besucherinnen und Besuchern pro Woche.")


@dataclass(frozen=True)
class LearnArticle:
    n: int
    slug: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    author: str
    published: datetime
    related: tuple[int, ...]  # article numbers linked in the "Aus unserem Archiv" block

    @property
    def path(self) -> str:
        return f"/artikel/{self.n:03d}-{self.slug}.html"

    def related_lines(self, articles: list[LearnArticle]) -> list[str]:
        """The lines of the "Aus unserem Archiv" block: its heading and one line per linked article."""
        items = [f"{articles[i].title} – vom {articles[i].published.strftime('%d.%m.%Y')}" for i in self.related]
        return [RELATED_HEADING, *items]

    def boilerplate_lines(self, articles: list[LearnArticle]) -> list[str]:
        """What the learned profile must remove from this page's text."""
        return [PROMO_LINE, *self.related_lines(articles)]

    def article_lines(self) -> list[str]:
        """What must stay: the lead and every paragraph."""
        return [self.lead, *self.paragraphs]


def _sentence(rng: random.Random, place: str) -> str:
    subject, verb, obj = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)
    return f"{subject} in {place} {verb}, {obj} voranzutreiben."


def _paragraph(rng: random.Random, place: str) -> str:
    parts = [_sentence(rng, place)]
    for detail in rng.sample(_DETAILS, rng.randint(2, 3)):
        parts.append(detail.format(n=rng.randint(2, 19), y=rng.randint(2025, 2027), k=rng.randint(200, 900)))
    return " ".join(parts)


def learn_articles() -> list[LearnArticle]:
    rng = random.Random(7)
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    out = []
    for n in range(ARTICLE_COUNT):
        place = _PLACES[n % len(_PLACES)]
        obj = rng.choice(_OBJECTS)
        title = f"{place}: {rng.choice(_SUBJECTS)} streitet über {obj} ({n + 1})"
        lead = f"{place}. " + _sentence(rng, place) + " Die Debatte dauerte bis in den späten Abend."
        paragraphs = tuple(_paragraph(rng, place) for _ in range(rng.randint(5, 8)))
        related = tuple((n + k) % ARTICLE_COUNT for k in rng.sample(range(1, ARTICLE_COUNT), 4))
        out.append(LearnArticle(
            n=n, slug=f"{place.lower().replace(' ', '-')}-{n}", title=title, lead=lead, paragraphs=paragraphs,
            author=rng.choice(("Anna Berger", "Jonas Keller", "Miriam Vogt", "Stefan Huber")),
            published=start + timedelta(hours=7 * n), related=related,
        ))
    return out


def _head(title: str, canonical: str, og_type: str, jsonld: dict[str, object] | None) -> str:
    ld = f'<script type="application/ld+json">{json.dumps(jsonld, ensure_ascii=False)}</script>' if jsonld else ""
    return (f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"><title>{escape(title)} | Kreisbote Online</title>'
            f'<meta property="og:type" content="{og_type}"><meta property="og:site_name" content="Kreisbote Online">'
            f'<link rel="canonical" href="{escape(canonical)}">{ld}</head>\n')


def _chrome_top() -> str:
    items = "".join(f'<li><a href="/ressort/{m.lower()}/">{m}</a></li>' for m in MENU)
    return (f'<body><div class="kopfzeile"><a class="marke" href="/">Kreisbote Online</a>'
            f'<ul class="menue">{items}</ul></div>\n<div class="inhalt">\n')


def _chrome_bottom() -> str:
    links = " ".join(f'<a href="/{f.lower()}/">{f}</a>' for f in FOOTER)
    return f'</div>\n<div class="fusszeile"><div class="fuss-links">{links}</div></div>\n</body></html>\n'


def render_article(article: LearnArticle, articles: list[LearnArticle], base: str, *, redesign: bool = False) -> str:
    jsonld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
              "datePublished": article.published.isoformat(), "author": {"@type": "Person", "name": article.author}}
    out = [_head(article.title, base + article.path, "article", jsonld), _chrome_top()]
    when = article.published.strftime("%d.%m.%Y %H:%M")
    related = "".join(
        f'<p class="verweis"><a href="{articles[i].path}">{escape(articles[i].title)}</a>'
        f' – vom {articles[i].published.strftime("%d.%m.%Y")}</p>' for i in article.related
    )
    box = f'<div class="querverweis"><h4>{RELATED_HEADING}</h4>{related}</div>'
    if redesign:
        story = json.dumps({"paragraphs": list(article.paragraphs)}, ensure_ascii=False)
        out.append(
            f'<div class="app-shell"><h1>{escape(article.title)}</h1>'
            f'<div class="meta">Von {escape(article.author)} | {when}</div>'
            f'<p class="teaser-text">{escape(article.lead)}</p>'
            f'<div id="story-root" data-hydrate="story">Inhalt wird geladen …</div>'
            f'<script type="application/json" id="story-data">{escape(story)}</script>'
            f'{box}<p class="mitglied">{escape(PROMO_LINE)}</p></div>\n'
        )
    else:
        paras = [f"<p>{escape(p)}</p>" for p in article.paragraphs]
        paras.insert(3, box)
        out.append(
            f'<div class="beitrag"><h1>{escape(article.title)}</h1>'
            f'<div class="zeile"><span class="autor">Von {escape(article.author)}</span> '
            f'<time datetime="{article.published.isoformat()}">{when}</time></div>'
            f'<p class="vorspann"><strong>{escape(article.lead)}</strong></p>'
            + "".join(paras)
            + f'<p class="hinweis"><em>{escape(PROMO_LINE)}</em></p></div>\n'
        )
    out.append(_chrome_bottom())
    return "".join(out)


def render_list_page(title: str, path: str, articles: list[LearnArticle], base: str, *, snippets: bool) -> str:
    """A section front (teaser titles with a short kicker) or a tag page (plain link list)."""
    out = [_head(title, base + path, "website", None), _chrome_top(), f'<div class="liste"><h1>{escape(title)}</h1>']
    if snippets:
        for a in articles:
            out.append(f'<div class="anriss"><span class="ort">{escape(a.slug.split("-")[0].title())}</span>'
                       f'<h2><a href="{a.path}">{escape(a.title)}</a></h2>'
                       f'<span class="datum">{a.published.strftime("%d.%m.%Y")}</span></div>')
    else:
        out.append("<ul>" + "".join(f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in articles) + "</ul>")
    out.append('<p class="mehr"><a href="?seite=2">Weitere Beiträge</a></p></div>\n')
    out.append(_chrome_bottom())
    return "".join(out)


def render_feed(articles: list[LearnArticle], base: str, *, lists: bool) -> str:
    items = []
    for a in articles:
        items.append(f"<item><title>{escape(a.title)}</title><link>{base}{a.path}</link>"
                     f"<guid>{base}{a.path}</guid><pubDate>{format_datetime(a.published)}</pubDate></item>")
    if lists:
        for title, path in (("Lokales", SECTION_PATH), ("Thema: Stadtrat", TAG_PATH)):
            items.append(f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Kreisbote Online</title>'
            f'<link>{base}/</link><description>Lokalnachrichten</description>{"".join(items)}</channel></rss>\n')


class _Handler(QuietHandler):
    server: _Server


    def do_GET(self) -> None:
        url = urlsplit(self.path)
        site = self.server.site
        base = site.base_url
        articles = site.articles
        by_path = {a.path: a for a in articles}
        if url.path in by_path:
            self._send(HTTPStatus.OK, render_article(by_path[url.path], articles, base, redesign=site.redesign),
                       "text/html; charset=utf-8")
        elif url.path == "/feed.xml":
            query = parse_qs(url.query)
            lo = int(query.get("from", ["0"])[0])
            hi = int(query.get("to", [str(ARTICLE_COUNT)])[0])
            lists = query.get("lists", ["0"])[0] == "1"
            self._send(HTTPStatus.OK, render_feed(articles[lo:hi], base, lists=lists), "application/rss+xml; charset=utf-8")
        elif url.path == SECTION_PATH:
            self._send(HTTPStatus.OK, render_list_page("Lokales", SECTION_PATH, articles[:20], base, snippets=True),
                       "text/html; charset=utf-8")
        elif url.path == TAG_PATH:
            self._send(HTTPStatus.OK, render_list_page("Thema: Stadtrat", TAG_PATH, articles[::2], base, snippets=False),
                       "text/html; charset=utf-8")
        elif url.path == "/robots.txt":
            self._send(HTTPStatus.OK, "User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, "<html><body><h1>Nicht gefunden</h1></body></html>", "text/html")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: LearnSite


class LearnSite:
    """The Kreisbote fixture site on 127.0.0.1; ``redesign`` switches the article markup live."""

    def __init__(self) -> None:
        self.articles = learn_articles()
        self.redesign = False
        self.base_url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = self
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def feed_url(self, lo: int = 0, hi: int = ARTICLE_COUNT, *, lists: bool = False) -> str:
        return f"{self.base_url}/feed.xml?from={lo}&to={hi}" + ("&lists=1" if lists else "")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
