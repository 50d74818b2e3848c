"""Publication dates on real web pages: the pipeline's date path vs plain htmldate.

Why: fixture pages prove a date rule's mechanism, the public htmldate evaluation set (800 URLs,
799 pages, mostly German, gold = the publication day) decides whether the web got better.
Scoring as upstream does it: the day must equal the gold ``YYYY-MM-DD`` exactly; accuracy =
correct / URLs, coverage = any date returned / URLs, precision = correct / returned. Our day is
the publication's local calendar day as written (``ArticleDates.published_day``).

The pipeline's own per-page path is measured: ``parse_page`` once, then what ``clean_and_date``
does for dates (``find_dates`` on the parsed tree, putting back the chrome it removes so cleaning
can take the same tree), once without the URL (the upstream, HTML-only figure) and once with it
(the pipeline always has it).

Run: .venv/bin/python bench/realweb_dates.py [--evalsets DIR] [--limit N] [--extract]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.clean.dates import ArticleDates, find_dates
from pipeline.clean.extract import ExtractionError, parse_page
from pipeline.fetch.decode import decode_page

DEFAULT_EVALSETS = ROOT.parent / "shared" / "evalsets"
# CPU time of this process: the machine is shared, and wall time would charge us for the others
_clock = time.process_time
CACHE = Path(os.environ.get("NEWS_EVALSETS_CACHE", Path.home() / ".cache" / "news-pipeline" / "evalsets"))


def _day(dates: ArticleDates) -> str | None:
    published = dates.published
    if published is None:
        return None
    return getattr(published, "day", None) or published.value[:10]


def _miss_cause(found: str | None, gold: str) -> str:
    """Why a page missed, coarse and cheap: nothing found, or how far the wrong day is."""
    if found is None:
        return "no date"
    if found[:7] == gold[:7]:
        delta = abs((datetime.fromisoformat(found) - datetime.fromisoformat(gold)).days)
        return "wrong by one day" if delta == 1 else "wrong day, same month"
    if found[:4] == gold[:4]:
        return "wrong month, same year"
    return "wrong year"


def _score(correct: int, returned: int, total: int) -> dict[str, float]:
    return {
        "accuracy": round(correct / total, 4) if total else 0.0,
        "coverage": round(returned / total, 4) if total else 0.0,
        "precision": round(correct / returned, 4) if returned else 0.0,
    }


def evaluate_dates(
    pages_dir: Path, gold_json: Path, limit: int | None = None, *, with_extract: bool = False
) -> dict[str, Any]:
    """Score the pipeline's date path and plain htmldate on one evaluation set, in one process.

    Timings are CPU time of this process, steady-state: one warm-up page first (dateparser loads its locale tables on the
    first call that needs them, about 2 s once per process, which is not a per-page cost).

    Returns a dict of plain numbers:
      - ``pages``: URLs scored (a URL whose page file is missing counts as a miss for everyone)
      - ``html_only``, ``with_url``, ``htmldate``: each ``{"accuracy", "coverage", "precision"}``
        (0..1) for ``find_dates(tree, url=None)``, ``find_dates(tree, url=URL)`` and
        ``htmldate.find_date(html, original_date=True, extensive_search=True)``
      - ``date_stage_ms``: mean ms/page of our date stage (``find_dates`` with ``keep_tree``, HTML only)
      - ``parse_ms``: mean ms/page of ``parse_page`` (shared with cleaning, not part of the stage)
      - ``htmldate_ms``: mean ms/page of the htmldate call (it parses the page itself)
      - ``misses_html_only``, ``misses_with_url``, ``misses_htmldate``: ``{cause: count}`` with
        causes "no date", "wrong by one day", "wrong day, same month", "wrong month, same year",
        "wrong year"
      - ``sources``: ``{source: count}`` of the published-date source our HTML-only run chose
      - ``extract_ms`` (only with ``with_extract``): mean ms/page of plain ``trafilatura.extract``
        on the same pages, measured in the same loop (the cost yardstick of the page stage)
    """
    from htmldate import find_date

    gold: dict[str, dict[str, str]] = json.loads(Path(gold_json).read_text(encoding="utf-8"))
    items = list(gold.items())[:limit] if limit else list(gold.items())
    counts = {name: [0, 0] for name in ("html_only", "with_url", "htmldate")}  # correct, returned
    misses: dict[str, Counter[str]] = {name: Counter() for name in counts}
    sources: Counter[str] = Counter()
    stage_s = parse_s = htmldate_s = extract_s = 0.0
    timed = 0
    _warm_up(pages_dir, items)
    for url, entry in items:
        path = Path(pages_dir) / entry["file"]
        expected = entry["date"]
        if not path.is_file():
            for name in counts:
                misses[name]["no date"] += 1
            continue
        html = decode_page(path.read_bytes())
        found: dict[str, str | None] = {}
        t0 = _clock()
        try:
            tree = parse_page(html)
        except ExtractionError:
            tree = None
        t1 = _clock()
        if tree is not None:
            dates = find_dates(tree, url=None, keep_tree=True)
            t2 = _clock()
            found["html_only"] = _day(dates)
            if dates.published is not None:
                sources[dates.published.source] += 1
            found["with_url"] = _day(find_dates(tree, url=url, keep_tree=True))
            stage_s += t2 - t1
            parse_s += t1 - t0
            timed += 1
        else:
            found["html_only"] = found["with_url"] = None
        t3 = _clock()
        try:
            found["htmldate"] = find_date(html, original_date=True, extensive_search=True)
        except Exception:  # noqa: BLE001 - a reference run must not stop on one bad page
            found["htmldate"] = None
        htmldate_s += _clock() - t3
        if with_extract:
            import trafilatura

            t4 = _clock()
            trafilatura.extract(html, include_comments=False, include_tables=True)
            extract_s += _clock() - t4
        for name, day in found.items():
            counts[name][1] += day is not None
            if day == expected:
                counts[name][0] += 1
            else:
                misses[name][_miss_cause(day, expected)] += 1
    total = len(items)
    result: dict[str, Any] = {"pages": total}
    for name, (correct, returned) in counts.items():
        result[name] = _score(correct, returned, total)
        result[f"misses_{name}"] = dict(misses[name])
    result["date_stage_ms"] = round(1000 * stage_s / timed, 2) if timed else 0.0
    result["parse_ms"] = round(1000 * parse_s / timed, 2) if timed else 0.0
    result["htmldate_ms"] = round(1000 * htmldate_s / total, 2) if total else 0.0
    result["sources"] = dict(sources)
    if with_extract:
        result["extract_ms"] = round(1000 * extract_s / timed, 2) if timed else 0.0
    return result


def _warm_up(pages_dir: Path, items: list[tuple[str, dict[str, str]]]) -> None:
    """One page through every path, untimed: imports, compiled patterns, dateparser's locales."""
    from htmldate import find_date

    for _url, entry in items[:1]:
        path = Path(pages_dir) / entry["file"]
        if path.is_file():
            html = decode_page(path.read_bytes())
            find_dates(parse_page(html), url=None)
            find_date(html, original_date=True, extensive_search=True)
            find_date("<html><body><p>Veröffentlicht am 3. Dezember 2011 um 10 Uhr</p></body></html>",
                      extensive_search=True)


