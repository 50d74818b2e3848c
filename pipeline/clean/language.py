"""Language of the cleaned article body.

langdetect is the first detector: it is good on the big European and Asian languages and gives a
probability we store. It has two weaknesses this module works around:

* it is random (it samples n-grams), and its seed lives in the class attribute
  ``DetectorFactory.seed`` - global state that concurrent callers would overwrite. We therefore run
  it through :mod:`pipeline.clean.fastlangdetect` (langdetect's algorithm and profiles, result for result,
  about 3x faster), which seeds a per-call ``random.Random``: results are deterministic per
  (text, seed) in any thread, and nobody else's ``DetectorFactory.seed`` can leak in.
* it has no profile for Kazakh (nor Kyrgyz, Tatar, Belarusian, ...) and confidently labels Kazakh as
  Russian, Bulgarian, Macedonian or Ukrainian. When langdetect is unsure, or the text contains the
  Kazakh-specific Cyrillic letters at a meaningful rate, we consult py3langid, whose model covers
  140 languages including kk, ky and tt, and record in ``source`` which detector decided.

On an article body (``PY3LANGID_FIRST_CHARS`` letters and more) py3langid is asked first and its
answer stands when it is near certain: there the two detectors agree, and py3langid costs half as
much; langdetect stays first on shorter texts and decides where py3langid is less sure.

Very short texts are not worth detecting (both detectors guess on a sentence fragment); they take the
declared language of the page or feed. With nothing declared, a headline-length text is accepted only
when both detectors agree confidently, else ``und``. Length is counted in letters (CJK weighted), so
a line of dates and prices is "short" however many characters it has.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.clean.fastlangdetect import FastDetector

# Below this many letters (see ``effective_length``: digits, punctuation and spaces do not count) we
# trust the declared language more than any detector. 30 letters is a short one-line sentence (~40
# characters). Counting letters rather than characters matters: langdetect calls a price/date line
# such as "12.03.2024 | 1.234,56 EUR | +3,5 %" German with probability 1.0 because of "EUR".
MIN_CHARS = 30
# A Han, kana or Hangul character carries roughly a word's worth of signal; counting it as one Latin
# character would send every one-sentence Chinese or Japanese text (15-35 characters) to the fallback.
CJK_WEIGHT = 3
# langdetect top probability below which we ask py3langid for a second opinion.
MIN_PROBABILITY = 0.8
# Detectors read at most this many characters (cut at a space): a long article's first ~1,000
# characters decide its language as well as the whole text does, at a fraction of the time
# (langdetect's cost grows with the text; it dominated the cleaning stage on full bodies).
MAX_CHARS = 1000
# py3langid (normalised) probability needed for its answer to override / replace langdetect's.
PY3LANGID_MIN_PROBABILITY = 0.7
# From this many letters on (an article body; ``MAX_CHARS`` caps what is read) py3langid is asked
# first, and its answer stands when it is this sure: on a text that long both detectors agree (990
# bodies of trafilatura's evaluation set: see docs/language-accuracy.md), and py3langid costs about
# half of langdetect's seven sampled trials. Shorter texts (headlines, teasers, the hand-written
# samples) keep langdetect first, where the two differ most.
PY3LANGID_FIRST_CHARS = 400
PY3LANGID_FIRST_PROBABILITY = 0.99
# Texts shorter than MIN_CHARS but with at least this many letters are still detected when nothing is
# declared - and accepted only when both detectors agree confidently (headlines, one-line teasers).
MIN_AGREE_CHARS = 15
# Letters of the Kazakh alphabet that Russian lacks. і is also Ukrainian/Belarusian, which is why the
# script signal only makes us *consult* py3langid rather than deciding "kk" on its own.
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Share of Cyrillic letters that must be Kazakh-specific (Kazakh prose runs at ~8-12 %; a Russian text
# quoting one Kazakh name stays far below), plus a minimum count of the letters other than і so that
# a single quoted name, or a Ukrainian text (і is common there), cannot trigger it.
KAZAKH_MIN_RATE = 0.02
KAZAKH_MIN_COUNT = 2

# Code differences between the two detectors (and dialect labels of py3langid) mapped to ISO 639-1,
# so downstream analyzers and filters see one code per language.
_CODE_MAP: dict[str, str] = {
    "zh-cn": "zh",
    "zh-tw": "zh",
    "zh-hans": "zh",
    "zh-hant": "zh",
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "nb": "no",
    "arz": "ar",
    "ary": "ar",
    "uzs": "uz",
    # Wu and Cantonese are members of the zh macrolanguage; py3langid reports ``wuu`` for some
    # Mandarin news sentences, and ISO 639-1 has only ``zh`` for all of them.
    "wuu": "zh",
    "yue": "zh",
    "zxx": "und",
}


@dataclass(frozen=True)
class LanguageGuess:
    """Detected language: ISO 639-1 code (or ``und``), the deciding detector's probability (None when
    declared or undetermined) and ``source``: langdetect, py3langid, script+py3langid, declared, none."""

    lang: str
    probability: float | None
    source: str


_lock = threading.Lock()
_detector: FastDetector | None = None
_identifier: Any = None


def normalize_code(code: str | None) -> str:
    """Map a detector or declared code (``zh-cn``, ``de-DE``, ``arz``) to ISO 639-1 (``zh``, ``de``,
    ``ar``); ``und`` for empty input. Why: langdetect, py3langid and HTML ``lang`` attributes spell
    the same language differently, and a stored field must not."""
    if not code:
        return "und"
    low = code.strip().lower().replace("_", "-")
    if low in _CODE_MAP:
        return _CODE_MAP[low]
    base = low.split("-")[0]
    return _CODE_MAP.get(base, base) or "und"


def _langdetect() -> FastDetector:
    """langdetect's profiles, loaded once (~0.5 s) into our own detector, so nobody else's
    ``DetectorFactory.seed`` setting can leak into ours."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = FastDetector()
    return _detector


