"""Project-managed local Elasticsearch node or cluster (download, verify, plugin, start/stop)."""

from .cluster import LocalCluster
from .errors import ChecksumError, DownloadError, JavaNotFoundError, LocalNodeError
from .node import LocalNode
from .settings import NodeSettings

__all__ = [
    "ChecksumError",
    "DownloadError",
    "JavaNotFoundError",
    "LocalCluster",
    "LocalNode",
    "LocalNodeError",
    "NodeSettings",
]
