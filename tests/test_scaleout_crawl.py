"""Many `stenogram crawl --redis` workers on one real redis-server: issue 15 parts 1, 3, 4, 6.

Everything runs for real on loopback: the sample site, a ``redis-server`` started by the test
(tests/redis_support.py; AOF on, as the README's recipe runs it), worker processes started with
the console script, the corpus built by the single writer (``stenogram reprocess`` over every
worker's WARC folder). Each multi-worker crawl is compared with a one-process crawl of the same
site (no Redis) by tools/torture.py's comparison: documents by normalised-text hash and URLs,
each document's canonical URL and canonical version, versions, capture facts, archived URLs,
dangling revisits and no ``.open`` WARC left.
Delays are scaled down (``DOWNLOAD_DELAY`` 0.05 s, one request at a time per host) and so is
the lease (3 s, renewed every second), so a dead worker's requests come back within seconds. ``SCALEOUT_SEED``
picks other kill moments (the default, 15, is what CI runs), ``SCALEOUT_LEASE`` another lease,
``SCALEOUT_LOG=DEBUG`` makes the workers' logs say where each request
went.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import torture  # noqa: E402  (tools/ is not a package)

from redis_support import RedisServer, redis_server  # noqa: E402,F401  (the fixture)
from redis_support import worker_fetches, worker_stat  # noqa: E402

from frontier_contract import (  # noqa: E402
    SCHEDULES, check_owes_what_was_enqueued_and_not_done, check_round_trip_and_walks, entry)

pytestmark = [pytest.mark.network]

SIZE = 40
# the host budget's places are leased too (HOST_BUDGET_LEASE, live 90 s): scaled with the rest, or
# a place held by a killed worker (or released while Redis was down) would stall a host 90 s
SCALED = {"DOWNLOAD_DELAY": 0.05, "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "STENOGRAM_REDIS_LEASE": float(os.environ.get("SCALEOUT_LEASE", 3.0)),
          "HOST_BUDGET_LEASE": 5.0, "DOWNLOAD_TIMEOUT": 5,
          "STENOGRAM_REDIS_POLL": 0.1, "LOG_LEVEL": os.environ.get("SCALEOUT_LOG", "INFO")}


def worker_command(site, out: Path, redis_url: str | None, extra: dict | None = None) -> list[str]:
    cmd = torture.crawl_command(site, out, {**SCALED, **(extra or {})}) + ["--no-progress"]
    return cmd + (["--redis", redis_url] if redis_url else [])


def rebuild(outs: list[Path], db: Path) -> str:
    """The single corpus writer: one `reprocess` (which salvages what dead workers left open);
    its output."""
    proc = subprocess.run([str(torture.VENV_BIN / "stenogram"), "reprocess", "--db", str(db),
                           *[str(o / "warc") for o in outs if (o / "warc").exists()]],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def snapshot(outs: list[Path], db: Path) -> torture.Snapshot:
    facts = torture.corpus_facts(db)
    archived, problems = set(), []
    for out in outs:
        got, found = torture.warc_facts(out / "warc", check=False)
        archived |= got
        problems += found
    return torture.Snapshot(facts.documents, facts.versions, facts.n_versions, facts.captures, archived,
                            facts.n_documents, problems, facts.canonical)


fetches = worker_fetches


def wait_until_holding(url: str, pid: int, timeout: float) -> bool:
    """Wait until the worker process ``pid`` holds a lease (its id is HOST-PID); False if it
    never did within ``timeout``."""
    import socket

    from stenogram.crawler.redis_frontier import client

    worker = re.sub(r"[^A-Za-z0-9.-]+", "-", f"{socket.gethostname()}-{pid}")[:64]
    r = client(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(worker in r.hvals(key) for key in r.scan_iter("stenogram:*:holder")):
            return True
        time.sleep(0.02)
    return False


def last_responses(out: Path) -> set[str]:
    """The URL of the last response record of each of a worker's WARC files."""
    from warcio.archiveiterator import ArchiveIterator

    last = set()
    for path in sorted((out / "warc").glob("*.warc.gz")):
        url = None
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "revisit"):
                    url = record.rec_headers.get_header("WARC-Target-URI")
        if url:
            last.add(url)
    return last


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sample site and a one-process crawl of it (no Redis), rebuilt by the same writer."""
    from stenogram.sample_site.server import SampleSite

    work = tmp_path_factory.mktemp("scaleout")
    site = SampleSite(port=0, size=SIZE, seed=1).start()
    try:
        out = work / "one-process"
        start = time.monotonic()
        proc = subprocess.run(worker_command(site, out, None), capture_output=True, text=True, timeout=300)
        seconds = time.monotonic() - start
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert "Disabled" not in proc.stdout + proc.stderr  # the Redis parts stay silent without --redis
        rebuild([out], work / "one-process.db")
        live = torture.corpus_facts(out / "corpus.db")
        yield {"site": site, "snapshot": snapshot([out], work / "one-process.db"), "live": live,
               "fetches": fetches([out]), "seconds": seconds}
    finally:
        site.stop()


def compare(reference, outs: list[Path], db: Path) -> list[str]:
    got = snapshot(outs, db)
    found = torture.differences(reference["snapshot"], got)
    live = reference["live"]
    if got.documents != live.documents or got.versions != live.versions:  # the live corpus, too
        found.append("documents or versions differ from the one-process crawl's live corpus")
    if got.canonical != live.canonical:
        found.append(f"{len(live.canonical - got.canonical)} canonical URLs or versions differ from "
                     "the one-process crawl's live corpus")
    return found


#: every worker process a test started: killed (its whole process group) at the test's teardown,
#: whatever happened, so no worker outlives its test (an orphan once ran 35 min)
STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def kill_workers_at_teardown():
    try:
        yield
    finally:
        while STARTED:
            proc = STARTED.pop()
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)


def start_workers(site, outs, url, extra=None) -> list[subprocess.Popen]:
    procs = []
    for out in outs:  # each in its own process group (start_new_session): killpg reaches its children
        procs.append(subprocess.Popen(worker_command(site, out, url, extra), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, start_new_session=True))
        STARTED.append(procs[-1])
    return procs


def finish(procs, timeout=240) -> list[tuple[int, str]]:
    results = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            out += "\n[killed by the test: timeout]"
        results.append((proc.returncode, out))
    return results


def stats_of(out: Path) -> dict:
    """The numbers a worker's log ends with (Scrapy's stats dump), summed over its spiders."""
    return Counter({key: worker_stat(out, key) for key in (
        "stenogram/redis/reclaimed", "stenogram/redis/archived_not_refetched",
        "scheduler/dequeued/redis", "stenogram/redis/local", "stenogram/redis/parked")})


# -- the frontier interface, on a real Redis ------------------------------------------------------

def test_redis_frontier_keeps_the_frontier_contract(redis_server):
    from stenogram.crawler.redis_frontier import RedisFrontier

    frontier = RedisFrontier(redis_server.url, prefix="t")
    check_round_trip_and_walks(frontier, lambda: RedisFrontier(redis_server.url, prefix="t"))  # another worker
    redis_server.restart()  # AOF: what was acknowledged is still there
    assert frontier.count("interaffairs") == 1 and frontier.walk_completed("mid", "w")


RUNS = iter(range(10**9))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SCHEDULES)
def test_redis_frontier_owes_what_was_enqueued_and_not_done(redis_server, ops):
    from stenogram.crawler.redis_frontier import RedisFrontier

    frontier = RedisFrontier(redis_server.url, prefix=f"h{next(RUNS)}")  # a fresh namespace each
    check_owes_what_was_enqueued_and_not_done(frontier, ops)


def test_a_dead_workers_lease_comes_back_after_the_timeout(redis_server):
    """The scheduler's scripts: a request taken and never renewed goes back to the queue."""
    from stenogram.crawler.redis_frontier import ENQUEUE, JOIN, POP, Keys, client

    r = client(redis_server.url)
    k = Keys("lease", "mid")
    join, enqueue, pop = (r.register_script(s) for s in (JOIN, ENQUEUE, POP))
    assert join(keys=[k.workers, k.queue, k.leases, k.holder, k.qdata, k.seen], args=["a", 0.5]) == 1
    assert join(keys=[k.workers, k.queue, k.leases, k.holder, k.qdata, k.seen], args=["b", 30]) == 0
    for n, url in enumerate(("http://x/1", "http://x/2")):
        assert enqueue(keys=[k.seen, k.queue, k.qdata, k.seq], args=[f"fp{n}", url, "{}", 0]) == 1
    assert enqueue(keys=[k.seen, k.queue, k.qdata, k.seq], args=["fp0", "http://x/1", "{}", 0]) == 0
    assert pop(keys=[k.queue, k.qdata, k.leases, k.holder], args=["a", 0.5])[:2] == ["http://x/1", "{}"]
    assert pop(keys=[k.queue, k.qdata, k.leases, k.holder], args=["b", 30])[0] == "http://x/2"
    assert pop(keys=[k.queue, k.qdata, k.leases, k.holder], args=["b", 30])[0] is None  # a's lease holds
    time.sleep(0.6)  # "a" died: no renewal
    url, _data, reclaimed = pop(keys=[k.queue, k.qdata, k.leases, k.holder], args=["b", 30])
    assert (url, reclaimed) == ("http://x/1", 1)
    assert r.hget(k.holder, "http://x/1") == "b"


