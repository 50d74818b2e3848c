"""Scale-out: the news_ingest DAG under the LocalExecutor with parallel tasks, against a two-node
local Elasticsearch cluster with one replica, gives the same index as the serial single-node run.

Two hosts (the sample site on 127.0.0.1 and a second copy on 127.0.0.2) make two feed groups, so
the DAG maps two ingest tasks; with LocalExecutor parallelism 2 they run at the same time in
separate worker processes, as on a distributed executor. The cluster is two nodes of the same
distribution on 127.0.0.1 (HTTP ports NEWS_TEST_ES_PORT + 10/11, transport + 110/111).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch

from tests.airflow_local import (
    ExecutionApiServer,
    enable_wal,
    executor_environ,
    free_port,
    overlaps,
    run_with_local_executor,
    task_spans,
)
from tests.conftest import ROOT, TEST_ES_PORT, sample_feeds, write_config

CLUSTER_HTTP_PORT = TEST_ES_PORT + 10
CLUSTER_TRANSPORT_PORT = TEST_ES_PORT + 110
SECOND_HOST = "127.0.0.2"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from pipeline.localnode import LocalCluster

    local = LocalCluster(
        2, http_port=CLUSTER_HTTP_PORT, transport_port=CLUSTER_TRANSPORT_PORT,
        cluster_name="news-pipeline-scaleout-test",
    )
    local.start(fresh=True)
    try:
        yield local
    finally:
        local.stop()
        local.remove_data()


@pytest.fixture(scope="module")
def cluster_es(cluster) -> Iterator[Elasticsearch]:
    client = Elasticsearch(cluster.urls, request_timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def second_site() -> Iterator[str]:
    """The sample site again, on another loopback address: another host, so another feed group."""
    from pipeline.samplesite import SampleSite

    site = SampleSite()
    base_url = site.start(SECOND_HOST, 0)
    try:
        yield base_url
    finally:
        site.stop()


@pytest.fixture
def local_executor(airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Environment for the LocalExecutor plus an Execution API server sharing the metadata DB."""
    assert enable_wal(airflow_db) == "wal"
    port = free_port()
    for key, value in executor_environ(port).items():
        monkeypatch.setenv(key, value)
    with ExecutionApiServer(port, os.environ.copy(), tmp_path / "api-server.log"):
        yield


def _config(directory: Path, *, es_url: str, alias: str, feeds: list[dict], replicas: int) -> Path:
    write_config(directory, es_url=es_url, alias=alias, feeds=feeds, read_timeout_s=30)
    main = yaml.safe_load((directory / "pipeline.yaml").read_text(encoding="utf-8"))
    main["elasticsearch"]["number_of_replicas"] = replicas
    main["ingest"] = {"max_feed_groups": 4}
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(main), encoding="utf-8")
    return directory


def _feeds(first_site: str, second_site: str, *, meet: str, parties: int) -> list[dict]:
    """rss on host 1, atom on host 2, and on each host a feed listing that host's RSS entries again
    that the sample site answers only once ``parties`` requests for ``meet`` have arrived (at most
    20 s): with 2, each ingest task's last fetch waits until the other task is fetching too, so the
    tasks overlap however far apart the executor starts them, up to 20 s (a fixed delay of 1.5 s,
    later 2.5 s, made the overlap depend on that gap). With 1 (the serial run) it answers at once."""
    [rss] = sample_feeds(first_site, "rss")
    [atom] = sample_feeds(second_site, "atom")
    atom["allow_networks"] = [f"{SECOND_HOST}/32"]
    query = f"seconds=20&meet={meet}&parties={parties}"
    slow = [
        {**rss, "name": f"slow-{n}", "url": f"{base}/faults/slow.xml?{query}", "allow_networks": [net]}
        for n, (base, net) in enumerate([(first_site, "127.0.0.1/32"), (second_site, f"{SECOND_HOST}/32")], 1)
    ]
    return [rss, atom, *slow]


