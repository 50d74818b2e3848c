"""Config is refused at load, not mid-run: every malformed value of issue 16 item 3 gives a
ConfigError naming the file (or variable), the entry and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, FeedConfig, load_settings, parse_bool

GOOD = {"name": "sample", "url": "http://127.0.0.1:8765/feeds/rss.xml", "allow_networks": ["127.0.0.1/32"]}


def _dir(tmp_path: Path, feeds: list, pipeline: str = "") -> Path:
    (tmp_path / "pipeline.yaml").write_text(pipeline, encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    return tmp_path


def _refused(directory: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(directory, env=env or {})
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"lnag": "de"}, "feeds[1] (name 'dwn'): lnag: unknown key (did you mean 'lang'?"),
        ({"allow_network": ["127.0.0.1/32"]}, ("feeds[1] (name 'dwn'): allow_network: unknown key "
                                              "(did you mean 'allow_networks'?")),
        ({"url": "htp://dwn.example/rss"}, ("feeds[1] (name 'dwn'): url: must be an absolute http:// or https:// "
                                           "URL, got 'htp://dwn.example/rss'")),
        ({"url": "ftp://dwn.example/rss"}, "feeds[1] (name 'dwn'): url: must be an absolute http"),
        ({"url": "/rss.xml"}, "feeds[1] (name 'dwn'): url: must be an absolute http"),
        ({"allow_networks": ["127.0.0.1/33"]}, ("feeds[1] (name 'dwn'): allow_networks[0]: '127.0.0.1/33' is not "
                                               "an IP network")),
        ({"allow_networks": "127.0.0.1/32"}, "feeds[1] (name 'dwn'): allow_networks: must be a list"),
        ({"timezone": "Europe/Berln"}, "feeds[1] (name 'dwn'): timezone: unknown time zone 'Europe/Berln'"),
        ({"respect_robots": "maybe"}, "feeds[1] (name 'dwn'): respect_robots: Input should be a valid boolean"),
        ({"url": None}, "feeds[1] (name 'dwn'): url: Input should be a valid string"),
    ],
)
def test_malformed_feed_entry_is_refused_naming_file_entry_and_key(tmp_path, entry, expected) -> None:
    bad = {"name": "dwn", "url": "https://dwn.example/rss", **entry}
    message = _refused(_dir(tmp_path, [GOOD, bad]))
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}: "), message
    assert expected in message, message


def test_time_zone_message_as_in_the_issue(tmp_path) -> None:
    feeds = [GOOD, {**GOOD, "name": "b"}, {**GOOD, "name": "c"},
             {"name": "dwn", "url": "https://dwn.example/rss", "timezone": "Europe/Berln"}]
    assert _refused(_dir(tmp_path, feeds)) == (
        f"{tmp_path / 'feeds.yaml'}: feeds[3] (name 'dwn'): timezone: unknown time zone 'Europe/Berln'"
    )


def test_duplicate_feed_names_are_refused(tmp_path) -> None:
    feeds = [GOOD, {"name": "other", "url": "https://b.example/rss"}, {**GOOD, "url": "https://c.example/rss"}]
    message = _refused(_dir(tmp_path, feeds))
    assert message == (f"{tmp_path / 'feeds.yaml'}: feeds[2] (name 'sample'): name: duplicate feed name "
                       "(also feeds[0]); names must be unique")


def test_feed_entry_without_url_or_not_a_mapping(tmp_path) -> None:
    assert "feeds[1] (name 'x'): url: required key is missing" in _refused(_dir(tmp_path, [GOOD, {"name": "x"}]))
    assert "feeds[0]: must be a mapping" in _refused(_dir(tmp_path, ["https://a.example/rss"]))
    (tmp_path / "feeds.yaml").write_text("feeds: https://a.example/rss\n", encoding="utf-8")
    assert "feeds.yaml: feeds: must be a list (got 'https://a.example/rss')" in _refused(tmp_path)
    (tmp_path / "feeds.yaml").write_text("feed: []\n", encoding="utf-8")
    assert "feeds.yaml: feed: unknown key (did you mean 'feeds'?" in _refused(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http: {connect_timeout_s: five}", "http: connect_timeout_s: Input should be a valid number"),
        ("http: {connect_timeout_s: -1}", "http: connect_timeout_s: Input should be greater than 0"),
        ("http: {allow_networks: ['127.0.0.1/33']}", "http: allow_networks[0]: '127.0.0.1/33' is not an IP network"),
        ("http: {allow_networks: 10.0.0.0/8}", "http: allow_networks: must be a list"),
        ("http: {conect_timeout_s: 3}", "http: conect_timeout_s: unknown key (did you mean 'connect_timeout_s'?"),
        ("elasticsearch: {url: 'htp://127.0.0.1:9200'}", "elasticsearch: url: must be an absolute http"),
        ("elasticsearch: {url: 'http://user:pw@'}", ("elasticsearch: url: must be an absolute http:// or https:// "
                                                    "URL, got 'http://***@'")),
        ("elasticsearch: {index_alias: News Articles}", "elasticsearch: index_alias: 'News Articles' is not a valid"),
        ("schedule: {timezone: Europe/Berln}", "schedule: timezone: unknown time zone 'Europe/Berln'"),
        ("schedule: {mode: hourly}", "schedule: schedule.mode must be one of"),
        ("schedule: {streaming_run_s: 5}", ("schedule: schedule.streaming_run_s must be 0 (one pass per streaming_cron "
                                           "run) or between 30 and 3600 seconds, not 5")),
        ("schedule: {streaming_run_s: 300, streaming_overlap_s: 300}",
         "schedule: schedule.streaming_overlap_s must be at least 0 and below streaming_run_s (300), not 300"),
        ("schedule: {streaming_tasks: 0}", "schedule: schedule.streaming_tasks must be at least 1, not 0"),
        ("schedule: {quiet_backoff_share: 1.5}", "schedule: schedule.quiet_backoff_share must be between 0 and 1"),
        ("schedule: {streaming_run_s: soon}", "schedule: streaming_run_s: Input should be a valid number"),
        ("feeds_fil: other.yaml", "feeds_fil: unknown key (did you mean 'feeds_file'?"),
        ("story_threshold: 2", "story_threshold: must be in (0, 1]"),
        ("ingest: {max_feed_groups: many}", "ingest: max_feed_groups: Input should be a valid integer"),
    ],
)
def test_malformed_pipeline_yaml_is_refused_naming_file_section_and_key(tmp_path, text, expected) -> None:
    message = _refused(_dir(tmp_path, [GOOD], text))
    assert message.startswith(f"{tmp_path / 'pipeline.yaml'}: "), message
    assert expected in message, message


def test_secrets_are_not_echoed(tmp_path) -> None:
    message = _refused(_dir(tmp_path, [GOOD], "elasticsearch: {password: [hunter2]}"))
    assert "elasticsearch: password: Input should be a valid string" in message and "hunter2" not in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NEWS_ES_VERIFY_CERTS": "ture"}, "environment: NEWS_ES_VERIFY_CERTS: 'ture' is not a boolean"),
        ({"NEWS_ES_VERIFY_CERTS": "disabled"}, "environment: NEWS_ES_VERIFY_CERTS: 'disabled' is not a boolean"),
        ({"NEWS_ES_URL": "localhost:9200"}, "environment: NEWS_ES_URL: must be an absolute http"),
        ({"NEWS_ES_INDEX_ALIAS": "UPPER"}, "environment: NEWS_ES_INDEX_ALIAS: 'UPPER' is not a valid index alias"),
        ({"NEWS_SCHEDULE_MODE": "sometimes"}, "environment: NEWS_SCHEDULE_MODE: schedule.mode must be one of"),
    ],
)
def test_malformed_environment_is_refused_naming_the_variable(tmp_path, env, expected) -> None:
    assert expected in _refused(_dir(tmp_path, [GOOD]), env)


@pytest.mark.parametrize(("word", "value"), [("1", True), ("TRUE", True), ("yes", True), ("on", True),
                                             ("0", False), ("false", False), ("No", False), (" off ", False)])
def test_environment_booleans_accept_only_known_words(tmp_path, word, value) -> None:
    settings = load_settings(_dir(tmp_path, [GOOD]), env={"NEWS_ES_VERIFY_CERTS": word})
    assert settings.elasticsearch.verify_certs is value
    assert parse_bool(word, "X") is value
    with pytest.raises(ConfigError, match="^X: 'ture' is not a boolean"):
        parse_bool("ture", "X")


def test_good_config_still_loads_with_defaults(tmp_path) -> None:
    directory = _dir(tmp_path, [{"url": "https://a.example/rss"}, GOOD], "http:\nschedule: {timezone: UTC}\n")
    settings = load_settings(directory, env={"NEWS_ES_URL": "https://es.example:9200", "NEWS_ES_VERIFY_CERTS": ""})
    first = settings.feeds[0]
    assert (first.name, first.timezone, first.allow_networks) == ("https://a.example/rss", "Europe/Berlin", ())
    assert settings.feeds[1].allow_networks == ("127.0.0.1/32",)
    assert settings.elasticsearch.url == "https://es.example:9200" and settings.elasticsearch.verify_certs is True
    assert settings.schedule.timezone == "UTC"
    # the DAG passes feeds through XCom as dicts: the round trip is validated and lossless
    assert FeedConfig.from_dict(settings.feeds[1].to_dict()) == settings.feeds[1]
    with pytest.raises(ConfigError, match=r"^feed entry: timezone: unknown time zone"):
        FeedConfig.from_dict({**GOOD, "timezone": "Nowhere/Else"})


def test_missing_config_directory_is_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config directory not found: .*nope"):
        load_settings(tmp_path / "nope", env={})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"lnag": "de"}, "sources[1] (dwn): unknown keys ['lnag'] for type sitemap"),
        ({"url": "htp://dwn.example/sitemap.xml"}, "sources[1] (dwn): url must be an absolute http(s) URL"),
        ({"allow_networks": ["127.0.0.1/33"]}, "sources[1] (dwn): allow_networks: '127.0.0.1/33' is not a network"),
        ({"allow_networks": "127.0.0.1/32"}, "sources[1] (dwn): allow_networks must be a list"),
        ({"timezone": "Europe/Berln"}, "sources[1] (dwn): unknown timezone 'Europe/Berln'"),
        ({"lang": ["de"]}, "sources[1] (dwn): lang must be a string"),
        ({"name": "sample"}, "source names must be unique, repeated: ['sample']"),
    ],
)
def test_malformed_backfill_source_is_refused_naming_file_source_and_key(tmp_path, entry, expected) -> None:
    from pipeline.backfill.sources import load_backfill_config

    sources = [{"name": "sample", "type": "sitemap", "url": "https://a.example/sitemap.xml"},
               {"name": "dwn", "type": "sitemap", "url": "https://dwn.example/sitemap.xml", **entry}]
    path = tmp_path / "backfill.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    settings = load_settings(_dir(tmp_path, [GOOD]), env={})
    with pytest.raises(ConfigError) as caught:
        load_backfill_config(settings, env={})
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert expected in str(caught.value)


def test_feed_min_interval_is_a_positive_number(tmp_path) -> None:
    message = _refused(_dir(tmp_path, [{**GOOD, "min_interval_s": 0}]))
    assert "feeds[0] (name 'sample'): min_interval_s: Input should be greater than 0" in message, message
    settings = load_settings(_dir(tmp_path, [{**GOOD, "min_interval_s": 45}]), env={})
    assert settings.feeds[0].min_interval_s == 45
