"""Page bytes to text, for pages in UTF-8, ISO-8859-1 and Windows-1252 (German umlauts, „quotes“)."""

from __future__ import annotations

import codecs

from pipeline.fetch.decode import decode_document, decode_page

TEXT = "Präsident Tokajew: „Größte Krise“ – Proteste in Almaty"


def test_charset_from_the_header_wins() -> None:
    assert decode_page(TEXT.encode("cp1252"), "text/html; charset=windows-1252") == TEXT


def test_iso_8859_1_label_is_read_as_windows_1252_like_browsers_do() -> None:
    assert decode_page(TEXT.encode("cp1252"), "text/html; charset=ISO-8859-1") == TEXT


def test_charset_from_meta_when_the_header_has_none() -> None:
    page = f'<html><head><meta charset="windows-1252"></head><body>{TEXT}</body></html>'.encode("cp1252")
    assert TEXT in decode_page(page, "text/html")
    page = f'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>{TEXT}'.encode("cp1252")
    assert TEXT in decode_page(page, None)


def test_undeclared_pages_utf8_first_then_windows_1252() -> None:
    assert decode_page(TEXT.encode("utf-8")) == TEXT
    assert decode_page(TEXT.encode("cp1252")) == TEXT


def test_a_wrong_declaration_does_not_garble_utf8() -> None:
    assert decode_page(TEXT.encode("utf-8"), "text/html; charset=utf-16") == TEXT
    assert decode_page(TEXT.encode("utf-8"), "text/html; charset=no-such-charset") == TEXT


def test_one_stray_byte_in_a_utf8_page_is_repaired_not_mojibake() -> None:
    page = f"<html><head><title>{TEXT}</title></head><body><p>{TEXT}</p>".encode() + b"\x96 Ende</p>"
    decoded = decode_document(page, "text/html; charset=utf-8")
    assert TEXT in decoded.text and "Ã" not in decoded.text
    assert decoded.encoding == "utf-8" and decoded.repair == "utf8-stray-bytes"
    assert "\ufffd Ende" in decoded.text


def test_a_utf8_bom_beats_a_latin1_header() -> None:
    page = codecs.BOM_UTF8 + f"<p>{TEXT}</p>".encode()
    decoded = decode_document(page, "text/html; charset=ISO-8859-1")
    assert TEXT in decoded.text and decoded.encoding == "utf-8" and decoded.repair is None


def test_valid_utf8_under_a_wrong_meta_charset_is_utf8() -> None:
    page = f'<html><head><meta charset="iso-8859-1"></head><body><p>{TEXT}</p></body></html>'.encode()
    decoded = decode_document(page, None)
    assert TEXT in decoded.text and decoded.repair is None


def test_a_legacy_page_is_not_mistaken_for_stray_bytes() -> None:
    page = ("<p>" + TEXT * 5 + "</p>").encode("cp1252")
    decoded = decode_document(page, "text/html; charset=windows-1252")
    assert TEXT in decoded.text and decoded.encoding == "cp1252" and decoded.repair is None


def test_an_undeclared_legacy_page_is_detected_and_flagged() -> None:
    decoded = decode_document(("<p>" + TEXT + "</p>").encode("cp1252"))
    assert TEXT in decoded.text and decoded.repair in {"charset-detected", "charset-guessed"}
