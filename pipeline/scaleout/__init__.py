"""Scale-out on one machine: PostgreSQL, Redis and Airflow's CeleryExecutor services (scheduler,
dag-processor, API server, N Celery workers) as local processes, configured from the same
``config/scaleout.env`` as docker-compose.yml (``make scaleout-demo``, tests/test_scaleout_celery.py)."""

from .services import Postgres, Redis, Service, ServiceError
from .settings import ENV_FILE, read_env_file
from .stack import AirflowApi, CeleryStack

__all__ = ["ENV_FILE", "AirflowApi", "CeleryStack", "Postgres", "Redis", "Service", "ServiceError", "read_env_file"]
