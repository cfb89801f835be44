"""Many crawl workers, one frontier in Redis: `stenogram crawl --redis redis://HOST:PORT/N`.

One machine crawls one ministry at 10 s a request; a crawl of every source, language and
backfill at once needs several. Each worker is an ordinary ``stenogram crawl`` process with its
own ``--out`` folder (its own WARC files, named with its worker id, and its own log); what they
share lives in one Redis, keyed per source under ``STENOGRAM_REDIS_PREFIX``:

* **the request queue** (``queue``: a sorted set by priority then arrival, ``qdata``: each
  request as JSON: URL, callback *name*, cb_kwargs, the frontier's meta keys, priority);
* **the duplicate filter** of the round (``seen``: request fingerprints);
* **leases** (``leases``: URL -> expiry in Redis server time, ``holder``: URL -> worker). Taking
  a request leases it for ``STENOGRAM_REDIS_LEASE`` seconds; a live worker renews its leases
  (and its membership) every third of that, from a thread of its own (:class:`LeaseRenewer`), so
  a worker whose event loop is busy (a huge page in the pipeline, a slow fsync) keeps them; one
  whose event loop has not turned for ``STENOGRAM_REDIS_STALL_MAX`` seconds is taken for wedged
  and stops renewing. A worker that dies (``kill -9``, machine gone: its thread dies with it)
  stops renewing, and the next worker that asks for work puts its expired leases back at the
  front of the queue;
* **archived responses not yet settled** (``archived``): a 2xx response is stored right after
  its WARC records were written, until the page is settled. A request taken back from a dead
  worker is answered from there (flag ``replayed``, not archived again), so a page archived
  before the kill is *not fetched again*, and its callback still runs: the links it led to are
  not lost, its item still reaches the pipeline;
* **the frontier** (:class:`RedisFrontier`, the :class:`~stenogram.crawler.state.Frontier`
  interface that ``FrontierKeeper`` already drives: ``owed`` and ``walks``) and **the recrawl
  state** (:class:`RedisCrawlState`, the ``urls`` table of ``state.db`` as a hash), so what one
  worker fetched, when, and with which validators, every worker knows.

**Rounds.** A worker that starts while no other worker of the source is alive (workers renew a
membership with the same lease) starts a new round: queue, leases and duplicate filter are
cleared (what is owed is in the frontier, and every starting spider issues it again, as a
single process does after a crash); one that starts beside live workers joins their round.
A worker's spider is idle, and closes, only when the shared queue is empty and no lease is held
by anyone: a dead worker's leases keep the others waiting until they expire.

**Requests that stay with their worker.** A retry, a redirect hop or an anti-bot retry carries
state in ``meta`` (retry counts, redirect chains) that only the worker holding the original
lease needs; such requests, and any whose callback or meta cannot be written as JSON, are
queued locally (counted ``stenogram/redis/local``). The lease of the request they came from is
kept (renewed) until they end, so a worker's death sends the original back to the queue. A
redirect target still passes the round's duplicate filter and is leased itself (``TAKE_LOCAL``):
while its worker lives another worker drops its own copy, once the worker is gone (its
membership expired) the copy is taken, so a page reached only through that redirect is not lost.

**Why not scrapy-redis.** scrapy-redis 0.9.1 runs under Scrapy 2.19 (its scheduler crawled a
test site; it only warns about the deprecated ``spider`` argument of the stats calls) but its
design fights this project's: its queue pop is destructive (ZRANGE+ZREMRANGEBYRANK or RPOP), so
every request a killed worker had taken, up to ``CONCURRENT_REQUESTS`` of them, is lost (no
lease); its duplicate filter is a set that either persists forever (``SCHEDULER_PERSIST``: the
next day's crawl could fetch no discovery page again, the recrawl schedule never runs) or is
deleted, with the whole shared queue, by the first worker that closes; a worker closes as soon
as the shared queue is empty even while others hold requests that will lead to more; and it
stores requests with ``pickle`` (data read back from a server becomes code). So the same
design (a Redis scheduler, a Redis duplicate filter) is built here on redis-py, with leases,
rounds and JSON, behind the frontier interface the single-process crawl already has.

Persistence: run Redis with ``appendonly yes`` (the README's recipe). Redis appends each write
to its AOF before it answers, so a restarted ``redis-server`` (even after ``kill -9``) has every
acknowledged enqueue, lease and ``done``; ``appendfsync everysec`` can lose the last second only
on a power cut of the Redis machine. While Redis is down the workers retry each call with
backoff for at most ``STENOGRAM_REDIS_RETRY_FOR`` seconds in all (:class:`Outage`), then stop
with one line; a Redis that refuses the URL's credentials (NOAUTH, WRONGPASS) is not an outage
and stops the worker at once (:class:`RedisRefused`).
"""
from __future__ import annotations

import base64
import heapq
import itertools
import json
import logging
import os
import re
import socket
import threading
from datetime import datetime
from time import monotonic, sleep
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured

from stenogram.compat import wake_engine
from stenogram.crawler import settings as defaults
from stenogram.crawler.recrawl import FRONTIER_META_KEYS
from stenogram.crawler.state import Frontier, FrontierEntry, UrlState, iso, utcnow

logger = logging.getLogger(__name__)

#: the request meta a request taken from Redis carries (the frontier's; see FrontierKeeper)
PORTABLE_META = frozenset(FRONTIER_META_KEYS)
#: meta Scrapy itself sets before a request is scheduled, not carried over (a request taken
#: from Redis is no longer a start request)
DROPPED_META = frozenset({"is_start_request"})
#: meta of a request taken from Redis (and of its retries and redirect hops): the URL leased
LEASE_META = "redis_lease"


class RedisUnavailable(OSError):
    """Redis did not answer within ``STENOGRAM_REDIS_RETRY_FOR`` seconds.

    An ``OSError``: the crawl's storage error handling (``crawler.storage.STORAGE_ERRORS``) stops
    the crawl with one line, as for a full disk; nothing is lost (what was owed stays owed)."""


class RedisRefused(RedisUnavailable):
    """Redis answered but refused the credentials of the URL (``NOAUTH``: the URL has no password
    and the server has ``requirepass``; ``WRONGPASS``: a wrong one). Waiting never fixes that, so
    it is not retried: the worker stops at once with one line instead of retrying for ever."""


