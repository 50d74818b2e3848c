"""Train a tiny German NER pipeline on the 258 annotated sentences of tests/data/ner.

Why this exists: no pretrained spaCy model can be installed here, yet the extractor's real
load-and-run path (``spacy.load`` of a directory, ``nlp.pipe`` in batches) must be exercised by
tests and measured by the benchmark. Both build the same small model through this one function,
so the tests describe the same thing run after run. It is not meant for production use: the
default for German is the model the repository ships (models/de_germeval_ner, built by
scripts/train_ner.py on GermEval 2014), and an installed ``de_core_news_md`` or a configured
path replaces that.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.training import Example

TRAIN_DE = Path(__file__).resolve().parents[3] / "tests" / "data" / "ner" / "train_de.jsonl"

# A narrower tok2vec than spaCy's default (width 96, depth 4): the training set is ~200 sentences,
# so the extra capacity buys nothing, and the smaller network runs faster per article.
SMALL_NER_MODEL: dict[str, Any] = {
    "@architectures": "spacy.TransitionBasedParser.v2",
    "state_type": "ner",
    "extra_state_tokens": False,
    "hidden_width": 64,
    "maxout_pieces": 2,
    "use_upper": True,
    "nO": None,
    "tok2vec": {
        "@architectures": "spacy.HashEmbedCNN.v2",
        "pretrained_vectors": None,
        "width": 64,
        "depth": 2,
        "embed_size": 2000,
        "window_size": 1,
        "maxout_pieces": 3,
        "subword_features": True,
    },
}


def load_examples(path: str | Path = TRAIN_DE) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Read ``{"text": ..., "entities": [[start, end, label], ...]}`` lines (character offsets)."""
    rows: list[tuple[str, list[tuple[int, int, str]]]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            rows.append((raw["text"], [(int(s), int(e), str(lab)) for s, e, lab in raw["entities"]]))
    return rows


def train_ner(
    out_dir: str | Path | None = None,
    *,
    lang: str = "de",
    data: str | Path = TRAIN_DE,
    epochs: int = 15,
    seed: int = 0,
) -> Language:
    """Train ``spacy.blank(lang)`` + ``ner`` on ``data``; save to ``out_dir`` if given.

    Seeded (``spacy.util.fix_random_seed`` and the shuffle) so repeated runs give the same model.
    """
    spacy.util.fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = spacy.blank(lang)
    ner = nlp.add_pipe("ner", config={"model": SMALL_NER_MODEL})
    examples = []
    for text, spans in load_examples(data):
        doc = nlp.make_doc(text)
        examples.append(Example.from_dict(doc, {"entities": spans}))
        for _s, _e, label in spans:
            ner.add_label(label)
    optimizer = nlp.initialize(lambda: examples)
    for _epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(examples, size=8):
            nlp.update(batch, sgd=optimizer, drop=0.2, losses=losses)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        nlp.to_disk(out_dir)
    return nlp
