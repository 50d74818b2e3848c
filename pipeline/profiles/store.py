"""Host profiles in Elasticsearch (``<alias>-profiles``, one document per site), shared by every
worker and run.

A run keeps the profiles it uses in memory, counts its own articles into them at once (so the
later pages of a run already benefit), and remembers those articles as pending. ``flush`` merges
the pending articles into the stored document with optimistic concurrency. The profile in memory
is the stored document it was read as (or last written as, ``_seq_no``/``_primary_term`` kept)
plus the pending articles, so ``flush`` first writes it as it is with ``if_seq_no``/
``if_primary_term``; only when another worker wrote in between (HTTP 409) does it read the
document again, add the pending articles to it (each counted once: the profile keeps the ids of
its recent articles) and retry. A worker alone on a site thus writes without reading (the document
is up to ~140 KB of JSON, serialised, sent and parsed on both sides for each read). No scripts:
the integ-test node and locked-down clusters may have painless disabled.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from elasticsearch import ConflictError, Elasticsearch

from pipeline.config import ProfileSettings
from pipeline.index.names import profiles_index
from pipeline.profiles.model import HostProfile

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 20
#: after the n-th conflict in a row, wait a random part of min(CONFLICT_BACKOFF_S * 2**n, cap):
#: a worker that has just written writes its next flush without reading, so one that must read
#: first would otherwise lose every race while the other keeps writing (seen: 20 conflicts in a
#: row with two workers flushing after every article on a loaded machine)
CONFLICT_BACKOFF_S = 0.002
CONFLICT_BACKOFF_CAP_S = 0.25


@dataclass
class _Entry:
    profile: HostProfile
    # if_seq_no/if_primary_term of the stored document ``profile`` was read or written as (None:
    # none stored): ``profile`` is that document plus ``pending``
    version: dict[str, int] | None = None
    pending: list[tuple[str, dict[str, str], Sequence[int] | None]] = field(default_factory=list)


def profile_doc_id(site: str) -> str:
    return site.lower()


class ProfileStore:
    """The profiles one run reads and updates."""

    def __init__(self, es: Elasticsearch, alias: str, settings: ProfileSettings) -> None:
        self.es = es
        self.index = profiles_index(alias)
        self.settings = settings
        self._entries: dict[str, _Entry] = {}
        self.conflicts = 0

    def profile(self, site: str) -> HostProfile:
        entry = self._entries.get(site)
        if entry is None:
            entry = _Entry(*self._read(site))
            self._entries[site] = entry
        return entry.profile

    def observe(self, site: str, doc_id: str, keys: dict[str, str], signature: Sequence[int] | None = None) -> None:
        """Count one article of ``site`` now (in memory) and in the store at the next flush;
        ``signature``: the MinHash of its body, so a story's versions count once."""
        self.profile(site)
        entry = self._entries[site]
        if entry.profile.add_article(doc_id, keys, self.settings, signature):
            entry.pending.append((doc_id, keys, signature))
            if len(entry.pending) >= self.settings.flush_every:
                self._flush_site(site, entry)

    def flush(self) -> int:
        """Write every pending article; returns how many were merged into the store."""
        merged = 0
        for site, entry in self._entries.items():
            merged += self._flush_site(site, entry)
        return merged

    def _read(self, site: str) -> tuple[HostProfile, dict[str, int] | None]:
        resp = self.es.options(ignore_status=404).get(index=self.index, id=profile_doc_id(site))
        if not resp.get("found"):
            return HostProfile(site), None
        version = {"if_seq_no": resp["_seq_no"], "if_primary_term": resp["_primary_term"]}
        return HostProfile.from_source(site, resp["_source"]), version

    def _flush_site(self, site: str, entry: _Entry) -> int:
        if not entry.pending:
            return 0
        profile, version, added = entry.profile, entry.version, len(entry.pending)
        for attempt in range(MAX_CONFLICT_RETRIES):
            source = profile.to_source(self.settings)
            try:
                if version is None:
                    resp = self.es.create(index=self.index, id=profile_doc_id(site), document=source)
                else:
                    resp = self.es.index(index=self.index, id=profile_doc_id(site), document=source, **version)
            except ConflictError:  # another worker wrote since: merge the pending articles into its document
                self.conflicts += 1
                time.sleep(random.uniform(0.5, 1.0) * min(CONFLICT_BACKOFF_S * 2**attempt, CONFLICT_BACKOFF_CAP_S))
                profile, version = self._read(site)
                added = sum(profile.add_article(doc_id, keys, self.settings, signature)
                            for doc_id, keys, signature in entry.pending)
                continue
            entry.profile = profile
            entry.version = {"if_seq_no": resp["_seq_no"], "if_primary_term": resp["_primary_term"]}
            entry.pending.clear()
            return added
        raise RuntimeError(f"profile of {site}: {MAX_CONFLICT_RETRIES} write conflicts in a row")


def load_profile(es: Elasticsearch, alias: str, site: str) -> HostProfile:
    """A stored profile (empty if none), for reading."""
    resp = es.options(ignore_status=404).get(index=profiles_index(alias), id=profile_doc_id(site))
    return HostProfile.from_source(site, resp.get("_source") if resp.get("found") else None)