def redact(url: str) -> str:
    """The Redis URL without its password, for logs and the WARC's warcinfo."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def check_redis_url(url: str) -> str:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL, or ValueError with one line."""
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix") or (scheme != "unix" and not urlsplit(url).hostname):
        raise ValueError(f"--redis {url!r}: expected redis://HOST:PORT/DB (or rediss://, unix://)")
    return url


class Outage:
    """One outage budget for the whole worker process, not one per Redis call.

    redis-py retries a failed command with backoff; with a fixed count per call, a Redis that
    never comes back made *every* later call (the scheduler's pop, each lease renewal, the close
    that gives leases back, the recrawl state...) wait ``STENOGRAM_REDIS_RETRY_FOR`` again, and a
    worker hung for tens of minutes, deaf to SIGTERM. Here the outage starts at the first failed
    attempt and ends at the first *reply* Redis sends (:func:`_answering`: a reply read from the
    socket, not a TCP connect: a server that accepts connections and then drops or refuses every
    command, as one at ``maxclients`` does, is still out); every call retries only while the
    outage is younger than the budget, and after it fails at once (:class:`RedisUnavailable`), so
    the crawl stops with one line (``stenogram/redis_unavailable``) and closes quickly, leaving
    its leases to expire and its URLs owed. A SIGINT/SIGTERM received during the outage (the
    crawl's :class:`Shutdown`, watched through :meth:`watch`) ends the retrying at once as well:
    the reactor that would handle the signal is blocked inside this retry loop until it gives up.
    """

    def __init__(self):
        self.since: float | None = None
        self.crawlers: list = []

    def watch(self, crawler) -> None:
        if crawler not in self.crawlers:
            self.crawlers.append(crawler)

    def interrupted(self) -> bool:
        return any(getattr(getattr(c, "stenogram_shutdown", None), "interrupted", False) for c in self.crawlers)

    def failed(self, budget: float, now: float | None = None) -> float:
        """An attempt failed: the seconds of budget left (<= 0: give up)."""
        now = monotonic() if now is None else now
        if self.since is None:
            self.since = now
        return 0.0 if self.interrupted() else budget - (now - self.since)

    def answered(self) -> None:
        self.since = None


#: the worker's one outage (a process runs one crawl; its spiders share the same Redis)
OUTAGE = Outage()


def _answering(connection_class):
    """``connection_class`` whose replies to commands end the :data:`OUTAGE`.

    redis-py runs the TCP connect and the handshake through the same ``Retry`` as the commands
    (``AbstractConnection.connect`` calls ``retry.call_with_retry``) and drops the connection
    after every failed command (``Redis._close_connection``), so when any successful attempt
    ended the outage, each reconnect to a server that then refused the command (NOAUTH before,
    ``LOADING`` from a Redis replaying a long AOF) reset the clock and the worker retried for
    ever. Only a reply to one of our commands proves that Redis serves: ``read_response``
    returns only for a reply that is not an error (it raises the error replies), and the
    handshake's replies (``on_connect_check_health``: AUTH, CLIENT SETINFO, SELECT, which Redis
    answers even while loading) do not count.
    """
    class Answering(connection_class):
        _handshaking = False

        def on_connect_check_health(self, *args, **kwargs):
            self._handshaking = True
            try:
                return super().on_connect_check_health(*args, **kwargs)
            finally:
                self._handshaking = False

        def read_response(self, *args, **kwargs):
            response = super().read_response(*args, **kwargs)
            if not self._handshaking:
                OUTAGE.answered()
            return response

    Answering.__name__ = Answering.__qualname__ = f"Answering{connection_class.__name__}"
    return Answering


def _outage_retry(budget: float, backoff):
    """redis-py's ``Retry`` bounded by :data:`OUTAGE` instead of a count per call.

    An ``AuthenticationError`` (redis-py's class for the NOAUTH and WRONGPASS replies; a
    ``ConnectionError`` subclass, so ``retry_on_error`` would retry it) is raised at once: a
    server that refuses the credentials refuses them again.
    """
    from redis.exceptions import AuthenticationError
    from redis.retry import Retry

    class OutageRetry(Retry):
        def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
            self._backoff.reset()
            failures = 0
            while True:
                try:
                    return do()
                except self._supported_errors as error:
                    if isinstance(error, AuthenticationError) or (
                            is_retryable and not is_retryable(error)):
                        raise
                    failures += 1
                    if with_failure_count:
                        fail(error, failures)
                    else:
                        fail(error)
                    left = OUTAGE.failed(budget)
                    if left <= 0:
                        raise
                    wait = min(self._backoff.compute(failures), left)
                    # in short steps: a SIGTERM (handled between them) ends the wait
                    end = monotonic() + wait
                    while monotonic() < end and not OUTAGE.interrupted():
                        sleep(min(0.1, max(end - monotonic(), 0)))

    return OutageRetry(backoff, -1)


_clients: dict[tuple[str, float], object] = {}


def client(url: str, retry_for: float = defaults.STENOGRAM_REDIS_RETRY_FOR):
    """One redis-py client (one connection pool) per URL per process, retrying through outages.

    redis-py's ``Retry`` with exponential backoff (50 ms doubling to 1 s) repeats a command
    whose connection failed, so a ``redis-server`` restart of a few seconds is only a pause; a
    command that may have run before its connection dropped (a lease taken) is safe to repeat or
    lose: an unanswered lease expires and its request goes back to the queue. How long it
    retries is the process's one outage budget, ``retry_for`` (:class:`Outage`).
    """
    key = (url, retry_for)
    if key not in _clients:
        import redis
        from redis.backoff import ExponentialBackoff

        base = {"rediss": redis.SSLConnection, "unix": redis.UnixDomainSocketConnection}.get(
            urlsplit(url).scheme, redis.Connection)
        _clients[key] = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5,
            connection_class=_answering(base),
            retry=_outage_retry(retry_for, ExponentialBackoff(cap=1.0, base=0.05)),
            retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                            redis.exceptions.BusyLoadingError],
            health_check_interval=30,
        )
    return _clients[key]


