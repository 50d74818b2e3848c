"""Writes the hand-written bench fixtures (HTML page + expected paragraphs, one per line).

Kept as a script so the fixtures are reviewable and regenerable; run from this directory.
"""

from pathlib import Path

OUT = Path(__file__).parent


def page(lang: str, title: str, head_extra: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head_extra}</head>\n<body>\n'
        '<header class="site-header"><a href="/">Logo</a><nav><ul><li><a href="/a">Politik</a></li>'
        '<li><a href="/b">Sport</a></li><li><a href="/c">Kultur</a></li></ul></nav></header>\n'
        f"{body}\n<footer><ul><li><a href=\"/impressum\">Impressum</a></li><li><a href=\"/datenschutz\">Datenschutz</a></li>"
        "</ul><p>© 2025 Verlag</p></footer>\n</body></html>\n"
    )


def fix(name: str, lang: str, title: str, paras: list[str], body: str, head: str = "") -> None:
    (OUT / f"{name}.html").write_text(page(lang, title, head, body), encoding="utf-8")
    (OUT / f"{name}.txt").write_text("\n".join(paras) + "\n", encoding="utf-8")


P = {
    "de1": ["Der Stadtrat hat am Donnerstagabend mit knapper Mehrheit beschlossen, die Gebühren für das Anwohnerparken ab dem kommenden Jahr deutlich zu erhöhen. Statt bisher 30 Euro sollen Anwohner künftig 120 Euro pro Jahr zahlen.",
            "Die Opposition kritisierte die Entscheidung scharf. Gerade Familien mit kleinem Einkommen würden durch die neue Regelung belastet, sagte die Fraktionschefin der Grünen in der Sitzung.",
            "Die Verwaltung rechnet mit Mehreinnahmen von rund zwei Millionen Euro, die in den Ausbau von Radwegen und in den Nahverkehr fließen sollen."],
    "de2": ["Nach dem schweren Unwetter am Wochenende sind in mehreren Gemeinden im Allgäu die Aufräumarbeiten angelaufen. Feuerwehr und Technisches Hilfswerk waren mit mehreren hundert Kräften im Einsatz.",
            "Besonders betroffen war der Ort Oberstdorf, wo ein Bach über die Ufer trat und mehrere Keller flutete. Verletzt wurde nach Angaben der Polizei niemand.",
            "Der Deutsche Wetterdienst rechnet für die kommenden Tage mit weiteren Gewittern, allerdings weniger heftig als am Samstag."],
    "de3": ["Die Inflation in Deutschland ist im Oktober leicht gestiegen. Die Verbraucherpreise lagen nach vorläufigen Zahlen des Statistischen Bundesamts um 2,3 Prozent über dem Vorjahresmonat.",
            "Teurer wurden vor allem Dienstleistungen und Lebensmittel, während Energie im Vergleich zum Vorjahr günstiger war.",
            "Ökonomen erwarten, dass die Teuerung in den kommenden Monaten um diesen Wert schwanken wird. Die Europäische Zentralbank dürfte ihren Kurs deshalb vorerst beibehalten."],
    "de4": ["Der Fußball-Bundesligist hat sich überraschend von seinem Trainer getrennt. Das gab der Verein am Montagmorgen auf seiner Internetseite bekannt.",
            "Nach nur zwei Siegen aus den ersten zehn Spielen stand der Club auf dem vorletzten Tabellenplatz. Die Vereinsführung sah deshalb keine Grundlage mehr für eine weitere Zusammenarbeit.",
            "Wie geht es weiter?",
            "Bis zur Verpflichtung eines Nachfolgers soll der bisherige Co-Trainer die Mannschaft betreuen. Ein Name für die Nachfolge wurde noch nicht genannt."],
    "de5": ["Die Landesregierung will an allen Grundschulen bis 2028 ein kostenloses Mittagessen anbieten. Das kündigte die Kultusministerin am Mittwoch im Landtag an.",
            "Die Kosten schätzt das Ministerium auf rund 400 Millionen Euro pro Jahr. Kommunen und Elternverbände begrüßten den Vorstoß grundsätzlich, forderten aber eine verlässliche Finanzierung.",
            "Ob die Pläne rechtzeitig umgesetzt werden können, ist offen: Viele Schulen haben bislang keine eigene Küche."],
    "de6": ["Ein Großbrand in einer Lagerhalle im Hamburger Hafen hat in der Nacht zu Dienstag einen Großeinsatz der Feuerwehr ausgelöst. Über dem Stadtteil stand eine weithin sichtbare Rauchwolke.",
            "Die Behörden warnten die Anwohner über Warn-Apps, Fenster und Türen geschlossen zu halten. Messungen ergaben nach Angaben der Feuerwehr keine erhöhten Schadstoffwerte.",
            "Die Brandursache ist noch unklar. Die Polizei hat Ermittlungen aufgenommen."],
    "de7": ["Die Bahn will im kommenden Jahr mehr als 2000 Kilometer Gleise erneuern. Fahrgäste müssen sich deshalb auf zahlreiche Baustellen und Umleitungen einstellen.",
            "Besonders betroffen sind die Strecken zwischen Hamburg und Berlin sowie zwischen Köln und Frankfurt, die zeitweise komplett gesperrt werden.",
            "Der Fahrgastverband Pro Bahn forderte, Ersatzverkehre frühzeitig und verständlich anzukündigen."],
    "de8": ["Forscher der Universität Heidelberg haben einen neuen Ansatz zur Früherkennung von Alzheimer entwickelt. Ein einfacher Bluttest soll Hinweise auf die Erkrankung Jahre vor den ersten Symptomen liefern.",
            "In einer Studie mit mehr als 1000 Teilnehmenden erkannte der Test die Erkrankung in neun von zehn Fällen richtig.",
            "Bis zu einem Einsatz in der Praxis dürften allerdings noch einige Jahre vergehen, betonten die Autoren."],
    "en1": ["The European Commission on Wednesday proposed new rules to cut packaging waste, including mandatory reuse targets for takeaway food and drinks.",
            "Under the plan, member states would have to reduce packaging waste per capita by 15 percent by 2040 compared with 2018 levels.",
            "Industry groups warned the targets could raise costs for consumers, while environmental campaigners said the proposal did not go far enough."],
    "en2": ["A magnitude 6.1 earthquake struck off the coast of northern Japan early on Friday, shaking buildings in the region but causing no major damage, officials said.",
            "The Japan Meteorological Agency said there was no risk of a tsunami. Train services were briefly suspended as a precaution.",
            "What happens next",
            "Authorities urged residents to stay alert for aftershocks over the coming week."],
    "en3": ["Shares of the chipmaker rose more than 8 percent in after-hours trading after the company reported quarterly revenue well above analysts' expectations.",
            "Demand for data-center processors used in artificial intelligence continued to drive growth, the company said, with sales in that unit doubling from a year earlier.",
            "The company raised its forecast for the full year and announced a new share buyback program."],
    "en4": ["The city's main library will reopen next month after a two-year renovation that added a rooftop reading garden and a children's wing.",
            "The project cost 48 million dollars, about a third of which came from private donors, according to the library foundation.",
            "Opening hours will be extended to 10 p.m. on weekdays, the city said."],
    "en5": ["Scientists have found that a common garden plant can absorb more air pollution than previously thought, according to a study published on Monday.",
            "Researchers measured pollutant levels along busy roads lined with different hedge species over two years.",
            "They recommend that city planners consider dense hedges as a cheap way to improve air quality near schools and playgrounds."],
    "en6": ["The national team clinched a place in next summer's tournament with a 2-0 win on Saturday night, ending a twelve-year absence from the finals.",
            "Both goals came in the second half, after the visitors had dominated possession for much of the first.",
            "The coach praised his players' patience and said the squad would now focus on preparing for the draw in December."],
    "en7": ["Regulators on Thursday fined a major bank 120 million dollars for failing to monitor suspicious transactions over a period of five years.",
            "The bank said it had cooperated fully with the investigation and had already invested in new compliance systems.",
            "It was the largest penalty of its kind imposed by the regulator this year."],
}