def _snapshot(es: Elasticsearch, alias: str) -> dict[str, Any]:
    """What a user sees: document ids, counts, search hits, and each document's content."""
    es.indices.refresh(index=alias)
    docs = {}
    resp = es.search(index=alias, query={"match_all": {}}, size=1000)
    for hit in resp["hits"]["hits"]:
        src = hit["_source"]
        docs[hit["_id"]] = {
            "index": hit["_index"],
            "url": src.get("canonical_url"),
            "title": src.get("title"),
            "body_sha1": hashlib.sha1(src.get("body", "").encode()).hexdigest(),
            "lang": src.get("lang"),
            "published_at": src.get("published_at"),
            "site": src.get("site"),
            "host": src.get("host"),
            "feed": src.get("feed"),
            "entities": sorted(e.get("name", "") for e in src.get("entities") or []),
        }
    search = {
        q: sorted(h["_id"] for h in es.search(index=alias, query={"match": {"body_de": q}}, size=100)["hits"]["hits"])
        for q in ("Tokajew", "Proteste Kasachstan", "OVKS")
    }
    return {"count": es.count(index=alias)["count"], "docs": docs, "search": search}


def test_cluster_layout_rejects_overlapping_ports() -> None:
    from pipeline.localnode.cluster import ClusterLayout

    assert ClusterLayout(2, 9200, 9300, "c").seed_hosts == ["127.0.0.1:9300", "127.0.0.1:9301"]
    with pytest.raises(ValueError, match="overlap"):
        ClusterLayout(3, 9200, 9201, "c")
    with pytest.raises(ValueError, match="at least one node"):
        ClusterLayout(0, 9200, 9300, "c")


def test_two_node_cluster_forms_and_places_replicas_on_the_other_node(cluster, cluster_es) -> None:
    health = cluster.wait_for("green")
    assert health["number_of_nodes"] == 2 and health["cluster_name"] == "news-pipeline-scaleout-test"
    names = {n["name"] for n in cluster_es.cat.nodes(format="json", h="name")}
    assert names == {f"node-{CLUSTER_HTTP_PORT}", f"node-{CLUSTER_HTTP_PORT + 1}"}
    cluster_es.indices.create(index="replica-probe", settings={"number_of_shards": 1, "number_of_replicas": 1})
    try:
        cluster.wait_for("green", indices="replica-probe", timeout=60)
        shards = cluster_es.cat.shards(index="replica-probe", format="json", h="prirep,state,node")
        assert sorted(s["prirep"] for s in shards) == ["p", "r"]
        assert {s["state"] for s in shards} == {"STARTED"}
        assert len({s["node"] for s in shards}) == 2
    finally:
        cluster_es.indices.delete(index="replica-probe")


def test_cli_reports_both_nodes_of_the_cluster(cluster, capsys) -> None:
    import json

    from pipeline.localnode.cli import main

    argv = ["status", "--nodes", "2", "--port", str(CLUSTER_HTTP_PORT), "--transport-port",
            str(CLUSTER_TRANSPORT_PORT), "--cluster-name", "news-pipeline-scaleout-test"]
    assert main(argv) == 0
    status = json.loads(capsys.readouterr().out)
    assert [n["node_name"] for n in status["nodes"]] == [f"node-{CLUSTER_HTTP_PORT}", f"node-{CLUSTER_HTTP_PORT + 1}"]
    assert all(n["running"] and n["cluster_name"] == "news-pipeline-scaleout-test" for n in status["nodes"])
    assert status["health"]["number_of_nodes"] == 2
    # a port range where no node of this cluster runs is reported as not running, not as an error
    assert main(["status", "--nodes", "2", "--port", str(CLUSTER_HTTP_PORT + 2), "--transport-port",
                 str(CLUSTER_TRANSPORT_PORT + 2), "--cluster-name", "news-pipeline-scaleout-test"]) == 0
    assert json.loads(capsys.readouterr().out)["running"] is False


