"""Learned boilerplate: per-host profiles of recurring text blocks and container structures,
kept in Elasticsearch and applied during cleaning (see docs/learned-boilerplate.md)."""

from pipeline.profiles.apply import (
    LearnedRules,
    NotAnArticle,
    PageKeys,
    PageScan,
    apply_learned,
    held_rules,
    learnable_keys,
    not_article_reason,
)
from pipeline.profiles.model import HostProfile
from pipeline.profiles.overrides import Overrides, load_overrides
from pipeline.profiles.store import ProfileStore, load_profile

__all__ = [
    "HostProfile", "LearnedRules", "NotAnArticle", "Overrides", "PageKeys", "PageScan", "ProfileStore",
    "apply_learned", "held_rules", "learnable_keys", "load_overrides", "load_profile", "not_article_reason",
]
