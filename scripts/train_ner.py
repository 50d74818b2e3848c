"""Train the German NER pipeline the project ships (models/de_germeval_ner) on GermEval 2014.

Reproducible: a fixed seed (``spacy.util.fix_random_seed`` and the shuffles), a fixed split, and
the architecture picked by name from ``ARCHITECTURES``.

Split (GermEval 2014 as provided in ../shared/ner/germeval2014/: only its test and dev files):

- ``train``: NER-de-test.tsv (5,100 sentences) minus the tune slice: 4,590 sentences;
- ``tune``: every 10th sentence of NER-de-test.tsv (510), scored after each epoch: the weights of
  the best epoch are kept, and the architecture comparison reads these scores too;
- ``held-out``: NER-de-dev.tsv (2,200 sentences), never used for a choice: the F1 reported.

Labels: the outer level only (column 3). PER, LOC, ORG, OTH are kept; the derivative and partial
labels (LOCderiv "deutsche", LOCpart "Deutschlandreise", ORGpart "EU-Kommissar", ...) become O:
they are adjectives and compounds, not names an entity index should hold. The nested column
(column 4, e.g. "Berlin" inside "Freie Universität Berlin") is ignored.

Usage::

    .venv/bin/python scripts/train_ner.py --arch cnn64x2 --epochs 12   # one row of the comparison
    .venv/bin/python scripts/train_ner.py --arch cnn96x4 --epochs 25 --out models/de_germeval_ner

Each run prints one JSON line per epoch and a ``RESULT`` line: the tune and held-out F1 (strict
spans: exact start, end and type, spaCy's scorer) and articles per CPU-second of ``nlp.pipe`` on
600-word news bodies (the seed articles cut or repeated to 600 words), one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA_DIR = ROOT.parent / "shared" / "ner" / "germeval2014"
SEEDS_DIR = ROOT / "tests" / "data" / "ner" / "seeds"
LABELS = ("PER", "LOC", "ORG", "OTH")
SEED = 0

_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'", "“", "«"}
_NO_SPACE_AFTER = {"(", "[", "{", "„", "»"}


def _embed(width: int, rows: tuple[int, int, int, int], attrs: tuple[str, ...]) -> dict[str, Any]:
    return {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": width,
        "attrs": list(attrs),
        "rows": list(rows),
        "include_static_vectors": False,
    }


def _ner_model(width: int, depth: int, rows: tuple[int, ...], attrs: tuple[str, ...], window: int = 1,
               hidden: int = 64) -> dict[str, Any]:
    return {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": hidden,
        "maxout_pieces": 2,
        "use_upper": True,
        "nO": None,
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": _embed(width, rows, attrs),  # type: ignore[arg-type]
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": width,
                "depth": depth,
                "window_size": window,
                "maxout_pieces": 3,
            },
        },
    }


_ATTRS4 = ("NORM", "PREFIX", "SUFFIX", "SHAPE")
# CNN tok2vec from scratch (no pretrained vectors can be had here), each a candidate for --compare.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    # the test network's size: 64 wide, 2 deep, small hash tables
    "cnn64x2": _ner_model(64, 2, (2000, 1000, 1000, 500), _ATTRS4),
    # spaCy's default CNN tok2vec (width 96, depth 4, rows 5000/1000/2500/2500 for the sm models)
    "cnn96x4": _ner_model(96, 4, (5000, 1000, 2500, 2500), _ATTRS4),
    # the test network's width, one layer more, 4x the hash rows (room for the rare names of news)
    "cnn64x3": _ner_model(64, 3, (10000, 2500, 5000, 1000), _ATTRS4),
    # wider hash tables for the rare names of news, width 128, depth 4
    "cnn128x4": _ner_model(128, 4, (10000, 2500, 5000, 1000), _ATTRS4),
}


def read_germeval(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a GermEval 2014 TSV as (tokens, outer BIO tags with only PER/LOC/ORG/OTH)."""
    sents: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if words:
                sents.append((words, tags))
            words, tags = [], []
            continue
        cols = line.split("\t")
        tag = cols[2]
        if tag != "O" and tag[2:] not in LABELS:  # LOCderiv, ORGpart, ...: not a name, O
            tag = "O"
        words.append(cols[1])
        tags.append(tag)
    if words:
        sents.append((words, tags))
    return sents