def test_parallel_dag_on_two_node_cluster_matches_serial_single_node_run(
    es, es_url, sample_site, second_site, alias, cluster, cluster_es, local_executor, tmp_path, monkeypatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from pipeline.samplesite.server import MEETING_POINT

    dag = DagBag(str(ROOT / "dags")).get_dag("news_ingest")
    meet = f"scaleout-{alias}"

    # reference: the normal single-node test node, no replicas, tasks one after another (dag.test())
    feeds = _feeds(sample_site, second_site, meet=f"{meet}-serial", parties=1)
    single_dir = _config(tmp_path / "single", es_url=es_url, alias=alias, feeds=feeds, replicas=0)
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(single_dir))
    serial = dag.test()
    assert serial.state == DagRunState.SUCCESS, f"serial run: {task_spans(serial)}"
    reference = _snapshot(es, alias)

    # the same feeds into the two-node cluster with one replica, mapped tasks in parallel
    feeds = _feeds(sample_site, second_site, meet=f"{meet}-parallel", parties=2)
    cluster_dir = _config(tmp_path / "cluster", es_url=cluster.url, alias=alias, feeds=feeds, replicas=1)
    monkeypatch.setenv("NEWS_CONFIG_DIR", str(cluster_dir))
    parallel = run_with_local_executor(dag, parallelism=2)
    mapped = [s for s in task_spans(parallel) if s.map_index >= 0]
    spans = [(s.map_index, s.state, f"{s.start:%H:%M:%S.%f}", f"{s.end:%H:%M:%S.%f}", s.pid) for s in mapped]
    assert parallel.state == DagRunState.SUCCESS, f"parallel run: {task_spans(parallel)}"
    # both meeting feeds were requested (that they met, i.e. overlapped, is asserted below)
    assert MEETING_POINT.arrived(f"{meet}-parallel") == 2, f"mapped tasks {spans}"

    # every index the run wrote (articles, feed state, run log) has its replica: the cluster is green
    health = cluster.wait_for("green", indices=f"{alias}*", timeout=60)
    assert health["active_shards"] == 2 * health["active_primary_shards"] > 0
    shards = cluster_es.cat.shards(index=f"{alias}*", format="json", h="index,prirep,node")
    by_index: dict[str, set[str]] = {}
    for shard in shards:
        by_index.setdefault(shard["index"], set()).add(shard["node"])
    assert by_index and all(len(nodes) == 2 for nodes in by_index.values())  # primary and replica apart

    result = _snapshot(cluster_es, alias)
    # rss (4 entries) on host 1, atom (3 entries) on host 2, one of them with tracking parameters;
    # slow-1 lists host 1's RSS articles again (no new document), slow-2 host 2's, of which 2 are
    # atom's articles already: 4 + 3 + 2
    assert reference["count"] == 9
    assert result["count"] == reference["count"]
    assert result["docs"].keys() == reference["docs"].keys()
    differing = {k: (reference["docs"][k], v) for k, v in result["docs"].items() if v != reference["docs"][k]}
    assert not differing, f"documents differ (reference, parallel): {differing}"
    assert result["search"] == reference["search"] and all(result["search"].values())
    assert {d["host"] for d in result["docs"].values()} == {"127.0.0.1", SECOND_HOST}

    # the two mapped ingest tasks really ran at the same time, in different processes
    assert len(mapped) == 2 and {s.state for s in mapped} == {"success"}, f"mapped tasks {spans}"
    pairs = overlaps(mapped)
    assert pairs, f"mapped tasks did not overlap: {spans}"
    assert len({s.pid for s in mapped}) == 2, f"mapped tasks {spans}"
    print(
        "parallel mapped tasks: "
        + ", ".join(f"{s.task_id}[{s.map_index}] {s.start:%H:%M:%S.%f}-{s.end:%H:%M:%S.%f}" for s in mapped)
        + f"; overlap {pairs[0][2]:.2f}s"
    )
    cluster_es.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