def redis_call(fn, *args, **kwargs):
    """``fn(*args)``; a Redis that stays unreachable becomes :class:`RedisUnavailable`, one that
    refuses the URL's credentials :class:`RedisRefused` (a line that says what to fix)."""
    import redis

    try:
        return fn(*args, **kwargs)
    except redis.exceptions.AuthenticationError as exc:
        raise RedisRefused(f"Redis refused the credentials ({exc.__class__.__name__}: {exc}); "
                           "a server with requirepass needs redis://:PASSWORD@HOST:PORT/DB") from exc
    except redis.exceptions.RedisError as exc:
        raise RedisUnavailable(f"Redis: {exc}") from exc


class Keys:
    """The key names of one source's shared state (``PREFIX:SOURCE:name``)."""

    def __init__(self, prefix: str, source: str):
        base = f"{prefix}:{source}:"
        self.owed, self.walks = base + "owed", base + "walks"
        self.queue, self.qdata, self.seq = base + "queue", base + "qdata", base + "seq"
        self.leases, self.holder = base + "leases", base + "holder"
        self.seen, self.workers, self.archived = base + "seen", base + "workers", base + "archived"
        self.settled = base + "settled"


def _settings_of(settings):
    url = settings.get("STENOGRAM_REDIS_URL")
    if not url:
        raise NotConfigured  # no message: Scrapy would print "Disabled ..." on every crawl
    return (url, settings.get("STENOGRAM_REDIS_PREFIX"),
            settings.getfloat("STENOGRAM_REDIS_RETRY_FOR"))


# -- the frontier interface ---------------------------------------------------------------------

class RedisFrontier(Frontier):
    """:class:`~stenogram.crawler.state.Frontier` in Redis, shared by every worker.

    ``enqueue`` is ``HSETNX`` (idempotent per source and URL; durable once Redis answered, with
    AOF); ``done`` also ends the URL's lease, drops its stored response and records the URL as
    settled in this round (``settled``, cleared with the round's duplicate filter); walks are a
    hash of walk -> completion time.

    **A rediscovered page that was settled.** A page settled earlier in the round and found again
    is owed again by ``enqueue`` (``HSETNX`` creates the entry ``done`` deleted), then dropped by
    the round's duplicate filter: left there, it would stay owed for ever. So when the scheduler
    drops a request whose owed entry this worker's ``enqueue`` created, :meth:`forget_created`
    deletes the entry, but only through :data:`FORGET`, one Lua script that deletes it only if the
    URL is *truly settled*: in ``settled`` and not queued, not leased, not stored as an archived
    response, all checked in the same atomic step as the delete.

    It used to delete it unconditionally, and lost pages (issue 15): two workers A and B find
    the same URL; A's ``HSETNX`` creates the entry, B's finds it; B's enqueue wins the duplicate
    filter (queued), A's is dropped as a duplicate, so A deleted the entry while B's request
    was still queued or leased. Had B or the whole crawl died before the page settled, the next
    crawl would not have owed it. Each interleaving, against the script's checks:

    * the other copy is queued, taken (leased), or leased and expired but not yet reclaimed (its
      lease is still in ``leases`` until the ``POP`` that reclaims it puts it back in ``queue``,
      in one script): not settled, and queued or leased -> kept;
    * the other copy was fetched and stored (``archived``) by a worker that died, lease reclaimed:
      not settled -> kept; the replay settles it;
    * a redirect target kept by its worker (``TAKE_LOCAL``: leased, no queue entry): leased ->
      kept; if it was handled without settling and parked (lease gone) it is not in ``settled``
      -> kept, owed for the next round;
    * the page was settled (``done``) before A's ``HSETNX`` created the entry again: in
      ``settled``, nobody has it -> deleted, as intended; settled after A's ``HSETNX``: ``done``
      deleted the entry already;
    * a settled page taken again in the round (``TAKE_LOCAL`` takes a seen URL nobody holds):
      leased -> kept while it is in flight; deleted afterwards only because the page *was* settled
      this round (archived, its item through), so nothing it owes is lost;
    * a new round (``JOIN`` clears ``seen`` and ``settled`` together) cannot start between A's
      enqueue and its drop: A's membership is alive.

    The script needs no atomicity with the enqueue that dropped the request: its condition alone
    says the page was settled this round and nobody holds it now, and whoever takes it again
    afterwards enqueues (``HSETNX``) it for itself first.
    """

    def __init__(self, url: str, prefix: str = defaults.STENOGRAM_REDIS_PREFIX,
                 retry_for: float = defaults.STENOGRAM_REDIS_RETRY_FOR):
        self.url, self.prefix = url, prefix
        self.redis = client(url, retry_for)
        #: URLs this worker's last enqueue created (not owed before): a request the round's
        #: duplicate filter then drops was settled already, and owes nothing
        self.created: set[str] = set()
        self._forget = self.redis.register_script(FORGET)

    @classmethod
    def from_settings(cls, settings) -> "RedisFrontier":
        return cls(*_settings_of(settings))

    def keys(self, source: str) -> Keys:
        return Keys(self.prefix, source)

    def enqueue(self, entry: FrontierEntry) -> None:
        data = json.dumps({"callback": entry.callback, "cb_kwargs": entry.cb_kwargs, "meta": entry.meta,
                           "priority": entry.priority, "discovered": iso(utcnow())}, sort_keys=True)
        if redis_call(self.redis.hsetnx, self.keys(entry.source).owed, entry.url, data):
            self.created.add(entry.url)

    def forget_created(self, source: str, url: str, dropped: bool) -> None:
        """The scheduler took (``dropped`` False) or dropped the request just enqueued: an entry
        this worker's enqueue created for a dropped request is deleted if the page is truly
        settled (:data:`FORGET`; the class docstring says why only then)."""
        if url in self.created:
            self.created.discard(url)
            if dropped:
                k = self.keys(source)
                redis_call(self._forget, keys=[k.owed, k.settled, k.queue, k.leases, k.archived], args=[url])

    def done(self, source: str, urls) -> None:
        urls = list(urls)
        if not urls:
            return
        k = self.keys(source)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(k.owed, *urls).zrem(k.queue, *urls).hdel(k.qdata, *urls)
        pipe.zrem(k.leases, *urls).hdel(k.holder, *urls).hdel(k.archived, *urls).sadd(k.settled, *urls)
        redis_call(pipe.execute)

    def owed(self, source: str) -> list[FrontierEntry]:
        rows = redis_call(self.redis.hgetall, self.keys(source).owed)
        entries = []
        for url, data in rows.items():
            d = json.loads(data)
            entries.append((d.get("discovered", ""), url,
                            FrontierEntry(url, source, d["callback"], d["cb_kwargs"], d["meta"], d["priority"])))
        return [e for _d, _u, e in sorted(entries, key=lambda t: (t[0], t[1]))]

    def count(self, source: str | None = None) -> int:
        if source is not None:
            return redis_call(self.redis.hlen, self.keys(source).owed)
        total = 0
        for key in redis_call(self.redis.scan_iter, match=f"{self.prefix}:*:owed"):
            total += redis_call(self.redis.hlen, key)
        return total

    def walk_completed(self, source: str, walk: str) -> bool:
        return bool(redis_call(self.redis.hexists, self.keys(source).walks, walk))

    def complete_walks(self, source: str, walks) -> None:
        walks = list(walks)
        if walks:
            now = iso(utcnow())
            redis_call(self.redis.hset, self.keys(source).walks, mapping={w: now for w in walks})


