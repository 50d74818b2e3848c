"""Archive sources and backfill settings, from ``config/backfill.yaml`` (or ``$NEWS_BACKFILL_FILE``).

Three kinds of source, each with the same identity fields as a feed (``name``, ``site``, ``lang``,
``timezone``, ``allow_networks``, ``respect_robots``):

- ``sitemap``: an XML sitemap or sitemap index (optionally ``.gz``); a day's URLs are those whose
  ``lastmod`` (else ``news:publication_date``) falls on that day in the source's time zone.
- ``archive_pages``: a date-templated day page such as ``https://site/archiv/{date:%Y/%m/%d}/``;
  its same-site links (optionally picked by ``link_selector`` / ``link_pattern``) are the day's
  articles; ``rel="next"`` pagination is followed up to ``max_pages``.
- ``warc``: a WARC file (local path, fsspec URL, or http(s) URL; ``{date:...}`` templates and local
  glob patterns allowed); its HTML ``response`` records captured on the day become articles
  without being fetched again, with the capture time (WARC-Date) as ``fetched_at``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipeline.clean.siterules import css_to_xpath
from pipeline.config import ConfigError, FeedConfig, Settings, expand_env

SOURCE_TYPES = ("sitemap", "archive_pages", "warc")
_COMMON_KEYS = {"name", "type", "site", "lang", "timezone", "allow_networks", "respect_robots"}
_TYPE_KEYS = {
    "sitemap": {"url", "max_bytes", "max_sitemaps"},
    "archive_pages": {"url", "link_selector", "link_pattern", "next_selector", "max_pages"},
    "warc": {"path", "max_bytes"},
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ArchiveSource:
    """One configured archive. ``location`` is the sitemap URL, the day-page URL template or the
    WARC path/URL; selectors are kept as written and compiled to XPath (``link_xpath``)."""

    name: str
    type: str
    location: str
    site: str | None = None
    lang: str | None = None
    timezone: str = "Europe/Berlin"
    allow_networks: tuple[str, ...] = ()
    respect_robots: bool | None = None
    link_selector: str | None = None
    link_pattern: str | None = None
    next_selector: str | None = None
    max_pages: int = 20
    max_bytes: int | None = None  # sitemaps: 50 MB, WARC over HTTP: 200 MB by default
    max_sitemaps: int = 1000  # child sitemaps read per sitemap index and partition

    @property
    def link_xpath(self) -> str | None:
        return _xpath(self.link_selector) if self.link_selector else None

    @property
    def next_xpath(self) -> str | None:
        return _xpath(self.next_selector) if self.next_selector else None

    @property
    def templated(self) -> bool:
        return "{date" in self.location

    def location_for(self, day: date) -> str:
        """The location with ``{date:<strftime>}`` filled in for ``day``."""
        return self.location.format(date=day) if self.templated else self.location

    def as_feed(self) -> FeedConfig:
        """The feed-shaped view the per-page path (pipeline.run.ingest) works with."""
        return FeedConfig(
            name=self.name, url=self.location, site=self.site, lang=self.lang,
            allow_networks=self.allow_networks, timezone=self.timezone, respect_robots=self.respect_robots,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "location": self.location}


@dataclass(frozen=True)
class BackfillSettings:
    """``partitions_per_task``: partitions (source, day) one mapped Airflow task works through;
    ``max_tasks``: cap on mapped tasks per run (larger groups beyond it); ``lease_s``: a partition
    marked running by another run is left alone until its heartbeat is this old; ``pool``: the
    Airflow pool of the mapped tasks (None: default_pool)."""

    sources: tuple[ArchiveSource, ...] = ()
    partitions_per_task: int = 31
    max_tasks: int = 256
    lease_s: float = 600.0
    pool: str | None = None
    file: str | None = field(default=None, compare=False)

    def source(self, name: str) -> ArchiveSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no archive source named {name!r} (configured: {[s.name for s in self.sources]})")


def _xpath(selector: str) -> str:
    return selector[6:] if selector.startswith("xpath:") else css_to_xpath(selector)


def _check_template(where: str, template: str) -> None:
    """Only ``{date}`` / ``{date:<strftime>}`` fields, and the result must differ between days."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{where}: bad date template {template!r}: {exc}") from exc
    if any(f != "date" for f in fields):
        raise ConfigError(f"{where}: template {template!r} may only use {{date:<strftime format>}}, found {fields}")
    if not fields:
        return
    one, other = (template.format(date=date(2022, 1, d)) for d in (10, 11))
    if one == other:
        raise ConfigError(f"{where}: template {template!r} gives the same location for every day")


def _http_url(where: str, url: str) -> None:
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: url must be an absolute http(s) URL, got {url!r}")


