"""A crawl and ``stenogram reprocess`` writing one corpus at the same time: both complete.

Before, the crawl stopped with "database is locked" as soon as a reprocess held the write lock
longer than SQLite's default 5 s wait (its batches commit every 1000 captures or 10 s), and a
read-then-write transaction could fail at once when the other side had committed in between.
Now every write transaction begins IMMEDIATE and waits (``corpus.store.BUSY_TIMEOUT``), and a
reprocess that sees another writer on the file keeps its batches short and leaves the lock
free after each commit (``corpus.reprocess``). The result must equal the two runs done apart.
"""
from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import VENV_BIN, crawl_args, stenogram_cmd

pytestmark = [pytest.mark.network, pytest.mark.slow]


def captures(db: Path) -> set[tuple[str, int]]:
    """Captures by URL, and whether each became (part of) a document."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return set(con.execute("select url, document_id is not null from captures"))
    finally:
        con.close()


def reprocess_cmd(db: Path, warc_dir: Path) -> list[str]:
    return [str(VENV_BIN / "stenogram"), "reprocess", "--db", str(db), "-j", "1",
            "--no-progress", str(warc_dir)]


@pytest.fixture(scope="module")
def other_archive(tmp_path_factory):
    """A WARC folder of another copy of the site (other ports, other texts) to reprocess."""
    from stenogram.sample_site.server import SampleSite

    out = tmp_path_factory.mktemp("other")
    with SampleSite(port=0, size=60, seed=3) as site:
        proc = stenogram_cmd(*crawl_args(site, out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out / "warc"


def test_crawl_and_reprocess_share_a_corpus(other_archive, tmp_path):
    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=40, seed=7) as site:
        # apart: the crawl alone, the reprocess alone
        alone = tmp_path / "crawl-alone"
        assert stenogram_cmd(*crawl_args(site, alone)).returncode == 0
        rebuilt = tmp_path / "reprocess-alone.db"
        proc = subprocess.run(reprocess_cmd(rebuilt, other_archive), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        expected = captures(alone / "corpus.db") | captures(rebuilt)

        # together: a slower crawl (so that it is still running), the reprocess started once
        # the crawl's pipeline has the corpus open
        out = tmp_path / "shared"
        crawl = subprocess.Popen(
            [str(VENV_BIN / "stenogram"), *crawl_args(site, out), "-s", "DOWNLOAD_DELAY=0.3",
             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            lock = out / "corpus.db-writers.lock"
            deadline = time.monotonic() + 120
            while not lock.exists() and crawl.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert crawl.poll() is None, "the crawl ended before the reprocess could start"
            reprocess = subprocess.run(reprocess_cmd(out / "corpus.db", other_archive),
                                       capture_output=True, text=True, timeout=600)
            stdout, stderr = crawl.communicate(timeout=600)
        finally:
            if crawl.poll() is None:
                crawl.kill()
                crawl.wait()
    output = stdout + stderr
    assert "database is locked" not in output + reprocess.stderr
    assert crawl.returncode == 0, output[-3000:]
    assert reprocess.returncode == 0, reprocess.stderr[-3000:]
    assert captures(out / "corpus.db") == expected
    con = sqlite3.connect(out / "corpus.db")
    try:  # the full-text index holds every document (not deferred while shared)
        n_docs = con.execute("select count(*) from documents").fetchone()[0]
        n_fts = con.execute("select count(*) from documents_fts where documents_fts match "
                            "'lavrov OR лавров'").fetchone()[0]
        assert con.execute("select value from corpus_meta where key = 'fts_deferred'").fetchone() is None
    finally:
        con.close()
    assert 0 < n_fts <= n_docs
