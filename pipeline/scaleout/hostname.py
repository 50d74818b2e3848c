"""``[core] hostname_callable`` for several Celery workers on one machine (the local launcher).

Airflow records the host a task instance ran on from this callable; on separate machines (the
compose stack, a real cluster) the default, the machine's FQDN, tells the workers apart. Workers
the launcher starts side by side on one machine each get ``NEWS_WORKER_HOSTNAME`` instead, so the
task instances name the worker that ran them, as they would on separate machines.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("NEWS_WORKER_HOSTNAME") or socket.getfqdn()
