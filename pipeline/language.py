"""Language of the cleaned body, by langdetect with a fixed seed (unseeded it is not
deterministic on short texts)."""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

MIN_CHARS = 40
MIN_PROBABILITY = 0.8


@dataclass(frozen=True)
class LanguageGuess:
    lang: str
    probability: float | None
    source: str


def detect_language(text: str, *, seed: int = 0, fallback: str | None = None) -> LanguageGuess:
    """Detect on the body; fall back to the page's or feed's declared language when the text is
    too short or the detector unsure; ``und`` when nothing is reliable."""
    if len(text.strip()) >= MIN_CHARS:
        DetectorFactory.seed = seed
        try:
            best = detect_langs(text)[0]
        except LangDetectException:
            best = None
        if best is not None and best.prob >= MIN_PROBABILITY:
            return LanguageGuess(best.lang, round(best.prob, 4), "langdetect")
    if fallback:
        return LanguageGuess(fallback.split("-")[0].lower(), None, "declared")
    return LanguageGuess("und", None, "none")
