"""Settings: code defaults, overridden by ``config/*.yaml``, overridden by the environment.

Secrets (API keys, passwords) should come from the environment or an Airflow connection, never
from files in the repository; nothing here logs them.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    TypeAdapter,
    ValidationError,
)

REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class ConfigError(ValueError):
    """A config file or variable is missing or malformed; the message says which and why."""


# Field types checked at load (pydantic validates the dataclasses below through TypeAdapter; the
# dataclasses stay the runtime objects, so code that builds them directly is unchanged).

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _bool_word(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not a boolean (use one of {'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)})")


def parse_bool(value: object, name: str) -> bool:
    """A boolean from text (environment, connection extras), failing closed: only the words of
    TRUE_WORDS / FALSE_WORDS are understood; anything else ("ture") is a ConfigError naming
    ``name``, never silently false."""
    try:
        return _bool_word(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _unit_interval(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be in (0, 1], got {value!r}")
    return value


def _shown_url(value: str) -> str:
    """The URL for a message, without any user:password part."""
    scheme, sep, rest = value.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}{sep}{netloc}{slash}{path}" if sep else value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if value != value.strip() or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http:// or https:// URL, got {_shown_url(value)!r}")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"bad port in URL {_shown_url(value)!r}") from exc
    return value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IP network (CIDR such as 127.0.0.1/32): {exc}") from exc
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")


def _index_name(value: str) -> str:
    if not _INDEX_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid index alias (lowercase letters, digits, '.', '_', '-')")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Network = Annotated[str, AfterValidator(_network)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
IndexName = Annotated[str, AfterValidator(_index_name)]


@dataclass(frozen=True)
class ElasticsearchSettings:
    url: HttpUrl = "http://127.0.0.1:9200"
    index_alias: IndexName = "news-articles"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout_s: PositiveFloat = 30.0
    bulk_chunk_size: PositiveInt = 500
    bulk_max_in_flight: PositiveInt = 2
    bulk_max_chunk_bytes: PositiveInt = 10_000_000
    number_of_shards: PositiveInt = 1
    number_of_replicas: NonNegativeInt = 1
    refresh_interval: str = "30s"


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str = "news-pipeline/0.1 (+https://github.com/news-pipeline)"
    connect_timeout_s: PositiveFloat = 5.0
    read_timeout_s: PositiveFloat = 15.0
    max_bytes: PositiveInt = 5_000_000
    max_redirects: NonNegativeInt = 5
    allow_networks: tuple[Network, ...] = ()
    # whole exchange of one hop (headers + body); per-operation timeouts miss a trickling server
    total_timeout_s: PositiveFloat = 30.0
    # retries on 429/502/503/504 and connection failures, exponential backoff, Retry-After honoured
    max_retries: NonNegativeInt = 2
    backoff_base_s: NonNegativeFloat = 0.5
    max_retry_after_s: NonNegativeFloat = 60.0  # a longer Retry-After fails at once instead of sleeping
    # politeness per host: minimum gap between request starts, cap on parallel requests
    per_host_min_interval_s: NonNegativeFloat = 1.0
    per_host_max_concurrent: PositiveInt = 2
    respect_robots: bool = True


@dataclass(frozen=True)
class FeedConfig:
    """One configured feed. ``allow_networks`` lets this feed (and its article pages) reach
    otherwise blocked address ranges, e.g. the bundled sample site on 127.0.0.1; ``timezone`` is
    the zone of local times on its pages; ``respect_robots`` overrides the global setting;
    ``min_interval_s`` is the feed's own floor of its poll interval in streaming mode (instead of
    ``schedule.min_interval_s``; a publisher's ``<ttl>`` or Cache-Control can only raise it)."""

    name: str
    url: HttpUrl
    site: str | None = None
    lang: str | None = None
    allow_networks: tuple[Network, ...] = ()
    timezone: TimeZone = "Europe/Berlin"
    respect_robots: bool | None = None
    # streaming: this feed is never polled more often than this (seconds); None: schedule.min_interval_s
    min_interval_s: PositiveFloat | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "site": self.site,
            "lang": self.lang,
            "allow_networks": list(self.allow_networks),
            "timezone": self.timezone,
            "respect_robots": self.respect_robots,
            "min_interval_s": self.min_interval_s,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "feed entry") -> FeedConfig:
        """A validated feed from its mapping (a feeds.yaml entry, or ``to_dict`` passed through
        an Airflow XCom); the name defaults to the URL."""
        data = _feed_defaults(raw)
        try:
            return _FEED_ADAPTER.validate_python(data)
        except ValidationError as exc:
            raise ConfigError(_format_errors(exc, where, data, [f.name for f in fields(cls)])) from None


