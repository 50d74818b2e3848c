"""Pure functions: canonical URLs, document ids, config loading, language detection."""

from __future__ import annotations

import pytest

from pipeline.article import doc_id_for
from pipeline.clean.language import detect_language
from pipeline.config import ConfigError, load_settings
from pipeline.fetch.urls import canonicalize
from tests.conftest import ROOT

GERMAN = (
    "Kasachstans Präsident Kassym-Schomart Tokajew hat die gewaltsamen Proteste der vergangenen Woche "
    "als versuchten Staatsstreich verurteilt."
)


def test_canonical_url_strips_tracking_and_normalises() -> None:
    a = canonicalize("HTTP://Example.COM:80/politik/artikel/?utm_source=rss&b=2&a=1&fbclid=x#top")
    b = canonicalize("http://example.com/politik/artikel?a=1&b=2")
    assert a == b == "http://example.com/politik/artikel?a=1&b=2"
    assert doc_id_for(a) == doc_id_for(b) and len(doc_id_for(a)) == 40
    assert canonicalize("https://example.com:8443/x") == "https://example.com:8443/x"


def test_repo_config_loads_and_environment_overrides() -> None:
    settings = load_settings(ROOT / "config", env={"NEWS_ES_URL": "https://es.example:9200", "NEWS_ES_API_KEY": "s3cret"})
    assert settings.elasticsearch.url == "https://es.example:9200"
    assert "s3cret" not in repr(settings)
    assert [f.name for f in settings.feeds] == ["sample-rss", "sample-atom"]
    assert settings.http.allow_networks == ()


def test_unknown_config_key_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "pipeline.yaml").write_text("elasticsearch:\n  urll: http://x\n")
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    with pytest.raises(ConfigError, match="urll"):
        load_settings(tmp_path, env={})


def test_language_is_deterministic_and_falls_back() -> None:
    results = {detect_language(GERMAN, seed=0) for _ in range(20)}
    assert len(results) == 1 and next(iter(results)).lang == "de"
    assert detect_language("Kurz.", fallback="de-DE").lang == "de"
    assert detect_language("Kurz.").lang == "und"


def test_spacy_models_from_environment() -> None:
    from pipeline.enrich import models_from_env

    assert models_from_env("de=de_core_news_md, en=/models/en") == {"de": "de_core_news_md", "en": "/models/en"}
    assert models_from_env("") is None
    with pytest.raises(ConfigError, match="NEWS_SPACY_MODELS"):
        models_from_env("de_core_news_md")
