"""One politeness budget per host for every crawl worker that shares a Redis server.

Scrapy keeps a host's delay (``DOWNLOAD_DELAY``, raised by AutoThrottle) and its concurrency
(``CONCURRENT_REQUESTS_PER_DOMAIN``) in the downloader slot of one process: four workers at 10 s
each would hit mid.ru every 2.5 s. With ``STENOGRAM_REDIS_URL`` set (``stenogram crawl --redis``),
:class:`HostBudgetMiddleware` asks Redis for the host's turn before every request, so the delay,
the concurrency, ``Retry-After`` and the anti-bot backoff hold for the cluster as a whole.
Without a Redis URL it is not loaded and a crawl is exactly what it was.

The budget is three atomic Lua scripts (:data:`ACQUIRE`, :data:`HOLD`, :data:`RELEASE`) on the
server's clock (``TIME``), so the workers' clocks never matter. Per host (``host:port``, as the
sample site gives each source its own port) Redis keeps

* ``last``: when the host's last request was let go, or its answer came back (µs, server time);
* ``hold``: no request before this (a ``Retry-After`` or an anti-bot backoff one worker saw);
* ``leases``: a sorted set of the requests holding one of the host's places
  (``CONCURRENT_REQUESTS_PER_DOMAIN``), each with its expiry, so a worker killed mid-request
  frees its place after ``HOST_BUDGET_LEASE``.

A request first takes a place (or polls while all are taken), then waits until
``max(last + delay, hold)``; the script lets it go only when that time has come and records
``last`` in the same step, so two grants are never closer than the delay, whatever the waiters'
timers did. The place is given back when the response (or the error) comes back, after a
``Retry-After`` in that response has been pushed as the host's ``hold``, and ``last`` moves up to
that moment: the request reached the host by then at the latest, while a worker whose event loop
was busy (a page being extracted, a WARC written) may have sent it well after its grant. With one
place per host (the live default) the gap the host sees between two requests is therefore never
below the delay, whatever the workers' loads; the price is that a host's pace is the delay plus
its response time, not the larger of the two as in one Scrapy process. With more places, grants
are spaced by the delay and the workers' send latencies add their noise, as in Scrapy itself.

The delay is this worker's slot delay (``DOWNLOAD_DELAY`` or AutoThrottle's current value),
stretched by up to ``DOWNLOAD_DELAY_JITTER`` (never shrunk: the cluster never goes below the
configured delay). Once Redis has granted the turn, the local slot must not wait again (a second,
per-process wait after the grant would let another worker's turn come too close behind it), so
the middleware opens the slot's own timer for that one request; Scrapy's slot still counts the
transfer and AutoThrottle still adjusts the delay from the latencies it sees.
"""
from __future__ import annotations

import logging
import random
import uuid
from time import monotonic

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from stenogram.crawler.middlewares import host_backoff, parse_retry_after, pause, pauses_ended

logger = logging.getLogger(__name__)

#: ACQUIRE's answers
BUSY, WAIT, GO = 0, 1, 2

ACQUIRE = """
-- KEYS[1] host state (hash: last, hold), KEYS[2] host leases (zset token -> expiry), µs
-- ARGV: token, delay, concurrency, lease, ttl (µs except concurrency)
-- returns {answer, wait µs, server time µs}: BUSY (every place taken: poll again), WAIT (a
-- place is yours until expiry: ask again in `wait`) or GO (send now: `last` is now)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local token, delay = ARGV[1], tonumber(ARGV[2])
local places, lease, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold') or '0')
local ready = math.max(last + delay, hold)
if not redis.call('ZSCORE', KEYS[2], token) and redis.call('ZCARD', KEYS[2]) >= places then
  return {0, math.max(ready - now, 0), now}
end
if ready > now then
  redis.call('ZADD', KEYS[2], ready + lease, token)
  redis.call('PEXPIRE', KEYS[2], math.floor((ready - now + lease + ttl) / 1000))
  return {1, ready - now, now}
end
redis.call('HSET', KEYS[1], 'last', now)
redis.call('ZADD', KEYS[2], now + lease, token)
redis.call('PEXPIRE', KEYS[1], math.floor((math.max(hold - now, 0) + delay + ttl) / 1000))
redis.call('PEXPIRE', KEYS[2], math.floor((lease + ttl) / 1000))
return {2, 0, now}
"""

