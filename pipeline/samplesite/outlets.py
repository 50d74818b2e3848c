"""Site templates ("outlets") of the sample news site and their page chrome."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

_DATA_FILE = Path(__file__).with_name("outlets.yaml")


@dataclass(frozen=True)
class Outlet:
    """One site template; all its pages live under ``prefix`` on the shared host."""

    key: str
    name: str
    template: str
    prefix: str
    header_lines: tuple[str, ...]
    nav: tuple[str, ...]
    share: tuple[str, ...]
    ad_label: str | None
    ad_after: int | None
    related_heading: str
    teaser_kicker_in_title: bool
    newsletter: tuple[str, ...]
    footer: tuple[str, ...]
    cookie: tuple[str, ...]


@cache
def load_outlets() -> dict[str, Outlet]:
    """All outlets keyed by their ``key`` (agentur, rundschau, newsde, dwn)."""
    raw = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))["outlets"]
    outlets: dict[str, Outlet] = {}
    for key, spec in raw.items():
        fields = {name: tuple(value) if isinstance(value, list) else value for name, value in spec.items()}
        outlets[key] = Outlet(key=key, **fields)
    return outlets
