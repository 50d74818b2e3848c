"""Settings: code defaults, overridden by ``config/*.yaml``, overridden by the environment.

Secrets (API keys, passwords) should come from the environment or an Airflow connection, never
from files in the repository; nothing here logs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class ConfigError(ValueError):
    """A config file or variable is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class ElasticsearchSettings:
    url: str = "http://127.0.0.1:9200"
    index_alias: str = "news-articles"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout_s: float = 30.0
    bulk_chunk_size: int = 500
    bulk_max_in_flight: int = 2
    bulk_max_chunk_bytes: int = 10_000_000
    number_of_shards: int = 1
    number_of_replicas: int = 1
    refresh_interval: str = "30s"


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str = "news-pipeline/0.1 (+https://github.com/news-pipeline)"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_networks: tuple[str, ...] = ()
    # whole exchange of one hop (headers + body); per-operation timeouts miss a trickling server
    total_timeout_s: float = 30.0
    # retries on 429/502/503/504 and connection failures, exponential backoff, Retry-After honoured
    max_retries: int = 2
    backoff_base_s: float = 0.5
    max_retry_after_s: float = 60.0  # a longer Retry-After fails at once instead of sleeping
    # politeness per host: minimum gap between request starts, cap on parallel requests
    per_host_min_interval_s: float = 1.0
    per_host_max_concurrent: int = 2
    respect_robots: bool = True


@dataclass(frozen=True)
class FeedConfig:
    """One configured feed. ``allow_networks`` lets this feed (and its article pages) reach
    otherwise blocked address ranges, e.g. the bundled sample site on 127.0.0.1; ``timezone`` is
    the zone of local times on its pages; ``respect_robots`` overrides the global setting."""

    name: str
    url: str
    site: str | None = None
    lang: str | None = None
    allow_networks: tuple[str, ...] = ()
    timezone: str = "Europe/Berlin"
    respect_robots: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "site": self.site,
            "lang": self.lang,
            "allow_networks": list(self.allow_networks),
            "timezone": self.timezone,
            "respect_robots": self.respect_robots,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeedConfig:
        if not isinstance(raw, dict) or not raw.get("url"):
            raise ConfigError(f"feed entry needs at least a 'url': {raw!r}")
        url = str(raw["url"])
        return cls(
            name=str(raw.get("name") or url),
            url=url,
            site=raw.get("site"),
            lang=raw.get("lang"),
            allow_networks=tuple(raw.get("allow_networks") or ()),
            timezone=str(raw.get("timezone") or "Europe/Berlin"),
            respect_robots=raw.get("respect_robots"),
        )


SCHEDULE_MODES = ("nightly", "streaming")


@dataclass(frozen=True)
class ScheduleSettings:
    """When news_ingest runs. ``nightly``: every feed once per ``cron``. ``streaming``: the DAG runs
    on ``streaming_cron`` and polls only the feeds that are due; each feed's interval adapts to how
    often it changes, between ``min_interval_s`` and ``max_interval_s``, and never undercuts the
    feed's ``<ttl>``, Cache-Control max-age or Retry-After (pipeline.pollschedule)."""

    mode: str = "nightly"
    cron: str = "0 2 * * *"
    streaming_cron: str = "*/5 * * * *"
    timezone: str = "Europe/Berlin"
    min_interval_s: float = 300.0
    max_interval_s: float = 86_400.0

    def __post_init__(self) -> None:
        if self.mode not in SCHEDULE_MODES:
            raise ConfigError(f"schedule.mode must be one of {SCHEDULE_MODES}, not {self.mode!r}")
        if not 0 < self.min_interval_s <= self.max_interval_s:
            raise ConfigError("schedule needs 0 < min_interval_s <= max_interval_s")

    @property
    def active_cron(self) -> str:
        """The DAG's cron for the configured mode."""
        return self.streaming_cron if self.mode == "streaming" else self.cron


@dataclass(frozen=True)
class IngestSettings:
    """How news_ingest spreads feeds over tasks: at most ``max_feed_groups`` mapped tasks, all
    feeds of one host in the same group (pipeline.feedgroups), run in the Airflow pool ``pool``
    (None: Airflow's default_pool)."""

    max_feed_groups: int = 16
    pool: str | None = "news_fetch"

    def __post_init__(self) -> None:
        if self.max_feed_groups < 1:
            raise ConfigError("ingest.max_feed_groups must be at least 1")


@dataclass(frozen=True)
class ProfileSettings:
    """Learned boilerplate per host (pipeline.profiles): a chrome-like text block or container
    structure seen in at least ``min_share`` of a host's recent distinct stories (the versions of
    one story count once), once the host has ``min_articles`` stories, is removed as boilerplate.
    Counts are halved past ``window_articles`` (the
    profile follows redesigns) and at most ``max_keys`` counters are kept per host, so the
    cost per article stays flat however many articles a host has."""

    enabled: bool = True
    min_articles: int = 10
    min_share: float = 0.5
    window_articles: int = 1000
    max_keys: int = 5000
    flush_every: int = 50
    # a page whose cleaned body is shorter than this, with at least not_article_min_links links
    # and link text >= not_article_link_share of its remaining text, is a section/tag page
    not_article_max_body_chars: int = 300
    not_article_min_links: int = 8
    not_article_link_share: float = 0.5


