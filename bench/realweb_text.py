"""Main text on trafilatura's public evaluation set: the pipeline's per-page path vs plain trafilatura.

Why: our own fixture pages were written next to the rules they test; pages nobody here wrote decide
whether cleaning helps. Each page of ``evaldata.json`` has ``with`` snippets (article text the
output must contain) and ``without`` snippets (boilerplate it must not contain), scored as upstream
does: a ``with`` found is a true positive, missing a false negative; a ``without`` found a false
positive. Whitespace is collapsed on both sides before the substring test (our body joins
paragraphs with blank lines), the same for every extractor.

Run alone (the text part only, nothing written; about two minutes):
.venv/bin/python bench/realweb_text.py [--evalsets DIR] [--limit N] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.evalsets import evalset_dir

_WS = re.compile(r"\s+")
_GERMAN_TLDS = (".de", ".at", ".ch")


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass
class TextScore:
    """Upstream's snippet counts, summed over pages."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    pages: int = 0
    empty: int = 0
    empty_urls: list[str] = field(default_factory=list)

    def add(self, text: str | None, item: dict, url: str, misses: list[tuple[str, str, str]] | None = None) -> None:
        """Count one page; ``misses`` (when given) collects (url, "lost"/"leaked", snippet)."""
        self.pages += 1
        body = _norm(text or "")
        if not body:
            self.empty += 1
            self.empty_urls.append(url)
        for snippet in item.get("with", []):
            if body and _norm(snippet) in body:
                self.tp += 1
            else:
                self.fn += 1
                if misses is not None:
                    misses.append((url, "lost", snippet))
        for snippet in item.get("without", []):
            if body and _norm(snippet) in body:
                self.fp += 1
                if misses is not None:
                    misses.append((url, "leaked", snippet))
            else:
                self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "leaked": self.fp,
                "pages": self.pages, "empty": self.empty}


def is_german(url: str, html: bytes) -> bool:
    """As the evalsets README defines it: host under .de/.at/.ch or <html lang="de…">."""
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(_GERMAN_TLDS):
        return True
    head = html[:4096].lower()
    match = re.search(rb"<html[^>]*\blang\s*=\s*[\"']?de", head)
    return match is not None


def plain_trafilatura(html: bytes, url: str) -> str | None:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=True)


def pipeline_path() -> Callable[[bytes, str], tuple[str | None, list[str]]]:
    """The pipeline's own per-page path (``pipeline.run.ingest.article_from_page``: decode ->
    clean_and_date -> language) with the repository's config; returns (body, flags)."""
    from pipeline.config import FeedConfig, load_settings
    from pipeline.feeds.feeds import FeedEntry
    from pipeline.run.ingest import article_from_page

    settings = load_settings(ROOT / "config")
    feed = FeedConfig(name="evalset", url="https://evalset.invalid/feed.xml")

    class Report:
        extracted = 0
        last: str | None = None

        def fail(self, stage: str, url: str, reason: str) -> None:
            self.last = f"{stage}: {reason}"

    def run(html: bytes, url: str) -> tuple[str | None, list[str]]:
        report = Report()
        entry = FeedEntry(link=url, title=None, published_at=None, summary=None, lang=None)
        article = article_from_page(html, url, {}, entry, feed, settings, report, "evalset",
                                    fetched_at="2026-01-01T00:00:00+00:00")
        if article is None:
            return None, [report.last or "not-an-article"]
        return article.body, list(article.flags)

    return run


