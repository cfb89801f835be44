"""Two or more crawl workers' frontiers and schedulers on one real redis-server, in one process.

Each "worker" is what a ``stenogram crawl --redis`` process holds: a Scrapy crawler with its
``FrontierKeeper`` (``RedisFrontier``) and its ``RedisScheduler``, driven step by step the way
Scrapy's engine drives them (``request_scheduled`` writes what is owed, then the scheduler's
``enqueue_request``; ``next_request``; the keeper's ``done`` when a page settles), so the steps
of several workers can be interleaved in any order, deterministically.

Issue 15's promise: nothing lost (a page some worker still has to handle stays owed in the
frontier, whatever the others do), nothing owed for ever (a page settled this round and found
again is not owed).
"""
from __future__ import annotations

import itertools
import time

import pytest
import scrapy
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from redis_support import redis_server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.network]

NAMESPACES = itertools.count()


class Site(scrapy.Spider):
    name = "mid"

    def parse_listing(self, response):
        pass


class Worker:
    """One worker's frontier keeper and scheduler (a crawler of its own, its own worker id)."""

    def __init__(self, url: str, prefix: str, worker: str, **settings):
        from scrapy.utils.test import get_crawler

        from stenogram.crawler import settings as defaults
        from stenogram.crawler.recrawl import FrontierKeeper
        from stenogram.crawler.redis_frontier import RedisScheduler

        self.prefix = prefix
        self.crawler = get_crawler(Site, {
            "STENOGRAM_REDIS_URL": url, "STENOGRAM_REDIS_PREFIX": prefix, "STENOGRAM_WORKER_ID": worker,
            "FRONTIER_BACKEND": "stenogram.crawler.redis_frontier.RedisFrontier",
            "STENOGRAM_REDIS_LEASE": 30.0, "STENOGRAM_REDIS_STALL_MAX": defaults.STENOGRAM_REDIS_STALL_MAX,
            **settings})
        self.spider = Site.from_crawler(self.crawler)
        self.keeper = FrontierKeeper.for_crawler(self.crawler)
        self.keeper.spider_opened(self.spider)
        self.scheduler = RedisScheduler.from_crawler(self.crawler)
        self.scheduler.open(self.spider)
        self.pending: list[scrapy.Request] = []  # scheduled (owed) but not yet through the scheduler
        self.taken: list[scrapy.Request] = []

    def request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.spider.parse_listing, priority=-1)

    # the engine's steps
    def schedule(self, url: str) -> None:
        """``request_scheduled``: the keeper writes the URL as owed (``HSETNX``)."""
        request = self.request(url)
        self.keeper.request_scheduled(request, self.spider)
        self.pending.append(request)

    def enqueue(self) -> bool:
        """The scheduler's ``enqueue_request`` of the oldest scheduled request."""
        return self.scheduler.enqueue_request(self.pending.pop(0))

    def take(self):
        request = self.scheduler.next_request()
        if request is not None:
            self.taken.append(request)
        return request

    def settle(self) -> str:
        request = self.taken.pop(0)
        self.keeper.done(request)
        return request.url

    def close(self) -> None:
        self.scheduler.close("finished")


@pytest.fixture
def workers(redis_server):  # noqa: F811
    started = []

    def start(n: int, prefix: str | None = None, **settings):
        """``n`` workers of one crawl (a fresh key namespace unless ``prefix`` is given)."""
        prefix = prefix or f"w{next(NAMESPACES)}"
        first = len(started)
        for i in range(n):
            started.append(Worker(redis_server.url, prefix, f"worker-{first + i}", **settings))
        return started[-n:]

    try:
        yield start
    finally:
        for worker in started:
            worker.close()


def owed(worker) -> set[str]:
    return {e.url for e in worker.keeper.frontier.owed("mid")}


URL = "http://127.0.0.1:1/news/1"


def test_a_page_two_workers_find_stays_owed_while_the_winner_has_it(workers):
    """The race of issue 15: A's HSETNX creates the owed entry, B's finds it, B's copy wins the
    round's duplicate filter, A's is dropped. A used to delete the entry as "settled already"
    while B's request was queued: had B (or the crawl) died then, the page was owed nowhere."""
    a, b = workers(2)
    a.schedule(URL)  # creates the owed entry
    b.schedule(URL)  # finds it
    assert b.enqueue() is True  # B's copy is queued
    assert a.enqueue() is False  # A's is a duplicate
    assert owed(a) == {URL}  # still owed: B has it
    assert b.take().url == URL  # B takes it (leased) ...
    assert owed(a) == {URL}
    # ... and dies: its lease and its membership lapse; the next round issues what is owed
    c = workers(1, prefix=a.prefix)[0]
    assert [r.url for r in c.keeper.owed_requests(c.spider)] == [URL]


def test_a_page_settled_this_round_and_found_again_is_not_owed(workers):
    """What the drop was for: a page settled this round, found again, is a duplicate of a
    settled page, and is not left owed for ever."""
    a, b = workers(2)
    b.schedule(URL)
    assert b.enqueue() is True
    assert b.take().url == URL
    assert b.settle() == URL and owed(b) == set()
    a.schedule(URL)  # found again: HSETNX creates the entry done deleted
    assert owed(a) == {URL}
    assert a.enqueue() is False  # the round's duplicate filter
    assert owed(a) == set()


