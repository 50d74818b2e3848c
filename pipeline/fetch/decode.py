"""Bytes of a page to text, in the order that is right most often on real pages:

1. a byte-order mark (it overrides any declaration, as in browsers);
2. strict UTF-8: text that decodes as UTF-8 is UTF-8, whatever a header or <meta> says (a
   Latin-1 header over a UTF-8 page is a common server default);
3. UTF-8 with a few stray bytes (a pasted Windows-1252 quote in a UTF-8 page): UTF-8 with the
   bad bytes replaced, flagged, instead of the whole page as mojibake;
4. the charset the server declares, then the one the page's <meta> declares;
5. detection by charset-normalizer, then Windows-1252 (a superset of ISO-8859-1 for printable
   text: German pages without any declaration are nearly always one of the two).

``Decoded.repair`` names what was not clean, so the article can carry the flag.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: UTF-8 multi-byte sequences (lead byte and continuations), and bytes that cannot start one
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
#: at most one bad byte per this many good multi-byte sequences is a UTF-8 page with stray bytes
_STRAY_RATIO = 10


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    repair: str | None = None  # "utf8-stray-bytes" | "charset-detected" | "charset-guessed" | None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    # browsers read "iso-8859-1" and "ascii" as windows-1252 (WHATWG encoding standard)
    return "cp1252" if found in {"latin_1", "iso8859-1", "ascii"} else found


def _near_utf8(content: bytes) -> bool:
    """Mostly valid UTF-8: many good multi-byte sequences, a few bytes that fit none."""
    good = len(_UTF8_SEQUENCE.findall(content))
    if not good:
        return False
    bad = content.decode("utf-8", errors="replace").count("\ufffd") - content.count("\xef\xbf\xbd".encode("latin-1"))
    return 0 < bad and bad * _STRAY_RATIO <= good


def decode_document(content: bytes, content_type: str | None = None) -> Decoded:
    for bom, codec in _BOMS:
        if content.startswith(bom):
            try:
                return Decoded(content.decode(codec), codec)  # the BOM is kept: parsers skip it
            except UnicodeDecodeError:
                return Decoded(content.decode(codec, errors="replace"), codec, "bom-stray-bytes")
    try:
        return Decoded(content.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if _near_utf8(content):
        return Decoded(content.decode("utf-8", errors="replace"), "utf-8", "utf8-stray-bytes")
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(content[:4096])
    for name in (header.group(1) if header else None, meta.group(1).decode("ascii", "ignore") if meta else None):
        codec = _codec(name)
        if codec and codec != "utf-8":
            try:
                return Decoded(content.decode(codec), codec)
            except UnicodeDecodeError:
                continue  # a wrong declaration: fall through to the content itself
    detected = _detect(content)
    if detected:
        return Decoded(content.decode(detected, errors="replace"), detected, "charset-detected")
    return Decoded(content.decode("cp1252", errors="replace"), "cp1252", "charset-guessed")


def _detect(content: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(content[:65536]).best()
    codec = _codec(best.encoding) if best is not None else None
    return codec if codec and codec != "utf-8" else None


def decode_page(content: bytes, content_type: str | None = None) -> str:
    """The page's text (see ``decode_document`` for the order and what is flagged)."""
    return decode_document(content, content_type).text
