"""Download, verify, cache and extract the Elasticsearch distribution.

Maven Central publishes no checksum files for the 9.x integ-test-zip, so the SHA-512 of the zip is
pinned here. As a second, independent authenticity check, the SHA-1 of two jars inside the zip is
compared against the checksums Maven Central *does* publish for those artifacts (pinned too, so
no network is needed for the check).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, DownloadError, LocalNodeError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
VERIFIED_MARKER = ".news-pipeline-verified"


@dataclass(frozen=True)
class Distribution:
    """A pinned Elasticsearch distribution and the checksums used to trust it."""

    version: str
    sha512: str
    size: int
    #: jar path inside the install -> sha1 published on Maven Central for that artifact
    jar_sha1: dict[str, str]

    @property
    def url(self) -> str:
        return (
            f"{MAVEN_CENTRAL}/org/elasticsearch/distribution/integ-test-zip/elasticsearch/"
            f"{self.version}/elasticsearch-{self.version}.zip"
        )

    @property
    def zip_name(self) -> str:
        return f"elasticsearch-{self.version}.zip"


DISTRIBUTIONS: dict[str, Distribution] = {
    "9.5.3": Distribution(
        version="9.5.3",
        sha512=(
            "ae57654932de854d755af63f2a63667621967870b79ec449407618075c13dc12"
            "012317388e0a232071e4f2a65c9d973bb681d978fac56445a0790443df0823d1"
        ),
        size=132_390_005,
        jar_sha1={
            # org/elasticsearch/elasticsearch/9.5.3/elasticsearch-9.5.3.jar.sha1
            "lib/elasticsearch-9.5.3.jar": "cf6ceb5fdc26002a1b6b45821f0357105877d472",
            # org/apache/lucene/lucene-analysis-common/10.5.1/lucene-analysis-common-10.5.1.jar.sha1
            "lib/lucene-analysis-common-10.5.1.jar": "461fbd2772df41469b8a158a6ebe0ed6819d49a1",
        },
    ),
}


def get_distribution(version: str) -> Distribution:
    """Return the pinned distribution; unknown versions are refused rather than trusted blindly."""
    try:
        return DISTRIBUTIONS[version]
    except KeyError:
        known = ", ".join(sorted(DISTRIBUTIONS))
        raise LocalNodeError(f"No pinned checksums for Elasticsearch {version}; known: {known}") from None


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, streamed so the 130 MB zip is never held in memory."""
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, expected: str, algorithm: str = "sha512") -> None:
    """Raise ``ChecksumError`` and delete ``path`` when its digest does not match.

    Deleting the bad file means the next run downloads afresh instead of failing forever.
    """
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{algorithm} mismatch for {path.name}: expected {expected}, got {actual}. "
            "The file was deleted; run again to re-download."
        )


def _progress(done: int, total: int, last_pct: list[int]) -> None:
    pct = int(done * 100 / total) if total else 0
    if pct >= last_pct[0] + 5 or done == total:
        last_pct[0] = pct
        print(f"  downloading: {done / 1e6:7.1f} / {total / 1e6:.1f} MB ({pct}%)", file=sys.stderr)


def download(url: str, dest: Path, expected_sha512: str, expected_size: int | None = None) -> Path:
    """Download ``url`` to a temp file next to ``dest``, verify it, then atomically rename.

    A partially downloaded or tampered file therefore never appears under the final name.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"Downloading {url}", file=sys.stderr)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:
                    total = int(resp.headers.get("Content-Length") or expected_size or 0)
                    done, last = 0, [-5]
                    while chunk := resp.read(1 << 20):
                        out.write(chunk)
                        done += len(chunk)
                        _progress(done, total, last)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                raise DownloadError(
                    f"Could not download {url}: {exc}. Check network access to Maven Central "
                    "(or pre-seed the cache with the zip)."
                ) from exc
        verify_file(tmp, expected_sha512, "sha512")
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def ensure_zip(dist: Distribution, cache_dir: Path) -> Path:
    """Return the verified zip in the cache, downloading it if missing or corrupt."""
    dest = cache_dir / "downloads" / dist.zip_name
    if dest.exists():
        try:
            verify_file(dest, dist.sha512, "sha512")
            return dest
        except ChecksumError as exc:
            print(f"Cached zip rejected ({exc}); downloading again", file=sys.stderr)
    return download(dist.url, dest, dist.sha512, dist.size)


def _extract(zip_path: Path, target: Path) -> None:
    """Extract keeping Unix modes, world-readable.

    zipfile drops modes, but bin/ and the JDK launchers need +x; and when root runs this the
    node's system user must be able to read everything regardless of root's umask.
    """
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            extracted = Path(zf.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                extracted.chmod(mode | 0o444)
    for root, dirs, files in os.walk(target):
        for d in dirs:
            p = Path(root, d)
            p.chmod(p.stat().st_mode | 0o755)
        for f in files:
            p = Path(root, f)
            p.chmod(p.stat().st_mode | 0o444)


def verify_install(install: Path, dist: Distribution) -> None:
    """Cross-check jars against Maven Central's published SHA-1 values."""
    for rel, sha1 in dist.jar_sha1.items():
        jar = install / rel
        if not jar.is_file():
            raise ChecksumError(f"{rel} missing from the Elasticsearch {dist.version} distribution")
        actual = file_digest(jar, "sha1")
        if actual != sha1:
            raise ChecksumError(f"sha1 mismatch for {rel}: expected {sha1} (Maven Central), got {actual}")


def install_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir / f"elasticsearch-{version}"


def ensure_extracted(version: str, cache_dir: Path) -> Path:
    """Return the extracted, verified install for ``version``; extract once per version.

    Extraction happens into a temp dir in the cache and is renamed into place only after the jar
    checks pass, so a crash mid-extract never leaves a half install behind the final name.
    """
    dist = get_distribution(version)
    target = install_dir(cache_dir, version)
    if (target / VERIFIED_MARKER).exists():
        return target
    zip_path = ensure_zip(dist, cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"Extracting {zip_path.name} into {cache_dir}", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix=f".extract-{version}-", dir=cache_dir))
    try:
        _extract(zip_path, tmp)
        roots = [p for p in tmp.iterdir() if p.is_dir()]
        if len(roots) != 1:
            raise LocalNodeError(f"Unexpected layout in {zip_path.name}: {[p.name for p in roots]}")
        verify_install(roots[0], dist)
        (roots[0] / VERIFIED_MARKER).write_text(dist.sha512 + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(roots[0], target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    target.chmod(0o755)
    return target
