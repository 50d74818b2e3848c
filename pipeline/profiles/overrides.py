"""Users' say over learned rules, per site, in the ``learned`` section of ``config/sites/*.yaml``::

    learned:
      enabled: true                          # false: no learned rule is applied on this site
      veto: [learned:line:5c0f6b1e2d3a4f59]  # never apply these (names as in ``removals.rule``
      pin: [learned:block:0a1b2c3d4e5f6071]  # and ``python -m pipeline profiles show``); pins
                                             # apply even below the share or before min_articles

The site file is picked like its rules (``match.hosts`` and the longest ``path_prefix``);
``_generic.yaml`` may hold a ``learned`` section for every site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.clean.siterules import DEFAULT_RULES_DIR, GENERIC_FILE, ConfigError, best_site, norm_host

_RULE = re.compile(r"^learned:(line|block):[0-9a-f]{16}$")


@dataclass(frozen=True)
class Overrides:
    enabled: bool = True
    pins: frozenset[str] = frozenset()     # keys ("line:...", "block:...")
    vetoes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _SiteOverrides:
    hosts: frozenset[str]
    path_prefix: str
    overrides: Overrides


@dataclass(frozen=True)
class OverrideBook:
    generic: Overrides
    sites: tuple[_SiteOverrides, ...]

    def for_url(self, url: str) -> Overrides:
        best = best_site(self.sites, url)  # the same choice as the site rules make
        if best is None:
            return self.generic
        return Overrides(
            enabled=self.generic.enabled and best.overrides.enabled,
            pins=self.generic.pins | best.overrides.pins,
            vetoes=self.generic.vetoes | best.overrides.vetoes,
        )


def _keys(raw: Any, path: Path, what: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: learned.{what} must be a list of rule names")
    out = set()
    for name in raw:
        if not isinstance(name, str) or not _RULE.match(name.strip()):
            raise ConfigError(f"{path}: learned.{what}: {name!r} is not a learned rule name "
                              "(learned:line:<16 hex> or learned:block:<16 hex>)")
        out.add(name.strip().removeprefix("learned:"))
    return frozenset(out)


def _parse(path: Path) -> tuple[Overrides, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read rule file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    learned = data.get("learned") or {}
    if not isinstance(learned, dict) or set(learned) - {"enabled", "pin", "veto"}:
        raise ConfigError(f"{path}: learned must be a mapping with enabled, pin, veto")
    enabled = learned.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}: learned.enabled must be true or false")
    return Overrides(enabled, _keys(learned.get("pin"), path, "pin"), _keys(learned.get("veto"), path, "veto")), data


@cache
def load_overrides(directory: Path | str = DEFAULT_RULES_DIR) -> OverrideBook:
    """The ``learned`` sections of a rule directory, cached per process like the rules."""
    directory = Path(directory)
    generic = Overrides()
    if (directory / GENERIC_FILE).exists():
        generic = _parse(directory / GENERIC_FILE)[0]
    sites = []
    for path in sorted(p for p in directory.glob("*.yaml") if p.name != GENERIC_FILE):
        overrides, data = _parse(path)
        match = data.get("match") or {}
        hosts = match.get("hosts") if isinstance(match, dict) else None
        if not hosts:
            continue  # siterules reports the missing match
        hosts = hosts if isinstance(hosts, list) else [hosts]
        sites.append(_SiteOverrides(
            frozenset(norm_host(str(h)) for h in hosts),
            str(match.get("path_prefix") or "/"), overrides,
        ))
    return OverrideBook(generic, tuple(sites))
