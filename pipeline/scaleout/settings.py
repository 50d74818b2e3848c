"""The CeleryExecutor deployment's shared settings: ``config/scaleout.env``.

docker-compose.yml reads that file with ``env_file`` and the local launcher
(:mod:`pipeline.scaleout.stack`) reads it here, so the Airflow services of the documented
deployment and of the tested one get the same executor, auth manager, heartbeats, worker
concurrency and pool size. Only addresses and secrets differ, by design.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = ROOT / "config" / "scaleout.env"
POOL_SLOTS_KEY = "NEWS_FETCH_POOL_SLOTS"


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads an env file (``#`` comments, blank lines skipped).

    Quotes and ``$`` are refused rather than interpreted: compose would treat them its own way,
    and the two readers must agree on every value."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        if any(c in value for c in "\"'$"):
            raise ValueError(f"{path}:{number}: quotes and $ are not allowed (compose would interpret them)")
        if key in values:
            raise ValueError(f"{path}:{number}: {key} is set twice")
        values[key] = value
    return values


def pool_slots(values: dict[str, str] | None = None) -> int:
    """Slots of the news_fetch pool (``NEWS_FETCH_POOL_SLOTS``)."""
    return int((values if values is not None else read_env_file())[POOL_SLOTS_KEY])
