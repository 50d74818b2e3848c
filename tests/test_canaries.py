"""Quality canaries against the real local Elasticsearch and two real Kreisbote fixture servers:
four runs each; before the fourth, one site is "redesigned" (same articles, the text now rendered
by a client-side app, so extraction finds only the lead). That site's canary fires on the median
body length; the unchanged site raises nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from pipeline.cli import main as cli_main
from pipeline.config import CanarySettings
from pipeline.index.names import runlog_index
from pipeline.profiles.canaries import SiteRun, judge, quality_document
from pipeline.run.ingest import ingest_feed
from pipeline.samplesite.learnsite import LearnSite
from tests.learnsite_helpers import learn_feed, setup_config


@pytest.fixture
def two_sites() -> Iterator[tuple[LearnSite, LearnSite]]:
    with LearnSite() as steady, LearnSite() as changing:
        yield steady, changing


def test_redesign_fires_the_canary_and_an_unchanged_site_raises_nothing(
    es, es_url, alias, tmp_path, two_sites, caplog, capsys
) -> None:
    steady, changing = two_sites
    batches = [(0, 8), (8, 16), (16, 24), (24, 32)]
    feeds = []
    for k, (lo, hi) in enumerate(batches, 1):
        feeds.append(learn_feed(f"steady-{k}", steady.feed_url(lo, hi), "steady.example"))
        feeds.append(learn_feed(f"changing-{k}", changing.feed_url(lo, hi), "changing.example"))
    settings, client = setup_config(tmp_path, es_url, alias, feeds)
    by_name = {f.name: f for f in settings.feeds}
    for k in (1, 2, 3):
        for name in (f"steady-{k}", f"changing-{k}"):
            report = ingest_feed(by_name[name], settings, es=client, run_id=f"run-{k}")
            assert report.created == 8 and report.quality_alerts == 0, name

    changing.redesign = True
    caplog.set_level(logging.WARNING, logger="pipeline.profiles.canaries")
    steady_report = ingest_feed(by_name["steady-4"], settings, es=client, run_id="run-4")
    changing_report = ingest_feed(by_name["changing-4"], settings, es=client, run_id="run-4")
    assert steady_report.created == 8 and changing_report.created == 8  # still indexed, only worse
    assert steady_report.quality_alerts == 0
    assert changing_report.quality_alerts >= 1

    alerts = [h["_source"] for h in es.search(
        index=runlog_index(alias), size=50, query={"term": {"kind": "quality-alert"}})["hits"]["hits"]]
    assert {a["site"] for a in alerts} == {"changing.example"}
    with capsys.disabled():
        print("\n" + "\n".join(a["message"] for a in alerts))
    body = next(a for a in alerts if a["metric"] == "median_body_chars")
    assert body["run_id"] == "run-4" and body["old_value"] > 1500 and body["new_value"] < 0.5 * body["old_value"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("changing.example" in w and "median_body_chars" in w for w in warnings)
    assert not any("steady.example" in w for w in warnings)

    # four quality records per site, with the numbers the history is made of
    quality = [h["_source"] for h in es.search(
        index=runlog_index(alias), size=50, query={"term": {"kind": "quality"}})["hits"]["hits"]]
    assert sorted((q["site"], q["run_id"]) for q in quality) == sorted(
        (s, f"run-{k}") for s in ("steady.example", "changing.example") for k in (1, 2, 3, 4))
    for q in quality:
        assert q["articles"] == 8 and q["share_no_date"] == 0 and q["share_other_lang"] == 0
        assert q["main_lang"] == "de" and q["share_failed"] == 0

    capsys.readouterr()
    assert cli_main(["--config", settings.config_dir, "quality", "--site", "changing.example"]) == 0
    out = capsys.readouterr().out
    assert "== changing.example" in out and "ALERT" in out and "median_body_chars" in out
    assert "steady.example" not in out
    assert cli_main(["--config", settings.config_dir, "quality"]) == 0
    out = capsys.readouterr().out
    assert "== steady.example" in out and out.count("ALERT") == changing_report.quality_alerts


def _doc(median: float, **shares: float) -> dict:
    run = SiteRun("s")
    run.body_lengths = [int(median)] * 10
    run.langs.update({"de": 10})
    doc = quality_document(run, "de")
    doc.update(shares)
    return doc


def test_judge_needs_history_and_uses_the_configured_bands() -> None:
    settings = CanarySettings(min_history_runs=3, body_drop_ratio=0.5, share_tolerance=0.25)
    history = [_doc(2000), _doc(2200), _doc(1800)]
    assert judge(_doc(1000), history[:2], settings) == []          # too little history
    assert judge(_doc(950), history, settings) == []               # 950 >= 0.5 * 1800
    [alert] = judge(_doc(800), history, settings)
    assert (alert.metric, alert.old_value, alert.new_value) == ("median_body_chars", 2000.0, 800.0)
    assert "site s: median_body_chars moved from 2e+03" in alert.message
    [alert] = judge(_doc(2000, share_no_date=0.4), history, settings)
    assert alert.metric == "share_no_date"
    assert judge(_doc(2000, share_no_date=0.2), history, settings) == []
    few = _doc(100)
    few["pages"] = 2
    assert judge(few, history, settings) == []                      # below min_articles pages
