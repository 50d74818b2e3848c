"""Index names, all derived from the one read alias in config, so a test (or a second tenant) with
its own alias never touches anyone else's indices.

Articles live in monthly indices ``<alias>-v<template version>-<YYYY.MM>`` by publication month
(``-undated`` when the article has no reliable date), so a backfill of 2019 does not bloat the
current index and old months can be closed or deleted one by one.
"""

from __future__ import annotations

from datetime import datetime


def article_index(alias: str, version: int, published_at: str | None) -> str:
    if not published_at:
        return f"{alias}-v{version}-undated"
    month = datetime.fromisoformat(published_at).strftime("%Y.%m")
    return f"{alias}-v{version}-{month}"


def article_pattern(alias: str, version: int | None = None) -> str:
    return f"{alias}-v{version}-*" if version is not None else f"{alias}-v*"


def deadletter_index(alias: str) -> str:
    return f"{alias}-deadletter"


def runlog_index(alias: str) -> str:
    return f"{alias}-runs"


def feedstate_index(alias: str) -> str:
    return f"{alias}-feedstate"


def profiles_index(alias: str) -> str:
    """Learned boilerplate profiles, one document per site (pipeline.profiles)."""
    return f"{alias}-profiles"


def backfill_index(alias: str) -> str:
    """Backfill partition state, one document per (archive source, day) (pipeline.backfill)."""
    return f"{alias}-backfill"


def hostslots_index(alias: str) -> str:
    """Next allowed request start per host, shared by every worker (pipeline.fetch.sharedlimit)."""
    return f"{alias}-hostslots"


def leases_index(alias: str) -> str:
    """Per-feed leases: which runner polls a feed now, until when (pipeline.feeds.lease)."""
    return f"{alias}-leases"


def pagefailures_index(alias: str) -> str:
    """Pages that failed permanently, one document per URL, with the time of the next try
    (pipeline.run.pagefailures)."""
    return f"{alias}-pagefailures"