SCHEDULE_MODES = ("nightly", "streaming")
MIN_STREAMING_RUN_S = 30.0
MAX_STREAMING_RUN_S = 3600.0


@dataclass(frozen=True)
class ScheduleSettings:
    """When news_ingest runs. ``nightly``: every feed once per ``cron``. ``streaming``: the DAG runs
    on ``streaming_cron`` and polls only the feeds that are due; each feed's interval adapts to how
    often it changes, between ``min_interval_s`` and ``max_interval_s``, and never undercuts the
    feed's ``<ttl>``, Cache-Control max-age or Retry-After (pipeline.feeds.schedule).

    ``streaming_run_s`` > 0 (the streaming loop, pipeline.run.streamloop): instead of one pass per
    ``streaming_cron`` run, a run starts every ``streaming_run_s`` and keeps polling the feeds as
    they fall due for ``streaming_run_s + streaming_overlap_s`` seconds, in ``streaming_tasks``
    long-running ingest tasks; the overlap covers the next run's start, so polling never pauses
    (two runs at most; the feed leases and a due check under the lease keep them apart). ``quiet_backoff_share``: after a poll,
    the interval is at most this share of the time since the feed last changed (never below the
    floor), so a feed that changed a minute ago is polled at its floor and one quiet for a day
    backs off (0: off, only halving and doubling)."""

    mode: str = "nightly"
    cron: str = "0 2 * * *"
    streaming_cron: str = "*/5 * * * *"
    timezone: TimeZone = "Europe/Berlin"
    min_interval_s: float = 300.0
    max_interval_s: float = 86_400.0
    streaming_run_s: float = 0.0
    streaming_overlap_s: float = 60.0
    streaming_tasks: int = 2
    quiet_backoff_share: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in SCHEDULE_MODES:
            raise ConfigError(f"schedule.mode must be one of {SCHEDULE_MODES}, not {self.mode!r}")
        if not 0 < self.min_interval_s <= self.max_interval_s:
            raise ConfigError("schedule needs 0 < min_interval_s <= max_interval_s")
        if self.streaming_run_s != 0 and not MIN_STREAMING_RUN_S <= self.streaming_run_s <= MAX_STREAMING_RUN_S:
            raise ConfigError(
                f"schedule.streaming_run_s must be 0 (one pass per streaming_cron run) or between "
                f"{MIN_STREAMING_RUN_S:g} and {MAX_STREAMING_RUN_S:g} seconds, not {self.streaming_run_s:g} "
                "(a shorter run is mostly DAG-run start-up; a longer one delays the run summary and asset event)")
        if self.streaming_run_s and not 0 <= self.streaming_overlap_s < self.streaming_run_s:
            raise ConfigError(f"schedule.streaming_overlap_s must be at least 0 and below streaming_run_s "
                              f"({self.streaming_run_s:g}), not {self.streaming_overlap_s:g}")
        if self.streaming_tasks < 1:
            raise ConfigError(f"schedule.streaming_tasks must be at least 1, not {self.streaming_tasks}")
        if not 0 <= self.quiet_backoff_share <= 1:
            raise ConfigError(f"schedule.quiet_backoff_share must be between 0 and 1, not {self.quiet_backoff_share:g}")

    @property
    def streaming_loop(self) -> bool:
        """Streaming mode with long-running, self-replanning ingest tasks (``streaming_run_s`` > 0)."""
        return self.mode == "streaming" and self.streaming_run_s > 0

    @property
    def active_cron(self) -> str:
        """The DAG's cron for the configured mode."""
        return self.streaming_cron if self.mode == "streaming" else self.cron

    @property
    def dag_schedule(self) -> str | timedelta:
        """The DAG's schedule: the active cron, or every ``streaming_run_s`` for the streaming loop."""
        return timedelta(seconds=self.streaming_run_s) if self.streaming_loop else self.active_cron

    @property
    def max_active_runs(self) -> int:
        """Two for the streaming loop (a run's loop overlaps the next run's start by
        ``streaming_overlap_s``), else one."""
        return 2 if self.streaming_loop else 1


