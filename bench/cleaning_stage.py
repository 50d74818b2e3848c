"""Time of the whole cleaning stage vs plain ``trafilatura.extract`` (target <= 1.3x).

Stage (b) is what ``pipeline.ingest.build_article`` runs per page: ``clean_article`` +
``find_dates`` (on the raw page) + ``detect_language`` (on the cleaned body); (a) is
``trafilatura.extract(html)`` with default settings. Pages: the labelled set of
bench/extraction_quality.py (15 fixtures of bench/data/extraction + 5 sample-site pages = 20) (loaded as bench/extraction_quality.py does).
Each page: one warm-up call, then REPEATS timed calls of each part; per-page medians.

Run: .venv/bin/python bench/cleaning_stage.py  -> section of docs/benchmarks.md
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine_line, write_section
from bench.extraction_quality import load_cases, timed
from pipeline.clean import clean_article
from pipeline.dates import find_dates
from pipeline.language import detect_language
from pipeline.siterules import load_rules

REPEATS = 7
TARGET = 1.3


def main() -> None:
    cases, site = load_cases()
    rules = load_rules()
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        for case in cases:
            body = clean_article(case.html, case.url, rules=rules).body
            t_plain = timed(warmup=True, fn=lambda c=case: trafilatura.extract(c.html))
            t_clean = timed(warmup=True, fn=lambda c=case: clean_article(c.html, c.url, rules=rules))
            t_dates = timed(warmup=True, fn=lambda c=case: find_dates(c.html, url=c.url))
            t_lang = timed(warmup=True, fn=lambda b=body: detect_language(b))
            rows.append((case.name, t_plain, t_clean, t_dates, t_lang))
            print(f"  {case.name}: plain {t_plain * 1e3:.1f} ms, stage {(t_clean + t_dates + t_lang) * 1e3:.1f} ms",
                  file=sys.stderr)
    finally:
        stop = getattr(site, "stop", None)
        if stop:
            stop()
    plain = [r[1] for r in rows]
    stage = [r[2] + r[3] + r[4] for r in rows]
    parts = {"clean_article": [r[2] for r in rows], "find_dates": [r[3] for r in rows],
             "detect_language": [r[4] for r in rows]}
    ratio = sum(stage) / sum(plain)
    med_ratio = statistics.median(stage) / statistics.median(plain)
    lines = [
        "## Cleaning stage time (`bench/cleaning_stage.py`)",
        "",
        machine_line(),
        "",
        (f"Method: {len(rows)} pages ({sum(not r[0].startswith('sample/') for r in rows)} hand-labelled fixtures"
         f" of `bench/data/extraction`, {sum(r[0].startswith('sample/') for r in rows)} sample-site pages). Per page one"),
        f"warm-up call, then the median of {REPEATS} `time.perf_counter` timings of each part. (a) =",
        "`trafilatura.extract(html)`; (b) = the stage as `ingest.build_article` runs it: `clean_article`",
        "+ `find_dates(html)` + `detect_language(cleaned body)`.",
        "",
        "| measure | median ms/page | mean ms/page | share of (b) |",
        "|---|---|---|---|",
        f"| (a) trafilatura.extract | {statistics.median(plain) * 1e3:.2f} | {statistics.mean(plain) * 1e3:.2f} | |",
        f"| (b) whole stage | {statistics.median(stage) * 1e3:.2f} | {statistics.mean(stage) * 1e3:.2f} | 100% |",
    ]
    for name, values in parts.items():
        lines.append(
            f"| &nbsp;&nbsp;{name} | {statistics.median(values) * 1e3:.2f} | {statistics.mean(values) * 1e3:.2f} |"
            f" {sum(values) / sum(stage) * 100:.0f}% |"
        )
    verdict = "met" if ratio <= TARGET else "missed"
    lines += [
        "",
        (f"Ratio (b)/(a): {ratio:.2f}x on total time, {med_ratio:.2f}x on medians (target <= {TARGET}x):"
        f" **{verdict}**."),
        "",
        "| page | (a) ms | clean ms | dates ms | lang ms | (b) ms | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, tp, tc, td, tl in rows:
        tb = tc + td + tl
        lines.append(f"| {name} | {tp * 1e3:.2f} | {tc * 1e3:.2f} | {td * 1e3:.2f} | {tl * 1e3:.2f} |"
                     f" {tb * 1e3:.2f} | {tb / tp:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("cleaning_stage", text)


if __name__ == "__main__":
    main()
