"""Airflow imports this module at start-up in every Airflow process (the plugins folder is on its
``sys.path``): with ``NEWS_PRELOAD=1`` in a process's environment, the pipeline and its models are
loaded there once, so the task processes it forks inherit them instead of loading them each
(pipeline/run/preload.py; docker-compose.yml sets it for the scheduler and the Celery worker).
It defines none of Airflow's policy hooks."""

from pipeline.run.preload import preload_from_env

preload_from_env()
