"""CPU seconds of another process, from /proc (the benchmarks charge the Elasticsearch node, the
API server and the site server their own CPU)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int, *, children: bool = True) -> float:
    """utime + stime of ``pid`` (+ its reaped children's with ``children``) in seconds; 0 when it
    is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15 if children else 13]) / CLK_TCK
