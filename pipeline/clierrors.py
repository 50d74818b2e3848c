"""What the command line says when Elasticsearch is not there: one line a person can act on.

Commands build their client with ``checked_client``, which asks the node who it is (one short
request, no retries) before any work starts, so "nothing listening", "a wrong URL" and "a server
that is not Elasticsearch" are told apart up front instead of surfacing later as a dozen
tracebacks or an ``AttributeError`` on a non-JSON body. ``describe`` turns the same errors raised
later (a node killed mid-run) into one line; ``pipeline.cli`` prints it and exits with
``EXIT_ES``.
"""

from __future__ import annotations

import re
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError, TransportError
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError

from pipeline.config import ElasticsearchSettings

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, something it did failed (a feed, a partition); listed on stderr
EXIT_CONFIG = 2  # config or usage error: nothing was done
EXIT_ES = 3  # Elasticsearch unreachable, not Elasticsearch, or refused the credentials
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit status: 0 done; 1 done, but something failed (ingest: a feed could not be fetched or "
    "crashed; backfill: a partition failed; the failures are listed on stderr); 2 config or usage "
    "error, nothing done; 3 Elasticsearch unreachable, not Elasticsearch, or credentials refused; "
    "130 interrupted. Errors are one line on stderr; -v adds the traceback."
)

_FIX_URL = "set NEWS_ES_URL (or elasticsearch.url in config/pipeline.yaml) to your cluster"
_FIX_START = "start the local node with `make es-start` (or `python -m pipeline es start`), or " + _FIX_URL


class ElasticsearchProblem(RuntimeError):
    """Elasticsearch cannot be used; the message is the one line to show."""


def _shown(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _reason(exc: Exception) -> str:
    """The innermost readable cause of a transport error: "Connection refused", "Name or service
    not known", "timed out"..."""
    parts, cause, seen = [], exc, 0
    while cause is not None and seen < 10:  # the OS's words are on the chained causes
        parts.append(str(cause))
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    text = " ".join(parts)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\[\]]+)", text)
    if found:
        return found[-1].strip()
    if isinstance(exc, ConnectionTimeout) or "timed out" in text.lower():
        return "timed out"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def describe(exc: BaseException, url: str) -> str | None:
    """One line for an Elasticsearch failure, or None when ``exc`` is not one."""
    where = _shown(url)
    if isinstance(exc, ElasticsearchProblem):
        return str(exc)
    if isinstance(exc, UnsupportedProductError):
        return (f"{where} answers, but is not Elasticsearch (no X-Elastic-Product header): {_FIX_URL}")
    if isinstance(exc, TlsError):
        return (f"TLS to Elasticsearch at {where} failed ({_reason(exc)}): set NEWS_ES_CA_CERTS to the "
                f"cluster's CA file, or check the URL's scheme and port")
    if isinstance(exc, TransportConnectionError | ConnectionTimeout):
        return f"cannot reach Elasticsearch at {where} ({_reason(exc)}): {_FIX_START}"
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status == 401:
            return (f"Elasticsearch at {where} refused the credentials (HTTP 401): check NEWS_ES_API_KEY "
                    f"or NEWS_ES_USERNAME / NEWS_ES_PASSWORD")
        if status == 403 and isinstance(exc.body, dict):
            return (f"Elasticsearch at {where} refused a request for lack of privileges (HTTP 403): give the "
                    f"user or API key of NEWS_ES_API_KEY / NEWS_ES_USERNAME the privileges on the index alias")
        if not isinstance(exc.body, dict):
            return (f"{where} is not Elasticsearch (HTTP {status} with a non-JSON answer): {_FIX_URL}")
        if status == 429 or status >= 500:
            return (f"Elasticsearch at {where} is unavailable (HTTP {status} {_error_type(exc.body)}): "
                    f"check the cluster's health and run the command again")
        return None  # a request Elasticsearch refused: a bug or a mapping problem, not "ES is down"
    if isinstance(exc, TransportError):
        return f"Elasticsearch at {where} failed ({_reason(exc)}): {_FIX_START}"
    return None


def _error_type(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("type") or "")
    return str(error or "")


def es_unavailable(exc: BaseException) -> bool:
    """Errors after which no further Elasticsearch work can succeed in this run (the node is
    gone, or is not Elasticsearch): the command stops, as opposed to one feed's failure."""
    if isinstance(exc, ApiError):
        return exc.meta.status in (401, 403, 429) or exc.meta.status >= 500 or not isinstance(exc.body, dict)
    return isinstance(exc, TransportError | UnsupportedProductError | ElasticsearchProblem)


def check_elasticsearch(es: Elasticsearch, settings: ElasticsearchSettings, timeout_s: float = 10.0) -> None:
    """Raise ElasticsearchProblem with one readable line unless ``es`` answers like Elasticsearch.
    The probe is ``_cluster/health`` (the local node does not serve ``GET /``); a 403 passes
    (Elasticsearch answered; a key without the monitor privilege may still do the command's work)."""
    try:
        health = es.options(request_timeout=timeout_s, max_retries=0).cluster.health()
    except ApiError as exc:
        if exc.meta.status == 403 and isinstance(exc.body, dict):
            return
        raise ElasticsearchProblem(_probe_line(exc, settings)) from exc
    except Exception as exc:  # every failure of this probe is described
        raise ElasticsearchProblem(_probe_line(exc, settings)) from exc
    if not hasattr(health, "get") or not health.get("status"):
        raise ElasticsearchProblem(f"{_shown(settings.url)} answered, but not like Elasticsearch: {_FIX_URL}")


def _probe_line(exc: Exception, settings: ElasticsearchSettings) -> str:
    line = describe(exc, settings.url)
    if line is None:
        line = (f"Elasticsearch at {_shown(settings.url)} did not answer as expected "
                f"({type(exc).__name__}: {str(exc)[:160]}): {_FIX_URL}")
    return line


def checked_client(settings: ElasticsearchSettings) -> Elasticsearch:
    """The configured client, once the node has answered like Elasticsearch."""
    from pipeline.index.client import es_client

    es = es_client(settings)
    check_elasticsearch(es, settings)
    return es