# -- the recrawl state ----------------------------------------------------------------------------

class RedisCrawlState:
    """The recrawl state (``state.db``'s ``urls`` table, :class:`~stenogram.crawler.state.CrawlState`'s
    methods) as one Redis hash, URL -> row as JSON, shared by every worker.

    Rows are read, merged and written by the worker that fetched the URL: it holds the URL's
    lease, so no other worker writes the same row at the same time.
    """

    FIELDS = UrlState.__dataclass_fields__

    def __init__(self, url: str, prefix: str = defaults.STENOGRAM_REDIS_PREFIX,
                 retry_for: float = defaults.STENOGRAM_REDIS_RETRY_FOR):
        self.redis = client(url, retry_for)
        self.key = f"{prefix}:urls"
        self.path = f"{redact(url)} {self.key}"  # what the logs name

    @classmethod
    def from_settings(cls, settings, readonly: bool = False) -> "RedisCrawlState":
        return cls(*_settings_of(settings))

    def close(self) -> None:
        pass

    def _row(self, url: str) -> dict | None:
        data = redis_call(self.redis.hget, self.key, url)
        return json.loads(data) if data else None

    def _put(self, url: str, row: dict) -> None:
        redis_call(self.redis.hset, self.key, url, json.dumps(row, sort_keys=True))

    def get(self, url: str) -> UrlState | None:
        row = self._row(url)
        return UrlState(url=url, **{k: v for k, v in row.items() if k in self.FIELDS and k != "url"}) if row else None

    def known(self, url: str) -> bool:
        row = self._row(url)
        return bool(row and row.get("complete", 1))

    def count(self) -> int:
        return redis_call(self.redis.hlen, self.key)

    def record_fetch(self, url: str, *, source: str | None, status: int, fetched_at: datetime,
                     etag: str | None = None, last_modified: str | None = None,
                     payload_digest: str | None = None, item_date: str | None = None,
                     next_due: datetime | None = None, complete: bool = True) -> None:
        """As :meth:`CrawlState.record_fetch` (the same merge: sources, digests and item dates kept)."""
        now = iso(fetched_at)
        old = self._row(url) or {}
        self._put(url, {
            "source": source or old.get("source"),
            "first_fetched": old.get("first_fetched", now),
            "last_fetched": now,
            "last_status": status,
            "etag": etag,
            "last_modified": last_modified,
            "payload_digest": payload_digest or old.get("payload_digest"),
            "item_date": item_date or old.get("item_date"),
            "next_due": iso(next_due) if next_due else None,
            "fetch_count": old.get("fetch_count", 0) + 1,
            "not_modified_count": old.get("not_modified_count", 0),
            "complete": int(complete),
        })

    def mark_complete(self, url: str) -> None:
        row = self._row(url)
        if row is not None and not row.get("complete"):
            row["complete"] = 1
            self._put(url, row)

    def record_not_modified(self, url: str, *, fetched_at: datetime, next_due: datetime | None,
                            etag: str | None = None, last_modified: str | None = None) -> None:
        row = self._row(url)
        if row is None:
            return
        row.update(last_fetched=iso(fetched_at), last_status=304, next_due=iso(next_due) if next_due else None,
                   etag=etag or row.get("etag"), last_modified=last_modified or row.get("last_modified"),
                   fetch_count=row.get("fetch_count", 0) + 1,
                   not_modified_count=row.get("not_modified_count", 0) + 1)
        self._put(url, row)

    def set_item_date(self, url: str, item_date: str, next_due: datetime | None = None) -> None:
        row = self._row(url)
        if row is None:
            return
        row["item_date"] = item_date
        if next_due is not None:
            row["next_due"] = iso(next_due)
        self._put(url, row)


# -- the scheduler: shared queue, duplicate filter, leases, rounds ---------------------------------

# Lua scripts run atomically in Redis; times are Redis server time (TIME), so workers' clocks
# do not matter.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

#: KEYS workers queue leases holder qdata seen [settled]; ARGV worker lease -> 1 new round, 0 joined
JOIN = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local alive = redis.call('ZCARD', KEYS[1])
if alive == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
  if KEYS[7] then redis.call('DEL', KEYS[7]) end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if alive == 0 then return 1 end
return 0
"""

#: KEYS owed settled queue leases archived; ARGV url -> 1 the owed entry deleted, 0 kept.
#: Deletes the entry only if the URL is truly settled in this round: settled (``done``) and not
#: queued, leased or stored as an archived response since (RedisFrontier's docstring).
FORGET = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
"""

