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


def thread_cpu_s(pid: int) -> dict[str, float]:
    """utime + stime in seconds per live thread of ``pid``, summed by thread name with digits
    removed ("C2 CompilerThread0" and "C1 CompilerThre1" -> "C CompilerThre"; Linux keeps 15
    characters of a name). Threads that already exited are not in it."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = "".join(c for c in stat[stat.index("(") + 1 : stat.rindex(")")] if not c.isdigit()).strip()
        fields = stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out
