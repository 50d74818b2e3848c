"""Page bytes to text, for pages in UTF-8, ISO-8859-1 and Windows-1252 (German umlauts, „quotes“)."""

from __future__ import annotations

from pipeline.decode import decode_page

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
