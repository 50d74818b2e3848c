"""Per-stage wall time inside Airflow task processes, without changing the pipeline.

``install(out_dir)`` (in the process that forks the LocalExecutor workers) wraps the stage
functions of the pipeline where they are looked up (``pipeline.run.ingest.clean_and_date``,
``HttpClient.get``, ...) with a timer. Modules not imported yet are wrapped when a task process
imports them (an import hook on ``sys.meta_path``), so the task processes still pay their own
imports, as they do under a scheduler, and the import itself is timed as a stage.

Time is exclusive: a stage called inside another (fetch inside the feed poll, every upstream stage
inside the bulk indexer that pulls the article stream) is subtracted from the outer one. After
each ``ingest_feed`` call the process writes its running totals and its peak RSS
(``ru_maxrss``: it includes the pages shared with the parent the process was forked from), its
RSS before it imported the pipeline, its largest private memory seen at those points, and its CPU
time to ``out_dir/<pid>.json``.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

#: (module, attribute or Class.method, stage). The attribute is patched in the module where the
#: pipeline looks it up, e.g. ``pipeline.run.ingest.clean_and_date``, not where it is defined.
TARGETS: tuple[tuple[str, str, str], ...] = (
    ("pipeline.run.ingest", "ingest_feed", "other (in ingest_feed)"),
    ("pipeline.run.ingest", "poll_feed_conditional", "feed (parse)"),
    ("pipeline.fetch.client", "HttpClient.get", "fetch (HTTP)"),
    ("pipeline.run.ingest", "decode_page", "decode"),
    ("pipeline.run.ingest", "clean_and_date", "clean + dates (one parse)"),
    ("pipeline.run.ingest", "detect_language", "language"),
    ("pipeline.enrich.entities.extractor", "load_model", "NER model load"),
    ("pipeline.enrich.entities.extractor", "EntityExtractor.extract_batch", "entities (NER + gazetteer)"),
    ("pipeline.enrich", "assign_stories", "stories (MinHash + lookup)"),
    ("pipeline.run.ingest", "index_articles", "index (bulk)"),
    ("elasticsearch._sync.client.indices", "IndicesClient.refresh", "refresh"),
    ("pipeline.run.extras", "RunExtras.learned_for", "profiles, canaries, raw archive"),
    ("pipeline.run.extras", "RunExtras.observe", "profiles, canaries, raw archive"),
    ("pipeline.run.extras", "RunExtras.archive", "profiles, canaries, raw archive"),
    ("pipeline.run.extras", "RunExtras.finish", "profiles, canaries, raw archive"),
    ("pipeline.run.ingest", "load_state", "state (feed state, seen, run log)"),
    ("pipeline.run.ingest", "unseen_entries", "state (feed state, seen, run log)"),
    ("pipeline.run.ingest", "save_state", "state (feed state, seen, run log)"),
    ("pipeline.run.ingest", "save_schedule", "state (feed state, seen, run log)"),
    ("pipeline.run.ingest", "write_run_report", "state (feed state, seen, run log)"),
)
IMPORT_STAGE = "import pipeline.run.ingest"
ROOT_ATTR = "ingest_feed"

_local = threading.local()
_lock = threading.Lock()
_totals: dict[str, float] = {}
_calls: dict[str, int] = {}
_out_dir: Path | None = None
_patched: list[str] = []
_memory: dict[str, int] = {}


def _proc_kb(path: str, field: str) -> int:
    """A ``kB`` field of /proc/self/status or smaps_rollup (0 when unreadable)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _private_kb() -> int:
    rollup = "/proc/self/smaps_rollup"
    return _proc_kb(rollup, "Private_Clean") + _proc_kb(rollup, "Private_Dirty")


def _add(stage: str, seconds: float) -> None:
    with _lock:
        _totals[stage] = _totals.get(stage, 0.0) + seconds
        _calls[stage] = _calls.get(stage, 0) + 1


def _dump() -> None:
    if _out_dir is None:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with _lock:
        _memory["private_kb_max"] = max(_memory.get("private_kb_max", 0), _private_kb())
        data = {
            "pid": os.getpid(),
            "seconds": dict(_totals),
            "calls": dict(_calls),
            "patched": list(_patched),
            "maxrss_kb": usage.ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            **_memory,
        }
    tmp = _out_dir / f".{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(_out_dir / f"{os.getpid()}.json")


def timed(stage: str, fn: Callable[..., Any], *, root: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stack: list[list[float]] = _local.__dict__.setdefault("stack", [])
        inner = [0.0]
        stack.append(inner)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            stack.pop()
            if stack:
                stack[-1][0] += elapsed
            _add(stage, elapsed - inner[0])
            if root:
                _add("ingest_feed (total)", elapsed)
                _dump()

    wrapper.__bench_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def _patch(module: ModuleType) -> None:
    for name, attr, stage in TARGETS:
        if name != module.__name__:
            continue
        owner: Any = module
        *path, leaf = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        original = getattr(owner, leaf, None) if owner is not None else None
        if original is None or getattr(original, "__bench_timed__", False):
            continue
        setattr(owner, leaf, timed(stage, original, root=(attr == ROOT_ATTR)))
        _patched.append(f"{name}.{attr}")


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Wrap a target module's functions right after the module's own code ran."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[union-attr]

        def exec_module(module: ModuleType) -> None:
            if fullname == "pipeline.run.ingest":
                _memory["rss_kb_before_import"] = _proc_kb("/proc/self/status", "VmRSS")
            started = time.perf_counter()
            original_exec(module)
            if fullname == "pipeline.run.ingest":
                _add(IMPORT_STAGE, time.perf_counter() - started)
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def install(out_dir: Path) -> None:
    """Time the stages in this process and every process forked from it; totals go to out_dir."""
    set_output(out_dir)
    modules = {name for name, _attr, _stage in TARGETS}
    for name in modules:
        if name in sys.modules:
            _patch(sys.modules[name])
    if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport(modules - set(sys.modules)))


def set_output(out_dir: Path) -> None:
    """Where processes forked from now on write their totals (one directory per measured run)."""
    global _out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    _out_dir = out_dir
    with _lock:
        _totals.clear()
        _calls.clear()
        _memory.clear()


def collect(out_dir: Path) -> list[dict[str, Any]]:
    """The totals every task process of a run wrote."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out_dir.glob("*.json"))]
