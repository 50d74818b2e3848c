"""`make run`: serve the bundled sample site, run the news_ingest DAG once with `airflow dags test`,
and print what a search finds. Expects the local Elasticsearch node to be running (the Makefile
starts it) and the AIRFLOW_* variables the Makefile exports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import load_settings
from pipeline.index.client import es_client
from pipeline.samplesite import SampleSite
from pipeline.search import format_hits, search_articles

PORT = int(os.environ.get("NEWS_SAMPLE_PORT", "8765"))
QUERY = os.environ.get("NEWS_DEMO_QUERY", "Tokajew")


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
    try:
        print("running DAG news_ingest once (airflow dags test) ...", file=sys.stderr)
        run = subprocess.run([str(airflow), "dags", "test", "news_ingest"], env=os.environ.copy(), check=False)
        if run.returncode != 0:
            print(f"airflow dags test failed with exit code {run.returncode}", file=sys.stderr)
            return run.returncode
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
