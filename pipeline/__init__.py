"""News ingestion pipeline: feeds and archives in, clean deduplicated articles in Elasticsearch out.

The package is a plain library that knows nothing of Airflow; the DAGs in ``dags/`` call one
entry point per task (see :mod:`pipeline.run.ingest`).
"""

__version__ = "0.1.0"