#: KEYS seen queue qdata seq; ARGV fingerprint url data priority -> 1 queued, 0 seen before
ENQUEUE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], -tonumber(ARGV[4]) * 1000000000 + seq, ARGV[2])
return 1
"""

#: KEYS seen queue leases holder workers; ARGV fingerprint url worker lease -> 1 this worker's
#: now, 0 someone else has it (queued, or leased by a worker whose membership is current).
#: A worker's last leases can outlive its membership by up to a renewal period; the membership
#: says first that it is gone.
#: For a request that stays with its worker (a redirect hop): it is leased too, so another
#: worker drops its own copy while this one lives, and takes it when the lease has expired.
TAKE_LOCAL = _NOW + """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
  local expiry = redis.call('ZSCORE', KEYS[3], ARGV[2])
  local holder = redis.call('HGET', KEYS[4], ARGV[2])
  local alive = holder and redis.call('ZSCORE', KEYS[5], holder)
  if expiry and tonumber(expiry) > now and alive and tonumber(alive) > now then return 0 end
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
return 1
"""

#: KEYS queue qdata leases holder; ARGV worker lease -> {url, data, reclaimed} or nil.
#: Expired leases (their worker died) go back to the front of the queue first.
POP = _NOW + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, url in ipairs(expired) do
  redis.call('ZREM', KEYS[3], url)
  redis.call('HDEL', KEYS[4], url)
  if redis.call('HEXISTS', KEYS[2], url) == 1 then redis.call('ZADD', KEYS[1], -1e15, url) end
end
while true do
  local item = redis.call('ZPOPMIN', KEYS[1])
  if #item == 0 then return {false, false, #expired} end
  local url = item[1]
  local data = redis.call('HGET', KEYS[2], url)
  if data then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), url)
    redis.call('HSET', KEYS[4], url, ARGV[1])
    return {url, data, #expired}
  end
end
"""

#: KEYS leases holder workers; ARGV worker lease url... -> the URLs no longer this worker's
RENEW = _NOW + """
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
local gone = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(gone, ARGV[i])
  end
end
return gone
"""

#: KEYS leases holder queue archived; ARGV worker mode url... -- mode "park": the worker is
#: done with them without settling them (they stay owed for the next round; a stored response
#: is dropped); "requeue": it stops before finishing them (front of the queue, for another)
RELEASE = """
local n = 0
for i = 3, #ARGV do
  local url = ARGV[i]
  if redis.call('HGET', KEYS[2], url) == ARGV[1] then
    redis.call('ZREM', KEYS[1], url)
    redis.call('HDEL', KEYS[2], url)
    if ARGV[2] == 'requeue' then redis.call('ZADD', KEYS[3], -1e15, url) else redis.call('HDEL', KEYS[4], url) end
    n = n + 1
  end
end
return n
"""


