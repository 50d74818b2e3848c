"""pipeline.clean.fastlangdetect returns exactly what langdetect itself returns (same candidates, same
probabilities to the last bit) for every hand-written sample of bench/data/language under several
seeds, for full article bodies and for the texts that exercise langdetect's special paths (URLs and
mail addresses, Vietnamese normalisation, all-caps words, Latin mixed into non-Latin text, CJK, no
features at all). Reference: a langdetect ``DetectorFactory`` loaded from its bundled profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

from pipeline.clean.fastlangdetect import FastDetector, reference_probabilities
from pipeline.samplesite import load_articles

LANGUAGE_SAMPLES = Path(__file__).resolve().parent.parent / "bench" / "data" / "language"

SPECIAL = [
    "",
    "   ",
    "12.03.2024 | 1.234,56 EUR | +3,5 %",
    "DIE BUNDESREGIERUNG HAT HEUTE EIN NEUES GESETZ BESCHLOSSEN",
    "Der ICE nach München fährt heute ab Gleis 7, sagte die DB am Morgen.",
    "Mehr unter https://www.example.org/artikel?id=7&ref=rss oder per Mail an redaktion@example.org.",
    "Xin chào các bạn, hôm nay trời đẹp quá và chúng tôi đi dạo",
    "Путин и Токаев обсудили поставки газа (Gazprom, Rosneft, KazMunayGas) в Казахстан.",
    "ＡＢＣ日本語のテキストです。東京で会議が開かれました。",
    "한국어 문장입니다. 서울에서 회의가 열렸습니다.",
    "Preşedintele României a vizitat Bucureşti şi Timişoara, iar ţara a sărbătorit.",
    "Ceasul a arătat că țara și orașul sunt pregătite.",
]


def _samples() -> list[str]:
    texts: list[str] = []
    for path in sorted(LANGUAGE_SAMPLES.glob("*.txt")):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


@pytest.fixture(scope="module")
def detectors() -> tuple[FastDetector, DetectorFactory]:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return FastDetector(), factory


def test_identical_to_langdetect_on_every_language_sample(detectors: tuple[FastDetector, DetectorFactory]) -> None:
    fast, factory = detectors
    texts = _samples()
    assert len(texts) >= 180  # 20 languages, short and paragraph-length
    for seed in (0, 1, 42):
        for text in texts:
            assert fast.probabilities(text, seed) == reference_probabilities(factory, text, seed), (seed, text)


def test_identical_on_article_bodies_and_special_texts(detectors: tuple[FastDetector, DetectorFactory]) -> None:
    fast, factory = detectors
    bodies = ["\n\n".join(article.paragraphs) for article in load_articles()]
    for text in bodies + [b[:1000] for b in bodies] + SPECIAL:
        for seed in (0, 7):
            assert fast.probabilities(text, seed) == reference_probabilities(factory, text, seed), (seed, text[:80])


def test_no_features_is_empty_and_results_vary_with_the_seed(detectors: tuple[FastDetector, DetectorFactory]) -> None:
    fast, _factory = detectors
    assert fast.probabilities("12345 !!! ---", 0) == []
    # a short ambiguous text: the seed decides the random draws, so the probabilities differ
    text = "Scholz trifft Macron in Paris."
    assert fast.probabilities(text, 0) != fast.probabilities(text, 3)
    assert fast.probabilities(text, 3) == fast.probabilities(text, 3)