# -- whole crawls -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2])
def test_workers_build_the_one_process_corpus(reference, redis_server, tmp_path, n):
    """One worker alone, and two sharing the frontier, build the one-process corpus (four, with
    two of them killed: the next test)."""
    outs = [tmp_path / f"w{i}" for i in range(n)]
    results = finish(start_workers(reference["site"], outs, redis_server.url))
    assert [code for code, _ in results] == [0] * n, "".join(out[-1500:] for _, out in results)
    rebuild(outs, tmp_path / "corpus.db")
    assert compare(reference, outs, tmp_path / "corpus.db") == []
    # shared queue and duplicate filter: each page fetched once by the workers together
    assert fetches(outs) == reference["fetches"]
    # every worker worked, each in its own WARC files named with its worker id
    names = [sorted(p.name for p in (out / "warc").glob("*.warc.gz")) for out in outs]
    assert all(names), names
    ids = {re.match(r"stenogram-(.+)-\d{17}-", name)[1] for files in names for name in files}
    assert len(ids) == n, names
    assert not any((out / "corpus.db").exists() for out in outs)  # workers do not write a corpus


@pytest.mark.xfail(strict=False, reason=(
    "flaky, not fixed (2026-12-08): failed in 1 of 3 fresh-clone runs (a seeded kill schedule "
    "left URLs unarchived); under investigation"))
