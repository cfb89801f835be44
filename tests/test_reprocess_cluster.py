"""`stenogram reprocess --cluster`: extraction on a real Dask cluster, the corpus a local run makes.

A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (tests/dask_support.py)
rebuild the demo's WARCs (every source, a silent edit, revisit records of the recrawl). The
corpus must equal the one ``reprocess -j 1`` makes, row for row and id for id (documents,
versions, captures with their provenance), and a rerun must find everything already there. A
worker killed with SIGKILL at a seeded moment, while it holds chunks, must not lose or
duplicate a capture: the scheduler re-runs its chunks on the other worker and the writer
ingests each chunk once, in order. ``STENOGRAM_KILL_SEED`` picks another moment and victim.

Under both, the writer's planning scan and the workers' reads (archive/ranges.py) must give
exactly the captures and reader counts of ``iter_captures``, also on damaged WARCs (property
test, no cluster).
"""
from __future__ import annotations

import io
import os
import random
import re
import socket
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import stenogram_cmd
from dask_support import LocalDaskCluster
from test_reader import EN_URL, RU_URL, make_sample_warc, write_exchange

pytestmark = [pytest.mark.network]

TABLES = ("documents", "versions", "captures")


def corpus_rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of the corpus tables, in id order."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    finally:
        con.close()


def summary_line(stdout: str) -> str:
    """reprocess's summary without its elapsed time."""
    return re.sub(r" \(\d+\.\d s\)$", "", stdout.strip().splitlines()[0])


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The demo's WARC folder: all sources crawled, one transcript edited, mid recrawled."""
    out = tmp_path_factory.mktemp("demo")
    proc = stenogram_cmd("demo", "--data", str(out), "--size", "8")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / "warc"


