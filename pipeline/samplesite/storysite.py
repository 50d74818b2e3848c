"""Fixture sites for learned boilerplate on news as it comes during an event (issue 21).

Two shapes of one host's feed, both in the Kreisbote chrome (pipeline.samplesite.learnsite: menu,
footer, the promo line at the end of the text and the "Aus unserem Archiv" block of links):

- :func:`developing_story`: many versions of one developing story (updates, follow-ups, agency
  copy). Every version has one paragraph of its own first, then the same six background
  paragraphs ("Tokajew hatte das Amt 2019 von Nasarbajew übernommen ...").
- :func:`topic_feed`: a topic feed of different stories (each with paragraphs of its own) that all
  end with the same two stock background paragraphs, the last of them where the promo line of
  other sites sits: the end of the text.

A learned profile must never take any of those paragraphs for boilerplate. ``StorySite(pages)``
serves the pages on 127.0.0.1 with ``/feed.xml`` listing them newest first (``promo=False``: pages
without the promo line, so the stock paragraphs end the text).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Self

from pipeline.samplesite.learnsite import PROMO_LINE, RELATED_HEADING, _chrome_bottom, _chrome_top, _head
from pipeline.samplesite.quiet import QuietHandler

BACKGROUND = (
    ("Kassym-Schomart Tokajew hatte das Amt 2019 von Nursultan Nasarbajew übernommen, der das Land seit "
    "der Unabhängigkeit 1991 fast drei Jahrzehnte lang geführt hatte und als Vorsitzender des "
    "Sicherheitsrats weiter großen Einfluss behielt."),
    ("Auslöser der Proteste war eine Verdopplung der Preise für Flüssiggas, mit dem in der Region "
    "Mangistau im Westen des Landes viele Autos fahren. Die Demonstrationen griffen rasch auf Almaty "
    "und andere Städte über."),
    ("Die Regierung trat am Mittwoch geschlossen zurück. Tokajew verhängte den Ausnahmezustand über "
    "das ganze Land und bat das von Russland geführte Militärbündnis OVKS um Hilfe."),
    ("Nach Angaben des Innenministeriums wurden landesweit mehr als 2000 Menschen festgenommen. "
    "Unabhängig überprüfen ließen sich die Zahlen zunächst nicht, das Internet war tagelang gesperrt."),
    ("Kasachstan ist das flächenmäßig größte Land Zentralasiens und reich an Erdöl, Erdgas und Uran. "
    "Rund 19 Millionen Menschen leben in der früheren Sowjetrepublik."),
    ("Die Europäische Union und die Vereinigten Staaten riefen alle Seiten zur Zurückhaltung auf und "
    "forderten eine friedliche Lösung, die die Rechte der Demonstranten achtet."),
)
#: shared by every version of the developing story too: a sub-heading and a short quote, lines a
#: profile counting articles (not stories) learns as readily as a "Lesezeit" label
SUBHEADING = "Was bisher geschah"
QUOTE = "„Die Lage ist unter Kontrolle“, sagte Tokajew im Staatsfernsehen."
#: the two stock paragraphs every story of the topic feed ends with
TOPIC_BACKGROUND = BACKGROUND[0], BACKGROUND[4]

_WHO = ("Präsident Tokajew", "Das Innenministerium", "Die Stadtverwaltung von Almaty", "Ein Sprecher der OVKS",
        "Die Opposition", "Augenzeugen", "Das Außenministerium in Moskau", "Die Nationalbank",
        "Der neue Regierungschef", "Menschenrechtler", "Die Generalstaatsanwaltschaft", "Ärzte in Almaty")
_SAID = ("teilte am {d}. Januar mit", "erklärte am Abend", "berichtete am Morgen", "sagte in einer Fernsehansprache",
         "bestätigte auf Anfrage", "warnte in einer Mitteilung")
_WHAT = ("dass {n} Menschen in Krankenhäusern behandelt werden", "dass der Flughafen von Almaty wieder öffnet",
         "dass die Banken nach {n} Tagen wieder Bargeld auszahlen", "dass {n} Soldaten des Bündnisses abziehen",
         "dass die Ausgangssperre um {n} Stunden verkürzt wird", "dass die Gaspreise für {n} Tage eingefroren werden",
         "dass {n} Verdächtige dem Haftrichter vorgeführt wurden", "dass das Internet in {n} Regionen wieder läuft",
         "dass der Sicherheitsrat künftig ohne Nasarbajew tagt", "dass {n} Geschäfte geplündert worden seien")
_MORE = ("Die Lage in der Innenstadt blieb nach Berichten von Reportern angespannt.",
         "Auf den Straßen patrouillierten weiter gepanzerte Fahrzeuge.",
         "Viele Geschäfte öffneten erstmals seit Tagen wieder.",
         "Vor den Tankstellen bildeten sich lange Schlangen.",
         "Internationale Beobachter fordern eine unabhängige Untersuchung.",
         "Der Ölpreis reagierte an den Märkten kaum auf die Nachrichten.",
         "In sozialen Netzwerken kursierten Videos, deren Echtheit unklar ist.",
         "Die Behörden kündigten für den kommenden Tag weitere Angaben an.",
         "Im Westen des Landes versammelten sich erneut einige Hundert Menschen.",
         "Die Regierung in Berlin rief Reisende zu besonderer Vorsicht auf.")
_WORD_TEXT = """
    Regierung Präsident Minister Parlament Wahl Gesetz Reform Polizei Armee Soldaten Grenze Bahnhof Hauptstadt
    Region Provinz Stadt Dorf Bevölkerung Bürger Demonstranten Gewerkschaft Arbeiter Unternehmen Konzern Bank
    Preise Inflation Treibstoff Benzin Strom Heizung Lebensmittel Brot Mieten Löhne Renten Steuern Haushalt
    Gericht Anwalt Richter Urteil Anklage Haft Gefängnis Zeugen Beweise Ermittler Bericht Studie Zahlen Daten
    Fernsehen Zeitung Journalisten Reporter Kamera Telefon Internet Netz Nachrichten Botschaft Diplomaten
    Gespräche Verhandlungen Treffen Gipfel Vertrag Abkommen Sanktionen Hilfe Spenden Krankenhaus Ärzte Schule
    Lehrer Kinder Familien Frauen Männer Jugendliche Studenten Rentner Bauern Händler Fahrer Piloten Flugzeug
    Straße Platz Gebäude Palast Verwaltung Behörde Ministerium Rathaus Markt Hafen Pipeline Ölfeld Mine Fabrik
    gestern heute morgen abends nachts später zuvor bereits erneut weiterhin offenbar angeblich vermutlich
    forderte kritisierte versprach bestritt räumte ein kündigte an drohte warnte lobte verurteilte prüfte
    und oder aber doch noch schon auch nur wieder sehr mehr weniger viele einige alle keine neue alte große
    """
_WORDS = tuple(_WORD_TEXT.split())
_TOPICS = ("Gaspreise", "Ausgangssperre", "Flughafen Almaty", "Festnahmen", "OVKS-Einsatz", "Bankensektor",
           "Internetsperre", "Ölindustrie", "Regierungsbildung", "Nasarbajew-Clan", "Grenzverkehr", "Uranexport")


@dataclass(frozen=True)
class StoryPage:
    n: int
    slug: str
    title: str
    paragraphs: tuple[str, ...]   # the article's text: every one must stay in the indexed body
    published: datetime

    @property
    def path(self) -> str:
        return f"/nachrichten/{self.n:03d}-{self.slug}.html"


def _own_paragraph(rng: random.Random, n: int) -> str:
    """A paragraph of its own: a report sentence, a sentence of random words, one stock phrase."""
    who, said, what = rng.choice(_WHO), rng.choice(_SAID), rng.choice(_WHAT)
    lead = f"{who} {said.format(d=rng.randint(2, 20))}, {what.format(n=rng.randint(3, 9000))}."
    words = " ".join(rng.choices(_WORDS, k=rng.randint(12, 20)))
    return " ".join([lead, words[:1].upper() + words[1:] + ".", rng.choice(_MORE)]) + f" (Meldung {n + 1})"


def developing_story(count: int = 60) -> list[StoryPage]:
    """``count`` versions of one story: one paragraph of its own, then the shared ones (six
    background paragraphs, a short quote and a sub-heading)."""
    rng = random.Random(21)
    start = datetime(2022, 1, 5, 6, 0, tzinfo=UTC)
    return [
        StoryPage(n, f"kasachstan-update-{n + 1}", f"Unruhen in Kasachstan: Die Lage am Morgen (Update {n + 1})",
                  (_own_paragraph(rng, n), BACKGROUND[0], QUOTE, BACKGROUND[1], SUBHEADING, *BACKGROUND[2:]),
                  start + timedelta(minutes=40 * n))
        for n in range(count)
    ]


def topic_feed(count: int = 40) -> list[StoryPage]:
    """``count`` different stories of one topic, each 3-5 paragraphs of its own and the two stock
    background paragraphs at the end."""
    rng = random.Random(22)
    start = datetime(2022, 1, 5, 6, 0, tzinfo=UTC)
    out = []
    for n in range(count):
        topic = _TOPICS[n % len(_TOPICS)]
        own = tuple(_own_paragraph(rng, n * 10 + i) for i in range(rng.randint(3, 5)))
        out.append(StoryPage(n, f"kasachstan-thema-{n + 1}",
                             f"Kasachstan: {topic} – was bisher bekannt ist ({n + 1})", (*own, *TOPIC_BACKGROUND),
                             start + timedelta(hours=5 * n)))
    return out


def render_story(page: StoryPage, pages: list[StoryPage], base: str, *, promo: bool = True) -> str:
    """Kreisbote markup: the archive block after the third paragraph, the promo line last
    (``promo=False``: no promo line, the article's last paragraph ends the text)."""
    others = [p for p in pages if p.n != page.n][:4]
    related = "".join(f'<p class="verweis"><a href="{p.path}">{escape(p.title)}</a>'
                      f' – vom {p.published.strftime("%d.%m.%Y")}</p>' for p in others)
    box = f'<div class="querverweis"><h4>{RELATED_HEADING}</h4>{related}</div>'
    paras = [f"<p><strong>{escape(p)}</strong></p>" if p == SUBHEADING else f"<p>{escape(p)}</p>"
             for p in page.paragraphs]
    paras.insert(3, box)
    when = page.published.strftime("%d.%m.%Y %H:%M")
    return "".join([
        _head(page.title, base + page.path, "article", None), _chrome_top(),
        f'<div class="beitrag"><h1>{escape(page.title)}</h1>'
        f'<div class="zeile"><span class="autor">Von Anna Berger</span> '
        f'<time datetime="{page.published.isoformat()}">{when}</time></div>'
        + "".join(paras) + (f'<p class="hinweis"><em>{escape(PROMO_LINE)}</em></p>' if promo else "") + "</div>\n",
        _chrome_bottom(),
    ])


def render_feed(pages: list[StoryPage], base: str) -> str:
    items = "".join(
        f"<item><title>{escape(p.title)}</title><link>{base}{p.path}</link><guid>{base}{p.path}</guid>"
        f"<pubDate>{format_datetime(p.published)}</pubDate></item>"
        for p in sorted(pages, key=lambda p: p.published, reverse=True)
    )
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Kreisbote Online</title>'
            f'<link>{base}/</link><description>Nachrichten</description>{items}</channel></rss>\n')


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path.split("?", 1)[0]
        by_path = {p.path: p for p in site.pages}
        if path in by_path:
            html = render_story(by_path[path], site.pages, site.base_url, promo=site.promo)
            self._send(HTTPStatus.OK, html, "text/html; charset=utf-8")
        elif path == "/feed.xml":
            self._send(HTTPStatus.OK, render_feed(site.pages, site.base_url), "application/rss+xml; charset=utf-8")
        elif path == "/robots.txt":
            self._send(HTTPStatus.OK, "User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, "<html><body><h1>Nicht gefunden</h1></body></html>", "text/html")



class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: StorySite


class StorySite:
    """``pages`` on 127.0.0.1 (ephemeral port); ``feed_url`` lists them all, newest first."""

    def __init__(self, pages: list[StoryPage], *, promo: bool = True) -> None:
        self.pages = pages
        self.promo = promo
        self.base_url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/feed.xml"

    def __enter__(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = self
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