def pages_dir_for(evalsets: Path) -> Path:
    """The unpacked pages of htmldate-eval: next to the archive if unpacked there, else in the
    cache (unpacked on first use; third-party pages never go into the repository)."""
    source = Path(evalsets) / "htmldate-eval"
    for candidate in (source / "html", CACHE / "htmldate-eval" / "html"):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    target = CACHE / "htmldate-eval"
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / "pages.tar.xz") as archive:
        archive.extractall(target, filter="data")
    return target / "html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evalsets", type=Path, default=DEFAULT_EVALSETS)
    parser.add_argument("--pages", type=Path, default=None, help="pages already unpacked (DIR/NAME.html)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--extract", action="store_true", help="also time plain trafilatura.extract")
    args = parser.parse_args(argv)
    gold = args.evalsets / "htmldate-eval" / "eval_default.json"
    pages = args.pages or pages_dir_for(args.evalsets)
    result = evaluate_dates(pages, gold, args.limit, with_extract=args.extract)
    print(f"htmldate-eval, {result['pages']} URLs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'':34} {'accuracy':>9} {'coverage':>9} {'precision':>9}")
    for name, label in (
        ("html_only", "pipeline find_dates, HTML only"),
        ("with_url", "pipeline find_dates, with URL"),
        ("htmldate", "htmldate extensive (HTML only)"),
    ):
        s = result[name]
        print(f"{label:34} {s['accuracy']:9.3f} {s['coverage']:9.3f} {s['precision']:9.3f}")
    print(f"date stage {result['date_stage_ms']} ms/page (parse {result['parse_ms']} ms, shared); "
          f"htmldate {result['htmldate_ms']} ms/page")
    if args.extract:
        ratio = result["date_stage_ms"] / result["extract_ms"] if result["extract_ms"] else 0.0
        print(f"trafilatura.extract {result['extract_ms']} ms/page: date stage = {ratio:.2f}x extract")
    for name in ("html_only", "with_url", "htmldate"):
        print(f"misses {name}: {result['misses_' + name]}")
    print(f"sources (HTML only): {result['sources']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