def main() -> None:
    fix("de-regional-readalso", "de", "Anwohnerparken wird teurer", P["de1"],
        '<div id="content"><div class="artikel"><h1>Anwohnerparken wird deutlich teurer</h1><div class="meta">Lesezeit: 2 min</div>'
        f'<p>{P["de1"][0]}</p><p><strong>Lesen Sie auch: Neue Blitzer in der Innenstadt</strong></p><p>{P["de1"][1]}</p><p>Anzeige</p>'
        f'<p>{P["de1"][2]}</p></div>'
        '<h3>Das könnte Sie auch interessieren</h3><div class="liste"><p><a href="/x1">Neue Kita im Westen eröffnet</a></p>'
        '<p><a href="/x2">Stadtfest: Das Programm</a></p></div></div>')
    fix("de-unwetter-caption", "de", "Unwetter im Allgäu", P["de2"],
        '<main><article><h1>Aufräumarbeiten nach Unwetter im Allgäu</h1>'
        '<div class="bild"><img src="u.jpg" alt=""><p>Feuerwehrleute pumpen einen Keller aus. Foto: Max Mustermann/dpa</p></div>'
        f'<p>{P["de2"][0]}</p><p>{P["de2"][1]}</p><p>{P["de2"][2]}</p><p>mm/dpa</p></article></main>')
    fix("de-inflation-quelle", "de", "Inflation steigt leicht", P["de3"],
        '<div class="story"><h1>Inflation steigt leicht an</h1><div class="byline">Erstellt von - Uhr</div>'
        f'<p>{P["de3"][0]}</p><p>Quelle: Statistisches Bundesamt</p><p>{P["de3"][1]}</p><p>{P["de3"][2]}</p><p>(dpa)</p></div>'
        '<div class="box"><h2>Mehr zum Thema</h2><ul><li><a href="/1">Zinsen: EZB wartet ab</a></li><li><a href="/2">Mieten steigen weiter</a></li></ul></div>')
    fix("de-sport-subheading-promo", "de", "Trainer entlassen", P["de4"],
        '<article><h1>Bundesligist trennt sich von Trainer</h1>'
        f'<p>{P["de4"][0]}</p><p>{P["de4"][1]}</p><h2>{P["de4"][2]}</h2><p>{P["de4"][3]}</p>'
        '<p>Folgen Sie uns schon auf Instagram und TikTok? Hier gibt es die neuesten Sport-News.</p></article>')
    fix("de-schule-paywall", "de", "Kostenloses Mittagessen", P["de5"],
        '<article><h1>Kostenloses Mittagessen an Grundschulen geplant</h1>'
        f'<p>{P["de5"][0]}</p><p>{P["de5"][1]}</p><p>{P["de5"][2]}</p>'
        '<div class="abo-box"><p>Weiterlesen mit Abo</p><p>Sie haben bereits ein Abo? Hier anmelden.</p></div></article>',
        head='<script type="application/ld+json">{"@type":"NewsArticle","isAccessibleForFree":"False"}</script>')
    fix("de-brand-copyright", "de", "Großbrand im Hafen", P["de6"],
        '<div class="main"><div class="text"><h1>Großbrand im Hamburger Hafen</h1>'
        '<img src="b.jpg"><span>© Daniel Bockwoldt/dpa</span>'
        f'<p>{P["de6"][0]}</p><p>Die Rauchwolke über dem Hafen. (Foto: dpa)</p><p>{P["de6"][1]}</p><p>{P["de6"][2]}</p>'
        '<p>Teilen</p></div></div>')
    fix("de-bahn-dataset-split", "de", "Bahn erneuert Gleise", P["de7"],
        '<article><h1>Bahn erneuert 2000 Kilometer Gleise</h1><p>date 2024-11</p>'
        f'<p>{P["de7"][0]}</p><p>Besonders betroffen sind die Strecken zwischen Hamburg und Berlin sowie</p>'
        '<p>zwischen Köln und Frankfurt, die zeitweise komplett gesperrt werden.</p>'
        f'<p>{P["de7"][2]}</p><p>AFP/dpa/sk</p></article>')
    fix("de-wissen-lead-repeat", "de", "Bluttest für Alzheimer", P["de8"],
        '<article><h1>Neuer Bluttest soll Alzheimer früh erkennen</h1>'
        '<p class="intro">Forscher der Universität Heidelberg haben einen neuen Ansatz zur Früherkennung von Alzheimer entwickelt.</p>'
        f'<p>{P["de8"][0]}</p><p>{P["de8"][1]}</p><p>Lesen Sie hier: Was Sie über Demenz wissen sollten</p><p>{P["de8"][2]}</p></article>')
    fix("en-eu-related", "en", "EU packaging rules", P["en1"],
        '<article><h1>EU proposes new rules to cut packaging waste</h1><p>5 min read</p>'
        f'<p>{P["en1"][0]}</p><p>{P["en1"][1]}</p><p>Advertisement</p><p>{P["en1"][2]}</p>'
        '<h2>Related</h2><p><a href="/r1">Plastic bottle deposit scheme expands</a></p>'
        '<p><a href="/r2">Recycling rates stall across Europe</a></p></article>')
    fix("en-quake-subheading-credit", "en", "Earthquake off Japan", P["en2"],
        '<article><h1>Strong earthquake strikes off northern Japan</h1>'
        '<figure><img src="q.jpg"><span class="cap">A damaged shop front in Hachinohe. Photo: Kyodo via Reuters</span></figure>'
        f'<p>{P["en2"][0]}</p><p>{P["en2"][1]}</p><h2>{P["en2"][2]}</h2><p>{P["en2"][3]}</p>'
        '<p>Follow us on X for live updates.</p></article>')
    fix("en-markets-paywall-tail", "en", "Chipmaker shares jump", P["en3"],
        '<article><h1>Chipmaker shares jump after strong results</h1><p>By - </p>'
        f'<p>{P["en3"][0]}</p><p>{P["en3"][1]}</p><p>{P["en3"][2]}</p><p>Subscribe to continue reading</p></article>')
    fix("en-library-readalso", "en", "Library reopens", P["en4"],
        '<article><h1>City library to reopen after renovation</h1>'
        f'<p>{P["en4"][0]}</p><p>Read also: The best new books of the season</p><p>{P["en4"][1]}</p><p>{P["en4"][2]}</p>'
        "<p>Sign up for our morning newsletter to get the day's top stories.</p></article>"
        '<section><h2>You may also like</h2><p><a href="/y1">Museum announces free Sundays</a></p>'
        '<p><a href="/y2">New bridge opens to cyclists</a></p></section>')
    fix("en-science-source", "en", "Hedges absorb pollution", P["en5"],
        '<div class="post"><h1>Garden hedges absorb more pollution than thought</h1><p>Image: Getty Images</p>'
        f'<p>{P["en5"][0]}</p><p>{P["en5"][1]}</p><p>Source: Environmental Research Letters</p><p>{P["en5"][2]}</p>'
        '<p>(Reuters)</p></div>')
    fix("en-sport-share", "en", "National team qualifies", P["en6"],
        '<article><h1>National team qualifies for finals</h1><ul class="tools"><li>Share</li><li>Print</li></ul>'
        f'<p>{P["en6"][0]}</p><p>{P["en6"][1]}</p><p>{P["en6"][2]}</p><p>Comments</p></article>'
        '<div><h3>Most read</h3><ol><li><a href="/m1">Transfer rumours roundup</a></li><li><a href="/m2">Ticket prices to rise</a></li></ol></div>')
    fix("en-bank-copyright", "en", "Bank fined", P["en7"],
        '<article><h1>Bank fined 120 million dollars over money laundering controls</h1>'
        '<p>Reading time: 3 minutes</p>'
        f'<p>{P["en7"][0]}</p><p>{P["en7"][1]}</p><p>{P["en7"][2]}</p><p>© 2025 Example Media. All rights reserved.</p></article>')


if __name__ == "__main__":
    main()