@pytest.mark.slow
def test_killed_workers_lose_nothing_and_refetch_nothing_archived(reference, redis_server, tmp_path):
    """4 workers, 2 killed with SIGKILL at seeded moments: their leases expire, the others take
    the requests back, and the rebuilt corpus equals the one-process crawl's."""
    rng = random.Random(int(os.environ.get("SCALEOUT_SEED", 15)))
    outs = [tmp_path / f"w{i}" for i in range(4)]
    procs = start_workers(reference["site"], outs, redis_server.url)
    victims = rng.sample(range(4), 2)
    moments = sorted(rng.uniform(0, reference["seconds"] * 0.5) for _ in victims)
    start, holding = time.monotonic(), 0
    for victim, moment in zip(victims, moments):
        time.sleep(max(0.0, moment - (time.monotonic() - start)))
        # from the drawn moment on, the first instant the victim holds requests (a kill while it
        # starts up or after it has finished would prove nothing)
        holding += wait_until_holding(redis_server.url, procs[victim].pid, timeout=30)
        os.killpg(procs[victim].pid, signal.SIGKILL)
    results = finish(procs)
    for i, (code, out) in enumerate(results):
        if i not in victims:
            assert code == 0, out[-2000:]
    left_open = list(tmp_path.rglob("*.warc.gz.open"))  # a victim's, if it had archived anything
    summary = rebuild(outs, tmp_path / "corpus.db")
    assert not list(tmp_path.rglob("*.warc.gz.open")) and ("left open" in summary) == bool(left_open), summary
    found = compare(reference, outs, tmp_path / "corpus.db")
    assert found == [], "\n".join(found) + (f"\nkills at {moments}: {victims}, work in {tmp_path}; "
                                            f"stats: {[dict(stats_of(out)) for out in outs]}")
    # a page archived before a kill is answered from Redis, not fetched again: no page (2xx)
    # has more response records than in the one-process crawl, except one a victim wrote as the
    # very last record of a WARC: killed between writing it and storing it in Redis (the same
    # signal handler, a millisecond apart), it was never known to be archived
    got, ref = fetches(outs), reference["fetches"]
    refetched = {k: got[k] - ref[k] for k in got if k[1].startswith("2") and got[k] > ref[k]}
    window = set().union(*(last_responses(outs[i]) for i in victims))
    assert {k: n for k, n in refetched.items() if k[0] not in window or n > 1} == {}, (refetched, window)
    survivors = [stats_of(outs[i]) for i in range(4) if i not in victims]
    assert holding >= 1  # the kills hit workers with requests in hand, and those came back:
    assert sum(st["stenogram/redis/reclaimed"] for st in survivors) >= holding
    print("kills at", [round(m, 1) for m in moments], "s; refetched in the window:", len(refetched),
          "; survivors' stats:", [dict(st) for st in survivors])


