"""Project-managed local Elasticsearch node (download, verify, plugin, start/stop)."""

from .errors import ChecksumError, DownloadError, JavaNotFoundError, LocalNodeError
from .node import LocalNode
from .settings import NodeSettings

__all__ = [
    "ChecksumError",
    "DownloadError",
    "JavaNotFoundError",
    "LocalNode",
    "LocalNodeError",
    "NodeSettings",
]