HOLD = """
-- KEYS[1] host state; ARGV: hold µs from now, ttl µs. No request to the host before now + hold.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untl = now + tonumber(ARGV[1])
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold') or '0')
if untl > hold then
  redis.call('HSET', KEYS[1], 'hold', untl)
  redis.call('PEXPIRE', KEYS[1], math.floor((untl - now + tonumber(ARGV[2])) / 1000))
end
return {math.max(untl, hold), now}
"""

RELEASE = """
-- KEYS[1] host state, KEYS[2] host leases; ARGV: token, sent (1 if the request went out), ttl µs.
-- Gives the place back; a request that went out reached the host by now at the latest, so the
-- host's next turn counts from now if that is later than `last`. {removed, server time µs}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[2] == '1' then
  local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
  if now > last then
    redis.call('HSET', KEYS[1], 'last', now)
    if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) / 1000 then
      redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[3]) / 1000))
    end
  end
end
return {redis.call('ZREM', KEYS[2], ARGV[1]), now}
"""

US = 1_000_000


def host_key(request) -> str:
    """``host:port`` of a request: the unit of politeness (each sample-site source has its port)."""
    parts = urlparse_cached(request)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{(parts.hostname or '').lower()}:{port}"


class HostBudget:
    """The Redis side: :data:`ACQUIRE`, :data:`HOLD` and :data:`RELEASE` on one host's keys.

    ``client`` is a ``redis.asyncio.Redis``; every method returns what its script returns, with
    times in seconds (floats) and the server's clock.
    """

    def __init__(self, client, prefix: str = "stenogram:budget", ttl: float = 3600.0):
        self.client = client
        self.prefix = prefix
        self.ttl_us = int(ttl * US)
        self._acquire = client.register_script(ACQUIRE)
        self._hold = client.register_script(HOLD)
        self._release = client.register_script(RELEASE)

    def keys(self, host: str) -> list[str]:
        # one hash tag per host: both keys live in the same slot of a Redis Cluster
        return [f"{self.prefix}:{{{host}}}", f"{self.prefix}:{{{host}}}:leases"]

    async def acquire(self, host: str, token: str, delay: float, places: int, lease: float) -> tuple[int, float, float]:
        """(answer, seconds to wait, server time): BUSY, WAIT or GO (see :data:`ACQUIRE`)."""
        answer, wait, now = await self._acquire(
            keys=self.keys(host),
            args=[token, int(delay * US), max(int(places), 1), int(lease * US), self.ttl_us])
        return int(answer), int(wait) / US, int(now) / US

    async def hold(self, host: str, seconds: float) -> tuple[float, float]:
        """No request to ``host`` before now + ``seconds``: (hold until, server time)."""
        until, now = await self._hold(keys=self.keys(host)[:1], args=[int(seconds * US), self.ttl_us])
        return int(until) / US, int(now) / US

    async def release(self, host: str, token: str, sent: bool = True) -> tuple[bool, float]:
        """Give ``token``'s place back: (it was still held, server time). ``sent``: the request
        went out, so the host's next turn counts from now at the earliest."""
        removed, now = await self._release(keys=self.keys(host), args=[token, "1" if sent else "0", self.ttl_us])
        return bool(removed), int(now) / US