class HeldLeases:
    """The URLs this worker holds a lease on, shared by the reactor thread (which takes, releases
    and settles) and the :class:`LeaseRenewer` thread (which renews a snapshot of them).

    Each URL carries the number of the ``add`` that put it there, so a URL the renewer found
    gone (settled, released, or reclaimed by another worker) is dropped only if it was not taken
    again between the renewer's snapshot and its answer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._urls: dict[str, int] = {}
        self._adds = itertools.count()

    def add(self, url: str) -> None:
        with self._lock:
            self._urls[url] = next(self._adds)

    def discard(self, url: str) -> None:
        with self._lock:
            self._urls.pop(url, None)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._urls)

    def take_all(self) -> list[str]:
        """Every URL held, sorted; held no longer."""
        with self._lock:
            urls, self._urls = sorted(self._urls), {}
        return urls

    def discard_gone(self, gone, snapshot: dict[str, int]) -> None:
        with self._lock:
            for url in gone:
                if url in snapshot and self._urls.get(url) == snapshot[url]:
                    del self._urls[url]

    def __contains__(self, url) -> bool:
        with self._lock:
            return url in self._urls

    def __len__(self) -> int:
        with self._lock:
            return len(self._urls)

    def __iter__(self):
        return iter(sorted(self.snapshot()))


class LeaseRenewer(threading.Thread):
    """Renews a worker's leases and membership from a daemon thread with its own Redis connection.

    It used to be a ``LoopingCall`` in the Twisted reactor: a worker whose reactor was blocked
    longer than a lease (a huge page extracted in the pipeline, a slow disk fsync, a long GC)
    stopped renewing while alive, its leases expired, another worker took them back and the page
    was fetched twice (seen with a 1.5 s test lease). Here renewal depends on the process being
    alive, not on the reactor being responsive: every ``lease / 3`` seconds the thread renews a
    snapshot of :class:`HeldLeases` (``RENEW``, one script) through a connection of its own,
    without the crawl's outage retries (a failed renewal is logged and tried at the next turn,
    the reactor's calls keep their own outage budget).

    A reactor wedged for good must not hold its leases for ever: the reactor calls :meth:`tick`
    (a ``LoopingCall``); when it has not for ``STENOGRAM_REDIS_STALL_MAX`` seconds the thread
    stops renewing (logged, counted ``stenogram/redis/stalled``), so the worker's leases and
    membership expire one lease later and the others take its requests back; if the reactor
    turns again, renewal resumes (what was taken meanwhile is gone, and left to its new holder).
    A ``kill -9`` ends the thread with the process: a dead worker's leases still expire.
    """

    def __init__(self, url: str, keys: Keys, worker: str, lease: float, stall_max: float,
                 held: HeldLeases, stats=None):
        import redis

        super().__init__(name=f"lease-renewer-{worker}", daemon=True)
        self.keys, self.worker, self.lease, self.stall_max = keys, worker, lease, stall_max
        self.held, self.stats = held, stats
        self.interval = max(0.05, lease / 3)
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=max(1.0, self.interval),
                                          socket_connect_timeout=max(1.0, self.interval))
        self.script = self.redis.register_script(RENEW)
        self.ticked = monotonic()
        self.stalled = False
        self.renewals = 0
        self._stopping = threading.Event()

    def tick(self) -> None:
        """The reactor is turning (called from it)."""
        self.ticked = monotonic()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
        self.redis.close()

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.renew_once()

    def renew_once(self) -> bool:
        """One turn: renew, unless the reactor has been still too long. True if renewed."""
        quiet = monotonic() - self.ticked
        if quiet > self.stall_max:
            if not self.stalled:
                self.stalled = True
                if self.stats is not None:
                    self.stats.inc_value("stenogram/redis/stalled")
                logger.error("redis frontier: the crawl's event loop has not turned for %.0f s "
                             "(STENOGRAM_REDIS_STALL_MAX=%g): no longer renewing %d leases; they "
                             "expire in %g s and other workers take them back", quiet, self.stall_max,
                             len(self.held), self.lease)
            return False
        if self.stalled:
            self.stalled = False
            logger.warning("redis frontier: the event loop turns again; renewing leases again")
        snapshot = self.held.snapshot()
        k = self.keys
        if self._stopping.is_set():  # the scheduler closed: its membership and leases were given back
            return False
        try:
            gone = self.script(keys=[k.leases, k.holder, k.workers], args=[self.worker, self.lease, *sorted(snapshot)])
        except Exception as exc:  # a Redis outage: the next turn tries again
            logger.warning("redis frontier: lease renewal failed: %s", exc)
            return False
        self.held.discard_gone(gone, snapshot)
        self.renewals += 1
        return True


def worker_id(settings=None) -> str:
    """``STENOGRAM_WORKER_ID``, default ``HOST-PID`` (letters, digits, ``.`` and ``-`` only)."""
    given = settings.get("STENOGRAM_WORKER_ID") if settings is not None else None
    raw = given or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9.-]+", "-", raw)[:64]


class RedisScheduler:
    """A Scrapy scheduler whose queue and duplicate filter are in Redis, with leases.

    ``SCHEDULER`` under ``stenogram crawl --redis``. See the module docstring for the design.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        url, self.prefix, retry_for = _settings_of(settings)
        self.crawler, self.stats = crawler, crawler.stats
        self.redis = client(url, retry_for)
        self.redis_url = url
        self.retry_for = retry_for
        OUTAGE.watch(crawler)  # a SIGTERM during an outage ends the retrying
        keeper = getattr(crawler, "_stenogram_frontier", None)
        if keeper is not None:
            keeper.placed_by_scheduler = True  # a page settles once its links are in Redis
        self.worker = worker_id(settings)
        self.lease = settings.getfloat("STENOGRAM_REDIS_LEASE")
        self.stall_max = settings.getfloat("STENOGRAM_REDIS_STALL_MAX")
        self.poll = settings.getfloat("STENOGRAM_REDIS_POLL")
        self.local: list = []  # heap of (-priority, seq, request): requests that stay here
        self.seq = itertools.count()
        self.held = HeldLeases()  # URLs leased by this worker and not yet released
        self.renewer: LeaseRenewer | None = None
        self.local_seen: set[str] = set()  # fingerprints of the requests kept here
        self.spider = None
        self.keys: Keys | None = None
        self.closing = False
        self._loops = []
        self._join, self._enqueue, self._pop, self._release, self._take_local = (
            self.redis.register_script(s) for s in (JOIN, ENQUEUE, POP, RELEASE, TAKE_LOCAL))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- lifecycle
    def open(self, spider):
        from twisted.internet import task

        self.spider = spider
        self.keys = k = Keys(self.prefix, spider.name)
        new = redis_call(self._join, keys=[k.workers, k.queue, k.leases, k.holder, k.qdata, k.seen, k.settled],
                         args=[self.worker, self.lease])
        logger.info("redis frontier %s: worker %s %s %s's round (%d queued, %d leased)",
                    redact(self.redis_url), self.worker, "started" if new else "joined", spider.name,
                    self.redis.zcard(k.queue), self.redis.zcard(k.leases))
        self.stats.set_value("stenogram/redis/worker", self.worker)
        self.stats.set_value("stenogram/redis/round", "new" if new else "joined")
        self.renewer = LeaseRenewer(self.redis_url, k, self.worker, self.lease, self.stall_max, self.held,
                                    self.stats)
        self.renewer.start()
        heartbeat = task.LoopingCall(self.renewer.tick)  # the reactor turns: renewing is right
        heartbeat.start(min(1.0, max(0.05, self.stall_max / 4)), now=False)
        poll = task.LoopingCall(self._wake_engine)
        poll.start(self.poll, now=False)
        self._loops = [heartbeat, poll]

    def close(self, reason):
        self.closing = True
        for loop in self._loops:
            if loop.running:
                loop.stop()
        if self.renewer is not None:
            self.renewer.stop()
        held = self.held.take_all()
        try:
            if held:  # stopped before finishing them: back to the queue for another worker
                n = redis_call(self._release, keys=self._release_keys(), args=[self.worker, "requeue", *held])
                if n:
                    logger.info("redis frontier: %d requests given back to the queue", n)
            redis_call(self.redis.zrem, self.keys.workers, self.worker)
        except RedisUnavailable as exc:  # an outage already reported once (stop_crawl): no ERROR again
            logger.log(logging.INFO if OUTAGE.since is not None else logging.ERROR,
                       "redis frontier: could not give back %d leases (they expire in %.0f s): %s",
                       len(held), self.lease, exc)

    def _release_keys(self):
        k = self.keys
        return [k.leases, k.holder, k.queue, k.archived]

    def _wake_engine(self):
        """While other workers hold the only work, look at the queue every ``STENOGRAM_REDIS_POLL``
        seconds (Scrapy's own heartbeat for a scheduler that has work but gives none is 5 s)."""
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and not self.closing:
            wake_engine(engine)

    # -- the Scrapy scheduler interface
    def has_pending_requests(self) -> bool:
        if self.local:
            return True
        # Scrapy asks only when this worker has nothing in flight: every request it still
        # holds was handled without being settled (a 5xx, a download error): it stays owed.
        if self.held:
            held = self.held.take_all()
            try:
                parked = redis_call(self._release, keys=self._release_keys(), args=[self.worker, "park", *held])
            except RedisUnavailable as exc:
                self._unreachable(exc)
                return True
            if parked:  # out of this round: owed, fetched by the next one (counted, as a loss for now)
                self.stats.inc_value("stenogram/redis/parked", parked)
                logger.info("redis frontier: %d requests handled but not settled, left owed for the "
                            "next round: %s", parked, ", ".join(held[:20]))
        archived = getattr(self.crawler, "_stenogram_archived", None)
        if archived is not None:
            archived.forget()  # the responses it stored were all handled, settled or not
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        try:
            queued, leased = redis_call(pipe.zcard(k.queue).zcard(k.leases).execute)
        except RedisUnavailable as exc:
            self._unreachable(exc)
            return True  # not idle: the spider closes with the reason above, not "finished"
        return bool(queued or leased)

    def _unreachable(self, exc) -> None:
        """The worker's outage budget is spent (or a signal came during the outage): stop."""
        from stenogram.crawler.storage import stop_crawl

        why = ("it refused the credentials" if isinstance(exc, RedisRefused)
               else f"unreachable for STENOGRAM_REDIS_RETRY_FOR={self.retry_for:g} s")
        stop_crawl(self.crawler, "state_write_failed",
                   f"cannot reach the shared frontier at {redact(self.redis_url)} ({why}): {exc}")

    def __len__(self) -> int:
        try:
            return len(self.local) + (self.redis.zcard(self.keys.queue) if self.keys else 0)
        except Exception:
            return len(self.local)

    def enqueue_request(self, request) -> bool:
        taken = self._enqueue_request(request)
        keeper = getattr(self.crawler, "_stenogram_frontier", None)
        if isinstance(getattr(keeper, "frontier", None), RedisFrontier):
            keeper.frontier.forget_created(self.spider.name, request.url, dropped=not taken)
        if keeper is not None:
            # in the shared queue (or a duplicate of what is): the page it came from may settle
            keeper.placed_by_scheduler = True
            keeper.placed(request)
        return taken

    def _enqueue_request(self, request) -> bool:
        data = self._portable(request)
        k = self.keys
        fingerprint = self.crawler.request_fingerprinter.fingerprint(request).hex()
        if data is None:
            # the round's duplicate filter holds for these too (a redirect to a page another
            # worker has is dropped, as a single process drops it), and they are leased: if this
            # worker dies, the page is another's once the lease expires (the request it came
            # from comes back too, and its redirect leads here again)
            if not request.dont_filter:
                if fingerprint in self.local_seen or not redis_call(
                        self._take_local, keys=[k.seen, k.queue, k.leases, k.holder, k.workers],
                        args=[fingerprint, request.url, self.worker, self.lease]):
                    self.stats.inc_value("dupefilter/filtered")
                    return False
                self.local_seen.add(fingerprint)
                self.held.add(request.url)
            logger.debug("kept by this worker: %s (meta %s%s)", request.url, sorted(request.meta),
                         ", dont_filter" if request.dont_filter else "")
            heapq.heappush(self.local, (-request.priority, next(self.seq), request))
            self.stats.inc_value("stenogram/redis/local")
            return True
        added = redis_call(self._enqueue, keys=[k.seen, k.queue, k.qdata, k.seq],
                           args=[fingerprint, request.url, data, request.priority])
        if not added:
            self.stats.inc_value("dupefilter/filtered")
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self):
        if self.local:
            self.stats.inc_value("scheduler/dequeued/local")
            return heapq.heappop(self.local)[2]
        if self.closing:
            return None
        k = self.keys
        while True:
            try:
                url, data, reclaimed = self._pop(keys=[k.queue, k.qdata, k.leases, k.holder],
                                                 args=[self.worker, self.lease])
            except Exception as exc:
                self._unreachable(exc)
                return None
            if reclaimed:
                self.stats.inc_value("stenogram/redis/reclaimed", reclaimed)
                logger.info("redis frontier: %d expired leases (a worker died?) back in the queue", reclaimed)
            if not url:
                return None
            self.held.add(url)
            request = self._request(url, data)
            if request is not None:
                request.meta[LEASE_META] = url  # copied to its retries and redirect hops
                self.stats.inc_value("scheduler/dequeued/redis")
                return request
            # a callback this spider does not have: left owed for a worker that has it
            redis_call(self._release, keys=self._release_keys(), args=[self.worker, "park", url])
            self.held.discard(url)

    # -- requests <-> JSON
    def _portable(self, request) -> str | None:
        """The request as JSON when another worker can issue it as it is, else None."""
        if request.dont_filter or request.method != "GET" or request.body or request.errback is not None:
            return None
        if not set(request.meta) <= PORTABLE_META | DROPPED_META:
            return None
        name = "parse" if request.callback is None else getattr(request.callback, "__name__", None)
        if name is None or getattr(self.spider, name, None) is None:
            return None
        try:
            return json.dumps({"callback": name, "cb_kwargs": request.cb_kwargs or {}, "meta": {k: v for k, v in request.meta.items() if k in PORTABLE_META},
                               "priority": request.priority}, sort_keys=True)
        except (TypeError, ValueError):
            return None

    def _request(self, url: str, data: str):
        entry = json.loads(data)
        callback = getattr(self.spider, entry["callback"], None)
        if callback is None:
            self.stats.inc_value("stenogram/frontier/unknown_callback")
            logger.warning("redis frontier: %s has no callback %r for %s", self.spider.name, entry["callback"], url)
            return None
        return Request(url, callback=callback, cb_kwargs=entry["cb_kwargs"], meta=dict(entry["meta"]),
                       priority=entry["priority"])