@pytest.mark.slow
def test_redis_restart_mid_crawl(reference, redis_server, tmp_path):
    """redis-server killed (SIGKILL) and started again on its AOF while 2 workers crawl: they
    wait (redis-py retries with backoff) and the crawl ends with the same corpus."""
    outs = [tmp_path / f"w{i}" for i in range(2)]
    procs = start_workers(reference["site"], outs, redis_server.url)
    # mid-crawl: the first instant from 1 s on at which a worker holds a request (a fixed share
    # of the one-process crawl's time was sometimes after two workers had finished)
    time.sleep(1.0)
    assert wait_until_holding(redis_server.url, procs[0].pid, timeout=60), "worker 0 never took a request"
    assert all(p.poll() is None for p in procs), "the crawl ended before Redis was killed"
    redis_server.kill()
    time.sleep(1.0)
    redis_server.start()
    assert "append only file" in (redis_server.workdir / "redis.log").read_text().lower()
    results = finish(procs)
    assert [code for code, _ in results] == [0, 0], results[0][1][-1500:] + results[1][1][-1500:]
    rebuild(outs, tmp_path / "corpus.db")
    assert compare(reference, outs, tmp_path / "corpus.db") == []


def test_crawl_refuses_a_bad_or_unreachable_redis(tmp_path):
    from redis_support import free_port

    stenogram = str(torture.VENV_BIN / "stenogram")
    proc = subprocess.run([stenogram, "crawl", "mid", "--out", str(tmp_path / "a"), "--redis", "http://x/"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected redis://HOST:PORT/DB" in proc.stderr
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = subprocess.run([stenogram, "crawl", "mid", "--out", str(tmp_path / "b"), "--redis", url,
                           "-s", "STENOGRAM_REDIS_RETRY_FOR=1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and url in proc.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# -- a Redis that never comes back -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["budget", "sigterm"])
def test_a_worker_whose_redis_never_comes_back_stops(reference, redis_server, tmp_path, how):
    """redis-server killed and not started again while a worker crawls (slowly, so it is
    mid-crawl): the worker stops by itself with one line and exit 1 once its one outage budget
    (STENOGRAM_REDIS_RETRY_FOR, 3 s here, for the whole process, not per Redis call) is spent;
    with a budget of 10 min, a SIGTERM during the outage ends it promptly (exit 130). Either way
    what was owed stays owed for the next start (no corpus written, WARCs closed)."""
    out = tmp_path / "w"
    retry_for = 3 if how == "budget" else 600
    [proc] = start_workers(reference["site"], [out], redis_server.url,
                           {"DOWNLOAD_DELAY": 0.5, "STENOGRAM_REDIS_RETRY_FOR": retry_for})
    assert wait_until_holding(redis_server.url, proc.pid, timeout=60), "the worker never took a request"
    time.sleep(1.0)  # well into the crawl
    redis_server.kill()
    if how == "sigterm":
        time.sleep(1.0)  # inside the outage: the worker is retrying
        proc.send_signal(signal.SIGTERM)
    # bounded: before the fix each later Redis call waited the budget again (tens of minutes)
    [(code, output)] = finish([proc], timeout=90)
    assert "[killed by the test: timeout]" not in output, output[-3000:]
    if how == "budget":
        assert code == 1, output[-3000:]
        # one line says why (the requests in flight may each log their own failure besides)
        stops = [line for line in output.splitlines() if "stopping the crawl: cannot " in line]
        assert len(stops) == 1, output[-3000:]
        assert f"127.0.0.1:{redis_server.port}" in stops[0], stops
    else:
        assert code == 130, output[-3000:]
    assert not list((out / "warc").glob("*.open")), "a WARC was left open"


def test_a_listing_is_settled_only_once_its_links_are_placed(redis_server):
    """Scrapy drains a callback's whole output before scheduling any of it, so a listing settled
    at the end of its output was `done` while its links were owed nowhere: a worker killed then
    lost the subtree (the kill test's seed 9 at lease 1.5 s). Now it stays owed until each link
    it yielded has been placed (scheduled or dropped as a duplicate)."""
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from stenogram.crawler.recrawl import FrontierKeeper
    from stenogram.crawler.redis_frontier import RedisFrontier

    frontier = RedisFrontier(redis_server.url, prefix="settle")
    keeper = FrontierKeeper(get_crawler(), frontier)
    keeper.source = "mid"
    listing = Request("http://127.0.0.1:1/list")
    frontier.enqueue(entry(listing.url))
    links = [Request(f"http://127.0.0.1:1/a{n}") for n in range(3)]
    keeper.settle_after(listing, links)
    assert [e.url for e in frontier.owed("mid")] == [listing.url]  # the output is drained, nothing placed
    keeper.placed(links[0])
    keeper.placed(links[2])
    assert [e.url for e in frontier.owed("mid")] == [listing.url]
    keeper.placed(links[1])
    assert frontier.owed("mid") == []
    keeper.settle_after(Request("http://127.0.0.1:1/empty"), [])  # nothing to wait for
    assert frontier.owed("mid") == []