@dataclass(frozen=True)
class ArchiveSettings:
    """Raw-page archive (pipeline.rawarchive): fetched pages as WARC records under ``url``, a local
    folder or any fsspec URL (s3://bucket/prefix needs the matching fsspec backend installed)."""

    enabled: bool = False
    url: str = "archive/raw"  # relative paths are relative to the config directory
    gzip: bool = True


@dataclass(frozen=True)
class CanarySettings:
    """Extraction-quality canaries (pipeline.canaries): an alert when a site's metric of one run
    leaves its recent history by more than the tolerances below."""

    enabled: bool = True
    history_runs: int = 10          # how many earlier runs of a site form its history
    min_history_runs: int = 3       # no alert before a site has this many earlier runs
    min_articles: int = 5           # runs with fewer articles are recorded but neither judged nor history
    body_drop_ratio: float = 0.5    # alert when the median body length falls below this x history minimum
    body_rise_ratio: float = 3.0    # ... or rises above this x history maximum
    share_tolerance: float = 0.25   # alert when a share leaves [history min - t, history max + t]


@dataclass(frozen=True)
class Settings:
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    http: HttpSettings = HttpSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    ingest: IngestSettings = IngestSettings()
    feeds: tuple[FeedConfig, ...] = ()
    language_seed: int = 0
    story_threshold: float = 0.1
    config_dir: str = str(REPO_CONFIG_DIR)  # where sites/ and entities/ are read from
    profiles: ProfileSettings = ProfileSettings()
    archive: ArchiveSettings = ArchiveSettings()
    canaries: CanarySettings = CanarySettings()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _section(cls: type, raw: dict[str, Any] | None, where: str) -> Any:
    raw = raw or {}
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown keys in {where}: {sorted(unknown)} (known: {sorted(known)})")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return cls(**values)


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _apply_env(settings: Settings, env: dict[str, str]) -> Settings:
    es_over: dict[str, Any] = {}
    for var, key in [
        ("NEWS_ES_URL", "url"),
        ("NEWS_ES_API_KEY", "api_key"),
        ("NEWS_ES_USERNAME", "username"),
        ("NEWS_ES_PASSWORD", "password"),
        ("NEWS_ES_CA_CERTS", "ca_certs"),
        ("NEWS_ES_INDEX_ALIAS", "index_alias"),
    ]:
        if env.get(var):
            es_over[key] = env[var]
    if env.get("NEWS_ES_VERIFY_CERTS"):
        es_over["verify_certs"] = _env_bool(env["NEWS_ES_VERIFY_CERTS"])
    http_over: dict[str, Any] = {}
    if env.get("NEWS_HTTP_USER_AGENT"):
        http_over["user_agent"] = env["NEWS_HTTP_USER_AGENT"]
    schedule = settings.schedule
    if env.get("NEWS_SCHEDULE_MODE"):
        schedule = replace(schedule, mode=env["NEWS_SCHEDULE_MODE"].strip().lower())
    return replace(
        settings,
        elasticsearch=replace(settings.elasticsearch, **es_over),
        http=replace(settings.http, **http_over),
        schedule=schedule,
    )


def load_settings(config_dir: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load ``pipeline.yaml`` and the feeds file from ``config_dir`` (default: $NEWS_CONFIG_DIR,
    else the repository's ``config/``), then apply environment overrides."""
    env = dict(os.environ) if env is None else env
    base = Path(config_dir or env.get("NEWS_CONFIG_DIR") or REPO_CONFIG_DIR)
    main_file = base / "pipeline.yaml"
    raw = _read_yaml(main_file) if main_file.exists() else {}
    allowed = {"elasticsearch", "http", "schedule", "ingest", "feeds_file", "language_seed", "story_threshold",
               "profiles", "archive", "canaries"}
    if set(raw) - allowed:
        raise ConfigError(f"unknown top-level keys in {main_file}: {sorted(set(raw) - allowed)}")
    feeds_file = Path(env.get("NEWS_FEEDS_FILE") or base / raw.get("feeds_file", "feeds.yaml"))
    feeds_raw = _read_yaml(feeds_file).get("feeds") or []
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"'feeds' in {feeds_file} must be a list")
    settings = Settings(
        elasticsearch=_section(ElasticsearchSettings, raw.get("elasticsearch"), f"{main_file}: elasticsearch"),
        http=_section(HttpSettings, raw.get("http"), f"{main_file}: http"),
        schedule=_section(ScheduleSettings, raw.get("schedule"), f"{main_file}: schedule"),
        ingest=_section(IngestSettings, raw.get("ingest"), f"{main_file}: ingest"),
        feeds=tuple(FeedConfig.from_dict(f) for f in feeds_raw),
        language_seed=int(raw.get("language_seed", 0)),
        story_threshold=float(raw.get("story_threshold", 0.1)),
        config_dir=str(base),
        profiles=_section(ProfileSettings, raw.get("profiles"), f"{main_file}: profiles"),
        archive=_section(ArchiveSettings, raw.get("archive"), f"{main_file}: archive"),
        canaries=_section(CanarySettings, raw.get("canaries"), f"{main_file}: canaries"),
    )
    return _apply_env(settings, env)
