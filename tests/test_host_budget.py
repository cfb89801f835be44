"""One politeness budget per host across crawl workers (crawler/host_budget.py), on a real
redis-server started on loopback (tests/redis_support.py; no fakeredis).

* the Lua scripts themselves, with many concurrent clients on their own connections and
  hypothesis-drawn delays, places and holds: grants are never closer than the delay to each
  other nor to a place given back (on the server's clock, so no slack), never more than the
  host's places at once, none inside a hold, and every client gets all its turns (nobody
  starves);
* a killed worker's place comes back after the lease;
* real `stenogram crawl` worker processes against the sample site with a scaled-down delay: on
  the site's own access log, two requests to one host are never closer than the delay, and a
  429 + Retry-After answered to one worker holds every worker.
"""
from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import VENV_BIN, crawl_args
from redis_support import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if not Path(REDIS_SERVER).exists():
        from conftest import skip_unless_ci

        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    try:
        yield server.url
    finally:
        server.kill()


def _budget(url: str, prefix: str):
    import redis.asyncio

    from stenogram.crawler.host_budget import HostBudget

    client = redis.asyncio.Redis.from_url(url)
    return client, HostBudget(client, prefix=prefix)


# -- the scripts ---------------------------------------------------------------------------------

step = st.one_of(
    st.tuples(st.just("get"), st.integers(0, 2), st.integers(2, 25), st.integers(0, 15)),  # host, delay ms, work ms
    st.tuples(st.just("hold"), st.integers(0, 2), st.integers(5, 60), st.just(0)),          # host, hold ms
)
clients = st.lists(st.lists(step, min_size=1, max_size=6), min_size=2, max_size=10)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=clients, places=st.lists(st.integers(1, 3), min_size=3, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_grants_keep_the_delay_the_places_and_the_holds(redis_url, plan, places, seed):
    from stenogram.crawler.host_budget import BUSY, GO

    prefix = f"prop{seed}-{random.random()}"
    grants, holds, releases = [], [], {}  # (host, server time, delay, token); (host, from, until)
    waits = []

    async def client(n: int, steps):
        rng = random.Random(seed + n)
        conn, budget = _budget(redis_url, prefix)  # one connection per client: real interleaving
        try:
            for k, (kind, host, ms, work) in enumerate(steps):
                host = f"h{host}:80"
                if kind == "hold":
                    until, now = await budget.hold(host, ms / 1000)
                    holds.append((host, now, now + ms / 1000))
                    continue
                token, delay = f"{n}-{k}", ms / 1000
                asked = time.monotonic()
                while True:
                    answer, wait, now = await budget.acquire(host, token, delay, places[int(host[1])], 5.0)
                    if answer == GO:
                        break
                    await asyncio.sleep(max(wait, 0.002 if answer == BUSY else 0))
                waits.append(time.monotonic() - asked)
                grants.append((host, now, delay, token))
                await asyncio.sleep(work / 1000 * rng.random())
                _removed, released = await budget.release(host, token)
                releases[token] = released
        finally:
            await conn.aclose()

    async def everyone():
        await asyncio.wait_for(asyncio.gather(*(client(n, s) for n, s in enumerate(plan))), timeout=60)

    asyncio.run(everyone())

    requested = sum(1 for steps in plan for s in steps if s[0] == "get")
    assert len(grants) == requested  # nobody starved: every client got every turn it asked for
    # and no single wait was longer than every other request to the host plus every hold
    bound = sum(s[2] + s[3] for steps in plan for s in steps) / 1000 + 1.0
    assert max(waits, default=0) < bound
    for h in {g[0] for g in grants}:
        mine = sorted(g for g in grants if g[0] == h)
        for before, after in zip(mine, mine[1:]):
            assert after[1] - before[1] >= after[2] - 1e-6, (before, after)  # server clock: no slack
        # a place given back counts as the host's last request: the next turn keeps the delay from it
        for g in mine:
            assert all(g[1] - r >= g[2] - 1e-6 for r in (releases[o[3]] for o in mine) if r < g[1]), g
        spans = [(g[1], releases[g[3]]) for g in mine]
        for start, _ in spans:
            assert sum(1 for a, b in spans if a <= start < b) <= places[int(h[1])]
        for host, since, until in holds:
            if host == h:
                assert not [g for g in mine if since <= g[1] < until], (since, until)


def test_a_dead_workers_place_comes_back_after_its_lease(redis_url):
    from stenogram.crawler.host_budget import BUSY, GO

    async def run():
        conn, budget = _budget(redis_url, f"lease-{random.random()}")
        try:
            answer, _, taken = await budget.acquire("h:80", "dead", 0.0, 1, 0.3)  # never released
            assert answer == GO
            answer, _, _ = await budget.acquire("h:80", "alive", 0.0, 1, 0.3)
            assert answer == BUSY
            while True:
                answer, wait, now = await budget.acquire("h:80", "alive", 0.0, 1, 0.3)
                if answer == GO:
                    return now - taken
                await asyncio.sleep(max(wait, 0.01))
        finally:
            await conn.aclose()

    assert asyncio.run(run()) >= 0.3


# -- worker processes against the sample site ---------------------------------------------------

DELAY = 0.2
RETRY_AFTER = 1.0
BACKOFF = 1.0  # the first anti-bot backoff (INTERSTITIAL_BACKOFF_BASE)
#: grants are on Redis' clock, arrivals on the test's monotonic clock (same machine): resolution only
SLACK = 0.001
PAGES = 3
WORKERS = 3  # start-up dominates: each is a whole `stenogram crawl`


def _workers(site, out: Path, url: str | None, n: int, sources, pages: int):
    procs = []
    for i in range(n):
        args = crawl_args(site, out / f"w{i}", *sources) + [
            "--no-progress",
            "-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "CONCURRENT_REQUESTS=2",
            "-s", f"CLOSESPIDER_PAGECOUNT={pages}", "-s", f"WARC_PREFIX=w{i}",
            "-s", f"INTERSTITIAL_BACKOFF_BASE={BACKOFF}",
        ]
        if url:
            args += ["-s", f"STENOGRAM_REDIS_URL={url}"]
        procs.append(subprocess.Popen([str(VENV_BIN / "stenogram"), *args], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outcomes = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, stdout, stderr))
    return outcomes


def _gaps(site, source: str) -> list[float]:
    times = sorted(t for t, s, _m, _target in site.access_log if s == source)
    return [b - a for a, b in zip(times, times[1:])]


def test_workers_share_one_budget_per_host_one_retry_after_one_backoff(redis_url, tmp_path):
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    faults = Faults()
    with SampleSite(port=0, size=6, seed=3, faults=faults) as site:
        # the first worker to ask mid for its English feed is told to come back in a second
        faults.add("retry_after", r"^/en/rss\.php$", source="mid", status=429,
                   retry_after=str(int(RETRY_AFTER)), times=1)
        # and the first to ask globalsecurity for its Russia index gets the anti-bot page
        faults.add("interstitial", r"^/wmd/library/news/russia/$", source="globalsecurity", times=1)
        outcomes = _workers(site, tmp_path, redis_url, WORKERS, ("mid", "globalsecurity"), pages=PAGES)
        log = list(site.access_log)

    for code, stdout, stderr in outcomes:
        # CLOSESPIDER_PAGECOUNT ends each spider early, which the report counts as not finished (1)
        assert code in (0, 1) and "Errors: 0" in stdout, stdout[-3000:] + stderr[-3000:]
    for source in ("mid", "globalsecurity"):
        hits = [x for x in log if x[1] == source]
        assert len(hits) >= WORKERS * PAGES, (source, len(hits))  # every worker crawled it
        gaps = _gaps(site, source)
        assert min(gaps) >= DELAY - SLACK, (source, sorted(gaps)[:5])

    assert faults.count("retry_after", "mid") == 1
    answered_429 = min(t for t, s, _m, target in log if s == "mid" and target == "/en/rss.php")
    during = [(round(t - answered_429, 3), target) for t, s, _m, target in log
              if s == "mid" and answered_429 < t < answered_429 + RETRY_AFTER]
    assert during == [], "a worker reached mid.ru while another had been told to wait"

    assert faults.count("interstitial", "globalsecurity") == 1
    walled = min(t for t, s, _m, target in log if s == "globalsecurity" and target == "/wmd/library/news/russia/")
    during = [(round(t - walled, 3), target) for t, s, _m, target in log
              if s == "globalsecurity" and walled < t < walled + BACKOFF]
    assert during == [], "a worker reached the host while another was backing off from its anti-bot page"


def test_without_a_redis_url_the_crawl_is_what_it_was():
    """No URL: the middleware refuses to load (NotConfigured), so no Redis client, no wait."""
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from stenogram.crawler.host_budget import HostBudgetMiddleware
    from stenogram.crawler.runner import project_settings

    settings = project_settings()
    assert settings.get("STENOGRAM_REDIS_URL") is None
    assert "stenogram.crawler.host_budget.HostBudgetMiddleware" in settings.getdict("DOWNLOADER_MIDDLEWARES")
    keys = {k: settings.get(k) for k in settings if k.startswith(("HOST_BUDGET", "RETRY_AFTER", "STENOGRAM_REDIS"))}
    with pytest.raises(NotConfigured):
        HostBudgetMiddleware.from_crawler(get_crawler(settings_dict=keys))
    crawler = get_crawler(settings_dict={**keys, "STENOGRAM_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert isinstance(HostBudgetMiddleware.from_crawler(crawler), HostBudgetMiddleware)  # connects lazily


def test_no_request_goes_out_while_redis_is_down(tmp_path):
    """A Redis outage pauses the crawl (nothing is sent unthrottled), which goes on when it is back."""
    from stenogram.sample_site.server import SampleSite

    if not Path(REDIS_SERVER).exists():
        from conftest import skip_unless_ci

        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    server = RedisServer(tmp_path / "redis", appendonly=False).start()
    try:
        with SampleSite(port=0, size=6, seed=3) as site:
            args = crawl_args(site, tmp_path / "w", "mid") + [
                "--no-progress", "-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
                "-s", "CONCURRENT_REQUESTS=2", "-s", "CLOSESPIDER_PAGECOUNT=8", "-s", f"STENOGRAM_REDIS_URL={server.url}"]
            proc = subprocess.Popen([str(VENV_BIN / "stenogram"), *args], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 90
                while sum(1 for x in site.access_log if x[1] == "mid") < 3:
                    assert proc.poll() is None and time.monotonic() < deadline, "the crawl did not start"
                    time.sleep(0.02)
                server.kill()
                down = time.monotonic()
                time.sleep(4 * DELAY + 0.7)  # four turns at least
                up = time.monotonic()
                server.start()
                stdout, stderr = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
            log = list(site.access_log)
    finally:
        server.kill()
    assert proc.returncode in (0, 1) and "Errors: 0" in stdout, stdout[-3000:] + stderr[-3000:]
    during = [round(t - down, 3) for t, s, _m, _target in log if s == "mid" and down < t < up]
    assert len(during) <= 1, during  # at most the request granted just before the kill
    assert [t for t, s, _m, _target in log if s == "mid" and t >= up], "the crawl did not go on"


def test_ctrl_c_ends_the_wait_for_a_turn(redis_url, tmp_path):
    """Requests waiting for their turn in Redis are not sent after SIGINT; the crawl exits 130."""
    import signal

    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=6, seed=3) as site:
        args = crawl_args(site, tmp_path / "w", "mid") + [
            "--no-progress", "-s", "DOWNLOAD_DELAY=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
            "-s", f"STENOGRAM_REDIS_URL={redis_url}", "-s", f"HOST_BUDGET_KEY_PREFIX=sigint-{random.random()}"]
        proc = subprocess.Popen([str(VENV_BIN / "stenogram"), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while sum(1 for x in site.access_log if x[1] == "mid") < 2:  # robots.txt, then a page
                assert proc.poll() is None and time.monotonic() < deadline, "the crawl did not start"
                time.sleep(0.02)
            time.sleep(0.3)  # the next requests are now waiting for their turn (3 s)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        late = [target for t, s, _m, target in site.access_log if t > signalled]
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert late == []
    assert "not sent" in stdout


def test_a_place_kept_across_a_redis_restart_is_given_back(tmp_path):
    """Redis restarted from its append-only file still has the place of a request that was on
    the wire while it was down; the worker gives it back once Redis answers, instead of leaving
    the host stalled for every worker until the lease runs out."""
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    if not Path(REDIS_SERVER).exists():
        from conftest import skip_unless_ci

        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    faults = Faults().add("slow", r"^/en/rss\.php$", source="mid", delay=1.5, times=1)
    try:
        with SampleSite(port=0, size=6, seed=3, faults=faults) as site:
            args = crawl_args(site, tmp_path / "w", "mid") + [
                "--no-progress", "-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
                "-s", "CONCURRENT_REQUESTS=2", "-s", "CLOSESPIDER_PAGECOUNT=6",
                "-s", "HOST_BUDGET_LEASE=300", "-s", f"STENOGRAM_REDIS_URL={server.url}"]
            proc = subprocess.Popen([str(VENV_BIN / "stenogram"), *args], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 90
                while not any(x[1] == "mid" and x[3] == "/en/rss.php" for x in site.access_log):
                    assert proc.poll() is None and time.monotonic() < deadline, "the crawl did not start"
                    time.sleep(0.01)
                server.stop()  # SIGTERM: the append-only file keeps the place of the request on the wire
                time.sleep(2.0)  # its answer comes back meanwhile: the place cannot be given back
                server.start()
                # a place left held would stall mid for HOST_BUDGET_LEASE (300 s), far beyond this
                stdout, stderr = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
    finally:
        server.kill()
    assert proc.returncode in (0, 1) and "Errors: 0" in stdout, stdout[-3000:] + stderr[-3000:]
    logs = "".join(p.read_text() for p in (tmp_path / "w" / "logs").glob("*.log"))
    assert "gave back a place on" in logs
