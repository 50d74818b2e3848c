"""Ctrl-C in a command-line backfill: a clean stop (no traceback), the partition in progress
recorded as "interrupted" (not a library's error text), and the next run resumes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pipeline.backfill import state
from pipeline.cli import main as cli_main
from pipeline.index.names import backfill_index
from pipeline.samplesite import SampleSite
from pipeline.samplesite.archive import day_entries
from tests.backfill_helpers import DAYS, FROM, TO, archive_source, backfill_config

ROOT = Path(__file__).resolve().parent.parent


def _status(es, alias: str, day) -> str | None:
    # 503 while the state index the subprocess just created is still recovering its shard
    doc = es.options(ignore_status=(404, 503)).get(index=backfill_index(alias), id=state.partition_id("archive", day))
    return doc.get("_source", {}).get("status") if doc.get("found") else None


def test_ctrl_c_stops_cleanly_records_interrupted_and_the_rerun_resumes(es, es_url, alias, tmp_path, capsys) -> None:
    with SampleSite() as site:
        config_dir = backfill_config(tmp_path / "config", es_url=es_url, alias=alias, base_url=site.base_url,
                                     sources=[archive_source(site.base_url)])
        main = yaml.safe_load((config_dir / "pipeline.yaml").read_text())
        main["http"]["per_host_min_interval_s"] = 1.0  # a page a second: the run is still busy when interrupted
        (config_dir / "pipeline.yaml").write_text(yaml.safe_dump(main))
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--config", str(config_dir), "backfill", "--from", FROM, "--to", TO],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 120
        while _status(es, alias, DAYS[0]) != "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _status(es, alias, DAYS[0]) == "running", "the backfill never started its first partition"
        time.sleep(1.5)  # in the middle of the first day's pages
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "interrupted" in err
        assert _status(es, alias, DAYS[0]) == "interrupted"

        capsys.readouterr()
        assert cli_main(["--config", str(config_dir), "backfill", "--from", FROM, "--to", TO, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert {p["status"] for p in result["partitions"]} == {"done"}
        assert all(_status(es, alias, day) == "done" for day in DAYS)
        es.indices.refresh(index=alias)
        assert es.count(index=alias)["count"] == sum(len(day_entries(day)) for day in DAYS)
