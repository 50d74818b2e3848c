"""`make run`: serve the bundled sample site, run the news_ingest DAG once with `airflow dags test`,
and print what a search finds. Expects the local Elasticsearch node to be running (the Makefile
starts it) and the AIRFLOW_* variables the Makefile exports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from pipeline.config import load_settings
from pipeline.index.client import es_client
from pipeline.samplesite import SampleSite
from pipeline.search import format_hits, search_articles

PORT = int(os.environ.get("NEWS_SAMPLE_PORT", "8765"))
QUERY = os.environ.get("NEWS_DEMO_QUERY", "Tokajew")


def run_dag(airflow: Path, log_path: Path) -> int:
    """`airflow dags test news_ingest` with its log (about 165 lines) in ``log_path``, and one
    line of progress: updated in place on a terminal, every 15 s otherwise."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tty = sys.stderr.isatty()
    print(f"running DAG news_ingest once (airflow dags test; log: {log_path})", file=sys.stderr)
    start = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen([str(airflow), "dags", "test", "news_ingest"], env=os.environ.copy(),
                                stdout=log, stderr=subprocess.STDOUT)
        last = 0.0
        while proc.poll() is None:
            time.sleep(0.5)
            elapsed = time.monotonic() - start
            if tty:
                print(f"\r  {elapsed:5.0f} s, {_progress(log_path)}", end="", file=sys.stderr)
            elif elapsed - last >= 15:
                print(f"  {elapsed:.0f} s, {_progress(log_path)}", file=sys.stderr)
                last = elapsed
    if tty:
        print(file=sys.stderr)
    print(f"  done in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return proc.returncode


_RUNNING = re.compile(r"\[DAG TEST\] running task <TaskInstance: news_ingest\.([\w.]+)")


def _progress(log_path: Path) -> str:
    """"N task(s) done, running X" from the log of `airflow dags test`."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "starting"
    done = text.count("new_state=success")
    running = _RUNNING.findall(text)
    return f"{done} task(s) done" + (f", running {running[-1]}" if running else "")


def main() -> int:
    settings = load_settings()
    airflow = Path(sys.executable).with_name("airflow")
    site = SampleSite()
    try:
        base_url = site.start(port=PORT)
    except OSError as exc:
        print(f"cannot serve the sample site on 127.0.0.1:{PORT}: {exc}; set NEWS_SAMPLE_PORT", file=sys.stderr)
        return 1
    print(f"sample site: {base_url} (feeds: {', '.join(f.url for f in settings.feeds)})", file=sys.stderr)
    log_path = Path(os.environ.get("AIRFLOW_HOME", ".airflow")) / "make-run.log"
    try:
        returncode = run_dag(airflow, log_path)
        if returncode != 0:
            print(f"airflow dags test failed with exit code {returncode}; the last lines of {log_path}:",
                  file=sys.stderr)
            print("".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines(True)[-20:]),
                  file=sys.stderr)
            return returncode
    finally:
        site.stop()
    es = es_client(settings.elasticsearch)
    count = es.count(index=settings.elasticsearch.index_alias)["count"]
    print(f"\n{count} article(s) in index alias {settings.elasticsearch.index_alias!r}")
    print(f"search {QUERY!r}:")
    print(format_hits(search_articles(es, settings.elasticsearch.index_alias, QUERY, size=5)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