def _py3langid() -> Any:
    """py3langid identifier with normalised probabilities (the module default returns raw log scores,
    useless as a threshold); loaded once, read-only afterwards, so safe to share between threads."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def langdetect_probs(text: str, *, seed: int = 0) -> list[tuple[str, float]]:
    """All langdetect candidates (normalised code, probability), best first; deterministic per seed
    ([] when the text has no n-gram features). Exactly langdetect's probabilities (see
    :mod:`pipeline.clean.fastlangdetect`); the seed is per call, never langdetect's shared class attribute,
    so concurrent calls cannot disturb each other."""
    return [(normalize_code(lang), prob) for lang, prob in _langdetect().probabilities(text, seed)]


def langdetect_best(text: str, *, seed: int = 0) -> tuple[str, float] | None:
    """Top langdetect language (normalised code) and probability; None when it finds no features."""
    probs = langdetect_probs(text, seed=seed)
    return probs[0] if probs else None


def py3langid_best(text: str) -> tuple[str, float]:
    """Top py3langid language (normalised code) and its normalised probability."""
    lang, prob = _py3langid().classify(text)
    return normalize_code(lang), float(prob)


_CYRILLIC = re.compile("[\u0400-\u04ff]")
_KAZAKH = re.compile("[" + "".join(sorted(KAZAKH_LETTERS)) + "]")
_KAZAKH_DISTINCTIVE = re.compile("[" + "".join(sorted(KAZAKH_LETTERS - set("іІ"))) + "]")


def kazakh_letter_rate(text: str) -> tuple[int, float]:
    """Count of Kazakh-specific letters other than і, and the share of all nine (і included) among the
    Cyrillic letters of ``text``. і is counted in the rate but not in the count because Ukrainian uses
    it heavily: a Ukrainian text must not trigger the Kazakh path on і alone. (Counted by regular
    expressions: a Python loop over a 1,000-character body cost a fifth of langdetect's time.)"""
    cyrillic = len(_CYRILLIC.findall(text))
    if not cyrillic:
        return 0, 0.0
    return len(_KAZAKH_DISTINCTIVE.findall(text)), len(_KAZAKH.findall(text)) / cyrillic


def looks_kazakh(text: str) -> bool:
    """True when the Kazakh-specific letters occur often enough that langdetect (no kk profile) cannot
    be trusted on this text."""
    count, rate = kazakh_letter_rate(text)
    return count >= KAZAKH_MIN_COUNT and rate >= KAZAKH_MIN_RATE


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF  # hiragana, katakana
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= cp <= 0xD7AF  # Hangul syllables
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility ideographs
    )


# the ranges of _is_cjk, to find the (rare) CJK characters without a Python call per character
_CJK_CHARS = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def effective_length(text: str) -> int:
    """Length for the "too short to detect" rule: letters only (numbers and punctuation carry no
    language), CJK characters counted ``CJK_WEIGHT`` times, since one of them carries about as much
    as a short Latin word."""
    letters = sum(map(str.isalpha, text))
    cjk = sum(map(str.isalpha, _CJK_CHARS.findall(text)))
    return letters + (CJK_WEIGHT - 1) * cjk


def _script_contradicts(lang: str, text: str) -> bool:
    """True when langdetect's answer is impossible for the script of ``text``: Korean without Hangul
    or Japanese without kana. langdetect labels some all-Han Chinese sentences ``ko`` with high
    probability; such an answer must not be stored."""
    if lang == "ko":
        return not any(0xAC00 <= ord(ch) <= 0xD7AF or 0x1100 <= ord(ch) <= 0x11FF for ch in text)
    if lang == "ja":
        return not any(0x3040 <= ord(ch) <= 0x30FF for ch in text)
    return False