@dataclass(frozen=True)
class IngestSettings:
    """How news_ingest spreads feeds over tasks: at most ``max_feed_groups`` mapped tasks, all
    feeds of one host in the same group (pipeline.feeds.groups), run in the Airflow pool ``pool``
    (None: Airflow's default_pool).

    ``lease_ttl_s``/``lease_renew_every_s``: one runner polls a feed at a time; its lease expires
    this long after its last renewal, so a dead worker frees the feed (pipeline.feeds.lease).
    ``failed_page_backoff_s``: how long a page that failed permanently (404/410, not a page, not an
    article, blocked) is not fetched again, after its 1st, 2nd, ... failure in a row; the last
    step repeats (pipeline.run.pagefailures)."""

    max_feed_groups: int = 16
    pool: str | None = "news_fetch"
    lease_ttl_s: PositiveFloat = 120.0
    lease_renew_every_s: PositiveFloat = 30.0
    failed_page_backoff_s: tuple[PositiveFloat, ...] = (86_400.0, 604_800.0)

    def __post_init__(self) -> None:
        if self.max_feed_groups < 1:
            raise ConfigError("ingest.max_feed_groups must be at least 1")
        if self.lease_renew_every_s >= self.lease_ttl_s:
            raise ConfigError("ingest.lease_renew_every_s must be below ingest.lease_ttl_s (the lease would "
                              "expire between renewals)")
        if not self.failed_page_backoff_s:
            raise ConfigError("ingest.failed_page_backoff_s needs at least one step")


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
    """Raw-page archive (pipeline.run.rawarchive): fetched pages as WARC records under ``url``, a local
    folder or any fsspec URL (s3://bucket/prefix needs the matching fsspec backend installed)."""

    enabled: bool = False
    url: str = "archive/raw"  # relative paths are relative to the config directory
    gzip: bool = True


@dataclass(frozen=True)
class CanarySettings:
    """Extraction-quality canaries (pipeline.profiles.canaries): an alert when a site's metric of one run
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


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, env: Mapping[str, str], where: str) -> str:
    """``${VAR}`` and ``${VAR:-default}`` in a config file, from the environment: one variable
    (NEWS_SAMPLE_PORT in the bundled feeds) then moves every place that names it. A variable
    that is unset and has no default is an error naming the file."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found not in (None, ""):
            return str(found)
        if default is None:
            raise ConfigError(f"{where}: ${{{name}}} is used but {name} is not set (or write ${{{name}:-default}})")
        return default

    return _ENV_REFERENCE.sub(value, text)


