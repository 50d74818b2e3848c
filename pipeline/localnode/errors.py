"""Exceptions for the local node; all derive from ``LocalNodeError`` so the CLI can print them
as one-line messages instead of tracebacks."""

from __future__ import annotations


class LocalNodeError(RuntimeError):
    """An expected failure managing the local node (port taken, no Java, start timeout, ...)."""


class DownloadError(LocalNodeError):
    """The distribution could not be fetched."""


class ChecksumError(LocalNodeError):
    """A downloaded or extracted file does not match its pinned checksum."""


class JavaNotFoundError(LocalNodeError):
    """No suitable Java runtime / JDK was found."""
