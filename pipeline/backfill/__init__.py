"""Backfills from archives (sitemaps, date-templated archive pages, WARC files), partitioned by
(source, day), with partition state in Elasticsearch so re-runs resume where a run stopped.

- ``sources``: the archive sources and settings of ``config/backfill.yaml`` (light: DAG files read it)
- ``sitemap``, ``archivepages``, ``warc``: discovery of one partition's pages
- ``versions``: no duplicates, no lost updates beside the nightly DAG
- ``state``: partition state in ``<alias>-backfill``
- ``run``: one partition end to end; ``jobs``: the entry points of the CLI (``cli``) and the DAG
"""
