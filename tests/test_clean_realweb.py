"""Mechanisms behind whole articles lost on real pages (trafilatura's public evaluation set): each
page here is written to reproduce one cause, and the figures on the public set are in
docs/extraction-quality.md (bench/realweb_quality.py)."""

from __future__ import annotations

import trafilatura

from pipeline.clean.extract import _paragraphs
from pipeline.clean.rules import clean_article
from pipeline.clean.siterules import class_parts, load_rules

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


# --- leaked boilerplate on trafilatura's public set: causes found there, mechanisms written here ---


def test_calls_to_action_that_end_an_article_are_dropped_and_the_same_words_inside_are_kept() -> None:
    inside = ("Der Verband ruft dazu auf, die Kampagne auf Facebook und Twitter zu teilen und den Newsletter "
              "der Behörde zu abonnieren, um über neue Termine informiert zu werden.")
    closing = [
        "Never miss the latest news by signing up to our newsletter today!",
        "Folgen Sie uns auf Instagram und Telegram!",
        "For the latest stories download the Nationnews apps for iOS and Android.",
        "Unterstütze unsere Arbeit mit einem Abo!",
    ]
    html = _page(_body(PARAS[:1]) + f"<p>{inside}</p>" + _body(PARAS[1:]) + "".join(f"<p>{c}</p>" for c in closing))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == [PARAS[0], inside, *PARAS[1:]]
    assert {r.rule for r in cleaned.removals} >= {"generic:call-to-action", "generic:promo"}


def test_a_call_to_action_far_from_the_end_is_not_a_closing_line() -> None:
    line = "Unterstütze unsere Arbeit mit einem Abo!"
    many = [f"{p} (Teil {i})" for i in range(3) for p in PARAS]
    html = _page(_body(many[:1]) + f"<p>{line}</p>" + _body(many[1:]))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert line in cleaned.paragraphs


def test_a_related_list_under_a_heading_in_spanish_or_german_ends_the_article() -> None:
    for heading in ("NOTAS RELACIONADAS", "Weitere Beiträge aus der Kolumne:", "Mehr Themen:", "Entdecke weitere Homestorys"):
        teasers = (f"<h3>{heading}</h3><p>Hackers ofrecen descuento del 35% al Gobierno</p>"
                   "<p>Grupo Conti asegura haber hackeado Ministerio de Hacienda</p>")
        cleaned = clean_article(_page(_body() + teasers), URL, rules=load_rules())
        assert cleaned.paragraphs == PARAS, heading
        assert "generic:teaser-list:teaser-list" in {r.rule for r in cleaned.removals}


def test_teaser_links_set_in_the_text_are_dropped() -> None:
    lines = ["Lea más: Consejo Permanente de OEA aborda este miércoles la confiscación",
             "LE PUEDE INTERESAR: La ficha de Juan Orlando Hernández en el MDC de Nueva York",
             ">> Wegen Corona: Kult-Lokal auf Mallorca muss schließen <<", "Schon gelesen?",
             "Auch lesen: Diese 3 Sternzeichen verschenken ihr Herz an den Falschen"]
    html = _page(_body(PARAS[:2]) + "".join(f"<p>{line}</p>" for line in lines) + _body(PARAS[2:]))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == PARAS


def test_datelines_labels_and_disclosures_are_not_body_text() -> None:
    lines = ["23.10.2018", "Aktualisiert am 17.01.2021.", "24. März 2004, 19:49 | Genesis", "3:59 PM",
             "Kategorie: News", "Pressekontakt:", "Inhaltsverzeichnis",
             "Anzeige, enthält Affiliate Links",
             "This post contains references to products from one or more of our advertisers."]
    kept = "Die Wahl fand am 12.03.2020 statt und brachte der Regierungspartei 71,1 Prozent der Stimmen."
    html = _page(_body(PARAS[:2]) + "".join(f"<p>{line}</p>" for line in lines) + f"<p>{kept}</p>" + _body(PARAS[2:]))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == [*PARAS[:2], kept, *PARAS[2:]]
    assert {"generic:dateline", "generic:label", "generic:disclosure"} <= {r.rule for r in cleaned.removals}


