"""Bytes of a page to text: the charset the server declares, else the one the page declares in
its <meta>, else UTF-8, else Windows-1252 (a superset of ISO-8859-1 for printable text: German
pages without any declaration are nearly always one of the two)."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    # browsers read "iso-8859-1" and "ascii" as windows-1252 (WHATWG encoding standard)
    return "cp1252" if found in {"latin_1", "iso8859-1", "ascii"} else found


def decode_page(content: bytes, content_type: str | None = None) -> str:
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(content[:4096])
    for name in (header.group(1) if header else None, meta.group(1).decode("ascii", "ignore") if meta else None):
        codec = _codec(name)
        if codec:
            try:
                return content.decode(codec)
            except UnicodeDecodeError:
                continue  # a wrong declaration: fall through to the content itself
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")
