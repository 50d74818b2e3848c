"""Two ways to make German NER cheaper, measured against the shipped model (issue 20); neither is
used by the pipeline. Figures: docs/performance.md and models/de_germeval_ner/README.md.

``tagger``: NER as a per-token IOB tagger (spaCy ``tagger`` with 9 labels: B-/I- of PER, LOC, ORG,
OTH, and O) on the shipped model's tok2vec (same embedding, lexicon vectors, encoder; ``--depth``
layers), so no transition parser runs. Trained like scripts/train_ner.py's shipped run (same data
split, PER augmentation, Adam with weight averages, dropout 0.2, batches of 16, best tune epoch
kept); scored on the held-out GermEval dev file with strict spans; a tag sequence becomes entities
leniently (an I- after O or after another type starts an entity). ``--speed`` then times it and
the shipped model on 600-word news bodies (CPU ms a body, one BLAS thread, best of 4).

``sentence-filter``: NER only over the sentences with a name candidate: a word with an upper-case
letter that is neither one of spaCy's German stop words nor, by the shipped model's own lexicon,
a plain common noun (noun and no name dimension). Reports on GermEval dev the F1 with the skipped
sentences' entities dropped, and on German bodies of the public evaluation set (trafilatura-eval,
every 4th German page, text by ``trafilatura.extract``) the share of tokens NER still sees and the
entities found with and without the filter.

    .venv/bin/python scripts/ner_cheaper.py tagger --epochs 6 --depth 2 --speed
    .venv/bin/python scripts/ner_cheaper.py sentence-filter --evalsets ../shared/evalsets
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import spacy
from spacy.lang.de.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Example

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_ner as T

SHIPPED = T.ROOT / "models" / "de_germeval_ner"


# ---------------------------------------------------------------------------- tagger
def iob_tags(doc: Doc) -> list[str]:
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        tags[ent.start] = "B-" + ent.label_
        for i in range(ent.start + 1, ent.end):
            tags[i] = "I-" + ent.label_
    return tags


def tags_to_spans(doc: Doc, tags: list[str]) -> list[Span]:
    ents: list[list] = []
    current: list | None = None
    for i, tag in enumerate(tags):
        if tag == "O":
            current = None
            continue
        kind, label = tag.split("-", 1)
        if kind == "I" and current is not None and current[2] == label:
            current[1] = i + 1
        else:
            current = [i, i + 1, label]
            ents.append(current)
    return [Span(doc, s, e, label=lab) for s, e, lab in ents]


def tagger_pipeline(depth: int) -> Language:
    nlp = spacy.blank("de")
    T.lexicon_vectors(nlp, ())
    tok2vec = copy.deepcopy(T.ARCHITECTURES["cnn64x2-lex"]["tok2vec"])
    tok2vec["encode"]["depth"] = depth
    tagger = nlp.add_pipe("tagger", config={"model": {
        "@architectures": "spacy.Tagger.v2", "nO": None, "normalize": False, "tok2vec": tok2vec}})
    for label in T.LABELS:
        tagger.add_label("B-" + label)
        tagger.add_label("I-" + label)
    tagger.add_label("O")
    return nlp


def _tagged(nlp: Language, ex: Example) -> Example:
    ref = ex.reference
    gold = Doc(nlp.vocab, words=[t.text for t in ref], spaces=[bool(t.whitespace_) for t in ref], tags=iob_tags(ref))
    gold.ents = ref.ents
    return Example(ex.predicted, gold)


def tagger_scores(nlp: Language, examples: list[Example]) -> dict[str, float]:
    docs = list(nlp.pipe([ex.reference.text for ex in examples], batch_size=256))
    for doc in docs:
        doc.ents = tags_to_spans(doc, [t.tag_ for t in doc])
    res = Scorer.score_spans([Example(d, ex.reference) for d, ex in zip(docs, examples, strict=True)], "ents")
    out = {"F1": res["ents_f"], "P": res["ents_p"], "R": res["ents_r"]}
    out.update({label: prf["f"] for label, prf in (res.get("ents_per_type") or {}).items()})
    return out


def train_tagger(args: argparse.Namespace) -> dict:
    from thinc.api import Adam

    nlp = tagger_pipeline(args.depth)
    sents = T.read_germeval(args.data / "NER-de-test.tsv")
    tune = [_tagged(nlp, T.to_example(nlp, w, t)) for i, (w, t) in enumerate(sents) if i % 10 == 9]
    train_sents = [(w, t) for i, (w, t) in enumerate(sents) if i % 10 != 9]
    train_sents += T.augment(train_sents, ("PER",), 1.0)
    train_ex = [_tagged(nlp, T.to_example(nlp, w, t)) for w, t in train_sents]
    heldout = [_tagged(nlp, T.to_example(nlp, w, t)) for w, t in T.read_germeval(args.data / "NER-de-dev.tsv")]
    spacy.util.fix_random_seed(T.SEED)
    rng = random.Random(T.SEED)
    nlp.initialize(lambda: train_ex[:500])
    optimizer = Adam(learn_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-08, L2=0.01, L2_is_weight_decay=True,
                     grad_clip=1.0, use_averages=True)
    best, best_f1, best_bytes = 0, -1.0, b""
    data = list(train_ex)
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(data)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(data, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.2, losses=losses)
        with nlp.use_params(optimizer.averages):
            row = tagger_scores(nlp, tune)
            if row["F1"] > best_f1:
                best, best_f1, best_bytes = epoch, row["F1"], nlp.get_pipe("tagger").to_bytes()
        print(json.dumps({"epoch": epoch, **{k: round(v, 3) for k, v in row.items()}}), flush=True)
    nlp.get_pipe("tagger").from_bytes(best_bytes)
    result = {"decoder": "IOB tagger", "depth": args.depth, "best_epoch": best, "epochs": args.epochs,
              "tune_F1": round(best_f1, 4), "heldout": {k: round(v, 4) for k, v in tagger_scores(nlp, heldout).items()}}
    if args.speed:
        result["cpu_ms_per_body"] = speeds({"tagger": nlp, "shipped": spacy.load(SHIPPED)})
    return result


def speeds(models: dict[str, Language], n: int = 96) -> dict[str, float]:
    """CPU ms of ``nlp.pipe`` per 600-word body, the models alternating, best of 4 (shared machine)."""
    from threadpoolctl import threadpool_limits

    from pipeline.enrich.entities.models import DEFAULT_MATRIX_BACKEND, _use_backend

    bodies = T.news_bodies()
    texts = [bodies[i % len(bodies)] for i in range(n)]
    best = dict.fromkeys(models, float("inf"))
    with threadpool_limits(limits=1, user_api="blas"):
        for nlp in models.values():
            _use_backend(nlp, DEFAULT_MATRIX_BACKEND)
            list(nlp.pipe(texts[:16], batch_size=32))
        for _ in range(4):
            for name, nlp in models.items():
                t0 = time.process_time()
                list(nlp.pipe(texts, batch_size=32))
                best[name] = min(best[name], 1e3 * (time.process_time() - t0) / n)
    return {k: round(v, 2) for k, v in best.items()}


# ---------------------------------------------------------------------------- sentence filter
WORD = re.compile(r"\w+")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"“”»«']?\s+(?=[\"„“»«']?[A-ZÄÖÜ0-9])")
STOP = {w.lower() for w in STOP_WORDS}


class NameCandidates:
    """Whether a sentence has a word that may be (part of) a name, by the model's own lexicon."""

    def __init__(self, nlp: Language) -> None:
        data = np.asarray(nlp.vocab.vectors.data)
        # T.LEX_DIMS: noun, then the name dimensions (place ... city), then s_form
        names = len(T.LEX_DIMS) - 1
        self.plain_rows = set(np.flatnonzero((data[:, 0] == 1) & (data[:, 1:names].sum(1) == 0)).tolist())
        self.strings, self.key2row = nlp.vocab.strings, nlp.vocab.vectors.key2row

    def candidate(self, word: str) -> bool:
        if not any(c.isupper() for c in word):
            return False
        capitalised = len(word) == 1 or (word[0].isupper() and word[1:].islower())
        return not (capitalised and (word.lower() in STOP or self.key2row.get(self.strings[word]) in self.plain_rows))

    def keep(self, sentence: str) -> bool:
        return any(self.candidate(w) for w in WORD.findall(sentence))

    def ranges(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of ``text`` made of kept sentences (adjacent ones merged)."""
        out: list[tuple[int, int]] = []
        pos = 0
        for line in text.split("\n"):
            line_start, pos = pos, pos + len(line) + 1
            start = 0
            for m in [*SENTENCE_END.finditer(line), None]:
                end = m.start() if m else len(line)
                if self.keep(line[start:end]):
                    a, b = line_start + start, line_start + end
                    if out and not text[out[-1][1]:a].strip():
                        out[-1] = (out[-1][0], b)
                    else:
                        out.append((a, b))
                if m:
                    start = m.end()
        return out


def german_bodies(evalsets: Path, limit: int = 120) -> list[str]:
    import trafilatura

    gold = json.loads((evalsets / "trafilatura-eval" / "evaldata.json").read_text())
    files = sorted({v["file"] for url, v in gold.items()
                    if (url.split("/") + ["", "", ""])[2].endswith((".de", ".at", ".ch"))})[::4][:limit]
    bodies = []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(evalsets / "trafilatura-eval" / "pages.tar.xz") as tar:
            tar.extractall(tmp, filter="data")
        for name in files:
            path = Path(tmp) / "html" / name
            if path.exists():
                text = trafilatura.extract(path.read_bytes().decode("utf-8", "replace"))
                if text and len(text) > 500:
                    bodies.append(text)
    return bodies


def sentence_filter(args: argparse.Namespace) -> dict:
    nlp = spacy.load(SHIPPED)
    cand = NameCandidates(nlp)
    dev = [T.to_example(nlp, w, t) for w, t in T.read_germeval(args.data / "NER-de-dev.tsv")]
    preds = list(nlp.pipe([ex.reference.text for ex in dev], batch_size=64))
    kept = [cand.keep(ex.reference.text) for ex in dev]
    full = Scorer.score_spans([Example(p, ex.reference) for p, ex in zip(preds, dev, strict=True)], "ents")
    filtered = [p if k else nlp.make_doc(p.text) for p, k in zip(preds, kept, strict=True)]
    part = Scorer.score_spans([Example(p, ex.reference) for p, ex in zip(filtered, dev, strict=True)], "ents")
    tokens = kept_tokens = n_full = n_filtered = n_same = 0
    bodies = german_bodies(args.evalsets)
    for body in bodies:
        doc = nlp(body)
        tokens += len(doc)
        whole = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        found: set[tuple[int, int, str]] = set()
        for a, b in cand.ranges(body):
            sub = nlp(body[a:b])
            kept_tokens += len(sub)
            found |= {(e.start_char + a, e.end_char + a, e.label_) for e in sub.ents}
        n_full, n_filtered, n_same = n_full + len(whole), n_filtered + len(found), n_same + len(whole & found)
    return {
        "germeval_dev": {"sentences": len(dev), "kept": sum(kept), "F1_all": round(full["ents_f"], 4),
                         "F1_filtered": round(part["ents_f"], 4)},
        "evalset_bodies": {"bodies": len(bodies), "tokens": tokens, "kept_tokens": kept_tokens,
                           "entities_all": n_full, "entities_filtered": n_filtered, "same": n_same},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    tag = sub.add_parser("tagger")
    tag.add_argument("--epochs", type=int, default=6)
    tag.add_argument("--depth", type=int, default=2)
    tag.add_argument("--speed", action="store_true")
    filt = sub.add_parser("sentence-filter")
    filt.add_argument("--evalsets", type=Path, default=Path(os.environ.get("NEWS_EVALSETS", T.ROOT.parent / "shared" / "evalsets")))
    for p in (tag, filt):
        p.add_argument("--data", type=Path, default=T.DATA_DIR)
    args = ap.parse_args(argv)
    result = train_tagger(args) if args.what == "tagger" else sentence_filter(args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