def _declared(fallback: str | None) -> LanguageGuess:
    lang = normalize_code(fallback)
    if lang == "und":
        return LanguageGuess("und", None, "none")
    return LanguageGuess(lang, None, "declared")


def detect_language(text: str, *, seed: int = 0, fallback: str | None = None) -> LanguageGuess:
    """Detect on the body; fall back to the page's or feed's declared language when the text is
    too short or both detectors unsure; ``und`` when nothing is reliable.

    Order (each step explained in the module docstring):

    1. fewer than ``MIN_CHARS`` letters: the declared language; with none declared, a headline of at
       least ``MIN_AGREE_CHARS`` letters is accepted when langdetect and py3langid agree confidently;
    2. Kazakh letters at a meaningful rate: py3langid (``script+py3langid``);
    2b. a body of ``PY3LANGID_FIRST_CHARS`` letters or more: py3langid when it is
       ``PY3LANGID_FIRST_PROBABILITY`` sure and the script allows its answer (``py3langid``);
    3. langdetect (seeded) at ``MIN_PROBABILITY`` or more (``langdetect``);
    4. langdetect's answer impossible for the script, e.g. ``ko`` without Hangul: py3langid's
       (``script+py3langid``);
    5. langdetect unsure: py3langid when confident, or when its answer is one of langdetect's own
       candidates (``py3langid``);
    6. when a language is declared and the result differs, but py3langid's top answer is the declared
       language, two signals beat one: py3langid's answer (``py3langid``) - this fixes langdetect's
       cs/sk-type confusions on short texts;
    7. else the declared language (``declared``), else ``und`` (``none``).
    """
    stripped = text.strip() if text else ""
    if len(stripped) > MAX_CHARS:
        cut = stripped.rfind(" ", 0, MAX_CHARS)
        stripped = stripped[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
    declared = normalize_code(fallback)
    length = effective_length(stripped)
    if length < MIN_CHARS:
        if declared == "und" and length >= MIN_AGREE_CHARS:
            return _agreed(stripped, seed) or _declared(fallback)
        return _declared(fallback)

    other: tuple[str, float] | None = None

    def py3() -> tuple[str, float]:
        nonlocal other
        if other is None:
            other = py3langid_best(stripped)
        return other

    guess = _detect(stripped, seed, py3, long_text=length >= PY3LANGID_FIRST_CHARS)
    if declared != "und" and (guess is None or guess.lang != declared):
        lang, prob = py3()
        if lang == declared:
            return LanguageGuess(lang, round(prob, 4), "py3langid")
    return guess if guess is not None else _declared(fallback)


def _agreed(text: str, seed: int) -> LanguageGuess | None:
    """Both detectors confidently on the same language (for short texts with nothing declared)."""
    best = langdetect_best(text, seed=seed)
    lang, prob = py3langid_best(text)
    if (
        best is not None
        and best[0] == lang != "und"
        and best[1] >= MIN_PROBABILITY
        and prob >= PY3LANGID_MIN_PROBABILITY
        and not _script_contradicts(lang, text)
    ):
        return LanguageGuess(lang, round(best[1], 4), "langdetect")
    return None


def _detect(
    text: str, seed: int, py3: Callable[[], tuple[str, float]], *, long_text: bool = False
) -> LanguageGuess | None:
    """Steps 2-5 of ``detect_language``; None when nothing is reliable."""
    if looks_kazakh(text):
        lang, prob = py3()
        if prob >= PY3LANGID_MIN_PROBABILITY and lang != "und":
            return LanguageGuess(lang, round(prob, 4), "script+py3langid")
    if long_text:
        lang, prob = py3()
        if prob >= PY3LANGID_FIRST_PROBABILITY and lang != "und" and not _script_contradicts(lang, text):
            return LanguageGuess(lang, round(prob, 4), "py3langid")

    candidates = langdetect_probs(text, seed=seed)
    best = candidates[0] if candidates else None
    contradicted = best is not None and _script_contradicts(best[0], text)
    if best is not None and best[1] >= MIN_PROBABILITY and not contradicted:
        return LanguageGuess(best[0], round(best[1], 4), "langdetect")

    lang, prob = py3()
    if lang == "und" or _script_contradicts(lang, text):
        return None
    if contradicted:
        # langdetect's answer is impossible for this script; py3langid's compatible one is the best
        # evidence left, even below its usual threshold (short Han-only sentences score ~0.5).
        return LanguageGuess(lang, round(prob, 4), "script+py3langid")
    if prob >= PY3LANGID_MIN_PROBABILITY or lang in {code for code, _ in candidates}:
        return LanguageGuess(lang, round(prob, 4), "py3langid")
    return None
