"""Story fingerprinting: the seed similarity matrix, and fingerprint + candidate lookup time per
article at 10k and 100k indexed synthetic articles.

Why: the shingle size and threshold must come from measurement on real syndicated versions (the
seeds), and the lookup must stay flat as the index grows (a ``terms`` query on ``lsh_bands`` is an
inverted-index lookup, so it should). Run ``python -m bench.stories_lookup --seeds`` for the matrix
only, or without arguments for everything (starts and stops its own node on port 9330).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from pipeline.stories import NUM_PERM, estimate, jaccard, minhash, shingles

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "pipeline" / "samplesite" / "seeds"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- stories_lookup:start -->", "<!-- stories_lookup:end -->"

_NOISE = re.compile(
    r"^(date \d{4}-\d{2}\s*$|Erstellt von|Folgen Sie|Lesezeit|Aktualisiert|\d{2}\.\d{2}\.\d{4}|.*\(Foto|.*Bild: |"
    r"/news\.de|su mit dpa|Politik$|Suche$)"
)


def seed_body(path: Path) -> str:
    """A seed's article text: the DWN teaser list cut, bylines, photo credits, dates, promo lines
    and the leading "date 2022-01" marker dropped (what clean.py would leave, roughly)."""
    text = path.read_text(encoding="utf-8").split("Mehr zum Thema")[0]
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*date \d{4}-\d{2}\s*", "", line).strip()
        if line and not _NOISE.match(line):
            lines.append(line)
    return "\n".join(lines)


def seed_matrix(k: int) -> tuple[list[str], list[list[float]], list[list[float]]]:
    paths = sorted(SEEDS.glob("*.txt"))
    bodies = [seed_body(p) for p in paths]
    sets = [shingles(b, k) for b in bodies]
    sigs = [minhash(b, k) for b in bodies]
    names = [p.name[:3] for p in paths]
    exact = [[jaccard(a, b) for b in sets] for a in sets]
    est = [[estimate(a, b) for b in sigs] for a in sigs]
    return names, exact, est


def matrix_markdown(k: int) -> str:
    names, exact, est = seed_matrix(k)
    head = f"| k={k} | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = []
    for i, n in enumerate(names):
        cells = [f"{exact[i][j]:.3f} / {est[i][j]:.3f}" if i != j else "—" for j in range(len(names))]
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", action="store_true", help="print the seed similarity matrices only")
    args = parser.parse_args()
    if args.seeds:
        print(f"exact Jaccard / MinHash estimate ({NUM_PERM} permutations)\n")
        for k in (3, 4, 5):
            print(matrix_markdown(k))
        return


if __name__ == "__main__":
    main()