def _read_yaml(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        data = yaml.safe_load(expand_env(path.read_text(encoding="utf-8"), os.environ if env is None else env,
                                         str(path)))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


_SECRET_KEYS = {"api_key", "password", "NEWS_ES_API_KEY", "NEWS_ES_PASSWORD"}


def _feed_defaults(raw: Any) -> Any:
    """A feed entry with its default name (the URL) filled in; anything else is left to the
    validator to refuse."""
    if isinstance(raw, dict) and raw.get("name") is None and isinstance(raw.get("url"), str):
        return {**raw, "name": raw["url"]}
    return raw


class _PipelineFile(BaseModel):
    """``pipeline.yaml``: every section optional, no key unknown."""

    model_config = ConfigDict(extra="forbid")

    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    http: HttpSettings = HttpSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    ingest: IngestSettings = IngestSettings()
    feeds_file: str = "feeds.yaml"
    language_seed: int = 0
    story_threshold: Annotated[float, AfterValidator(_unit_interval)] = 0.1
    profiles: ProfileSettings = ProfileSettings()
    archive: ArchiveSettings = ArchiveSettings()
    canaries: CanarySettings = CanarySettings()


class _FeedsFile(BaseModel):
    """The feeds file: ``feeds``, a list of feed entries."""

    model_config = ConfigDict(extra="forbid")

    feeds: list[FeedConfig] = []


class _Environment(BaseModel):
    """Environment overrides; an empty variable counts as unset."""

    model_config = ConfigDict(extra="ignore")

    NEWS_ES_URL: HttpUrl | None = None
    NEWS_ES_API_KEY: str | None = None
    NEWS_ES_USERNAME: str | None = None
    NEWS_ES_PASSWORD: str | None = None
    NEWS_ES_CA_CERTS: str | None = None
    NEWS_ES_INDEX_ALIAS: IndexName | None = None
    NEWS_ES_VERIFY_CERTS: Annotated[bool, BeforeValidator(_bool_word)] | None = None
    NEWS_HTTP_USER_AGENT: str | None = None
    NEWS_SCHEDULE_MODE: str | None = None


for _cls in (ElasticsearchSettings, HttpSettings, ScheduleSettings, IngestSettings, FeedConfig, ProfileSettings,
             ArchiveSettings, CanarySettings):
    _cls.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
_FEED_ADAPTER = TypeAdapter(FeedConfig)
_SECTIONS: dict[str, type] = {
    "elasticsearch": ElasticsearchSettings, "http": HttpSettings, "schedule": ScheduleSettings,
    "ingest": IngestSettings, "profiles": ProfileSettings, "archive": ArchiveSettings, "canaries": CanarySettings,
    "feeds": FeedConfig,
}


def _known_keys(parent: tuple[Any, ...], top: list[str]) -> list[str]:
    """The keys allowed where an unknown key was found (for "did you mean")."""
    names = [p for p in parent if isinstance(p, str)]
    if not names:
        return top
    cls = _SECTIONS.get(names[-1])
    return [f.name for f in fields(cls)] if cls is not None else []


def _path(loc: tuple[Any, ...], raw: Any) -> str:
    """``feeds[3] (name 'dwn'): timezone`` for loc ('feeds', 3, 'timezone')."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            label = f"{parts.pop() if parts else ''}[{item}]"
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                label += f" (name {node['name']!r})"
            parts.append(label)
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ": ".join(parts)


def _describe(error: Any, top: list[str]) -> str:
    loc = tuple(error["loc"])
    kind, msg = error["type"], error["msg"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        known = _known_keys(loc[:-1], top)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key ({hint}known: {', '.join(known)})"
    if kind in ("missing", "missing_argument"):
        return "required key is missing"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("tuple_type", "list_type"):
        msg = "must be a list"
    elif kind in ("dataclass_type", "model_type", "dict_type", "dataclass_args_type", "model_attributes_type"):
        msg = "must be a mapping of keys to values"
    if loc and str(loc[-1]) in _SECRET_KEYS:
        return msg
    shown = repr(error.get("input"))
    return f"{msg} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"


def _format_errors(exc: ValidationError, where: str, raw: Any, top: list[str] | None = None) -> str:
    """One line: ``<file>: <entry>: <key>: <what is wrong>`` for each problem, joined by "; "."""
    problems = []
    for error in exc.errors():
        path = _path(tuple(error["loc"]), raw)
        problems.append(f"{where}: {path + ': ' if path else ''}{_describe(error, top or [])}")
    return "; ".join(problems)


def _validate(model: type[BaseModel], raw: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, where, raw, list(model.model_fields))) from None
    except ConfigError as exc:  # a dataclass's own check (__post_init__) outside a field
        raise ConfigError(f"{where}: {exc}") from None


def _without_nulls(raw: dict[str, Any]) -> dict[str, Any]:
    """``http:`` with nothing under it means the defaults, as an absent section does."""
    return {key: value for key, value in raw.items() if value is not None}


def _duplicate_feeds(feeds: list[FeedConfig], where: str) -> None:
    first: dict[str, int] = {}
    for n, feed in enumerate(feeds):
        if feed.name in first:
            raise ConfigError(f"{where}: feeds[{n}] (name {feed.name!r}): name: duplicate feed name "
                              f"(also feeds[{first[feed.name]}]); names must be unique")
        first[feed.name] = n


def _apply_env(settings: Settings, env: dict[str, str]) -> Settings:
    given = {key: value for key, value in env.items() if key in _Environment.model_fields and value.strip()}
    over = _validate(_Environment, given, "environment")
    es_over: dict[str, Any] = {}
    for var, key in [
        ("NEWS_ES_URL", "url"),
        ("NEWS_ES_API_KEY", "api_key"),
        ("NEWS_ES_USERNAME", "username"),
        ("NEWS_ES_PASSWORD", "password"),
        ("NEWS_ES_CA_CERTS", "ca_certs"),
        ("NEWS_ES_INDEX_ALIAS", "index_alias"),
        ("NEWS_ES_VERIFY_CERTS", "verify_certs"),
    ]:
        if getattr(over, var) is not None:
            es_over[key] = getattr(over, var)
    http_over: dict[str, Any] = {}
    if over.NEWS_HTTP_USER_AGENT:
        http_over["user_agent"] = over.NEWS_HTTP_USER_AGENT
    schedule = settings.schedule
    if over.NEWS_SCHEDULE_MODE:
        try:
            schedule = replace(schedule, mode=over.NEWS_SCHEDULE_MODE.strip().lower())
        except ConfigError as exc:
            raise ConfigError(f"environment: NEWS_SCHEDULE_MODE: {exc}") from None
    local_port = env.get("NEWS_ES_LOCAL_PORT", "").strip()
    if local_port and "url" not in es_over and _is_loopback_url(str(settings.elasticsearch.url)):
        # the local node was moved (pipeline.localnode reads the same variable): follow it, so a
        # command on a shared machine never writes into someone else's node on 9200
        if not local_port.isdigit() or not 0 < int(local_port) < 65536:
            raise ConfigError(f"environment: NEWS_ES_LOCAL_PORT: {local_port!r} is not a port number")
        parts = urlsplit(str(settings.elasticsearch.url))
        es_over["url"] = urlunsplit((parts.scheme, f"{parts.hostname}:{local_port}", parts.path, "", ""))
    return replace(
        settings,
        elasticsearch=replace(settings.elasticsearch, **es_over),
        http=replace(settings.http, **http_over),
        schedule=schedule,
    )


def _is_loopback_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def load_settings(config_dir: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load ``pipeline.yaml`` and the feeds file from ``config_dir`` (default: $NEWS_CONFIG_DIR,
    else the repository's ``config/``), then apply environment overrides. Everything is checked
    here, before any work starts: unknown keys, types, URLs, networks, time zones, duplicate feed
    names; a ConfigError names the file (or variable), the entry and the key."""
    env = dict(os.environ) if env is None else env
    base = Path(config_dir or env.get("NEWS_CONFIG_DIR") or REPO_CONFIG_DIR)
    if not base.is_dir():
        source = "--config" if config_dir else "NEWS_CONFIG_DIR"
        raise ConfigError(f"config directory not found: {base} (from {source})")
    main_file = base / "pipeline.yaml"
    raw = _without_nulls(_read_yaml(main_file, env)) if main_file.exists() else {}
    main = _validate(_PipelineFile, raw, str(main_file))
    feeds_file = Path(env.get("NEWS_FEEDS_FILE") or base / main.feeds_file)
    feeds_raw = _without_nulls(_read_yaml(feeds_file, env))
    if isinstance(feeds_raw.get("feeds"), list):
        feeds_raw["feeds"] = [_feed_defaults(entry) for entry in feeds_raw["feeds"]]
    feeds = _validate(_FeedsFile, feeds_raw, str(feeds_file)).feeds
    _duplicate_feeds(feeds, str(feeds_file))
    settings = Settings(
        elasticsearch=main.elasticsearch,
        http=main.http,
        schedule=main.schedule,
        ingest=main.ingest,
        feeds=tuple(feeds),
        language_seed=main.language_seed,
        story_threshold=main.story_threshold,
        config_dir=str(base),
        profiles=main.profiles,
        archive=main.archive,
        canaries=main.canaries,
    )
    return _apply_env(settings, env)
