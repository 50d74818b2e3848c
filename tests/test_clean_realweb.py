"""Mechanisms behind whole articles lost on real pages (trafilatura's public evaluation set): each
page here is written to reproduce one cause, and the figures on the public set are in
docs/extraction-quality.md (bench/realweb_quality.py)."""

from __future__ import annotations

import trafilatura

from pipeline.clean import clean_article
from pipeline.extract import _paragraphs
from pipeline.siterules import class_parts, load_rules

URL = "https://www.unseen-news.example/politik/artikel-123.html"
PARAS = [
    ("Die Regierung in Astana hat am Montag neue Maßnahmen gegen die Preissteigerungen angekündigt, "
    "nachdem es in mehreren Städten des Landes zu Protesten gekommen war."),
    ("Nach Angaben des Innenministeriums wurden dabei mehr als hundert Menschen festgenommen; die Lage "
    "habe sich am Abend beruhigt, sagte ein Sprecher der Behörde in der Hauptstadt."),
    ("Beobachter erwarten, dass das Parlament noch in dieser Woche über ein Gesetz zur Deckelung der "
    "Gaspreise abstimmt, das die Regierung seit Monaten vorbereitet hat."),
]


def _page(body: str, *, body_class: str = "", article_class: str = "") -> str:
    return (
        f'<html lang="de"><head><title>Test</title></head><body class="{body_class}">'
        '<header><nav><a href="/">Start</a> <a href="/politik">Politik</a></nav></header>'
        f'<main><article class="{article_class}"><h1>Proteste in Kasachstan</h1>{body}</article></main>'
        '<footer><p>Impressum</p></footer></body></html>'
    )


def _body(paras: list[str] = PARAS) -> str:
    return "".join(f"<p>{p}</p>" for p in paras)


def test_class_words_match_token_parts_not_substrings() -> None:
    parts = class_parts("wp-featherlight-captions node-promoted image-caption Related_Box")
    assert "-caption-" in parts and "-related-" in parts
    assert "-promo-" not in parts and "-captions-" in parts  # "captions" is not "caption"


def test_a_body_with_captions_in_its_class_keeps_its_article() -> None:
    html = _page(_body() + '<div class="image-caption">Foto: Archiv</div>',
                 body_class="home wp-featherlight-captions category-no-newsletter-rss",
                 article_class="post node-promoted")
    cleaned = clean_article(html, URL, rules=load_rules())
    for para in PARAS:
        assert para in cleaned.paragraphs
    assert "generic:class:caption" in {r.rule for r in cleaned.removals}  # the real caption still goes
    assert "Foto: Archiv" not in cleaned.body


def test_no_drop_rule_removes_an_element_holding_most_of_the_text() -> None:
    html = _page('<div class="pageLayout--related">' + _body() + "</div>")
    cleaned = clean_article(html, URL, rules=load_rules())
    assert all(para in cleaned.paragraphs for para in PARAS)
    assert "kept:generic:class:related" in cleaned.repairs


def test_a_related_teaser_list_is_still_dropped() -> None:
    teasers = '<div class="related-articles"><a href="/a">Wetter: Glätte im Süden</a><a href="/b">Bundesliga</a></div>'
    cleaned = clean_article(_page(_body() + teasers), URL, rules=load_rules())
    assert "Glätte" not in cleaned.body and "generic:class:related" in {r.rule for r in cleaned.removals}


def test_a_results_table_is_article_text() -> None:
    table = ("<table><tr><th>Partei</th><th>Stimmen</th></tr><tr><td>Amanat</td><td>71,1 %</td></tr>"
             "<tr><td>Ak Schol</td><td>8,4 %</td></tr></table>")
    cleaned = clean_article(_page(_body(PARAS[:2]) + table + _body(PARAS[2:])), URL, rules=load_rules())
    assert "Amanat | 71,1 %" in cleaned.paragraphs
    assert PARAS[2] in cleaned.paragraphs


def test_text_in_a_heading_tail_is_kept() -> None:
    doc = trafilatura.bare_extraction(
        "<html><body><article>" + _body(PARAS[:1]) + "<h2>Die Reaktion</h2>" + PARAS[1]
        + "<ul><li>erstens</li><li>zweitens</li></ul>" + PARAS[2] + "</article></body></html>",
        include_tables=True,
    )
    paras = _paragraphs(doc.body, doc.text)
    texts = [p.text for p in paras]
    assert PARAS[1] in texts and PARAS[2] in texts
    assert [p.heading for p in paras if p.text == "Die Reaktion"] == [True]


def test_chrome_lines_in_other_languages_are_dropped() -> None:
    chrome = [
        "À lire aussi » Ballonnements : quel est votre profil digestif ?",
        "Czytaj też: Wyścig zbrojeń ruszył z kopyta",
        "Teilen Sie dies mit:",
        "Sie sind aktuell nicht eingeloggt.",
        "Kommentare insgesamt: 0",
        "Beitragsbild: Titelseite der Zeitung vom 2.4.2019, Ausriss.",
        "Marco Odermatt, Ski-Star aus der Schweiz. © AFP / MARCO BERTORELLO",
    ]
    html = _page(_body(PARAS[:2]) + "".join(f"<p>{line}</p>" for line in chrome) + _body(PARAS[2:]))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == PARAS
    assert {"generic:read-also", "generic:share", "generic:login", "generic:comments",
            "generic:caption-credit"} <= {r.rule for r in cleaned.removals}
