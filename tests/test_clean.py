"""Cleaning against the real sample site (no mocks) and each generic rule on small snippets."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from pipeline.clean.extract import ExtractionError, normalize_space
from pipeline.clean.rules import Cleaned, Removal, clean_article
from pipeline.clean.siterules import ConfigError, build_rulebook, load_rules
from pipeline.samplesite import SampleSite, load_articles

UNSEEN = "https://www.unseen-news.example/politik/artikel-123.html"
FILLER_DE = (
    "Die Regierung hat am Dienstag in Berlin neue Pläne für den Ausbau der Bahnstrecken vorgestellt. "
    "Nach Angaben des Ministeriums sollen bis zum Jahr 2030 mehr als zwanzig Milliarden Euro in das "
    "Schienennetz fließen, vor allem in die Sanierung von Brücken und Stellwerken."
)
SECOND_DE = (
    "Kritiker bemängeln seit Jahren, dass das Geld zu langsam abfließt. Der Verband der Fahrgäste "
    "forderte am Abend, die Mittel zuerst in Regionalstrecken zu stecken."
)
SECOND_EN = (
    "Residents who spoke at the meeting were divided, with shop owners worried about parking and "
    "parents welcoming safer routes to school."
)
FILLER_EN = (
    "The city council voted on Tuesday to expand the network of protected bike lanes across the downtown "
    "area. Officials said the project would cost about twelve million dollars and take three years, with "
    "construction starting on the busiest corridors next spring."
)


@pytest.fixture(scope="module")
def sample_pages() -> dict[str, tuple[str, str]]:
    site = SampleSite()
    base = site.start()
    try:
        pages = {}
        for article in load_articles():
            url = base + article.path
            with urllib.request.urlopen(url) as response:
                pages[article.slug] = (response.read().decode("utf-8"), url)
        return pages
    finally:
        stop = getattr(site, "stop", None)
        if stop:
            stop()


def _cleaned(sample_pages: dict[str, tuple[str, str]], slug: str) -> Cleaned:
    page, url = sample_pages[slug]
    return clean_article(page, url, rules=load_rules())


@pytest.mark.parametrize("article", load_articles(), ids=lambda a: a.slug)
def test_sample_page_body_is_exactly_clean(sample_pages: dict[str, tuple[str, str]], article) -> None:
    cleaned = _cleaned(sample_pages, article.slug)
    lines = [normalize_space(p) for p in cleaned.body.split("\n\n")]
    for paragraph in article.paragraphs:
        assert normalize_space(paragraph) in lines, paragraph[:60]
    boilerplate = {normalize_space(b) for b in article.boilerplate}
    assert not [line for line in lines if line in boilerplate]
    assert cleaned.flags == []
    assert cleaned.title == article.title


@pytest.mark.parametrize("article", [a for a in load_articles() if a.signoff], ids=lambda a: a.slug)
def test_signoff_lands_in_metadata(sample_pages: dict[str, tuple[str, str]], article) -> None:
    cleaned = _cleaned(sample_pages, article.slug)
    assert cleaned.signoff == article.signoff
    assert article.signoff not in cleaned.body
    assert article.agency in cleaned.agencies
    for author in article.authors:
        assert author.casefold() in {a.casefold() for a in cleaned.authors}


def test_split_paragraph_of_003_is_joined(sample_pages: dict[str, tuple[str, str]]) -> None:
    cleaned = _cleaned(sample_pages, "ovks-soldaten-in-almaty")
    assert any("getötet worden seien. Zudem" in p for p in cleaned.paragraphs)
    assert not any(p.startswith("seien.") for p in cleaned.paragraphs)
    assert "joined-split-paragraph" in cleaned.repairs


def test_lead_of_000_appears_once(sample_pages: dict[str, tuple[str, str]]) -> None:
    article = load_articles()[0]
    cleaned = _cleaned(sample_pages, article.slug)
    assert article.lead is not None
    assert cleaned.body.count(article.lead) == 1


def test_subheadings_are_kept_as_paragraphs(sample_pages: dict[str, tuple[str, str]]) -> None:
    for article in load_articles():
        cleaned = _cleaned(sample_pages, article.slug)
        for heading in article.subheadings:
            assert heading in cleaned.paragraphs


# --- generic rules on unseen-site snippets -----------------------------------------------------


def _page(body: str, *, lang: str = "de", head: str = "") -> str:
    return (
        f'<html lang="{lang}"><head><title>Testartikel</title>{head}</head><body>'
        '<header><nav><a href="/">Start</a></nav></header>'
        f"<main><article><h1>Ein Testartikel über etwas Wichtiges</h1>{body}</article></main>"
        "<footer>Impressum</footer></body></html>"
    )


def _clean(body: str, **kwargs: str) -> Cleaned:
    return clean_article(_page(body, **kwargs), UNSEEN, rules=load_rules())


def _rules(cleaned: Cleaned) -> set[str]:
    return {r.rule for r in cleaned.removals}


def test_teaser_list_after_heading_is_cut_de() -> None:
    cleaned = _clean(
        f"<p>{FILLER_DE}</p><p>{SECOND_DE}</p><h2>Das könnte Sie auch interessieren</h2>"
        "<p>Wetter: Glätte im Süden</p><p>Bundesliga: Bayern gewinnt klar</p>"
    )
    assert "interessieren" not in cleaned.body and "Bundesliga" not in cleaned.body
    assert "generic:teaser-list:teaser-list" in _rules(cleaned)
    assert len(cleaned.paragraphs) == 2


def test_teaser_list_after_heading_is_cut_en() -> None:
    cleaned = _clean(
        f"<p>{FILLER_EN}</p><p>{SECOND_EN}</p><h3>Related</h3>"
        "<p>Mayor resigns after budget row</p><p>Storm knocks out power to thousands</p>",
        lang="en",
    )
    assert cleaned.paragraphs == [FILLER_EN, SECOND_EN]


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Lesen Sie auch: Bahn erhöht die Preise zum Fahrplanwechsel", "generic:read-also"),
        ("Lesen Sie hier: Alles zur Wahl in Thüringen", "generic:read-also"),
        ("Read also: Why the bridge closed", "generic:read-also"),
        ("Folgen Sie uns schon bei Facebook und YouTube? Hier gibt es News.", "generic:promo"),
        ("Follow us on Twitter for the latest updates.", "generic:promo"),
        ("(Foto: dpa)", "generic:caption-credit"),
        ("Bild: picture alliance/dpa | Michael Kappeler", "generic:caption-credit"),
        ("Foto: Max Mustermann", "generic:caption-credit"),
        ("Quelle: Statistisches Bundesamt", "generic:caption-credit"),
        ("© Reuters", "generic:caption-credit"),
        ("Der Minister am Montag in Berlin. (Foto: dpa)", "generic:caption-credit"),
        ("Lesezeit: 2 min", "generic:reading-time"),
        ("5 min read", "generic:reading-time"),
        ("Anzeige", "generic:ad"),
        ("Advertisement", "generic:ad"),
        ("Erstellt von - Uhr", "generic:broken-byline"),
        ("date 2022-01", "generic:dataset-artefact"),
    ],
)
def test_generic_line_rules(line: str, rule: str) -> None:
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>{line}</p><p>{SECOND_DE}</p>")
    assert line not in cleaned.paragraphs
    assert any(r.rule == rule and r.chars == len(line) for r in cleaned.removals), cleaned.removals
    assert cleaned.paragraphs == [FILLER_DE, SECOND_DE]


def test_real_sentence_with_short_words_is_kept() -> None:
    sentence = "Die Politik reagierte am Abend: Foto und Bild der Lage seien noch unklar, sagte er."
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>{sentence}</p>")
    assert sentence in cleaned.paragraphs


@pytest.mark.parametrize(
    ("tail", "signoff", "agencies"),
    [("su mit dpa", "su mit dpa", ["dpa"]), ("/news.de/dpa", "/news.de/dpa", ["dpa"]),
     ("(dpa)", "(dpa)", ["dpa"]), ("AFP/dpa/sk", "AFP/dpa/sk", ["AFP", "dpa"])],
)
def test_signoff_line_moves_to_metadata(tail: str, signoff: str, agencies: list[str]) -> None:
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>{SECOND_DE}</p><p>{tail}</p>")
    assert cleaned.signoff == signoff
    assert cleaned.agencies == agencies
    assert cleaned.paragraphs[-1] == SECOND_DE


def test_trailing_signoff_inside_last_paragraph() -> None:
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>Das sagte der Sprecher am Abend in Berlin. (dpa)</p>")
    assert cleaned.paragraphs[-1] == "Das sagte der Sprecher am Abend in Berlin."
    assert cleaned.signoff == "(dpa)"


def test_split_paragraph_is_joined_and_headings_kept() -> None:
    cleaned = _clean(
        f"<p>{FILLER_DE}</p><h2>Zwischentitel ohne Punkt</h2><p>Der Minister sagte, dass die Pläne schon</p>"
        "<p>bald umgesetzt würden. Kritiker widersprachen.</p>"
    )
    assert cleaned.paragraphs[1] == "Zwischentitel ohne Punkt"
    assert cleaned.paragraphs[2] == "Der Minister sagte, dass die Pläne schon bald umgesetzt würden. Kritiker widersprachen."


def test_repeated_lead_is_dropped() -> None:
    lead = "Die Regierung hat neue Pläne für die Bahn vorgestellt."
    cleaned = _clean(f"<p>{lead}</p><p>{lead} {FILLER_DE}</p><p>{SECOND_DE}</p>")
    assert cleaned.body.count(lead) == 1
    assert Removal("repair:repeated-lead", len(lead)) in cleaned.removals


def test_removal_audit_names_rules_and_counts_chars() -> None:
    cleaned = _clean(
        f'<figure><img src="a.jpg"><figcaption>Ein Bild vom Bahnhof. Foto: dpa</figcaption></figure>'
        f"<p>{FILLER_DE}</p><p>Anzeige</p><p>{SECOND_DE}</p>"
    )
    assert Removal("generic:selector:figcaption", len("Ein Bild vom Bahnhof. Foto: dpa")) in cleaned.removals
    assert Removal("generic:ad", 7) in cleaned.removals


def test_too_short_is_flagged_not_dropped() -> None:
    cleaned = _clean("<p>Kurze Meldung: Der Zug fährt wieder.</p>")
    assert "too-short" in cleaned.flags
    assert cleaned.body == "Kurze Meldung: Der Zug fährt wieder."


@pytest.mark.parametrize("value", ["false", "False", "false_bool"])
def test_paywall_flag_from_jsonld(value: str) -> None:
    literal = "false" if value == "false_bool" else f'"{value}"'
    head = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
        f'"isAccessibleForFree":{literal},"headline":"x"}}</script>'
    )
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>{SECOND_DE}</p>", head=head)
    assert "paywalled" in cleaned.flags


@pytest.mark.parametrize("tail", ["Weiterlesen mit Abo", "Jetzt weiterlesen mit RP+", "Subscribe to continue reading"])
def test_paywall_tail_flags_truncated(tail: str) -> None:
    cleaned = _clean(f"<p>{FILLER_DE}</p><p>{SECOND_DE}</p><p>{tail}</p>")
    assert "truncated" in cleaned.flags
    assert tail not in cleaned.body
    assert "generic:paywall:paywall-tail" in _rules(cleaned)


def test_no_main_text_raises_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        clean_article("<html><body></body></html>", UNSEEN, rules=load_rules())


def test_bad_regex_is_a_clear_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nmatch: {hosts: [example.org]}\ndrop_lines:\n  - {name: broken, pattern: '(unclosed'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bad\.yaml.*broken"):
        build_rulebook([bad], None)


def test_bad_yaml_is_a_clear_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        build_rulebook([bad], None)


def test_site_rules_match_host_and_longest_path_prefix() -> None:
    book = load_rules()
    assert book.for_url("http://127.0.0.1:8080/dwn/1/x").name == "dwn"
    assert book.for_url("http://localhost/newsde/x").name == "newsde"
    assert book.for_url(UNSEEN).name == "generic"
