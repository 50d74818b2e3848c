"""NER time per article under two spaCy releases, the same model and texts: why spaCy is pinned
to 3.8.7.

spaCy releases from 3.8.8 on are compiled with Cython 3.2+ (3.8.7: Cython 3.1). In those builds
the transition parser's C loop takes the GIL back on every call of the parser state's small
inline accessors (``StateC.B``: ``PyGILState_Ensure``, seen with ``perf``), so the loop spends its
time in mutex lock/unlock, and more when other Python threads want the GIL, as the fetcher and
bulk-writer threads of an ingest task do.

Method: a throwaway virtualenv per release (``uv pip install spacy==X`` with this project's
locked numpy), the tests' NER model trained once with the project's spaCy, 96 German article
bodies from bench/e2e_site.py (558 tokens on average). In each venv, one process: BLAS threads 1,
the numpy matrix backend as ``pipeline.enrich.entities.models`` sets it, then ``ner.predict`` on
sub-batches of 8 (as ``Parser.pipe`` splits a batch of 32), split into the network
(``model.predict``: tok2vec + precomputed hidden layer) and the parser loop (the rest), best of 3
passes, alone and with a second Python thread that wakes every 0.5 ms for a little Python work (as
the I/O threads of an ingest task wake for each response). The entities found are
compared across releases (digest of every (start, end, label)).

Run: .venv/bin/python bench/spacy_versions.py [--versions 3.8.7,3.8.18] [--no-write]
     -> section "spacy_versions" of docs/benchmarks.md (needs the package index)
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine_line, write_section

CHILD = r'''
import hashlib, json, os, sys, threading, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import warnings; warnings.simplefilter("ignore")
import spacy
from thinc.api import NumpyOps
model_dir, texts_file = sys.argv[1], sys.argv[2]
nlp = spacy.load(model_dir)
ops = NumpyOps(use_blis=False)
for _name, component in nlp.components:
    for layer in component.model.walk():
        layer.ops = ops
ner = nlp.get_pipe("ner")
texts = json.load(open(texts_file))
def measure():
    best = None
    for _ in range(3):
        docs = sorted((nlp.make_doc(t) for t in texts), key=len)
        net = total = 0.0
        for i in range(0, len(docs), 8):
            sub = docs[i:i + 8]
            t = time.thread_time(); ner.model.predict(sub); net += time.thread_time() - t
            t = time.thread_time(); ner.predict(sub); total += time.thread_time() - t
        row = (total / len(docs) * 1000, net / len(docs) * 1000)
        best = row if best is None or row[0] < best[0] else best
    return {"predict_ms": best[0], "network_ms": best[1], "loop_ms": best[0] - best[1]}
out = {"version": spacy.__version__, "alone": measure()}
stop = threading.Event()
def busy():
    while not stop.is_set():  # wakes every 0.5 ms for a little Python work, like an I/O thread
        time.sleep(0.0005)
        sum(range(100))
thread = threading.Thread(target=busy, daemon=True); thread.start()
out["busy"] = measure()
stop.set(); thread.join()
ents = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts, batch_size=32)]
out["entities"] = sum(map(len, ents))
out["digest"] = hashlib.sha256(json.dumps(ents).encode()).hexdigest()[:12]
out["tokens"] = sum(len(nlp.make_doc(t)) for t in texts) / len(texts)
print(json.dumps(out))
'''


def locked(name: str) -> str:
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.strip()
    raise SystemExit(f"{name} is not in requirements.lock")


def run_version(version: str, work: Path, model: Path, texts: Path) -> dict:
    venv = work / f"venv-{version}"
    uv = [str(Path(sys.executable).parent / "uv")]
    subprocess.run([*uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                    f"spacy=={version}", locked("numpy"), locked("click")], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-c", CHILD, str(model), str(texts)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> str:
    lines = [
        "## spaCy release and NER time (`bench/spacy_versions.py`)", "", machine_line(), "",
        ("Method: see the script's docstring. The same model (the tests' NER model) and 96 German article "
        f"bodies ({rows[0]['tokens']:.0f} tokens on average); `ner.predict` on sub-batches of 8, thread CPU "
        "ms per article, best of 3 passes; network = tok2vec + precomputed hidden layer, loop = the "
        "transition parser's C loop. \"busy thread\": a second Python thread wakes every 0.5 ms for a little "
        "Python work meanwhile, as the fetcher and bulk-writer threads of an ingest task wake for responses."), "",
        ("| spaCy | predict ms (alone) | network | loop | predict ms (busy thread) | loop (busy thread) "
        "| entities | digest |"),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, b = r["alone"], r["busy"]
        lines.append(f"| {r['version']} | **{a['predict_ms']:.2f}** | {a['network_ms']:.2f} | {a['loop_ms']:.2f} "
                     f"| **{b['predict_ms']:.2f}** | {b['loop_ms']:.2f} | {r['entities']:,} | `{r['digest']}` |")
    same = len({r["digest"] for r in rows}) == 1
    lines += ["", "Entities " + ("identical across releases." if same else "DIFFER between releases.")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="3.8.7,3.8.18")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from bench.dag_e2e import train_model
    from bench.e2e_site import _paragraphs

    with tempfile.TemporaryDirectory(prefix="news-bench-spacy-") as tmp:
        work = Path(tmp)
        train_model(work / "model")
        rng = random.Random(1)
        texts = work / "texts.json"
        texts.write_text(json.dumps(["\n\n".join(_paragraphs(rng)[0]) for _ in range(96)]), encoding="utf-8")
        rows = []
        for version in args.versions.split(","):
            print(f"spaCy {version}: installing into a throwaway venv and measuring", flush=True)
            rows.append(run_version(version, work, work / "model", texts))
    text = report(rows)
    print(text)
    if not args.no_write:
        write_section("spacy_versions", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