def test_class_words_are_found_in_camel_case_and_share_and_author_boxes_go() -> None:
    assert "-author-box-" in class_parts("TestReport__AuthorBox")
    boxes = ('<div class="TestReport__AuthorBox"><p>Inga ist Redakteurin und testet gerne Küchengeräte.</p></div>'
             '<div class="sharedaddy sd-sharing-enabled"><h3>Teilen mit:</h3><a href="#">Facebook</a></div>')
    cleaned = clean_article(_page(_body() + boxes), URL, rules=load_rules())
    assert cleaned.paragraphs == PARAS
    assert {"generic:class:author-box", "generic:class:sharing"} <= {r.rule for r in cleaned.removals}


def test_the_standfirst_outside_the_article_text_is_put_back_first() -> None:
    lead = ("Nach tagelangen Protesten verspricht die Regierung in Astana niedrigere Gaspreise; "
            "Beobachter zweifeln, dass das reicht.")
    html = (
        f'<html lang="de"><head><title>Test</title><meta name="description" content="{lead}"></head><body>'
        '<header><nav><a href="/">Start</a> <a href="/politik">Politik</a></nav></header><main>'
        f'<div class="page-head"><h1>Proteste in Kasachstan</h1><h2 class="standfirst"><span class="kicker">Astana</span> '
        f"{lead}</h2></div>"
        f'<article>{_body()}</article></main><footer><p>Impressum</p></footer></body></html>'
    )
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == [lead, *PARAS]
    assert "added-lead" in cleaned.repairs


def test_the_description_alone_never_becomes_body_text() -> None:
    description = "Alles über die Proteste in Kasachstan: Hintergründe, Reaktionen und was jetzt kommt."
    html = _page(_body()).replace("<title>Test</title>", f'<title>Test</title><meta name="description" content="{description}">')
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == PARAS and "added-lead" not in cleaned.repairs
    # a lead the article text already starts with is not repeated
    html = _page(_body()).replace("<title>Test</title>", f'<title>Test</title><meta name="description" content="{PARAS[0]}">')
    assert clean_article(html, URL, rules=load_rules()).paragraphs == PARAS


def test_the_recall_call_runs_only_when_the_fast_and_full_calls_find_a_slogan(monkeypatch) -> None:
    from pipeline.clean import extract

    article = _body() * 3
    html = f"<html><body><header><p>Dein Touchpoint zur Branche.</p></header><article>{article}</article></body></html>"
    calls: list[dict] = []
    real = trafilatura.bare_extraction

    def fake(tree, **options):
        calls.append(options)
        doc = real(tree, **options)
        if not options.get("favor_recall"):  # the page where trafilatura's choice goes wrong
            doc.text = "Dein Touchpoint zur Branche."
        return doc

    monkeypatch.setattr(extract.trafilatura, "bare_extraction", fake)
    doc = extract.main_text(extract.parse_page(html), URL)
    assert PARAS[0] in doc.text
    assert [bool(c.get("favor_recall")) for c in calls] == [False, False, True]
    calls.clear()
    monkeypatch.setattr(extract.trafilatura, "bare_extraction", lambda tree, **o: calls.append(o) or real(tree, **o))
    extract.main_text(extract.parse_page(html), URL)
    assert len(calls) == 1  # a page where the fast call finds the article costs one call


def test_attribution_contact_and_paywall_lines_are_not_body_text() -> None:
    lines = ["Quelle: Deutscher Jagdverband (DJV), 02. Februar 2022, Berlin", "BVINEWS.COM",
             "Pressesprecher*in Markus Ulrich", "Redakteur in der Wirtschaft.", "Telefon: +49 (40) 300 30 1141",
             "Online-Pressemappe - alle Pressemitteilungen | RSS-Feed abonnieren",
             "To view the full story, please subscribe to The Island Times.",
             "If you're seeing this message but you're already a subscriber, you can log in."]
    kept = "Reporter ohne Grenzen kritisieren das Vorgehen der Behörden gegen die Journalisten."
    html = _page(_body(PARAS[:2]) + "".join(f"<p>{line}</p>" for line in lines) + f"<p>{kept}</p>" + _body(PARAS[2:]))
    cleaned = clean_article(html, URL, rules=load_rules())
    assert cleaned.paragraphs == [*PARAS[:2], kept, *PARAS[2:]]


def test_a_box_about_the_author_or_the_series_ends_the_article() -> None:
    box = "<h3>Über diese Reihe</h3><p>Die Stiftung ist in rund 110 Ländern mit einem eigenen Büro vertreten.</p>"
    cleaned = clean_article(_page(_body() + box), URL, rules=load_rules())
    assert cleaned.paragraphs == PARAS
    assert "generic:teaser-list:about-box" in {r.rule for r in cleaned.removals}
