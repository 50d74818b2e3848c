"""Where the public evaluation sets are, unpacked once into a cache outside the repository.

The sets are third-party pages kept for evaluation only (see ../shared/evalsets/README.md): they
are never copied into the repository. ``--evalsets DIR`` or $NEWS_EVALSETS points at another copy;
the pages are unpacked into $NEWS_EVALSETS_CACHE (default ~/.cache/news-pipeline/evalsets).
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVALSETS = ROOT.parent / "shared" / "evalsets"
GOLD = {"trafilatura-eval": "evaldata.json", "htmldate-eval": "eval_default.json"}


def evalset_dir(name: str, evalsets: Path | None = None) -> tuple[Path, Path]:
    """(folder of the unpacked pages, gold JSON) of one set; unpacks pages.tar.xz on first use."""
    base = Path(evalsets or os.environ.get("NEWS_EVALSETS") or DEFAULT_EVALSETS) / name
    gold = base / GOLD[name]
    if not gold.is_file():
        raise SystemExit(f"{gold}: evaluation set not found (give --evalsets DIR or $NEWS_EVALSETS)")
    cache = Path(os.environ.get("NEWS_EVALSETS_CACHE") or Path.home() / ".cache" / "news-pipeline" / "evalsets")
    target = cache / name
    pages = target / "html"
    archive = base / "pages.tar.xz"
    stamp = target / ".unpacked"
    if not stamp.exists() or stamp.read_text() != str(archive.stat().st_mtime_ns):
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        stamp.write_text(str(archive.stat().st_mtime_ns))
    return pages, gold
