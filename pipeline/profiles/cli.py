"""Commands for learned profiles, reprocessing and quality canaries (wired into ``pipeline.cli``):

- ``python -m pipeline quality [--site S] [--runs N]``: each site's canary trend and alerts;
- ``python -m pipeline reprocess [--site S] [--dry-run]``: re-clean archived pages, update changed docs;
- ``python -m pipeline profiles show [--site S]``: a site's profile and learned rules.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _client(args: argparse.Namespace) -> tuple[Any, Any]:
    from pipeline.clierrors import checked_client
    from pipeline.config import load_settings

    settings = load_settings(args.config)
    return settings, checked_client(settings.elasticsearch)


def _cmd_quality(args: argparse.Namespace) -> int:
    from pipeline.profiles.canaries import format_trend, quality_trend

    settings, es = _client(args)
    trend = quality_trend(es, settings.elasticsearch.index_alias, site=args.site, runs=args.runs)
    print(json.dumps(trend, indent=2, ensure_ascii=False) if args.json else format_trend(trend))
    return 0


def _cmd_reprocess(args: argparse.Namespace) -> int:
    from pipeline.run.reprocess import reprocess

    settings, es = _client(args)
    result = reprocess(es, settings, site=args.site, dry_run=args.dry_run)
    print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from pipeline.index.names import profiles_index
    from pipeline.profiles import load_profile

    settings, es = _client(args)
    alias = settings.elasticsearch.index_alias
    if args.site:
        sites = [args.site]
    else:
        # profiles are written and read by id; a search sees the last writes only after a refresh
        es.options(ignore_status=404).indices.refresh(index=profiles_index(alias))
        resp = es.options(ignore_status=404).search(index=profiles_index(alias), size=500, source_includes=["site"])
        sites = sorted(h["_source"]["site"] for h in resp.get("hits", {}).get("hits", []))
    if not sites:
        print("no profiles yet (they are written by every ingestion run)")
    for site in sites:
        profile = load_profile(es, alias, site)
        learned = profile.learned(settings.profiles)
        threshold = profile.threshold(settings.profiles)
        print(f"== {site}: {profile.articles} articles in {profile.stories} stories, {len(profile.counts)} keys, "
              f"{len(learned)} learned rules"
              + (f" (threshold {threshold:.1f} stories)" if threshold else
                 f" (nothing learned before {settings.profiles.min_articles} stories)"))
        for key in sorted(learned, key=lambda k: (-profile.counts[k], k)):
            share = profile.counts[key] / profile.stories if profile.stories else 0.0
            print(f"  learned:{key}  {share:4.0%}  {profile.samples.get(key, '')[:100]}")
    return 0


def add_commands(sub: Any) -> None:
    quality = sub.add_parser("quality", help="extraction-quality canaries: each site's trend and alerts")
    quality.add_argument("--site", help="only this site")
    quality.add_argument("--runs", type=int, default=10, help="runs per site (default 10)")
    quality.add_argument("--json", action="store_true")
    quality.set_defaults(func=_cmd_quality)

    again = sub.add_parser("reprocess", help="re-clean archived raw pages with current rules; update changed articles")
    again.add_argument("--site", help="only pages of this site")
    again.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
    again.set_defaults(func=_cmd_reprocess)

    profiles = sub.add_parser("profiles", help="learned boilerplate profiles")
    profiles_sub = profiles.add_subparsers(dest="profiles_command", required=True)
    show = profiles_sub.add_parser("show", help="a site's profile and its learned rules (names for pin/veto)")
    show.add_argument("--site", help="only this site")
    profiles.set_defaults(func=_cmd_profiles)