# -- archived but not yet settled: answered from Redis, never fetched again -------------------------

class ArchivedResponseMiddleware:
    """Downloader middleware: a page archived by a worker that died is not fetched again.

    Each 2xx response is stored in Redis (``archived``) right after the archiver wrote its WARC
    records (``response_downloaded``; this middleware connects after the archiver, so it runs
    after it), with the body as received and its WARC location. ``done`` (the page settled)
    deletes it. A request for a URL still stored there (its lease came back from a dead worker,
    or a new round issued it again from the frontier) is answered with that response, flagged
    ``replayed``: not archived again, the callback and the pipeline run as if just fetched, and
    the item points at the record the dead worker wrote. Order it just after
    ``RecrawlMiddleware`` (50). Enabled by ``STENOGRAM_REDIS_URL``.
    """

    def __init__(self, crawler):
        url, prefix, retry_for = _settings_of(crawler.settings)
        self.crawler, self.stats = crawler, crawler.stats
        self.redis = client(url, retry_for)
        self.prefix = prefix
        self.key = None
        self.stored: set[str] = set()  # URLs whose response this worker stored
        self.answered: set[str] = set()  # URLs this worker answered from another's stored copy

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler._stenogram_archived = mw  # the scheduler calls forget() when the worker is idle
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.response_downloaded, signal=signals.response_downloaded)
        return mw

    def spider_opened(self, spider):
        self.key = Keys(self.prefix, spider.name).archived

    def response_downloaded(self, response, request, spider):
        location = request.meta.get("warc")
        if (LEASE_META not in request.meta or not 200 <= response.status < 300 or location is None
                or "replayed" in response.flags):
            return  # robots.txt (no lease), errors and redirects (fetched again: cheap, no item)
        revisit_of = request.meta.get("warc_revisit_of")
        data = {
            "url": response.url, "status": response.status,
            "headers": [[k.decode("latin-1"), [v.decode("latin-1") for v in vs]]
                        for k, vs in response.headers.items()],
            "body": base64.b64encode(response.body).decode("ascii"),
            "protocol": getattr(response, "protocol", None),
            "flags": [f for f in response.flags if f != "replayed"],
            "warc": location.to_dict(), "warc_date": request.meta.get("warc_date"),
            "warc_revisit_of": revisit_of.to_dict() if revisit_of is not None else None,
        }
        redis_call(self.redis.hset, self.key, request.url, json.dumps(data))
        self.stored.add(request.url)

    def forget(self) -> None:
        """Drop what this worker stored: called when it is idle, so every page it fetched was
        handled (a settled page's response is gone already; an unsettled one stays owed and is
        fetched again by the next round, not answered from a stale copy)."""
        if self.stored:
            stored, self.stored = sorted(self.stored), set()
            redis_call(self.redis.hdel, self.key, *stored)

    def process_request(self, request):
        # only another worker's copy, once: this worker's own (an anti-bot page it stored, then
        # retried) or one it already answered with is fetched for real
        if (self.key is None or LEASE_META not in request.meta or request.url in self.stored
                or request.url in self.answered):
            return None
        stored = redis_call(self.redis.hget, self.key, request.url)
        if not stored:
            return None
        from scrapy.http import Headers
        from scrapy.responsetypes import responsetypes

        from stenogram.archive.capture import WarcLocation

        d = json.loads(stored)
        headers = Headers({k: vs for k, vs in d["headers"]})
        body = base64.b64decode(d["body"])
        cls = responsetypes.from_args(headers=headers, url=d["url"], body=body)
        request.meta["warc"] = WarcLocation(**d["warc"])
        request.meta["warc_date"] = d["warc_date"]
        if d.get("warc_revisit_of"):
            request.meta["warc_revisit_of"] = WarcLocation(**d["warc_revisit_of"])
        self.answered.add(request.url)
        self.stats.inc_value("stenogram/redis/archived_not_refetched")
        logger.info("redis frontier: %s was archived by a worker that stopped; answered from Redis", request.url)
        return cls(url=d["url"], status=d["status"], headers=headers, body=body, request=request,
                   flags=[*d["flags"], "replayed"], protocol=d.get("protocol"))