class HostBudgetMiddleware:
    """Waits for the host's turn in Redis before a request goes to the downloader.

    Order it last before :class:`~stenogram.crawler.shutdown.ShutdownMiddleware` (e.g. 980 <
    990): nothing awaits between the grant and the downloader's queue, and a request whose wait
    Ctrl-C ended is still refused by the shutdown middleware. Its ``process_response`` is among
    the first to see a response: a ``Retry-After`` there (capped at ``RETRY_AFTER_MAX``; a longer
    one is given up by RetryAfterMiddleware, as alone) becomes the host's hold *before* the
    place is given back, so no worker slips in between. Anti-bot backoffs arrive through the
    :data:`~stenogram.crawler.middlewares.host_backoff` signal the interstitial middleware sends.

    A Redis error never lets a request through unthrottled: the request waits (logged once per
    outage, counted ``stenogram/host_budget/redis_errors``) and asks again, so a Redis restart
    only pauses the crawl.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        url = settings.get("STENOGRAM_REDIS_URL")
        if not url or not settings.getbool("HOST_BUDGET_ENABLED"):
            raise NotConfigured
        import redis.asyncio  # only a crawl with a Redis URL needs the client

        self.crawler = crawler
        self.stats = crawler.stats
        self.url = url
        self.retry_for = settings.getfloat("STENOGRAM_REDIS_RETRY_FOR")
        self.client = redis.asyncio.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.budget = HostBudget(self.client, settings.get("HOST_BUDGET_KEY_PREFIX"))
        # a place is held from the grant until the response; a killed worker's place frees after this
        self.lease = max(settings.getfloat("HOST_BUDGET_LEASE"), settings.getfloat("DOWNLOAD_TIMEOUT") + 5)
        self.poll_max = settings.getfloat("HOST_BUDGET_POLL_MAX")
        self.retry_after_codes = {int(c) for c in settings.getlist("RETRY_AFTER_HTTP_CODES")}
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX")
        self.honour_retry_after = settings.getbool("RETRY_AFTER_ENABLED")
        self.rng = random.Random()
        self._outage = False
        # places whose giving back failed (Redis down): given back once Redis answers again, since
        # a Redis restarted from its append-only file still has them and would stall the host for
        # every worker until their lease ran out
        self._unreleased: list[tuple[str, str, bool]] = []

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw._on_backoff, signal=host_backoff)
        crawler.signals.connect(mw._on_closed, signal=signals.spider_closed)
        return mw

    # -- the wait
    async def process_request(self, request):
        if urlparse_cached(request).scheme not in ("http", "https"):
            return None
        host = host_key(request)
        slot = self._local_slot(request)
        delay = slot.delay * (1 + self.rng.uniform(0, slot.jitter)) if slot.jitter > 0 else slot.delay
        token = uuid.uuid4().hex
        request.meta["host_budget"] = (host, token)
        waited = 0.0
        while True:
            if pauses_ended():  # Ctrl-C: ShutdownMiddleware refuses it, process_exception frees the place
                return None
            try:
                if self._unreleased:
                    await self._give_back_late()
                answer, wait, _now = await self.budget.acquire(host, token, delay, slot.concurrency, self.lease)
            except Exception as exc:  # redis.exceptions.RedisError, OSError: wait for Redis, never skip it
                wait = self._redis_failed(exc)
                if wait <= 0:  # the worker's outage budget is spent: the crawl stops, this stays owed
                    request.meta.pop("host_budget", None)
                    raise IgnoreRequest(f"host budget: Redis unreachable: {exc}") from exc
                waited += wait
                await pause(wait)
                continue
            self._redis_back()
            if answer == GO:
                break
            if answer == BUSY:  # every place taken: poll, but not before the host could be ready
                self.stats.inc_value("stenogram/host_budget/busy")
                wait = max(wait, min(max(delay / 4, 0.01), self.poll_max))
            waited += wait
            await pause(wait)
        self.stats.inc_value("stenogram/host_budget/granted")
        if waited:
            self.stats.inc_value("stenogram/host_budget/waited_seconds", round(waited, 3))
        self._open_local_slot(slot)
        return None

    def _local_slot(self, request):
        """This crawler's downloader slot for the request (made now if new): its ``delay`` is
        DOWNLOAD_DELAY as AutoThrottle has adjusted it, its ``concurrency`` the host's places."""
        _key, slot = self.crawler.engine.downloader._get_slot(request)
        return slot

    @staticmethod
    def _open_local_slot(slot) -> None:
        """Redis granted this turn: the slot must send it now, not after its own delay."""
        if slot.latercall is not None:
            slot.latercall.cancel()
            slot.latercall = None
        slot.lastseen = monotonic() - slot.delay * (1 + max(slot.jitter, 0)) - 1.0

    # -- giving the place back
    async def process_response(self, request, response):
        held = request.meta.pop("host_budget", None)
        if held is not None:
            host, token = held
            if self.honour_retry_after and response.status in self.retry_after_codes:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait:
                    await self._hold(host, min(wait, self.retry_after_max), f"retry_after_{response.status}")
            await self._release(host, token, sent=True)
        return response

    async def process_exception(self, request, exception):
        held = request.meta.pop("host_budget", None)
        if held is not None:  # IgnoreRequest: refused before the wire (Ctrl-C); else failed on it
            await self._release(*held, sent=not isinstance(exception, IgnoreRequest))
        return None

    async def _release(self, host: str, token: str, sent: bool) -> None:
        try:
            await self.budget.release(host, token, sent)
        except Exception as exc:  # given back when Redis answers again (else its lease runs out)
            self.stats.inc_value("stenogram/host_budget/redis_errors")
            self._unreleased.append((host, token, sent))
            logger.warning("host budget: could not give back a place on %s (%s); it is given back when "
                           "Redis answers again, or frees itself in %.0f s", host, exc, self.lease)

    async def _give_back_late(self) -> None:
        """Give back the places a Redis outage kept; raises (keeping them) while Redis is still down."""
        while self._unreleased:
            host, token, sent = self._unreleased[0]
            await self.budget.release(host, token, sent)
            self._unreleased.pop(0)
            self.stats.inc_value("stenogram/host_budget/given_back_late")
            logger.warning("host budget: gave back a place on %s kept by the Redis outage", host)

    async def _hold(self, host: str, seconds: float, reason: str) -> None:
        try:
            await self.budget.hold(host, seconds)
        except Exception as exc:
            self.stats.inc_value("stenogram/host_budget/redis_errors")
            logger.warning("host budget: could not hold %s for %.1f s (%s): %s", host, seconds, reason, exc)
            return
        self.stats.inc_value("stenogram/host_budget/holds")
        self.stats.inc_value(f"stenogram/host_budget/holds/{reason}")
        logger.info("host budget: %s held for %.1f s for every worker (%s)", host, seconds, reason)

    async def _on_backoff(self, request, seconds: float, reason: str) -> None:
        await self._hold(host_key(request), seconds, reason)

    # -- Redis outages
    def _redis_failed(self, exc) -> float:
        """Seconds to wait before asking again; 0 once the worker's one outage budget
        (``STENOGRAM_REDIS_RETRY_FOR``, shared with the frontier: ``redis_frontier.OUTAGE``) is
        spent, and then the crawl is stopped: a Redis that never comes back must not keep a
        request (and with it the closing spider) waiting for ever."""
        from stenogram.crawler.redis_frontier import OUTAGE

        self.stats.inc_value("stenogram/host_budget/redis_errors")
        if not self._outage:
            logger.warning("host budget: Redis at %s did not answer (%s): requests wait until it does",
                           self.url, exc)
        self._outage = True
        left = OUTAGE.failed(self.retry_for)
        if left <= 0:
            from stenogram.crawler.redis_frontier import redact
            from stenogram.crawler.storage import stop_crawl

            stop_crawl(self.crawler, "state_write_failed",
                       f"cannot reach Redis at {redact(self.url)} for the host budget "
                       f"(unreachable for STENOGRAM_REDIS_RETRY_FOR={self.retry_for:g} s): {exc}")
            return 0.0
        return min(1.0, left)

    def _redis_back(self) -> None:
        from stenogram.crawler.redis_frontier import OUTAGE

        OUTAGE.answered()
        if self._outage:
            logger.warning("host budget: Redis at %s answers again", self.url)
            self._outage = False

    async def _on_closed(self, spider, reason) -> None:
        try:
            await self._give_back_late()
        except Exception:  # Redis still down: the leases run out by themselves
            pass
        await self.client.aclose()
