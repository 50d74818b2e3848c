"""Where an ingest task's time goes, by sampling: py-spy on the real DAG run of bench/dag_e2e.py.

``bench/dag_e2e.py`` times the pipeline's stage functions by wrapping them; this samples every
Python stack of the ingest task processes instead (py-spy ``record --subprocesses``, which also
sees what no wrapper names: the learned-profile scan inside cleaning, the model and data loads,
imports). Each sample of a task process whose stack is inside ``ingest_feed`` is given to the
deepest stage frame on its stack (``STAGES``: a regex on the frame's function name), so nested
generators (indexing pulls stories, which pull entities, which pull cleaned articles) are not
counted twice. py-spy skips idle threads, so waiting on the network or on Elasticsearch is not
counted; a thread that waits for a CPU on a busy machine is, which is why shares, not ms, are the
figure to compare between runs, and ms per article only within one.

Runs are kept in ``bench/data/task_profile.json`` by label, so a revision before a change and the
tree after it can be shown side by side:

    .venv/bin/python bench/task_profile.py --label before --rev 2ef13ea   # a revision, via git archive
    .venv/bin/python bench/task_profile.py --label after                  # this tree

-> section ``task_profile`` of docs/benchmarks.md (every stored label, in the order stored).
Needs ``py-spy`` (``pip install -e ".[profile]"``, or ``pip install py-spy==0.4.3``; a development tool, never imported).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine_line, write_section

STORE = ROOT / "bench" / "data" / "task_profile.json"
DEFAULT_ES_PORT = 9298
#: (stage, regex on a frame "function (file:line)"; a method's function is "Class.method")
STAGES: tuple[tuple[str, str], ...] = (
    # (not "<module>": the benchmark script's own top frame is on every forked task's stack)
    ("imports, model and data loads", r"^(_find_and_load|load_model|from_disk|load_gazetteer) "),
    ("feed parse", r"^parse_feed "),
    ("fetch (HTTP client)", r"^HttpClient\.get "),
    ("decode", r"^decode_document "),
    ("parse the page", r"^(parse_page|load_page) "),
    ("dates", r"^find_dates "),
    ("clean (trafilatura + rules)", r"^clean_article "),
    ("learned profile: rules for the page", r"^RunExtras\.learned_for "),
    ("learned profile: scan and apply", r"^apply_learned "),
    ("language", r"^detect_language "),
    ("learned profile: observe (+ body MinHash)", r"^RunExtras\.observe "),
    ("raw archive", r"^RunExtras\.archive "),
    ("NER (spaCy)", r"^(Language\.pipe|_pipe) "),
    ("entity linking (gazetteer)", r"^EntityExtractor\._link "),
    ("stories (MinHash + lookup)", r"^assign_stories "),
    ("index (bulk)", r"^index_articles "),
    ("refresh, state, run report", r"^(IndicesClient\.refresh|_remember|_reschedule|write_run_report) "),
    ("profiles flush, canaries", r"^RunExtras\.finish "),
)
_PATTERNS = [(name, re.compile(rx)) for name, rx in STAGES]
_FRAME_FN = re.compile(r"^(.*?) \(")
_ROW = re.compile(r"^\| main, parallelism 2 \| [\d,]+ \| 2 \| \d+ \| ([\d,]+) \|", re.MULTILINE)


def attribute(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    """(samples per stage, samples per leaf function, total) of the stacks inside ``ingest_feed``."""
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "ingest_feed (" not in stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        stage = "other"
        for frame in frames:
            for name, pattern in _PATTERNS:
                if pattern.search(frame):
                    stage = name
        stages[stage] += n
        leaves[re.sub(r":\d+\)", ")", frames[-1])[:110]] += n
    return stages, leaves, total


def _tree(rev: str | None, into: Path) -> Path:
    """This checkout, or revision ``rev`` of it extracted with git archive."""
    if rev is None:
        return ROOT
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def profile(args: argparse.Namespace) -> dict:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="news-task-profile-") as tmp:
        tree = _tree(args.rev, Path(tmp) / "tree")
        raw = Path(tmp) / "stacks.txt"
        command = [sys.executable, str(tree / "bench" / "dag_e2e.py"), "--pages", str(args.pages),
                   "--warmup-pages", str(args.warmup_pages), "--parallelism", "2", "--memory-pages", "0",
                   "--no-write", "--es-port", str(args.es_port)]
        if "--no-plain" in (tree / "bench" / "dag_e2e.py").read_text(encoding="utf-8"):
            command.append("--no-plain")
        env = dict(os.environ, PYTHONPATH=str(tree))
        print(f"profiling {' '.join(command)} (tree {tree}, py-spy at {args.rate}/s)", flush=True)
        run = subprocess.run([spy, "record", "--subprocesses", "--rate", str(args.rate), "--format", "raw",
                              "-o", str(raw), "--", *command], env=env, cwd=tree, capture_output=True, text=True, check=False)
        if run.returncode != 0 or not raw.exists():
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise SystemExit(f"the profiled run failed (exit {run.returncode})")
        if args.keep_raw:
            shutil.copy(raw, args.keep_raw)
        stages, leaves, total = attribute(raw)
        found = _ROW.search(run.stdout)
        articles = int(found.group(1).replace(",", "")) if found else args.pages
    return {
        "label": args.label, "rev": args.rev or _head(), "pages": args.pages, "articles": articles,
        "rate": args.rate, "samples": total, "stages": dict(stages), "leaves": dict(leaves.most_common(25)),
        "machine": machine_line(), "load": os.getloadavg()[0],
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _head() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "pipeline"], capture_output=True,
                           text=True, check=False).stdout.strip()
    return out.stdout.strip() + (" + uncommitted changes" if dirty else "")


def section(runs: list[dict]) -> str:
    names = [name for name, _rx in STAGES] + ["other"]
    lines = [
        "## Where an ingest task's time goes, sampled (`bench/task_profile.py`)",
        "",
        ("py-spy (`record --subprocesses`) on `bench/dag_e2e.py`'s main run (2 ingest tasks, LocalExecutor,"
        " the shipped NER model), every stack of the ingest task processes inside `ingest_feed` given to the"
        " deepest stage frame on it. Per stage: ms of sampled task-thread time per indexed article and the"
        " share of all samples. A thread that waits for a CPU is sampled too, so compare shares between"
        " runs and ms within one run."),
        "",
    ]
    for run in runs:
        lines.append(f"- **{run['label']}** (`{run['rev']}`): {run['pages']:,} pages, {run['articles']:,} indexed,"
                     f" {run['samples']:,} samples at {run['rate']}/s, {run['when']}, load {run['load']:.1f}."
                     f" {run['machine']}")
    lines += ["", "| stage | " + " | ".join(f"{r['label']} ms/article (share)" for r in runs) + " |",
              "|---|" + "---|" * len(runs)]
    for name in names:
        cells = []
        for run in runs:
            n = run["stages"].get(name, 0)
            cells.append(f"{1000 * n / run['rate'] / max(run['articles'], 1):.1f} ({100 * n / max(run['samples'], 1):.0f}%)")
        if any(run["stages"].get(name) for run in runs):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(
        f"**{1000 * r['samples'] / r['rate'] / max(r['articles'], 1):.1f}**" for r in runs) + " |")
    for run in runs:
        lines += ["", f"Top leaf functions, {run['label']} (samples):", ""]
        lines += [f"- {n:,} {fn}" for fn, n in list(run["leaves"].items())[:12]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--label", required=True, help="name of this run in the table (replaces a stored one)")
    parser.add_argument("--rev", help="profile this git revision (git archive) instead of the checkout")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--warmup-pages", type=int, default=100)
    parser.add_argument("--rate", type=int, default=67, help="py-spy samples per second (default 67)")
    parser.add_argument("--es-port", type=int, default=int(os.environ.get("NEWS_BENCH_ES_PORT", DEFAULT_ES_PORT)))
    parser.add_argument("--keep-raw", type=Path, help="also keep py-spy's raw stacks here")
    parser.add_argument("--raw", type=Path,
                        help="no run: attribute these kept raw stacks again (after a change of STAGES), keeping "
                             "the stored run of --label's other figures")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write docs/ or the store")
    args = parser.parse_args(argv)
    runs = json.loads(STORE.read_text(encoding="utf-8")) if STORE.exists() else []
    if args.raw:
        stored = next((r for r in runs if r["label"] == args.label), None)
        if stored is None:
            raise SystemExit(f"--raw needs a stored run labelled {args.label!r} in {STORE}")
        stages, leaves, total = attribute(args.raw)
        run = {**stored, "samples": total, "stages": dict(stages), "leaves": dict(leaves.most_common(25))}
    else:
        run = profile(args)
    runs = ([r if r["label"] != args.label else run for r in runs] if any(r["label"] == args.label for r in runs)
            else runs + [run])
    text = section(runs)
    print(text)
    if not args.no_write:
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
        write_section("task_profile", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
