"""Build and install the stable analysis plugin that provides ``german``, ``english``, ...

The integ-test distribution lacks the analysis-common module, so the stock language analyzers are
missing. Instead of downloading anything else, we compile a tiny stable plugin with ``javac``
against the jars already present in the distribution's lib/ (no Maven, no bundled Lucene: the
server's Lucene is used, bundling it would trigger jar hell). Builds are cached per
(Elasticsearch version, hash of the plugin sources); installation is redone only when that key
changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from string import Template

from .errors import LocalNodeError
from .java import MIN_JAVA, JavaHome, find_jdk

PLUGIN_NAME = "news-analysis"
SOURCE_DIR = Path(__file__).resolve().parent / "analysis_plugin"
INSTALLED_MARKER = ".news-analysis-plugin.key"
COMPILE_JARS = (
    "elasticsearch-plugin-api-{es}.jar",
    "elasticsearch-plugin-analysis-api-{es}.jar",
    "lucene-core-*.jar",
    "lucene-analysis-common-*.jar",
)


def source_files(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """All files that define the plugin, in a stable order (input to the cache key)."""
    return sorted(p for p in source_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def source_hash(source_dir: Path = SOURCE_DIR) -> str:
    """Short hash over relative paths and contents, so any source edit triggers a rebuild."""
    h = hashlib.sha256()
    for p in source_files(source_dir):
        h.update(p.relative_to(source_dir).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_key(es_version: str, source_dir: Path = SOURCE_DIR) -> str:
    return f"{es_version}-{source_hash(source_dir)}"


def _classpath(install: Path, es_version: str) -> str:
    jars = []
    for pattern in COMPILE_JARS:
        matches = sorted((install / "lib").glob(pattern.format(es=es_version)))
        if not matches:
            raise LocalNodeError(f"{pattern.format(es=es_version)} not found in {install / 'lib'}")
        jars.append(str(matches[0]))
    return os.pathsep.join(jars)


def _write_jar(classes: Path, jar: Path) -> None:
    """A jar is a zip with a manifest; writing it ourselves avoids needing the ``jar`` tool."""
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: news-pipeline\r\n\r\n")
        for f in sorted(classes.rglob("*.class")):
            zf.write(f, f.relative_to(classes).as_posix())


def build_plugin(install: Path, es_version: str, cache_dir: Path, jdk: JavaHome | None = None) -> Path:
    """Return the plugin zip for this ES version and source hash, compiling it if not cached."""
    key = cache_key(es_version)
    out_dir = cache_dir / "plugins" / f"{PLUGIN_NAME}-{key}"
    plugin_zip = out_dir / f"{PLUGIN_NAME}.zip"
    if plugin_zip.is_file():
        return plugin_zip
    jdk = jdk or find_jdk(MIN_JAVA)
    print(f"Building {PLUGIN_NAME} plugin with {jdk.javac} (Java {jdk.major})", file=sys.stderr)
    started = time.monotonic()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{PLUGIN_NAME}-", dir=out_dir.parent))
    try:
        classes = work / "classes"
        sources = [str(p) for p in source_files(SOURCE_DIR / "src") if p.suffix == ".java"]
        cmd = [
            str(jdk.javac),
            "--release",
            str(MIN_JAVA),
            "-encoding",
            "UTF-8",
            "-nowarn",
            "-cp",
            _classpath(install, es_version),
            "-d",
            str(classes),
            *sources,
        ]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            raise LocalNodeError(f"javac failed building {PLUGIN_NAME}:\n{proc.stderr.strip()}")
        jar = work / f"{PLUGIN_NAME}.jar"
        _write_jar(classes, jar)
        descriptor = Template((SOURCE_DIR / "stable-plugin-descriptor.properties").read_text()).substitute(
            name=PLUGIN_NAME, version=key, java_version=str(MIN_JAVA), elasticsearch_version=es_version
        )
        staged = work / plugin_zip.name
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(jar, jar.name)
            zf.writestr("stable-plugin-descriptor.properties", descriptor)
            zf.write(SOURCE_DIR / "named_components.json", "named_components.json")
        out_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, 0o644)
        os.replace(staged, plugin_zip)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Built {plugin_zip} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return plugin_zip


def ensure_plugin_installed(install: Path, es_version: str, cache_dir: Path, java: JavaHome) -> bool:
    """Install the plugin into ``install`` unless the same build is already there.

    Returns True when it (re)installed. ``java`` is the runtime used for elasticsearch-plugin.
    """
    key = cache_key(es_version)
    marker = install / INSTALLED_MARKER
    plugin_dir = install / "plugins" / PLUGIN_NAME
    if plugin_dir.is_dir() and marker.is_file() and marker.read_text().strip() == key:
        return False
    plugin_zip = build_plugin(install, es_version, cache_dir)
    env = {**os.environ, "ES_JAVA_HOME": str(java.home), "ES_PATH_CONF": str(install / "config")}
    env.pop("ES_JAVA_OPTS", None)
    tool = str(install / "bin" / "elasticsearch-plugin")
    if plugin_dir.exists():
        subprocess.run([tool, "remove", PLUGIN_NAME], env=env, check=False, capture_output=True, text=True)
        shutil.rmtree(plugin_dir, ignore_errors=True)
    print(f"Installing {PLUGIN_NAME} into {install}", file=sys.stderr)
    proc = subprocess.run(
        [tool, "install", "--batch", plugin_zip.as_uri()],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise LocalNodeError(
            f"elasticsearch-plugin install failed (exit {proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr).strip()}"
        )
    marker.write_text(key + "\n")
    return True