@pytest.fixture(scope="module")
def local(archive, tmp_path_factory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("local") / "corpus.db"
    proc = stenogram_cmd("reprocess", "--db", str(db), "-j", "1", "--no-progress", str(archive))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = corpus_rows(db)
    assert len(rows["documents"]) >= 12
    assert len(rows["versions"]) > len(rows["documents"])  # the silent edit
    assert len({row[1] for row in rows["captures"]}) < len(rows["captures"])  # the recrawl
    return db, summary_line(proc.stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One scheduler and two workers for the module (the last test kills a worker)."""
    with LocalDaskCluster(tmp_path_factory.mktemp("dask"), workers=2) as cluster:
        yield cluster


def test_cluster_rebuild_equals_local_and_rerun_adds_nothing(archive, local, cluster, tmp_path):
    local_db, local_summary = local
    db = tmp_path / "cluster.db"
    # chunks of 32 (the default is 256): several tasks, on both workers, taken back in order
    cmd = ("reprocess", "--db", str(db), "--cluster", cluster.address, "--no-progress",
           "--chunk-size", "32", str(archive))
    proc = stenogram_cmd(*cmd)
    assert proc.returncode == 0, proc.stderr[-3000:] + cluster.log("w0")[-2000:]
    assert corpus_rows(db) == corpus_rows(local_db)
    assert summary_line(proc.stdout) == local_summary

    again = stenogram_cmd(*cmd)
    assert again.returncode == 0, again.stderr[-3000:]
    n = len(corpus_rows(local_db)["captures"])
    assert f"{n} captures read, 0 skipped corrupt, {n} already in the corpus" in again.stdout
    assert "0 new documents, 0 new versions" in again.stdout
    assert corpus_rows(db) == corpus_rows(local_db)


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_the_cluster_runs_with_the_recipes_dask_settings(cluster):
    """tools/dask/stenogram.yaml names settings Dask has (Dask takes any key, so a misspelt one
    would silently change nothing) and the scheduler and workers started as the README says
    run with them."""
    import dask
    import distributed  # noqa: F401  (registers its defaults with dask.config)
    import yaml
    from dask_support import DASK_CONFIG

    from stenogram.corpus.cluster import connect

    ours = _flat(yaml.safe_load((DASK_CONFIG / "stenogram.yaml").read_text()))
    defaults: dict = {}
    for tree in dask.config.defaults:
        dask.config.update(defaults, tree)
    assert {key: dask.config.get(key, None, config=defaults) is not None for key in ours} == \
        {key: True for key in ours}
    assert ours["distributed.worker.profile.enabled"] is False
    client = connect(cluster.address)
    try:
        def view():
            import dask
            return {key: dask.config.get(key) for key in ours}

        assert list(client.run(view).values()) == [ours, ours]
        assert client.run_on_scheduler(view) == ours
    finally:
        client.close()


def test_workers_that_cannot_read_the_warcs_are_refused(cluster, tmp_path):
    from stenogram.corpus.cluster import ClusterError, check_workers, connect

    client = connect(cluster.address)
    try:
        with pytest.raises(ClusterError, match="cannot read 1 of the WARC files .*same path"):
            check_workers(client, [str(tmp_path / "only-on-the-writer.warc.gz")])
    finally:
        client.close()


def test_unreachable_scheduler_is_one_line_and_creates_nothing(archive, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "corpus.db"
    proc = stenogram_cmd("reprocess", "--db", str(db), "--cluster", f"tcp://127.0.0.1:{port}",
                         str(archive), env={**os.environ,
                                            "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert proc.returncode == 69, proc.stderr[-2000:]
    assert proc.stderr.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not db.exists()


def test_worker_killed_mid_run_loses_and_duplicates_nothing(archive, local, cluster, tmp_path):
    from stenogram.archive.reader import ReadStats
    from stenogram.corpus.cluster import connect, reprocess_on_cluster
    from stenogram.archive.reader import expand_warc_paths
    from stenogram.corpus.store import Corpus

    local_db, _ = local
    total = len(corpus_rows(local_db)["captures"])
    rng = random.Random(int(os.environ.get("STENOGRAM_KILL_SEED", "15")))
    kill_after = rng.randrange(total // 6, total // 2)  # captures ingested before the kill
    db = tmp_path / "cluster.db"
    client = connect(cluster.address)
    try:
        client.wait_for_workers(2, timeout=60)
        names = {addr: w["name"] for addr, w in client.scheduler_info()["workers"].items()}
        ingested, killed = 0, {}

        def progress(n: int) -> None:
            nonlocal ingested
            ingested += n
            if killed or ingested < kill_after:
                return
            busy = {addr: keys for addr, keys in client.processing().items() if keys}
            if not busy:
                return  # between two chunks: try at the next one
            victim = rng.choice(sorted(busy))
            cluster.kill_worker(int(names[victim][1:]))
            killed[victim] = busy[victim]

        with Corpus(db) as corpus:
            summary = reprocess_on_cluster(corpus, expand_warc_paths([archive]), client,
                                           stats=ReadStats(), chunk_size=4, progress=progress)
        survivors = set(client.scheduler_info()["workers"])
    finally:
        client.close()
    assert killed, f"no worker was busy after {kill_after} captures"
    victim = next(iter(killed))
    assert victim not in survivors and len(survivors) == 1
    rows = corpus_rows(db)
    record_ids = [row[9] for row in rows["captures"]]
    assert len(record_ids) == len(set(record_ids)) == total
    assert rows == corpus_rows(local_db)
    assert summary.captures_read == total and summary.already_ingested == 0


# ------------------------------------------------------------ planned reads = iter_captures


def _archive_with_everything(folder: Path, plain: bool) -> None:
    """A revisit whose original is in a later file, the sample crawl (gzip or plain), a response
    whose gzip coding is broken, a file that is not a WARC, and a backfill's pages with and
    without their provenance records."""
    make_sample_warc(folder / "b.warc" if plain else folder / "b.warc.gz", gzip_records=not plain)
    with open(folder / "a.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        for original_date in ("2024-04-12T15:38:00Z", "2020-01-01T00:00:00Z"):  # found, not
            w.write_record(w.create_revisit_record(
                EN_URL, digest="sha1:NOTINTHEARCHIVE", refers_to_uri=EN_URL,
                refers_to_date=original_date,
                http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"}))
    with open(folder / "c.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        write_exchange(w, RU_URL, "200 OK", [("Content-Type", "text/html"),
                                             ("Content-Encoding", "gzip")],
                       b"<html>not gzipped</html>", "2024-04-12T15:39:00Z")
    (folder / "d.warc.gz").write_bytes(b"url,title\nhttps://mid.ru/,x\n")
    with open(folder / "e.warc.gz", "wb") as fh:  # a backfill: pages fetched from a web archive
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        info = w.create_warcinfo_record("e.warc.gz", {"spider": "backfill", "jobId": "bf-1"})
        w.write_record(info)
        link = {"WARC-Warcinfo-ID": info.rec_headers.get_header("WARC-Record-ID")}
        for n, with_provenance in enumerate((True, False, True)):
            archived = f"https://web.archive.org/web/2016{n}id_/{EN_URL}?n={n}"
            resp = w.create_warc_record(
                archived, "response", payload=io.BytesIO(b"<p>Lavrov</p>"), length=13,
                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                              protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": f"2024-07-0{n + 1}T00:00:00Z", **link})
            w.write_record(resp)
            if with_provenance:
                facts = (f"x-stenogram-original-url: {EN_URL}?n={n}\r\nx-stenogram-original-date:"
                         f" 2016-0{n + 1}-01T00:00:00Z\r\nx-stenogram-archive: "
                         f"https://web.archive.org/web/\r\nx-stenogram-source: mid\r\n")
                w.write_record(w.create_warc_record(
                    archived, "metadata", payload=io.BytesIO(facts.encode()),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={"WARC-Concurrent-To": resp.rec_headers.get_header(
                        "WARC-Record-ID"), **link}))


@given(plain=st.booleans(), damage=st.sampled_from(["none", "smash", "truncate", "garbage"]),
       where=st.floats(0.05, 0.95), victim=st.sampled_from(["a", "b", "c", "e"]))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_planned_reads_are_iter_captures(tmp_path_factory, plain, damage, where, victim):
    from dataclasses import asdict

    from stenogram.archive.ranges import plan_captures, read_refs
    from stenogram.archive.reader import ReadStats, iter_captures

    folder = tmp_path_factory.mktemp("warcs")
    _archive_with_everything(folder, plain)
    path = next(folder.glob(f"{victim}.warc*"))
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    if damage == "smash":
        data[at:at + 16] = b"\x00" * 16
    elif damage == "truncate":
        del data[at:]
    elif damage == "garbage":
        data[at:at] = b"this is not a record\r\n" * 8
    path.write_bytes(bytes(data))

    local = ReadStats()
    expected = [asdict(c) for c in iter_captures([folder], local)]
    if damage == "none":  # the archive has every case in it
        assert {"not-a-warc", "bad-content-encoding", "revisit-unresolved",
                "no-provenance"} <= set(local.skipped)
        assert sum(c["via"] is not None for c in expected) == 2
    planned, read = ReadStats(), ReadStats()
    got = [asdict(c) for c in read_refs(list(plan_captures([folder], planned)), read) if c]
    assert got == expected
    assert (planned.files, planned.records) == (local.files, local.records)
    assert (read.captures, read.revisits_resolved) == (local.captures, local.revisits_resolved)
    assert planned.skipped + read.skipped == local.skipped
