"""Kibana saved objects of the project: which index fields they use, and importing them.

The saved objects (data views, a saved search, Lens visualizations, one dashboard) live in
``config/kibana/news-pipeline.ndjson`` with stable ids, so importing again overwrites instead of
duplicating. Kibana itself cannot run in CI, so the part that can go wrong silently -- a panel
pointing at a field the mapping does not have (it renders empty or broken, no error at import) --
is checked offline here against the real mappings in :mod:`pipeline.index.mappings`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from pipeline.index.mappings import ARTICLE_MAPPINGS, DEADLETTER_MAPPINGS, RUNLOG_MAPPINGS
from pipeline.index.names import deadletter_index, runlog_index

log = logging.getLogger(__name__)

SAVED_OBJECTS_FILE = Path(__file__).resolve().parent.parent / "config" / "kibana" / "news-pipeline.ndjson"
DEFAULT_KIBANA_URL = "http://127.0.0.1:5601"
DEFAULT_ALIAS = "news-articles"

# Lens's pseudo field for "count of records"; not an index field.
RECORDS_FIELD = "___records___"
# Keys whose string value names one field; ``columns``/``sort`` are handled apart (lists).
_FIELD_KEYS = ("sourceField", "timeFieldName", "fieldName", "timeField", "field")


class KibanaError(RuntimeError):
    """Kibana refused or failed the import, or never became available; the message says why."""


class SavedObjectsError(ValueError):
    """The NDJSON file is malformed (bad JSON, missing keys, dangling references)."""


# The data view whose ``entities.id`` gets the id -> label lookup on import (facet on id, show name).
ARTICLES_DATA_VIEW = "news-pipeline-articles-dataview"
ENTITY_ID_FIELD = "entities.id"


# ------------------------------------------------------------------------------------ parsing


def parse_ndjson(ndjson_text: str) -> list[dict[str, Any]]:
    """Parse and validate the export format Kibana expects: one JSON object per non-empty line,
    each with ``type``, ``id`` and ``attributes``. Kibana reports a bad line only as a generic
    400, so the line number is given here."""
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(ndjson_text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SavedObjectsError(f"line {number}: not valid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise SavedObjectsError(f"line {number}: expected a JSON object")
        missing = [k for k in ("type", "id", "attributes") if k not in obj]
        if missing:
            raise SavedObjectsError(f"line {number}: object lacks {missing}")
        objects.append(obj)
    return objects


def dangling_references(objects: Iterable[dict[str, Any]]) -> list[str]:
    """References that point at no object in the file. The file must be self-contained: a
    dangling reference imports "successfully" with ``missing_references`` errors, or worse,
    binds a panel to whatever object happens to carry that id in the target Kibana."""
    objects = list(objects)
    known = {(o["type"], o["id"]) for o in objects}
    problems = []
    for obj in objects:
        for ref in obj.get("references") or []:
            if (ref.get("type"), ref.get("id")) not in known:
                problems.append(f"{obj['type']}/{obj['id']}: reference {ref.get('name')!r} -> "
                                f"{ref.get('type')}/{ref.get('id')} is not in the file")
    return problems


def _maybe_json(value: str) -> Any:
    """Saved objects nest JSON as strings (``panelsJSON``, ``searchSourceJSON``); decode those so
    field names inside them are seen too."""
    text = value.strip()
    if text[:1] in "{[" and text[-1:] in "}]":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    return None


def _fields_in(value: Any) -> Iterator[str]:
    """Every field name mentioned anywhere below ``value`` (dicts, lists, JSON-encoded strings)."""
    if isinstance(value, str):
        decoded = _maybe_json(value)
        if decoded is not None:
            yield from _fields_in(decoded)
        return
    if isinstance(value, list):
        for item in value:
            yield from _fields_in(item)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in _FIELD_KEYS and isinstance(item, str):
            if item and item != RECORDS_FIELD:
                yield item
        elif key == "columns" and isinstance(item, list) and all(isinstance(c, str) for c in item):
            yield from item  # saved search columns
        elif key == "sort" and isinstance(item, list):
            # saved search sort: [["published_at", "desc"], ...]
            for entry in item:
                if isinstance(entry, list) and entry and isinstance(entry[0], str):
                    yield entry[0]
        else:
            yield from _fields_in(item)


def _data_view_refs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in obj.get("references") or [] if r.get("type") == "index-pattern"]


def fields_referenced(ndjson_text: str) -> dict[str, set[str]]:
    """Map each data view id to the set of fields the saved objects use through it.

    Lens layers are attributed through their ``indexpattern-datasource-layer-<layer>``
    reference, other objects through their single data-view reference. Fields that cannot be
    attributed (an object using fields but referencing no or several data views) are returned
    under the key ``""`` so a check reports them instead of skipping them.
    """
    result: dict[str, set[str]] = {}

    def add(view_id: str, fields: Iterable[str]) -> None:
        result.setdefault(view_id, set()).update(fields)

    for obj in parse_ndjson(ndjson_text):
        attributes = obj["attributes"]
        if obj["type"] == "index-pattern":
            add(obj["id"], _fields_in({"timeFieldName": attributes.get("timeFieldName")}))
            continue
        refs = _data_view_refs(obj)
        if obj["type"] == "lens":
            by_name = {r.get("name"): r["id"] for r in refs}
            datasources = (attributes.get("state") or {}).get("datasourceStates") or {}
            for datasource in datasources.values():
                for layer_id, layer in ((datasource or {}).get("layers") or {}).items():
                    view = by_name.get(f"indexpattern-datasource-layer-{layer_id}", "")
                    add(view, _fields_in(layer))
            rest = {k: v for k, v in attributes.items() if k != "state"}
            state_rest = {k: v for k, v in (attributes.get("state") or {}).items() if k != "datasourceStates"}
            fields = set(_fields_in([rest, state_rest]))
        else:
            fields = set(_fields_in(attributes))
        if fields:
            views = {r["id"] for r in refs}
            add(views.pop() if len(views) == 1 else "", fields)
    return {k: v for k, v in result.items() if v or k}


# ------------------------------------------------------------------------------ field check


def mapping_fields(mappings: dict[str, Any]) -> set[str]:
    """All field paths a mapping defines: object sub-fields (``entities.name``) and multi-fields
    (``title.keyword``) included, the way Kibana lists them in a data view."""
    fields: set[str] = set()

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = f"{prefix}{name}"
            fields.add(path)
            for sub in (spec.get("fields") or {}):
                fields.add(f"{path}.{sub}")
            if "properties" in spec:
                walk(spec["properties"], f"{path}.")

    walk(mappings.get("properties") or {}, "")
    return fields


def index_mappings(alias: str = DEFAULT_ALIAS) -> dict[str, dict[str, Any]]:
    """Data view title -> mapping, for the indices the saved objects may use."""
    return {
        alias: ARTICLE_MAPPINGS,
        runlog_index(alias): RUNLOG_MAPPINGS,
        deadletter_index(alias): DEADLETTER_MAPPINGS,
    }


def data_view_titles(ndjson_text: str) -> dict[str, str]:
    """Data view id -> its index pattern (``title``)."""
    return {
        o["id"]: str(o["attributes"].get("title", ""))
        for o in parse_ndjson(ndjson_text)
        if o["type"] == "index-pattern"
    }


def check_saved_objects(
    ndjson_text: str, known_fields: dict[str, set[str]] | None = None
) -> list[str]:
    """Offline check of the saved objects; returns the problems found (empty: all good).

    ``known_fields`` maps a data view title to its field paths; by default they come from the
    project's mappings, a test passes the fields a real Elasticsearch reports instead.
    """
    try:
        objects = parse_ndjson(ndjson_text)
    except SavedObjectsError as exc:
        return [str(exc)]
    problems = dangling_references(objects)
    if known_fields is None:
        known_fields = {title: mapping_fields(m) for title, m in index_mappings().items()}
    titles = data_view_titles(ndjson_text)
    for view_id, fields in sorted(fields_referenced(ndjson_text).items()):
        if not view_id:
            problems.append(f"fields {sorted(fields)} are used by an object without exactly one data view")
            continue
        title = titles.get(view_id)
        if title is None:
            problems.append(f"data view {view_id!r} is referenced but not defined in the file")
            continue
        if title not in known_fields:
            problems.append(f"data view {view_id!r} targets {title!r}, which is none of {sorted(known_fields)}")
            continue
        for field in sorted(fields - known_fields[title]):
            problems.append(f"data view {view_id!r} ({title}): field {field!r} is not in the index mapping")
    return problems


# ----------------------------------------------------------------------------------- import


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _base_url(url: str, space: str | None) -> str:
    base = url.rstrip("/")
    return f"{base}/s/{space}" if space and space != "default" else base


def _auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"ApiKey {api_key}"} if api_key else {}


def wait_for_kibana(
    client: httpx.Client,
    url: str,
    *,
    wait_timeout: float = 300.0,
    progress: Callable[[str], None] = _stderr,
) -> None:
    """Poll ``GET /api/status`` until Kibana reports itself available. Kibana answers 503 for a
    minute or more after its port opens (migrations, plugin start-up), and an import sent then
    fails; a wrong password, though, never gets better, so 401/403 stops at once."""
    deadline = time.monotonic() + wait_timeout
    delay = 1.0
    status_url = f"{url.rstrip('/')}/api/status"
    while True:
        try:
            resp = client.get(status_url)
            if resp.status_code in (401, 403):
                raise KibanaError(f"Kibana at {url} refused the credentials (HTTP {resp.status_code})")
            if resp.status_code == 200:
                level = _status_level(resp)
                if level in (None, "available"):
                    return
                reason = f"status {level}"
            else:
                reason = f"HTTP {resp.status_code}"
        except httpx.TransportError as exc:
            reason = type(exc).__name__
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise KibanaError(f"Kibana at {url} not available after {wait_timeout:.0f}s (last: {reason})")
        progress(f"waiting for Kibana at {url} ({reason}); retrying in {min(delay, remaining):.0f}s")
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 15.0)


def _status_level(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    overall = (body.get("status") or {}).get("overall") or {} if isinstance(body, dict) else {}
    level = overall.get("level")
    return str(level) if level else None


def _format_errors(errors: list[dict[str, Any]]) -> str:
    lines = []
    for err in errors:
        detail = err.get("error") or {}
        extra = ""
        if detail.get("references"):
            extra = " missing: " + ", ".join(f"{r.get('type')}/{r.get('id')}" for r in detail["references"])
        elif detail.get("message"):
            extra = f" {detail['message']}"
        title = f" ({err['title']})" if err.get("title") else ""
        lines.append(f"  {err.get('type')}/{err.get('id')}{title}: {detail.get('type', 'error')}{extra}")
    return "\n".join(lines)


def entity_labels(config_dir: str | Path, lang: str) -> dict[str, str]:
    """id -> label in ``lang`` of every gazetteer record (packages and YAML) under ``config_dir``."""
    from pipeline.enrich.entities.gazetteer import load_gazetteer

    return {entry.id: entry.label(lang) for entry in load_gazetteer(config_dir).entries}


def with_entity_labels(ndjson_text: str, labels: dict[str, str]) -> str:
    """The saved objects with ``entities.id`` of the articles data view formatted as a static
    lookup id -> label: panels count by id (one bar for Kasachstan and Kazakhstan) and show the
    label. Ids the lookup lacks (``news:`` ids of unlinked names) show as they are."""
    out: list[str] = []
    for line in ndjson_text.splitlines():
        if line.strip():
            obj = json.loads(line)
            if obj.get("type") == "index-pattern" and obj.get("id") == ARTICLES_DATA_VIEW:
                formats = json.loads(obj["attributes"].get("fieldFormatMap") or "{}")
                formats[ENTITY_ID_FIELD] = {"id": "static_lookup", "params": {
                    "lookupEntries": [{"key": k, "value": v} for k, v in sorted(labels.items())],
                    "unknownKeyValue": None,
                }}
                obj["attributes"]["fieldFormatMap"] = json.dumps(formats, ensure_ascii=False)
                line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        out.append(line)
    return "\n".join(out) + "\n"


def import_saved_objects(
    url: str,
    ndjson_path: str | Path,
    *,
    username: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    space: str | None = None,
    overwrite: bool = True,
    timeout: float = 30,
    wait_timeout: float = 300.0,
    progress: Callable[[str], None] = _stderr,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Import the NDJSON through ``POST /api/saved_objects/_import`` and return Kibana's answer.

    ``labels`` (entity id -> label, :func:`entity_labels`) become the display format of
    ``entities.id`` in the articles data view (:func:`with_entity_labels`).

    Waits for Kibana first (the compose one-shot starts as soon as the container is healthy).
    ``overwrite`` replaces objects with the same ids, which is what makes re-running safe.
    Raises :class:`KibanaError` with Kibana's per-object errors when ``success`` is false.
    Credentials go into the request only; messages name the URL and user, never the secret.
    """
    path = Path(ndjson_path)
    content = path.read_bytes()
    parse_ndjson(content.decode("utf-8"))  # fail here with a line number, not with Kibana's 400
    if labels:
        content = with_entity_labels(content.decode("utf-8"), labels).encode("utf-8")
    auth = httpx.BasicAuth(username, password or "") if username and not api_key else None
    base = _base_url(url, space)
    who = f" as {username}" if auth else (" with an API key" if api_key else "")
    with httpx.Client(timeout=timeout, auth=auth, headers=_auth_headers(api_key)) as client:
        # /api/status is not space-scoped: poll it on the root URL, not under /s/<space>
        wait_for_kibana(client, url, wait_timeout=wait_timeout, progress=progress)
        progress(f"importing {path.name} into Kibana at {base}{who}")
        try:
            resp = client.post(
                f"{base}/api/saved_objects/_import",
                params={"overwrite": "true"} if overwrite else None,
                headers={"kbn-xsrf": "true"},
                files={"file": (path.name, content, "application/ndjson")},
            )
        except httpx.TransportError as exc:
            raise KibanaError(f"import request to {base} failed: {type(exc).__name__}: {exc}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        message = body.get("message") if isinstance(body, dict) else resp.text[:500]
        raise KibanaError(f"Kibana rejected the import (HTTP {resp.status_code}): {message}")
    if not body.get("success"):
        errors = body.get("errors") or []
        raise KibanaError(
            f"Kibana imported {body.get('successCount', 0)} object(s) but {len(errors)} failed:\n"
            + _format_errors(errors)
        )
    progress(f"imported {body.get('successCount', 0)} saved object(s)")
    return body
