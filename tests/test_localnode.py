"""Tests for pipeline.localnode against a real local Elasticsearch node (no mocks).

The node uses ports 9251/9351 and its own cluster name so it never collides with the main test
suite's node on 9250. It is started once per module (~10 s) and stopped by the last test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.localnode import ChecksumError, LocalNode, LocalNodeError, NodeSettings
from pipeline.localnode.download import DownloadError, download, file_digest, verify_file
from pipeline.localnode.java import parse_java_major
from pipeline.localnode.node import is_node_process, pid_alive

HTTP_PORT = 9251
TRANSPORT_PORT = 9351
CLUSTER = "news-localnode-test"


# ---------------------------------------------------------------------------- fast unit tests
@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "21.0.8" 2025-07-15 LTS\nOpenJDK Runtime Environment Temurin-21.0.8+9', 21),
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK 64-Bit Server VM', 17),
        ('java version "1.8.0_292"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "25" 2025-09-16', 25),
        ('openjdk version "25.0.3" 2026-04-21 LTS', 25),
        ('openjdk version "22-ea" 2024-03-19', 22),
        ("something unrelated", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_checksum_mismatch_deletes_file(tmp_path: Path) -> None:
    bad = tmp_path / "elasticsearch-9.5.3.zip"
    bad.write_bytes(b"not the real zip")
    with pytest.raises(ChecksumError, match="sha512 mismatch"):
        verify_file(bad, "0" * 128, "sha512")
    assert not bad.exists()


def test_download_rejects_corrupt_file_and_leaves_cache_clean(tmp_path: Path) -> None:
    source = tmp_path / "served.zip"
    source.write_bytes(b"tampered content")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError):
        download(source.as_uri(), cache / "elasticsearch-9.5.3.zip", "0" * 128)
    assert list(cache.iterdir()) == []  # neither the final name nor a .part file remains


def test_download_verifies_and_renames(tmp_path: Path) -> None:
    source = tmp_path / "served.zip"
    source.write_bytes(b"good content")
    dest = download(source.as_uri(), tmp_path / "cache" / "x.zip", file_digest(source, "sha512"))
    assert dest.read_bytes() == b"good content"


def test_download_network_failure_is_clear(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="Could not download"):
        download("http://127.0.0.1:9/nothing.zip", tmp_path / "x.zip", "0" * 128)


def test_jit_mode_from_environment_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWS_ES_LOCAL_JIT", raising=False)
    assert NodeSettings().jit == "quick"
    monkeypatch.setenv("NEWS_ES_LOCAL_JIT", "tiered")
    assert NodeSettings().jit == "tiered"
    monkeypatch.setenv("NEWS_ES_LOCAL_JIT", "c2")
    with pytest.raises(ValueError, match="NEWS_ES_LOCAL_JIT.*'c2'"):
        NodeSettings()


@pytest.mark.parametrize(("jit", "expected"), [("quick", "-XX:TieredStopAtLevel=1\n"), ("tiered", "")])
def test_jit_mode_written_to_jvm_options(tmp_path: Path, jit: str, expected: str) -> None:
    install = tmp_path / "install"
    (install / "config").mkdir(parents=True)
    (install / "config" / "jvm.options").write_text("-XX:+UseG1GC\n")
    node = LocalNode(NodeSettings(http_port=HTTP_PORT, state_dir=tmp_path / "state", heap="512m", jit=jit))
    node._write_config(install, None)
    options = node.settings.conf_dir / "jvm.options.d"
    assert (options / "jit.options").read_text() == expected
    assert (options / "heap.options").read_text() == "-Xms512m\n-Xmx512m\n"


# ---------------------------------------------------------------------------- real node
def _settings(**overrides: object) -> NodeSettings:
    base: dict[str, object] = {
        "http_port": HTTP_PORT,
        "transport_port": TRANSPORT_PORT,
        "cluster_name": CLUSTER,
        "jit": "quick",  # explicit, so NEWS_ES_LOCAL_JIT in the environment cannot change what is tested
    }
    base.update(overrides)
    return NodeSettings(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def node() -> Iterator[LocalNode]:
    n = LocalNode(_settings())
    n.stop()  # a leftover from an interrupted run would make start() a no-op
    assert n.start() is True
    yield n
    n.stop()


@pytest.fixture(scope="module")
def es(node: LocalNode) -> Iterator[Elasticsearch]:
    client = Elasticsearch(node.url, request_timeout=30)
    yield client
    client.close()


def _tokens(es: Elasticsearch, analyzer: str, text: str) -> list[str]:
    return [t["token"] for t in es.indices.analyze(analyzer=analyzer, text=text)["tokens"]]


def test_start_is_idempotent(node: LocalNode) -> None:
    pid = node.status()["pid"]  # type: ignore[index]
    assert node.start() is False
    assert node.status()["pid"] == pid  # type: ignore[index]


def test_status_reports_running(node: LocalNode) -> None:
    info = node.status()
    assert info is not None
    assert info["running"] is True
    assert info["url"] == f"http://127.0.0.1:{HTTP_PORT}"
    assert info["cluster_name"] == CLUSTER
    assert info["version"] == "9.5.3"
    assert info["health"] in ("green", "yellow")
    assert is_node_process(info["pid"], node.settings.conf_dir)


def test_port_taken_raises_and_leaves_nothing_running(node: LocalNode, tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        other = LocalNode(_settings(http_port=port, transport_port=None, cluster_name=CLUSTER + "-busy"))
        with pytest.raises(LocalNodeError, match=str(port)) as excinfo:
            other.start()
        assert "NEWS_ES_LOCAL_PORT" in str(excinfo.value)
        assert other.status() is None
        assert not other.settings.pid_file.exists()


def test_node_jvm_runs_with_the_jit_mode(es: Elasticsearch) -> None:
    (info,) = es.nodes.info(metric="jvm")["nodes"].values()
    assert "-XX:TieredStopAtLevel=1" in info["jvm"]["input_arguments"]  # the module node's mode "quick"


def test_german_analyzer_stems(es: Elasticsearch) -> None:
    assert _tokens(es, "german", "Proteste") == _tokens(es, "german", "Protest")
    # stop words removed, umlaut normalized
    assert _tokens(es, "german", "die Häuser") == ["haus"]


def test_german_match_query_finds_stemmed_form(es: Elasticsearch) -> None:
    index = "localnode-test-german"
    es.options(ignore_status=404).indices.delete(index=index)
    es.indices.create(index=index, mappings={"properties": {"body": {"type": "text", "analyzer": "german"}}})
    try:
        es.index(index=index, id="1", document={"body": "Ein Protest vor dem Rathaus"}, refresh=True)
        es.index(index=index, id="2", document={"body": "Das Wetter ist gut"}, refresh=True)
        hits = es.search(index=index, query={"match": {"body": "Proteste"}})["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["1"]
    finally:
        es.indices.delete(index=index)


def test_english_analyzer_stems(es: Elasticsearch) -> None:
    assert _tokens(es, "english", "running") == _tokens(es, "english", "runs") == ["run"]


@pytest.mark.parametrize("analyzer", ["french", "spanish", "italian", "dutch", "portuguese", "russian"])
def test_other_language_analyzers_exist(es: Elasticsearch, analyzer: str) -> None:
    assert _tokens(es, analyzer, "Texte")


def test_stop_by_pid(node: LocalNode) -> None:
    pid = node.status()["pid"]  # type: ignore[index]
    assert node.stop() is True
    assert not node.settings.pid_file.exists()
    # PID 1 may reap the exited (reparented) server a moment later; a zombie counts as stopped.
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)
    assert node.status() is None
    assert node.stop() is False
