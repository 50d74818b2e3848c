"""langdetect's algorithm, result for result, at a fraction of its time.

langdetect spends ~1.2 ms on a news paragraph in pure Python: a per-character n-gram state machine,
then 7 trials that each multiply 55 language probabilities per sampled n-gram in a Python loop. In
the cleaning stage that was as much as extraction itself. This module runs the same algorithm with
the same inputs, the same random draws and the same floating-point operations in the same order,
so it returns exactly langdetect's probabilities (tests compare it with ``langdetect.Detector`` on
every sample of bench/data/language under several seeds), only faster:

* text normalisation is a cached per-character translation table (``NGram.normalize`` is a pure
  function of one character), and the n-grams of a word are cached per word: the state machine
  resets at every space, so a word's n-grams do not depend on what came before it;
* the profile is one float64 matrix (n-grams x languages) instead of a dict of Python lists, and a
  trial multiplies the 55 probabilities with one numpy call per draw. Each element still sees
  ``prob[i] *= weight + p[i]`` in draw order, and normalisation still sums with Python's ``sum``,
  so every intermediate value is bit-identical.

The matrix replaces langdetect's dict of lists after loading (about 45 MB instead of 62 MB).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import Any

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.utils.ngram import NGram

_NON_LATIN = re.compile("[\u0300-\u1dff\u1f00-\U0010ffff]")  # what Detector.cleaning_text counts as non-Latin
_LATIN = re.compile("[A-z]")  # 'A' <= ch <= 'z', as in Detector.cleaning_text
_SPACES = re.compile(" {2,}")
_WORD_CACHE_SIZE = 65536
N_TRIAL = 7  # Detector.n_trial (an instance attribute there, fixed in __init__)


class _Normalizer(dict[int, str]):
    """``str.translate`` table computing ``NGram.normalize`` once per code point."""

    def __missing__(self, code: int) -> str:
        value = NGram.normalize(chr(code))
        self[code] = value
        return value


class FastDetector:
    """Loaded profiles plus the detection routine; thread-safe once built (read-only state, a
    per-call ``random.Random``)."""

    def __init__(self, profiles_directory: str = PROFILES_DIRECTORY) -> None:
        factory = DetectorFactory()
        factory.load_profile(profiles_directory)
        self.langlist: list[str] = list(factory.langlist)
        words = factory.word_lang_prob_map
        self.index: dict[str, int] = {word: row for row, word in enumerate(words)}
        self.matrix = np.array(list(words.values()), dtype=np.float64)
        del factory, words
        self._normalizer = _Normalizer()
        self._word_rows = lru_cache(maxsize=_WORD_CACHE_SIZE)(self._word_rows_uncached)

    # ---------------------------------------------------------------- text -> n-gram rows
    def _prepare(self, text: str) -> str:
        """Detector.append (one call on a fresh detector) followed by Detector.cleaning_text."""
        text = Detector.URL_RE.sub(" ", text)
        text = Detector.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        text = _SPACES.sub(" ", text[:10000])
        if len(_LATIN.findall(text)) * 2 < len(_NON_LATIN.findall(text)):
            text = _LATIN.sub("", text)
        return text

    def _word_rows_uncached(self, word: str, followed_by_space: bool) -> tuple[int, ...]:
        """Profile rows of the n-grams ``Detector._extract_ngrams`` emits for one word (already
        normalised, no spaces), starting from the state every space leaves behind."""
        index = self.index
        rows: list[int] = []
        grams = " "
        for ch in word + (" " if followed_by_space else ""):
            last = grams[-1]
            if last == " ":
                grams = " "
            elif len(grams) >= 3:
                grams = grams[1:]
            grams += ch
            if ch.isupper() and last.isupper():
                continue  # NGram.capitalword: an all-caps word contributes nothing from here on
            for n in (1, 2, 3):
                if len(grams) < n:
                    break
                w = grams[-n:]
                if w != " " and w in index:
                    rows.append(index[w])
        return tuple(rows)

    def ngram_rows(self, text: str) -> list[int]:
        """Rows of the n-grams of ``text``, in the order ``Detector._extract_ngrams`` yields them."""
        normalised = self._prepare(text).translate(self._normalizer)
        parts = normalised.split(" ")
        last = len(parts) - 1
        rows: list[int] = []
        for i, word in enumerate(parts):
            if word:
                rows.extend(self._word_rows(word, i < last))
        return rows

    # ---------------------------------------------------------------- detection
    def probabilities(self, text: str, seed: int = 0) -> list[tuple[str, float]]:
        """langdetect's ``get_probabilities`` as (code, probability), best first; [] when the
        text has no n-gram features (langdetect raises CantDetectError there)."""
        rows = self.ngram_rows(text)
        if not rows:
            return []
        n_lang = len(self.langlist)
        langprob = np.zeros(n_lang)
        rand = random.Random()
        rand.seed(seed)
        # random.choice(rows) is rows[rand._randbelow(len(rows))], and _randbelow draws
        # getrandbits(k) until the value is below len(rows); inlined here, same draws
        count = len(rows)
        bits = count.bit_length()
        getrandbits = rand.getrandbits
        matrix = self.matrix
        stack = np.empty((6, n_lang))
        for _ in range(N_TRIAL):
            prob = np.full(n_lang, 1.0 / n_lang)
            alpha = Detector.ALPHA_DEFAULT + rand.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
            weight = alpha / Detector.BASE_FREQ
            # langdetect checks convergence after draw i = 0, 5, 10, ...: one draw, then blocks of five
            i, draws = 0, 1
            while True:
                picked = []
                for _draw in range(draws):
                    r = getrandbits(bits)
                    while r >= count:
                        r = getrandbits(bits)
                    picked.append(rows[r])
                # prob[j] *= weight + p[j] for each draw in order: a product down axis 0 of
                # [prob, weight + p_1, ..., weight + p_k] multiplies in exactly that order
                block = stack[: draws + 1]
                block[0] = prob
                np.add(matrix[picked], weight, out=block[1:])
                prob = np.multiply.reduce(block, axis=0)
                prob /= sum(prob.tolist())  # Python's sum, as langdetect's _normalize_prob
                if prob.max() > Detector.CONV_THRESHOLD or i >= Detector.ITERATION_LIMIT:
                    break
                i, draws = i + 5, 5
            langprob += prob / N_TRIAL
        out = [(lang, p) for lang, p in zip(self.langlist, langprob.tolist(), strict=True) if p > Detector.PROB_THRESHOLD]
        out.sort(key=lambda item: item[1], reverse=True)
        return out


def reference_probabilities(factory: Any, text: str, seed: int = 0) -> list[tuple[str, float]]:
    """The same through langdetect itself (for tests and the benchmark's comparison)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = factory.create()
    detector.seed = seed
    try:
        detector.append(text)
        return [(p.lang, float(p.prob)) for p in detector.get_probabilities()]
    except LangDetectException:
        return []