# -- the worker's pipeline: extract and annotate; the corpus is written by `reprocess` ---------------

class WorkerPipeline:
    """The item pipeline of a ``--redis`` worker: everything ``CorpusPipeline`` does but ingest.

    Exactly one process writes the corpus: ``stenogram reprocess --db corpus.db`` over the
    workers' WARC folders (README, "Scale-out"). A worker still extracts each page, for the
    item's date (which sets when the page is due again, in the shared recrawl state), the
    report's counts and the metadata record beside the response in its own WARC.
    """

    def __init__(self, crawler):
        from stenogram.crawler.pipelines import CorpusPipeline

        if not crawler.settings.get("STENOGRAM_REDIS_URL"):
            raise NotConfigured  # no message: Scrapy would print "Disabled ..." on every crawl
        self.inner = CorpusPipeline.from_crawler(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        from stenogram.crawler.archiving import WarcArchiver

        self.inner.archiver = self.inner.crawler.get_extension(WarcArchiver)

    def close_spider(self, spider=None):
        pass

    def process_item(self, item, spider=None):
        from stenogram.extract import extract_page

        inner = self.inner
        if item.get("warc") is None:
            inner.stats.inc_value("stenogram/pages_not_archived")
            logger.warning("not extracting %s: no WARC record (archiving disabled?)", item["url"])
            return item
        record = extract_page(item["body"], url=item["url"], content_type=item.get("content_type")).to_dict()
        item["date"] = record.get("date")
        if record.get("is_transcript"):
            inner.stats.inc_value("stenogram/transcript_pages")
        else:
            inner.stats.inc_value("stenogram/not_transcript")
            inner.stats.inc_value(f"stenogram/not_transcript/{record.get('reason') or 'unknown'}")
        inner._annotate_warc(item["warc"], item["url"], record, item.get("outlinks"))
        return item


def redis_settings(url: str, base=None) -> dict:
    """The settings ``stenogram crawl --redis URL`` adds: the Redis backends, the worker pipeline,
    and a WARC prefix naming the worker. ``base``: the project settings to extend."""
    from stenogram.crawler.runner import project_settings

    check_redis_url(url)
    base = base or project_settings()
    worker = worker_id(base)
    pipelines = dict(base.getdict("ITEM_PIPELINES"))
    pipelines = {k: None if k.endswith("CorpusPipeline") else v for k, v in pipelines.items()}
    pipelines["stenogram.crawler.redis_frontier.WorkerPipeline"] = 300
    return {
        "STENOGRAM_REDIS_URL": url,
        "STENOGRAM_WORKER_ID": worker,
        "SCHEDULER": "stenogram.crawler.redis_frontier.RedisScheduler",
        "FRONTIER_BACKEND": "stenogram.crawler.redis_frontier.RedisFrontier",
        "CRAWL_STATE_BACKEND": "stenogram.crawler.redis_frontier.RedisCrawlState",
        "ITEM_PIPELINES": pipelines,
        "WARC_PREFIX": f"{base.get('WARC_PREFIX') or 'stenogram'}-{worker}",
    }


def ping(url: str, retry_for: float = 5.0) -> None:
    """Raise RedisUnavailable with one line when nobody answers at ``url``."""
    redis_call(client(url, retry_for).ping)
