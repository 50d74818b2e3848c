"""The command line as an operator meets it: Elasticsearch stopped, a wrong URL, a server that is
not Elasticsearch and broken config each give one line on stderr and a non-zero exit, from every
command; ``ingest`` fails when a feed failed and lists it; a run stopped by Elasticsearch going away
still prints the feeds that finished."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.clierrors import EXIT_CONFIG, EXIT_ES, EXIT_FAILED
from tests.conftest import ROOT, sample_feeds, write_config

COMMANDS = [
    ["ingest"],
    ["search", "x"],
    ["setup-index"],
    ["reindex"],
    ["quality"],
    ["reprocess", "--dry-run"],
    ["profiles", "show"],
    ["backfill", "--from", "2022-01-10", "--to", "2022-01-10"],
]


def _run(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        cwd=ROOT, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=120, check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NotElasticsearch(BaseHTTPRequestHandler):
    """A web server that answers every request, as a wrong URL in NEWS_ES_URL would: HTML with 200
    (a catch-all site), a plain-text 404 under /missing."""

    def _answer(self) -> None:
        status, body = (404, b"Not Found") if self.path.startswith("/missing") else (
            200, b"<html><body>It works</body></html>")
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def not_es() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotElasticsearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _config(tmp_path: Path, es_url: str) -> Path:
    feeds = [{"name": "a", "url": "http://127.0.0.1:9/rss.xml"}]
    return write_config(tmp_path / "config", es_url=es_url, alias="cli-test", feeds=feeds)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_elasticsearch_stopped_gives_one_line_and_exit_3(tmp_path, command) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    result = _run(_config(tmp_path, url), *command)
    assert result.returncode == EXIT_ES
    line = _one_line(result)
    assert line.startswith(f"error: cannot reach Elasticsearch at {url} (Connection refused): "), line
    assert "make es-start" in line and "NEWS_ES_URL" in line
    assert result.stdout == ""


def test_wrong_host_gives_one_line_and_exit_3(tmp_path) -> None:
    url = "http://no-such-host.invalid:9200"
    for command in (["ingest"], ["search", "x"]):
        result = _run(_config(tmp_path, url), *command)
        assert result.returncode == EXIT_ES
        assert _one_line(result).startswith(f"error: cannot reach Elasticsearch at {url} ("), result.stderr


def test_environment_url_is_the_one_named(tmp_path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = _run(_config(tmp_path, "http://127.0.0.1:9200"), "search", "x", env={"NEWS_ES_URL": url})
    assert result.returncode == EXIT_ES and f"at {url} " in _one_line(result)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_server_that_is_not_elasticsearch_gives_one_line_and_exit_3(tmp_path, not_es, command) -> None:
    result = _run(_config(tmp_path, not_es), *command)
    assert result.returncode == EXIT_ES
    line = _one_line(result)
    assert line.startswith(f"error: {not_es} answers, but is not Elasticsearch"), line
    assert "NEWS_ES_URL" in line


def test_not_elasticsearch_under_a_path_gives_one_line(tmp_path, not_es) -> None:
    result = _run(_config(tmp_path, not_es + "/missing"), "search", "x")
    assert result.returncode == EXIT_ES
    assert _one_line(result).startswith(f"error: {not_es}/missing is not Elasticsearch (HTTP 404"), result.stderr


def test_verbose_adds_the_traceback(tmp_path) -> None:
    result = _run(_config(tmp_path, f"http://127.0.0.1:{_free_port()}"), "-v", "search", "x")
    assert result.returncode == EXIT_ES
    assert "Traceback" in result.stderr and result.stderr.splitlines()[-1].startswith("error: cannot reach")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_broken_config_gives_one_line_and_exit_2(tmp_path, command) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9200")
    (config / "feeds.yaml").write_text(
        "feeds:\n  - name: dwn\n    url: https://dwn.example/rss\n    timezone: Europe/Berln\n", encoding="utf-8")
    result = _run(config, *command)
    assert result.returncode == EXIT_CONFIG
    assert _one_line(result) == (
        f"config error: {config / 'feeds.yaml'}: feeds[0] (name 'dwn'): timezone: unknown time zone 'Europe/Berln'")


def test_broken_environment_gives_one_line_and_exit_2(tmp_path) -> None:
    result = _run(_config(tmp_path, "http://127.0.0.1:9200"), "search", "x", env={"NEWS_ES_VERIFY_CERTS": "ture"})
    assert result.returncode == EXIT_CONFIG
    assert _one_line(result).startswith("config error: environment: NEWS_ES_VERIFY_CERTS: 'ture' is not a boolean")


def test_help_documents_the_exit_statuses() -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    text = " ".join(result.stdout.split())
    assert "exit status: 0 done; 1 done, but something failed" in text and "3 Elasticsearch unreachable" in text


def test_es_help_lists_its_commands(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "pipeline", "es", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    for command in ("start", "stop", "status"):  # each with its one-line description
        assert any(line.split()[:1] == [command] and len(line.split()) > 1 for line in result.stdout.splitlines())
    assert "rest" not in result.stdout
    options = subprocess.run([sys.executable, "-m", "pipeline", "es", "start", "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "--port" in options and "--nodes" in options
    status = subprocess.run(
        [sys.executable, "-m", "pipeline", "es", "status", "--port", str(_free_port())], cwd=ROOT,
        env={**os.environ, "NEWS_PIPELINE_STATE_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=60,
        check=True,
    )
    assert json.loads(status.stdout)["running"] is False


def test_ingest_with_a_failing_feed_exits_1_and_lists_it(es_url, alias, sample_site, tmp_path) -> None:
    feeds = sample_feeds(sample_site, "http-500", "atom")
    config = write_config(tmp_path / "config", es_url=es_url, alias=alias, feeds=feeds, max_retries=0)
    result = _run(config, "ingest")
    assert result.returncode == EXIT_FAILED, result.stderr[-2000:]
    reports = json.loads(result.stdout)
    assert [r["feed"] for r in reports] == ["http-500", "atom"]
    assert reports[1]["created"] > 0 and not reports[1]["failures"]
    tail = result.stderr.splitlines()[-2:]
    assert tail[0] == "ingest: 1 of 2 feed(s) failed:"
    assert tail[1].startswith(f"  http-500: feed {sample_site}/faults/500.xml: "), tail
    # every feed good: exit 0 (the articles are indexed already, nothing fails)
    assert _run(config, "ingest", "--feed", "atom").returncode == 0


def test_ingest_stopped_by_elasticsearch_prints_the_feeds_that_finished(
    es_url, alias, sample_site, tmp_path, monkeypatch, capsys
) -> None:
    """A node killed mid-run (the shared test node cannot be killed here): the second feed's
    ingest raises the connection error the client raises then."""
    from elastic_transport import ConnectionError as TransportConnectionError

    import pipeline.run.ingest
    from pipeline.cli import main

    real = pipeline.run.ingest.ingest_feed

    def dies_on_second(feed, settings, **kwargs):
        if feed.name == "rss":
            raise TransportConnectionError("Connection error") from ConnectionRefusedError(111, "Connection refused")
        return real(feed, settings, **kwargs)

    monkeypatch.setattr(pipeline.run.ingest, "ingest_feed", dies_on_second)
    config = write_config(tmp_path / "config", es_url=es_url, alias=alias,
                          feeds=sample_feeds(sample_site, "atom", "rss", "broken-links"))
    for var in [v for v in os.environ if v.startswith("NEWS_")]:
        monkeypatch.delenv(var)
    assert main(["--config", str(config), "ingest"]) == EXIT_ES
    out, err = capsys.readouterr()
    assert [r["feed"] for r in json.loads(out)] == ["atom"]
    lines = err.splitlines()
    assert lines[-2] == ("ingest stopped after 1 of 3 feed(s); a rerun skips what is indexed (the feed in "
                         "progress stays leased to this run until its lease expires, at most 120 s)")
    assert lines[-1].startswith(f"error: cannot reach Elasticsearch at {es_url} (Connection refused): ")
