"""Kibana saved objects: the file is well-formed, every field it uses exists in the REAL index
mappings (a real local Elasticsearch with the project's template), and the import command talks
to Kibana's saved-objects API the way Kibana expects -- checked against a real local HTTP server
standing in for Kibana, since no Kibana can run here."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main as cli_main
from pipeline.config import ElasticsearchSettings
from pipeline.index.names import article_index, deadletter_index, runlog_index
from pipeline.index.template import TEMPLATE_VERSION, ensure_article_index, ensure_index
from pipeline.kibana import (
    DEFAULT_ALIAS,
    SAVED_OBJECTS_FILE,
    KibanaError,
    check_saved_objects,
    dangling_references,
    data_view_titles,
    fields_referenced,
    import_saved_objects,
    parse_ndjson,
)

PASSWORD = "s3cretPassw0rdXYZ"


def _text() -> str:
    return SAVED_OBJECTS_FILE.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- file structure


def test_every_line_is_a_saved_object() -> None:
    lines = [line for line in _text().splitlines() if line.strip()]
    assert lines, "the saved objects file is empty"
    for line in lines:
        obj = json.loads(line)
        assert {"type", "id", "attributes"} <= set(obj), obj.get("id")
        assert obj["id"].startswith("news-pipeline-"), "ids must be stable and ours (re-import overwrites)"


def test_expected_objects_present_and_references_resolve() -> None:
    objects = parse_ndjson(_text())
    by_type: dict[str, set[str]] = {}
    for obj in objects:
        by_type.setdefault(obj["type"], set()).add(obj["id"])
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects), "duplicate ids"
    assert set(data_view_titles(_text()).values()) == {
        DEFAULT_ALIAS, runlog_index(DEFAULT_ALIAS), deadletter_index(DEFAULT_ALIAS),
    }
    assert len(by_type["search"]) == 1
    assert len(by_type["lens"]) >= 7
    assert len(by_type["dashboard"]) == 1
    assert dangling_references(objects) == []
    # every reference to a data view points at one defined in this file
    views = by_type["index-pattern"]
    for obj in objects:
        for ref in obj.get("references") or []:
            if ref["type"] == "index-pattern":
                assert ref["id"] in views


def test_dashboard_holds_every_visualization_and_the_search() -> None:
    objects = parse_ndjson(_text())
    dashboard = next(o for o in objects if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    panel_targets = {refs[f"{p['panelIndex']}:{p['panelRefName']}"]["id"] for p in panels}
    wanted = {o["id"] for o in objects if o["type"] in ("lens", "search")}
    assert panel_targets == wanted


def test_lens_layers_reference_their_data_view() -> None:
    for obj in parse_ndjson(_text()):
        if obj["type"] != "lens":
            continue
        layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        names = {r["name"] for r in obj["references"]}
        for layer_id, layer in layers.items():
            assert f"indexpattern-datasource-layer-{layer_id}" in names, obj["id"]
            assert layer["columnOrder"] and set(layer["columnOrder"]) == set(layer["columns"])


def test_fields_referenced_cover_the_panels() -> None:
    fields = fields_referenced(_text())
    assert "" not in fields, "fields used by an object without exactly one data view"
    assert {"published_at", "site", "lang", "entities.id", "story_id", "title"} <= fields[
        "news-pipeline-articles-dataview"
    ]
    assert {"finished_at", "run_id", "created", "updated", "unchanged", "failed"} <= fields[
        "news-pipeline-runs-dataview"
    ]
    assert {"failed_at", "stage", "feed"} <= fields["news-pipeline-deadletter-dataview"]
    # feed/fetch failures per feed and reason from the run log; undated articles by fetch time
    assert {"feed", "failures.stage", "failures.reason.keyword"} <= fields["news-pipeline-runs-dataview"]
    assert {"fetched_at", "site"} <= fields["news-pipeline-articles-fetched-dataview"]


def test_top_entities_counts_by_id_and_import_shows_the_labels() -> None:
    """Issue 18: the entity panel facets on ``entities.id`` (Kasachstan and Kazakhstan are one
    bar); the import gives the data view a lookup id -> label in the language asked for."""
    from pipeline.enrich.entities.extractor import DEFAULT_CONFIG_DIR
    from pipeline.kibana import ARTICLES_DATA_VIEW, entity_labels, with_entity_labels

    objects = {o["id"]: o for o in parse_ndjson(_text())}
    lens = objects["news-pipeline-top-entities"]["attributes"]["state"]["datasourceStates"]["formBased"]
    assert lens["layers"]["layer1"]["columns"]["col-entity"]["sourceField"] == "entities.id"
    labels = entity_labels(DEFAULT_CONFIG_DIR, "de")
    assert labels["Q232"] == "Kasachstan" and labels["iso3166:RU-MOW"] == "Moskau" and labels["Q7747"] == "Wladimir Putin"
    assert entity_labels(DEFAULT_CONFIG_DIR, "en")["Q232"] == "Kazakhstan"
    text = with_entity_labels(_text(), labels)
    assert check_saved_objects(text) == [] and len(parse_ndjson(text)) == len(objects)
    view = {o["id"]: o for o in parse_ndjson(text)}[ARTICLES_DATA_VIEW]
    lookup = json.loads(view["attributes"]["fieldFormatMap"])["entities.id"]
    assert lookup["id"] == "static_lookup"
    assert {"key": "Q232", "value": "Kasachstan"} in lookup["params"]["lookupEntries"]
    unchanged = [line for line in text.splitlines() if ARTICLES_DATA_VIEW not in line.split(",")[1]]
    assert unchanged == [line for line in _text().splitlines() if ARTICLES_DATA_VIEW not in line.split(",")[1]]


def test_fields_referenced_reads_json_encoded_strings() -> None:
    obj = {
        "type": "visualization", "id": "v", "references": [{"type": "index-pattern", "id": "dv", "name": "x"}],
        "attributes": {"visState": json.dumps({"params": {"sourceField": "nested.inside"}})},
    }
    assert fields_referenced(json.dumps(obj)) == {"dv": {"nested.inside"}}


def test_offline_check_passes_and_catches_unknown_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_saved_objects(_text()) == []
    assert cli_main(["kibana", "check"]) == 0
    broken = _text().replace('"sourceField":"story_id"', '"sourceField":"story_idd"')
    assert broken != _text()
    problems = check_saved_objects(broken)
    assert any("story_idd" in p for p in problems)
    bad_file = tmp_path / "bad.ndjson"
    bad_file.write_text(broken + "{not json\n", encoding="utf-8")
    assert cli_main(["kibana", "check", "--file", str(bad_file)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


# ------------------------------------------------------------------ against real Elasticsearch


def _es_fields(es: Any, index: str) -> set[str]:
    resp = es.indices.get_field_mapping(index=index, fields="*")
    fields: set[str] = set()
    for body in resp.body.values():
        fields.update(body["mappings"])
    return {f for f in fields if not f.startswith("_")}


def test_every_referenced_field_exists_in_real_elasticsearch(es: Any, alias: str) -> None:
    settings = ElasticsearchSettings(url="unused", index_alias=alias, number_of_replicas=0)
    ensure_index(es, settings)
    published = "2022-01-10T14:42:00+01:00"
    month = article_index(alias, TEMPLATE_VERSION, published)
    ensure_article_index(es, settings, month)  # the template refuses auto-creation (issue 16)
    es.index(
        index=month,
        document={
            "url": "https://example.invalid/a", "site": "example.invalid", "title": "Ein Titel",
            "lang": "de", "published_at": published, "story_id": "s1",
            "entities": [{"name": "Kasachstan", "type": "LOC", "id": "Q232", "linked": True, "mentions": 2}],
        },
        refresh=True,
    )
    real = {
        DEFAULT_ALIAS: _es_fields(es, alias),
        runlog_index(DEFAULT_ALIAS): _es_fields(es, runlog_index(alias)),
        deadletter_index(DEFAULT_ALIAS): _es_fields(es, deadletter_index(alias)),
    }
    assert {"entities.name", "entities.id", "entities.linked", "title.keyword", "published_at"} <= real[DEFAULT_ALIAS]
    assert check_saved_objects(_text(), known_fields=real) == []
    # and the real mapping is what the offline check assumes: no field the check accepts is missing
    referenced = fields_referenced(_text())
    titles = data_view_titles(_text())
    for view_id, used in referenced.items():
        assert used <= real[titles[view_id]], (view_id, used - real[titles[view_id]])


# ------------------------------------------------------------- import against a fake Kibana


@dataclass
class FakeKibana:
    """A real HTTP server answering like Kibana's status and saved-objects import endpoints."""

    import_response: dict[str, Any]
    status_failures: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    state = FakeKibana(import_response={})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            state.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
            if self.path == "/api/status":
                if state.status_failures > 0:
                    state.status_failures -= 1
                    self._reply(503, {"status": {"overall": {"level": "unavailable"}}})
                else:
                    self._reply(200, {"status": {"overall": {"level": "available"}}})
            else:
                self._reply(404, {"statusCode": 404})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(
                {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
            )
            self._reply(200, state.import_response)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _multipart_file(request: dict[str, Any]) -> tuple[str, bytes]:
    """(filename, content) of the ``file`` part of a multipart/form-data body."""
    content_type = {k.lower(): v for k, v in request["headers"].items()}["content-type"]
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request["body"]
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return str(part.get_filename()), part.get_payload(decode=True)
    raise AssertionError("no 'file' part in the multipart body")


def test_import_posts_file_with_xsrf_and_basic_auth(
    fake_kibana: FakeKibana, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    count = len(parse_ndjson(_text()))
    fake_kibana.import_response = {"success": True, "successCount": count, "successResults": []}
    fake_kibana.status_failures = 1  # Kibana still starting: the first status call answers 503
    result = import_saved_objects(
        fake_kibana.url, SAVED_OBJECTS_FILE, username="elastic", password=PASSWORD, wait_timeout=30
    )
    assert result["successCount"] == count
    statuses = [r for r in fake_kibana.requests if r["method"] == "GET"]
    assert len(statuses) == 2
    post = next(r for r in fake_kibana.requests if r["method"] == "POST")
    assert post["path"] == "/api/saved_objects/_import?overwrite=true"
    headers = {k.lower(): v for k, v in post["headers"].items()}
    assert headers["kbn-xsrf"] == "true"
    import base64

    assert headers["authorization"] == "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    assert headers["content-type"].startswith("multipart/form-data")
    filename, content = _multipart_file(post)
    assert filename == SAVED_OBJECTS_FILE.name
    assert content == SAVED_OBJECTS_FILE.read_bytes()
    captured = capsys.readouterr()
    assert "waiting for Kibana" in captured.err
    assert PASSWORD not in captured.err + captured.out + caplog.text


def test_import_failure_raises_with_kibana_errors(
    fake_kibana: FakeKibana, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_kibana.import_response = {
        "success": False,
        "successCount": 12,
        "errors": [{
            "id": "news-pipeline-run-summary", "type": "lens", "title": "Run summary",
            "error": {"type": "missing_references",
                      "references": [{"type": "index-pattern", "id": "news-pipeline-runs-dataview"}]},
        }],
    }
    with pytest.raises(KibanaError) as info:
        import_saved_objects(fake_kibana.url, SAVED_OBJECTS_FILE, username="elastic", password=PASSWORD)
    message = str(info.value)
    assert "missing_references" in message and "news-pipeline-run-summary" in message
    assert "index-pattern/news-pipeline-runs-dataview" in message
    assert PASSWORD not in message


def test_cli_import_uses_env_and_never_prints_the_password(
    fake_kibana: FakeKibana,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NEWS_KIBANA_URL", fake_kibana.url)
    monkeypatch.setenv("NEWS_KIBANA_USERNAME", "elastic")
    monkeypatch.setenv("NEWS_KIBANA_PASSWORD", PASSWORD)
    monkeypatch.delenv("NEWS_KIBANA_API_KEY", raising=False)
    monkeypatch.delenv("NEWS_KIBANA_SPACE", raising=False)
    fake_kibana.import_response = {"success": True, "successCount": 13}
    assert cli_main(["-v", "kibana", "import"]) == 0
    ok = capsys.readouterr()
    assert "imported 13 saved object(s)" in ok.out
    _name, posted = _multipart_file(next(r for r in fake_kibana.requests if r["method"] == "POST"))
    view = next(o for o in parse_ndjson(posted.decode("utf-8")) if o["id"] == "news-pipeline-articles-dataview")
    lookup = json.loads(view["attributes"]["fieldFormatMap"])["entities.id"]["params"]["lookupEntries"]
    assert {"key": "Q232", "value": "Kazakhstan"} in lookup  # --entity-language defaults to en
    fake_kibana.import_response = {"success": False, "successCount": 0, "errors": [
        {"id": "x", "type": "lens", "error": {"type": "unknown", "message": "boom happened"}}]}
    assert cli_main(["-v", "kibana", "import", "--url", fake_kibana.url, "--space", "news"]) == 1
    failed = capsys.readouterr()
    assert "boom happened" in failed.err
    assert fake_kibana.requests[-1]["path"].startswith("/s/news/api/saved_objects/_import")
    assert PASSWORD not in ok.out + ok.err + failed.out + failed.err + caplog.text


def test_import_gives_up_when_kibana_never_comes_up(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(KibanaError, match="not available after"):
        import_saved_objects(f"http://127.0.0.1:{port}", SAVED_OBJECTS_FILE, wait_timeout=1.5)