def evaluate_text(pages_dir: Path, gold_json: Path, limit: int | None = None,
                  progress: bool = True, misses: list[tuple[str, str, str]] | None = None,
                  passes: int = 2) -> dict:
    """Score the pipeline's per-page path and plain trafilatura on the same pages, in one process.

    Returns ``{"ours": {...}, "ours_de": {...}, "plain": {...}, "plain_de": {...}, "pages": N,
    "pages_de": N, "ours_ms": total ms, "plain_ms": total ms, "time_ratio": ours/plain,
    "empty_where_plain_finds": [(url, reason)], "flagged_empty": [(url, reason)]}``; each score
    dict has precision, recall, f1, leaked (``without`` snippets found), pages and empty.
    ``misses``, when given, receives the pipeline's lost and leaked snippets (url, kind, snippet).
    Times are process CPU time around each call, the two extractors alternating page by page,
    over ``passes`` passes: the first pays each library's one-time loads where a page first needs
    them (dateparser's locale tables when htmldate's extensive search first runs, langdetect's and
    py3langid's profiles), which a long-running worker pays once; the last pass is the per-page
    cost of a warm process (``time_ratio``), the first is kept as ``first_pass_ratio``. Scores come
    from the last pass (every pass gives the same text)."""
    gold = json.loads(gold_json.read_text(encoding="utf-8"))
    items = list(gold.items())[:limit] if limit else list(gold.items())
    ours, ours_de, plain, plain_de = TextScore(), TextScore(), TextScore(), TextScore()
    t_ours = t_plain = 0.0
    empty_lost: list[tuple[str, str]] = []
    run = pipeline_path()
    for url, item in items[:1]:  # untimed: imports, compiled patterns, dateparser's locale tables
        html = (pages_dir / item["file"]).read_bytes()
        plain_trafilatura(html, url)
        run(html, url)
    first_ratio = 0.0
    for done in range(1, max(passes, 1)):  # earlier passes: timed apart, not scored
        t_plain = t_ours = 0.0
        for n, (url, item) in enumerate(items, 1):
            html = (pages_dir / item["file"]).read_bytes()
            start = time.process_time()
            plain_trafilatura(html, url)
            mid = time.process_time()
            run(html, url)
            t_plain += mid - start
            t_ours += time.process_time() - mid
            if progress and n % 200 == 0:
                print(f"  text, pass {done} of {passes}: {n}/{len(items)} pages", file=sys.stderr)
        if done == 1:
            first_ratio = t_ours / t_plain if t_plain else 0.0
    t_ours = t_plain = 0.0
    german = 0
    for n, (url, item) in enumerate(items, 1):
        html = (pages_dir / item["file"]).read_bytes()
        start = time.process_time()
        plain_text = plain_trafilatura(html, url)
        mid = time.process_time()
        body, flags = run(html, url)
        end = time.process_time()
        t_plain += mid - start
        t_ours += end - mid
        de = is_german(url, html)
        german += de
        ours.add(body, item, url, misses)
        for score, text, use in ((ours_de, body, de), (plain, plain_text, True), (plain_de, plain_text, de)):
            if use:
                score.add(text, item, url)
        if not _norm(body or "") and _norm(plain_text or ""):
            empty_lost.append((url, ", ".join(flags) or "empty body"))
        if progress and n % 100 == 0:
            print(f"  text: {n}/{len(items)} pages", file=sys.stderr)
    return {
        "ours": ours.as_dict(), "ours_de": ours_de.as_dict(), "plain": plain.as_dict(),
        "plain_de": plain_de.as_dict(), "pages": len(items), "pages_de": german,
        "ours_ms": t_ours * 1000, "plain_ms": t_plain * 1000,
        "time_ratio": t_ours / t_plain if t_plain else 0.0, "passes": max(passes, 1),
        "first_pass_ratio": first_ratio if passes > 1 else (t_ours / t_plain if t_plain else 0.0),
        "empty_where_plain_finds": empty_lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evalsets", type=Path, default=None, help="folder of the public evaluation sets")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show-misses", action="store_true",
                        help="also print each lost `with` and leaked `without` snippet of the pipeline, by page")
    args = parser.parse_args()
    pages, gold = evalset_dir("trafilatura-eval", args.evalsets)
    misses: list[tuple[str, str, str]] = []
    result = evaluate_text(pages, gold, args.limit, misses=misses)
    if args.show_misses:
        for url, kind, snippet in misses:
            print(f"{kind:6} {url}  {_norm(snippet)[:120]}")
    for key in ("ours", "plain", "ours_de", "plain_de"):
        s = result[key]
        print(f"{key:9} P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
              f"leaked {s['leaked']} empty {s['empty']}/{s['pages']}")
    print(f"time: ours {result['ours_ms'] / result['pages']:.1f} ms/page, plain "
          f"{result['plain_ms'] / result['pages']:.1f} ms/page, ratio {result['time_ratio']:.2f}")
    for url, reason in result["empty_where_plain_finds"]:
        print(f"  empty: {url}  ({reason})")


if __name__ == "__main__":
    main()
