"""Where the per-page path's CPU time goes, stage by stage, beside plain trafilatura.extract.

Why: ``bench/realweb_quality.py`` gives one ratio (the whole ``article_from_page`` against plain
``trafilatura.extract``); to make it cheaper one has to know which stage costs what. This bench
runs the same two calls, alternating page by page on trafilatura's evaluation set, and wraps the
pipeline's stage functions with CPU-time counters (inclusive times; a parent's own time is its
total minus its children's). The wrappers add about a microsecond a call.

Run: .venv/bin/python bench/page_cost.py [--evalsets DIR] [--limit N] [--offset N] [--passes N]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.evalsets import evalset_dir
from bench.realweb_text import pipeline_path, plain_trafilatura

_clock = time.process_time
TOTALS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)

#: (label, module, attribute, parent label): where the name is looked up at call time
STAGES: tuple[tuple[str, str, str, str | None], ...] = (
    ("decode", "pipeline.run.ingest", "decode_document", None),
    ("rules", "pipeline.run.ingest", "load_rules", None),
    ("clean_and_date", "pipeline.run.ingest", "clean_and_date", None),
    ("language", "pipeline.run.ingest", "detect_language", None),
    ("parse", "pipeline.clean.page", "parse_page", "clean_and_date"),
    ("copy", "pipeline.clean.page", "deepcopy", "clean_and_date"),
    ("clean", "pipeline.clean.page", "clean_article", "clean_and_date"),
    ("dates", "pipeline.clean.page", "find_dates", "clean_and_date"),
    ("hints", "pipeline.clean.rules", "page_hints", "clean"),
    ("signoff-elements", "pipeline.clean.rules", "_cut_signoff_elements", "clean"),
    ("drop-elements", "pipeline.clean.rules", "_drop_elements", "clean"),
    ("extract_tree", "pipeline.clean.rules", "extract_tree", "clean"),
    ("metadata", "pipeline.clean.extract", "_metadata", "extract_tree"),
    ("main_text", "pipeline.clean.extract", "main_text", "extract_tree"),
    ("paragraphs", "pipeline.clean.extract", "_paragraphs", "extract_tree"),
    ("bare_extraction", "trafilatura", "bare_extraction", "main_text"),
    ("htmldate", "htmldate", "find_date", "dates"),
)


def _timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return func(*args, **kwargs)
        finally:
            TOTALS[label] += _clock() - start
            CALLS[label] += 1

    return wrapper


def install() -> None:
    for label, module, name, _parent in STAGES:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            setattr(mod, name, _timed(label, getattr(mod, name)))


def run(limit: int | None, offset: int, evalsets: Path | None, passes: int = 1) -> dict[str, Any]:
    pages_dir, gold_json = evalset_dir("trafilatura-eval", evalsets)
    items = list(json.loads(gold_json.read_text(encoding="utf-8")).items())
    items = items[offset: offset + limit] if limit else items[offset:]
    pipeline = pipeline_path()
    install()
    for url, item in items[:1]:  # untimed warm-up, as in bench/realweb_text.py
        html = (pages_dir / item["file"]).read_bytes()
        plain_trafilatura(html, url)
        pipeline(html, url)
    for _ in range(passes):  # the last pass is reported: with passes > 1, steady state only
        TOTALS.clear()
        CALLS.clear()
        for url, item in items:
            html = (pages_dir / item["file"]).read_bytes()
            t0 = _clock()
            plain_trafilatura(html, url)
            t1 = _clock()
            pipeline(html, url)
            t2 = _clock()
            TOTALS["plain extract"] += t1 - t0
            TOTALS["article_from_page"] += t2 - t1
    return {"pages": len(items), "totals": dict(TOTALS), "calls": dict(CALLS)}


def render(result: dict[str, Any]) -> str:
    pages = result["pages"]
    totals = result["totals"]
    plain = totals.get("plain extract", 0.0)
    lines = [f"{pages} pages; CPU ms per page (inclusive; 'own' = minus the stages listed under it)"]
    children: dict[str | None, list[str]] = defaultdict(list)
    for label, _m, _n, parent in STAGES:
        children[parent].append(label)
    children["article_from_page"] = children.pop(None)

    def show(label: str, depth: int) -> None:
        total = totals.get(label, 0.0)
        kids = children.get(label, [])
        own = total - sum(totals.get(k, 0.0) for k in kids)
        calls = result["calls"].get(label, pages)
        extra = f"  own {1e3 * own / pages:6.2f}" if kids else ""
        lines.append(f"{'  ' * depth}{label:<22} {1e3 * total / pages:7.2f}{extra}   ({calls / pages:.2f} calls/page)")
        for kid in kids:
            show(kid, depth + 1)

    lines.append(f"{'plain extract':<22} {1e3 * plain / pages:7.2f}")
    show("article_from_page", 0)
    if plain:
        lines.append(f"ratio article_from_page / plain extract: {totals['article_from_page'] / plain:.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evalsets", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--passes", type=int, default=1,
                        help="time only the last of N passes (2: without one-off loads such as dateparser's locales)")
    args = parser.parse_args()
    print(render(run(args.limit, args.offset, args.evalsets, args.passes)))


if __name__ == "__main__":
    main()
