"""Progress of long work, for a person at a terminal and for a log that nobody watches live.

On a terminal (stderr is a TTY) a tqdm bar; elsewhere (Airflow task logs, cron, CI) one log line
every ``every`` items and one at the end, with the rate, so a 1,500-page ingest never sits
silent for minutes in either place.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType
from typing import Any, Self

log = logging.getLogger("pipeline.progress")


class Progress:
    """``with Progress(total, "feed dwn", unit="page") as bar: ... bar.update()``."""

    def __init__(self, total: int | None, desc: str, *, unit: str = "item", every: int = 100,
                 tty: bool | None = None) -> None:
        self.total, self.desc, self.unit, self.every = total, desc, unit, max(1, every)
        self.done = 0
        self._tty = sys.stderr.isatty() if tty is None else tty
        self._bar: Any = None
        self._start = time.monotonic()

    def __enter__(self) -> Self:
        if self._tty:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, file=sys.stderr,
                             dynamic_ncols=True, leave=False)
        return self

    def update(self, n: int = 1) -> None:
        before, self.done = self.done, self.done + n
        if self._bar is not None:
            self._bar.update(n)
        elif before // self.every != self.done // self.every:
            log.info("%s", self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.desc}: {self.done}{of} {self.unit}s, {self.done / elapsed:.1f}/s, {elapsed:.0f} s"

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done and self.done % self.every:
            log.info("%s%s", self.line(), "" if kind is None else " (stopped)")