def _positive_int(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {key} must be a positive integer, got {value!r}")
    return value


def _source(raw: Any, where: str) -> ArchiveSource:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each source must be a mapping, got {raw!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: 'name' must be 1-100 letters, digits, '.', '_' or '-', got {name!r}")
    where = f"{where} ({name})"
    kind = raw.get("type")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}: 'type' must be one of {list(SOURCE_TYPES)}, got {kind!r}")
    known = _COMMON_KEYS | _TYPE_KEYS[kind]
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} for type {kind} (known: {sorted(known)})")
    key = "path" if kind == "warc" else "url"
    location = raw.get(key)
    if not isinstance(location, str) or not location.strip():
        raise ConfigError(f"{where}: type {kind} needs '{key}'")
    _check_template(where, location)
    if kind == "archive_pages" and "{date" not in location:
        raise ConfigError(f"{where}: url must contain a {{date:...}} field, e.g. https://site/archiv/{{date:%Y/%m/%d}}/")
    if kind != "warc" or location.startswith(("http://", "https://")):
        _http_url(where, location)
    timezone = str(raw.get("timezone") or "Europe/Berlin")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: unknown timezone {timezone!r}") from exc
    networks = raw.get("allow_networks") or []
    if not isinstance(networks, list):
        raise ConfigError(f"{where}: allow_networks must be a list of networks, got {networks!r}")
    for net in networks:
        try:
            ipaddress.ip_network(str(net), strict=False)
        except ValueError as exc:
            raise ConfigError(f"{where}: allow_networks: {net!r} is not a network") from exc
    for key in ("site", "lang"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {raw[key]!r}")
    robots = raw.get("respect_robots")
    if robots is not None and not isinstance(robots, bool):
        raise ConfigError(f"{where}: respect_robots must be true or false, got {robots!r}")
    source = ArchiveSource(
        name=name, type=kind, location=location.strip(), site=raw.get("site"), lang=raw.get("lang"),
        timezone=timezone, allow_networks=tuple(str(n) for n in networks), respect_robots=robots,
        link_selector=raw.get("link_selector"), link_pattern=raw.get("link_pattern"),
        next_selector=raw.get("next_selector"),
        max_pages=_positive_int(where, "max_pages", raw.get("max_pages", 20)),
        max_bytes=_positive_int(where, "max_bytes", raw["max_bytes"]) if "max_bytes" in raw else None,
        max_sitemaps=_positive_int(where, "max_sitemaps", raw.get("max_sitemaps", 1000)),
    )
    _check_selectors(where, source)
    return source


def _check_selectors(where: str, source: ArchiveSource) -> None:
    from lxml import etree

    for key, selector in (("link_selector", source.link_selector), ("next_selector", source.next_selector)):
        if selector is None:
            continue
        if not isinstance(selector, str) or not selector.strip():
            raise ConfigError(f"{where}: {key} must be a non-empty CSS selector or 'xpath:...', got {selector!r}")
        try:
            etree.XPath(_xpath(selector))
        except (ValueError, etree.XPathSyntaxError) as exc:
            raise ConfigError(f"{where}: {key}: bad selector {selector!r}: {exc}") from exc
    if source.link_pattern is not None:
        try:
            re.compile(source.link_pattern)
        except (re.error, TypeError) as exc:
            raise ConfigError(f"{where}: link_pattern {source.link_pattern!r} is not a regular expression: {exc}") from exc


def parse_backfill_config(raw: dict[str, Any], where: str) -> BackfillSettings:
    allowed = {"sources", "partitions_per_task", "max_tasks", "lease_s", "pool"}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"unknown top-level keys in {where}: {sorted(unknown)} (known: {sorted(allowed)})")
    sources_raw = raw.get("sources") or []
    if not isinstance(sources_raw, list):
        raise ConfigError(f"'sources' in {where} must be a list")
    sources = tuple(_source(item, f"{where}: sources[{n}]") for n, item in enumerate(sources_raw))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: source names must be unique, repeated: {dupes}")
    lease = raw.get("lease_s", 600.0)
    if isinstance(lease, bool) or not isinstance(lease, int | float) or lease <= 0:
        raise ConfigError(f"{where}: lease_s must be a positive number of seconds, got {lease!r}")
    pool = raw.get("pool")
    if pool is not None and (not isinstance(pool, str) or not pool):
        raise ConfigError(f"{where}: pool must be an Airflow pool name, got {pool!r}")
    return BackfillSettings(
        sources=sources,
        partitions_per_task=_positive_int(where, "partitions_per_task", raw.get("partitions_per_task", 31)),
        max_tasks=_positive_int(where, "max_tasks", raw.get("max_tasks", 256)),
        lease_s=float(lease),
        pool=pool,
        file=where,
    )


def load_backfill_config(settings: Settings, env: dict[str, str] | None = None) -> BackfillSettings:
    """``backfill.yaml`` in the settings' config directory (or ``$NEWS_BACKFILL_FILE``); no file
    means no archive sources."""
    env = dict(os.environ) if env is None else env
    path = Path(env.get("NEWS_BACKFILL_FILE") or Path(settings.config_dir) / "backfill.yaml")
    if not path.exists():
        if env.get("NEWS_BACKFILL_FILE"):
            raise ConfigError(f"NEWS_BACKFILL_FILE points at a missing file: {path}")
        return BackfillSettings(file=str(path))
    try:
        raw = yaml.safe_load(expand_env(path.read_text(encoding="utf-8"), env, str(path))) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return parse_backfill_config(raw, str(path))