def test_a_dropped_copy_keeps_a_redirect_target_another_worker_holds(workers):
    """TAKE_LOCAL: a request kept by its worker (meta that only it can carry) is leased, not
    queued; a copy another worker drops must not delete its owed entry either."""
    a, b = workers(2)
    a.schedule(URL)
    local = b.request(URL).replace(meta={"redirect_times": 1, "redirect_urls": ["http://127.0.0.1:1/old"]})
    b.keeper.request_scheduled(local, b.spider)
    assert b.scheduler.enqueue_request(local) is True  # kept locally, leased
    assert a.enqueue() is False
    assert owed(a) == {URL}


#: interleaved steps of two workers over three URLs: ("schedule", worker, url) writes it as
#: owed, ("enqueue", worker) passes that worker's oldest scheduled request to its scheduler,
#: ("take", worker) takes one from the shared queue, ("settle", worker) settles the oldest taken
STEPS = st.lists(st.one_of(
    st.tuples(st.just("schedule"), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.sampled_from(["enqueue", "take", "settle"]), st.integers(0, 1), st.just(0))), max_size=40)


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(STEPS)
@example([("schedule", 0, 0), ("schedule", 1, 0), ("enqueue", 1, 0), ("enqueue", 0, 0)])  # issue 15's race
def test_interleaved_workers_owe_exactly_the_pages_someone_still_has(workers, steps):
    """Model: a request for a page not settled yet is *live* from its ``request_scheduled`` on,
    until the duplicate filter drops it (another copy is queued, taken or settled: that copy
    carries the page) or its page settles. After every step, the frontier owes exactly the
    unsettled pages with a live request (none lost: a worker may die at any moment, and the
    next crawl must owe what it had), and no settled page, once no copy of it is on its way to a
    scheduler (none owed for ever; while one is, its ``HSETNX`` may have written it again)."""
    ws = workers(2)
    live: dict[str, int] = {}
    settled: set[str] = set()
    for step, (op, i, n) in enumerate(steps):
        w = ws[i]
        if op == "schedule":
            url = f"http://127.0.0.1:1/p{n}"
            w.schedule(url)
            live[url] = live.get(url, 0) + 1
        elif op == "enqueue" and w.pending:
            url = w.pending[0].url
            if not w.enqueue():
                live[url] -= 1
        elif op == "take":
            w.take()
        elif op == "settle" and w.taken:
            settled.add(w.settle())
        on_the_way = {r.url for other in ws for r in other.pending}
        expected = {u for u, n in live.items() if n > 0 and u not in settled}
        got = owed(w)
        assert got - (settled & on_the_way) == expected, steps[:step + 1]


# -- leases renewed while the event loop is blocked, given up when it is wedged --------------------

def wait_for(predicate, timeout: float = 60.0):
    """``predicate()``'s first true value, polled; None if none came within ``timeout`` (a bound
    for a broken build, not a measure: the asserts are on what happened, never on how fast)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def holder(worker, url: str):
    return worker.scheduler.redis.hget(worker.scheduler.keys.holder, url)


def test_a_worker_whose_event_loop_is_blocked_keeps_its_leases(workers):
    """No reactor runs in this test: for the schedulers it is a reactor blocked all along (a
    huge page in the pipeline, a slow fsync). Renewal used to be a ``LoopingCall`` in that
    reactor: the lease expired after 2 s and the other worker took the page back (fetched
    twice). The renewer thread keeps it for three leases and more, and the other worker gets
    nothing."""
    a, b = workers(2, STENOGRAM_REDIS_LEASE=2.0)
    a.schedule(URL)
    assert a.enqueue() is True
    assert a.take().url == URL
    renewer = a.scheduler.renewer
    start = renewer.renewals
    # 9 renewals, a third of a lease apart at least: the reactor is blocked for 3 leases
    assert wait_for(lambda: renewer.renewals >= start + 9), "the renewer thread did not renew"
    assert b.take() is None
    assert b.crawler.stats.get_value("stenogram/redis/reclaimed") is None
    assert holder(a, URL) == "worker-0" and URL in a.scheduler.held
    assert not renewer.stalled


def test_a_worker_wedged_past_stall_max_gives_its_leases_up(workers):
    """A reactor that does not turn for ``STENOGRAM_REDIS_STALL_MAX`` (2 s here) is taken for
    wedged: the renewer stops, the lease expires and the other worker takes the request back;
    when the reactor turns again, renewal resumes, for what the worker still holds."""
    a, b = workers(2, STENOGRAM_REDIS_LEASE=1.0, STENOGRAM_REDIS_STALL_MAX=2.0)
    a.schedule(URL)
    assert a.enqueue() is True
    assert a.take().url == URL
    taken = wait_for(b.take)
    assert taken is not None and taken.url == URL, "the wedged worker's lease never came back"
    assert b.crawler.stats.get_value("stenogram/redis/reclaimed") == 1
    renewer = a.scheduler.renewer
    assert renewer.stalled and a.crawler.stats.get_value("stenogram/redis/stalled") == 1
    assert holder(a, URL) == "worker-1"
    renewer.tick()  # the reactor turns again
    start = renewer.renewals
    assert wait_for(lambda: renewer.renewals > start), "renewal did not resume"
    assert not renewer.stalled
    assert wait_for(lambda: URL not in a.scheduler.held)  # it is another's now: not renewed by A
    assert holder(a, URL) == "worker-1"


def test_every_worker_counts_the_shared_queue(workers):
    """The progress display's "queued" is ``len(scheduler)`` (crawler/progress.py): for a Redis
    worker, its own kept requests plus the shared queue, whoever queued them."""
    a, b = workers(2)
    for n in range(3):
        a.schedule(f"http://127.0.0.1:1/q{n}")
        assert a.enqueue() is True
    assert len(a.scheduler) == len(b.scheduler) == 3
    assert b.take() is not None
    assert len(a.scheduler) == len(b.scheduler) == 2