def detokenize(words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Running text as a news body would have it, and each token's character offsets."""
    out: list[str] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    quote_open = False
    for i, w in enumerate(words):
        space = i > 0
        prev = words[i - 1] if i else ""
        if w in _NO_SPACE_BEFORE or prev in _NO_SPACE_AFTER:
            space = False
        if w == '"':
            space = not quote_open and i > 0
            quote_open = not quote_open
        elif prev == '"' and quote_open:
            space = False
        if space:
            out.append(" ")
            pos += 1
        offsets.append((pos, pos + len(w)))
        out.append(w)
        pos += len(w)
    return "".join(out), offsets


def to_example(nlp: Language, words: list[str], tags: list[str]) -> Example:
    """Gold spans as character offsets over the detokenised text, aligned to spaCy's tokens."""
    text, offsets = detokenize(words)
    spans: list[tuple[int, int, str]] = []
    prev = "O"
    for (s, e), tag in zip(offsets, tags, strict=True):
        if tag.startswith("I-") and prev != "O" and prev[2:] == tag[2:]:
            spans[-1] = (spans[-1][0], e, tag[2:])
        elif tag != "O":  # B-, or an I- that does not continue the previous entity
            spans.append((s, e, tag[2:]))
        prev = tag
    doc = nlp.make_doc(text)
    gold = Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    ents = [gold.char_span(s, e, label=lab, alignment_mode="expand") for s, e, lab in spans]
    gold.set_ents([x for x in ents if x is not None], default="outside")
    return Example(doc, gold)


def build(arch: str) -> Language:
    nlp = spacy.blank("de")
    ner = nlp.add_pipe("ner", config={"model": ARCHITECTURES[arch]})
    for label in LABELS:
        ner.add_label(label)
    return nlp


def scores(nlp: Language, examples: list[Example]) -> dict[str, float]:
    """Strict span P/R/F1 overall and per type (spaCy's scorer: exact start, end and label)."""
    res = nlp.evaluate(examples, batch_size=256)
    out = {"P": res["ents_p"], "R": res["ents_r"], "F1": res["ents_f"]}
    for label, prf in (res.get("ents_per_type") or {}).items():
        out[label] = prf["f"]
    return out


def news_bodies(words: int = 600) -> list[str]:
    """The seed articles cut or repeated to ``words`` words each (600-word news bodies)."""
    bodies = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        toks = path.read_text(encoding="utf-8").split()
        while len(toks) < words:
            toks = toks + toks
        bodies.append(" ".join(toks[:words]))
    return bodies


def articles_per_second(nlp: Language, n: int = 100) -> float:
    """Articles/s of ``nlp.pipe`` on 600-word bodies: one process, one BLAS thread, the
    extractor's matrix backend (numpy's BLAS)."""
    from threadpoolctl import threadpool_limits

    from pipeline.entities.models import DEFAULT_MATRIX_BACKEND, _use_backend

    _use_backend(nlp, DEFAULT_MATRIX_BACKEND)  # the matrix library the extractor runs NER with
    bodies = news_bodies()
    texts = [bodies[i % len(bodies)] for i in range(n)]
    with threadpool_limits(limits=1, user_api="blas"):
        list(nlp.pipe(texts[:10], batch_size=32))  # warm-up
        best = 0.0
        for _ in range(2):  # CPU seconds of this process: the 2 cores are shared with other jobs
            t0 = time.process_time()
            for _doc in nlp.pipe(texts, batch_size=32):
                pass
            best = max(best, n / (time.process_time() - t0))
    return best


def train(
    nlp: Language, train_ex: list[Example], tune: list[Example], epochs: int, dropout: float = 0.2
) -> tuple[int, list[dict]]:
    """Seeded training; after each epoch F1 on ``tune``; the weights of the best epoch are kept."""
    spacy.util.fix_random_seed(SEED)
    rng = random.Random(SEED)
    optimizer = nlp.initialize(lambda: train_ex[:500])
    history: list[dict] = []
    best_epoch, best_f1, best_bytes = 0, -1.0, b""
    data = list(train_ex)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        rng.shuffle(data)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(data, size=16):
            nlp.update(batch, sgd=optimizer, drop=dropout, losses=losses)
        row: dict = {"epoch": epoch, "loss": float(losses.get("ner", 0.0)), "secs": time.perf_counter() - t0}
        row.update(scores(nlp, tune))
        if row["F1"] > best_f1:
            best_epoch, best_f1, best_bytes = epoch, row["F1"], nlp.get_pipe("ner").to_bytes()
        history.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    nlp.get_pipe("ner").from_bytes(best_bytes)
    return best_epoch, history


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(ARCHITECTURES), default="cnn96x4")
    ap.add_argument("--epochs", type=int, default=12, help="at most; the best epoch on tune is kept")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--out", type=Path, help="save the pipeline here (nlp.to_disk)")
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--speed", type=Path, nargs="+", metavar="MODEL_DIR",
                    help="only measure saved pipelines, one after the other in this process")
    args = ap.parse_args(argv)
    if args.speed:
        for path in args.speed:
            rate = articles_per_second(spacy.load(path), n=200)
            print(json.dumps({"model": str(path), "articles_per_cpu_s": round(rate, 1)}), flush=True)
        return 0

    nlp = build(args.arch)
    sents = read_germeval(args.data / "NER-de-test.tsv")
    tune = [to_example(nlp, w, t) for i, (w, t) in enumerate(sents) if i % 10 == 9]
    train_ex = [to_example(nlp, w, t) for i, (w, t) in enumerate(sents) if i % 10 != 9]
    heldout = [to_example(nlp, w, t) for w, t in read_germeval(args.data / "NER-de-dev.tsv")]
    t0 = time.perf_counter()
    best, history = train(nlp, train_ex, tune, args.epochs, args.dropout)
    result = {
        "arch": args.arch,
        "dropout": args.dropout,
        "best_epoch": best,
        "epochs": args.epochs,
        "train_secs": round(time.perf_counter() - t0, 1),
        "tune_F1": round(history[best - 1]["F1"], 4),
        "heldout": {k: round(v, 4) for k, v in scores(nlp, heldout).items()},
        "articles_per_cpu_s": round(articles_per_second(nlp), 1),
        "train_sentences": len(train_ex),
        "tune_sentences": len(tune),
        "heldout_sentences": len(heldout),
    }
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        nlp.meta.update({
            "name": "germeval_ner",
            "version": "1.0.0",
            "description": f"German NER (PER, LOC, ORG, OTH), {args.arch}, trained by scripts/train_ner.py",
            "sources": [{
                "name": "GermEval 2014 NER Shared Task data",
                "url": "https://sites.google.com/site/germeval2014ner/",
                "license": "CC BY 4.0",
                "author": "Benikova, Biemann, Reznicek (2014)",
            }],
            "license": "CC BY 4.0",
            "performance": {"heldout_germeval2014_dev": result["heldout"]},
        })
        nlp.to_disk(args.out)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
