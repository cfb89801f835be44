"""Crash and resume: `stenogram crawl` killed with SIGKILL at random moments, rerun until done.

After the last run: every WARC passes `warcio check`, no `.open` file remains, the corpus holds
exactly the documents of an uninterrupted crawl, and no transcript page was fetched again
beyond the requests in flight at each kill (from the sample site's request log): "in flight"
is a request sent during the killed run whose page had not been both archived and ingested
(the state row is complete only once the item is through the pipeline).
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from test_operations_support import crawl_args, transcript_targets

pytestmark = [pytest.mark.network, pytest.mark.slow]
VENV_BIN = Path(sys.executable).parent
SIZE, SEED = 30, 5
KILLS = 3


def command(site, out: Path) -> list[str]:
    return [str(VENV_BIN / "stenogram"), *crawl_args(site, out, settings={"CONCURRENT_REQUESTS_PER_DOMAIN": 2})]


def slow_site():
    """Every transcript page takes a little while, so kills land mid-crawl (and mid-write)."""
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    faults = Faults().add("slow", r"\.html?$|/content/id/|/\d{6,}/$", delay=0.25, times=None)
    return SampleSite(port=0, size=SIZE, seed=SEED, faults=faults)


def documents(db: Path) -> list[tuple]:
    """Each document as (date, language, the pages it was built from), ports stripped.

    A resumed crawl sees pages in another order. The corpus breaks canonical ties by source
    rank, length, URL and text hash, but two non-official copies whose texts differ only in
    typography (curly vs straight quotes) share one version, whose wording is still the first
    arrival's; so the title and text are left out here, and the documents themselves, and
    what each is made of, must not differ.
    """
    con = sqlite3.connect(db)
    try:
        pages: dict[int, set] = {}
        for doc, source, url in con.execute("select document_id, source, url from captures where document_id is not null"):
            pages.setdefault(doc, set()).add((source, urlsplit(url).path))
        return sorted((date, language, tuple(sorted(pages.get(doc, ()))))
                      for doc, date, language in con.execute("select id, date, language from documents"))
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    with slow_site() as site:
        proc = subprocess.run(command(site, out), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return documents(out / "corpus.db")


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    out = tmp_path_factory.mktemp("killed")
    rng = random.Random(20261123)
    with slow_site() as site:
        kills, runs, final, in_flight = 0, 0, None, set()
        while runs < KILLS + 5:
            runs += 1
            if kills == KILLS:
                # the kills are done: the rerun needs no slow pages (they only make kills land
                # mid-crawl), and nothing it is checked for depends on the pace
                site.faults = None
            mark = len(site.requests)
            proc = subprocess.Popen(command(site, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
            if kills < KILLS:
                # kill after a random number of answers, so each kill lands mid-crawl however
                # fast the machine is (and, with slow pages and 8 in flight, mid-write)
                wanted = mark + rng.randint(8, 40)
                deadline = time.monotonic() + 60
                while len(site.requests) < wanted and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.3))
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.communicate(timeout=30)
                    kills += 1
                    # in flight at the kill: asked for in this run, but not fetched *and* ingested
                    done = completed_urls(out / "state.db")
                    in_flight |= {(s, t) for s, _m, t, _h in site.requests[mark:]
                                  if site.base_urls[s] + t not in done}
                    continue
            stdout, stderr = proc.communicate(timeout=120)
            final = (proc.returncode, stdout, stderr)
            if proc.returncode == 0:
                break
        yield {"site": site, "out": out, "kills": kills, "final": final, "in_flight": in_flight}


def completed_urls(db: Path) -> set[str]:
    if not db.exists():
        return set()
    con = sqlite3.connect(db)
    try:
        return {row[0] for row in con.execute("select url from urls where complete = 1")}
    finally:
        con.close()


def test_the_rerun_completes(resumed):
    assert resumed["kills"] >= 2  # the kills really interrupted crawls
    rc, stdout, stderr = resumed["final"]
    assert rc == 0, stdout[-2000:] + stderr[-2000:]


def test_nothing_is_owed_after_the_rerun(resumed):
    """Every URL a killed crawl discovered was settled by the rerun (fetched, or not due)."""
    con = sqlite3.connect(resumed["out"] / "state.db")
    try:
        owed = con.execute("select url from frontier limit 5").fetchall()
        incomplete = con.execute("select url from urls where complete = 0 limit 5").fetchall()
    finally:
        con.close()
    assert owed == [] and incomplete == []


def test_every_warc_is_valid_and_nothing_is_left_open(resumed):
    warc_dir = resumed["out"] / "warc"
    assert not list(warc_dir.glob("*.open"))
    warcs = sorted(warc_dir.glob("*.warc.gz"))
    assert len(warcs) >= resumed["kills"] + 1
    for path in warcs:
        check = subprocess.run([str(VENV_BIN / "warcio"), "check", str(path)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, (path.name, check.stdout[-1000:], check.stderr[-1000:])


def test_corpus_equals_an_uninterrupted_crawl(resumed, reference):
    got = documents(resumed["out"] / "corpus.db")
    only_got = sorted(set(got) - set(reference))
    only_ref = sorted(set(reference) - set(got))
    assert got == reference, {"only after kills": only_got[:3], "only uninterrupted": only_ref[:3],
                              "counts": (len(got), len(reference))}


def test_no_page_fetched_twice_beyond_those_in_flight(resumed):
    site = resumed["site"]
    transcripts = {s: transcript_targets(site, s) for s in site.base_urls}
    # a conditional request (If-None-Match) revalidates, it does not fetch the page again
    fetched = Counter((s, t) for s, _m, t, h in site.requests
                      if t in transcripts[s] and "if-none-match" not in h)
    refetched = {key for key, n in fetched.items() if n > 1}
    assert len(fetched) >= 40
    assert refetched <= resumed["in_flight"], sorted(refetched - resumed["in_flight"])[:5]
    # what was in flight is a small part of the crawl (downloads + pages waiting for the pipeline)
    assert len(resumed["in_flight"]) < len(fetched)


_DIES_WHILE_CLOSING = """
import os, sys
from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
from stenogram.archive import cdxj
from stenogram.archive.warc_writer import WarcWriter

def die(self, final_path=None):
    os._exit(9)  # the process dies after the WARC was renamed, before its index was sorted

cdxj.LiveCdxjIndex.close = die
w = WarcWriter(sys.argv[1], "t", hostname="box")
for n in range(5):
    url = f"http://127.0.0.1:8000/en/{n}/"
    w.write_exchange(ArchivedRequest(url, headers=[(b"User-Agent", b"t")]),
                     ArchivedResponse(url, 200, headers=[(b"Content-Type", b"text/html")],
                                      body=b"<p>page %d</p>" % n, ip_address="127.0.0.1"))
w.close()
"""


def test_a_warc_closed_but_not_indexed_gets_its_index(tmp_path):
    """Killed between closing a WARC and sorting its live index (found by tools/torture.py)."""
    from stenogram.archive.cdxj import index_warc
    from stenogram.archive.salvage import salvage_directory

    proc = subprocess.run([sys.executable, "-c", _DIES_WHILE_CLOSING, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr[-2000:]
    [warc] = tmp_path.glob("*.warc.gz")
    assert list(tmp_path.glob("*.cdxj.open")) and not list(tmp_path.glob("*.cdxj"))
    salvage_directory(tmp_path)
    assert not list(tmp_path.glob("*.open"))
    index = warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj")
    expected = tmp_path / "expected.cdxj"
    assert index_warc(warc, expected) >= 5
    assert index.read_text() == expected.read_text()
