"""Downloader middlewares for polite crawling of sites that push back.

mid.ru resets connections, rate-limits with 429/503 + ``Retry-After`` and answers bots with
status-200 interstitial pages. Each behaviour has one small middleware here:

* :class:`RetryAfterMiddleware`: honour ``Retry-After`` (seconds or HTTP-date), bounded;
* :class:`InterstitialMiddleware`: a 200 anti-bot page is never a page: retry it later with
  growing pauses, then give up, counted and logged (the WARC keeps it as evidence: the
  archiving extension wrote it before any middleware saw it);
* :class:`BackoffRetryMiddleware`: Scrapy's retries, with exponential pauses between them.

Waits never block the reactor: they are Twisted timers awaited inside ``process_response``.
A waiting request keeps its place among ``CONCURRENT_REQUESTS``, which is what politeness
wants: nothing else is sent to a host on that request's behalf while it waits.
"""
from __future__ import annotations

import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from w3lib.url import canonicalize_url, safe_url_string

from stenogram.crawler.storage import stop_crawl
from stenogram.extract.interstitial import interstitial_reason  # the extractor needs the same rules

logger = logging.getLogger(__name__)


# -- waiting without blocking the reactor


#: the waits in progress, so Ctrl-C can end them (crawler/shutdown.py); after end_pauses(), no
#: new wait starts until reset_pauses() (a retry after an aborted download must not wait either)
_PAUSES: set = set()
_ENDED = False


async def pause(seconds: float) -> None:
    """Sleep ``seconds`` on the reactor's clock (works with the asyncio and default reactors);
    :func:`end_pauses` ends it early."""
    if seconds <= 0 or _ENDED:
        return
    from twisted.internet import defer, reactor

    waiting = defer.Deferred()
    timer = reactor.callLater(seconds, waiting.callback, None)
    _PAUSES.add((waiting, timer))
    try:
        await maybe_deferred_to_future(waiting)
    finally:
        _PAUSES.discard((waiting, timer))


def end_pauses() -> int:
    """End every wait in progress now (Ctrl-C: a Retry-After of 10 minutes must not hold the
    crawl); the middlewares carry on as if the wait were over. Returns how many were ended."""
    global _ENDED
    _ENDED = True
    ended = 0
    for waiting, timer in list(_PAUSES):
        if timer.active():
            timer.cancel()
        if not waiting.called:
            waiting.callback(None)
            ended += 1
    return ended


def pauses_ended() -> bool:
    """True after :func:`end_pauses` (Ctrl-C) until :func:`reset_pauses`: a loop of waits stops."""
    return _ENDED


def reset_pauses() -> None:
    global _ENDED
    _ENDED = False


#: Sent (``await crawler.signals.send_catch_log_async(signal=host_backoff, request=..., seconds=...,
#: reason=...)``) when a response says the whole host must wait, not only this request. The
#: per-host budget of a crawl cluster (crawler/host_budget.py) holds the host that long for every
#: worker; a crawl without Redis has no receiver, and only the request waits, as before.
host_backoff = object()


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if invalid."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def http_date(value: str) -> datetime | None:
    """An HTTP-date (``Retry-After``, ``Memento-Datetime``) as an aware datetime (UTC when it
    names no zone), or None when it is not one."""
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def backoff_delay(attempt: int, base: float, maximum: float, jitter: float = 0.0, rng=random) -> float:
    """``base * 2**(attempt-1)``, capped at ``maximum``, stretched by up to ``jitter`` (a share)."""
    delay = min(base * (2 ** max(attempt - 1, 0)), maximum)
    if jitter:
        delay *= 1 + rng.uniform(0, jitter)
    return delay


class RetryAfterMiddleware:
    """On 429/503 with ``Retry-After``, wait that long and retry the request.

    A wait longer than ``RETRY_AFTER_MAX`` is not worth holding the crawl for:
    the request is given up, logged and counted (``stenogram/retry_after/gave_up``); the next
    scheduled crawl fetches it. Responses without a usable ``Retry-After`` are left to
    :class:`BackoffRetryMiddleware`. Order it after the retry middleware (e.g. 560 > 550) so
    its ``process_response`` sees the answer first.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED") or not settings.getbool("RETRY_AFTER_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.codes = {int(c) for c in settings.getlist("RETRY_AFTER_HTTP_CODES")}
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX")
        self.max_times = settings.getint("RETRY_TIMES")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_response(self, request, response):
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None:
            return response
        if wait > self.max_wait:
            self.stats.inc_value("stenogram/retry_after/gave_up")
            self.stats.inc_value("stenogram/retry_after/gave_up/too_long")
            logger.warning("giving up %s: %d with Retry-After %.0f s > RETRY_AFTER_MAX %.0f s",
                           request.url, response.status, wait, self.max_wait)
            request.meta["dont_retry"] = True  # and not BackoffRetry either: the server said when
            return response
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"retry_after_{response.status}",
                                  max_retry_times=self.max_times)
        if retry is None:
            self.stats.inc_value("stenogram/retry_after/gave_up")
            self.stats.inc_value("stenogram/retry_after/gave_up/max_retries")
            request.meta["dont_retry"] = True
            return response
        self.stats.inc_value("stenogram/retry_after")
        self.stats.inc_value("stenogram/retry_after/waited_seconds", int(round(wait)))
        logger.info("%d from %s: waiting %.1f s (Retry-After) before retry %d",
                    response.status, request.url, wait, retry.meta["retry_times"])
        await pause(wait)
        return retry


class InterstitialMiddleware:
    """Anti-bot pages served with 200 never reach the spider; the request is retried later.

    Detection reads the decoded body (order it below HttpCompressionMiddleware's 590, e.g. 580).
    Retry ``n`` waits ``INTERSTITIAL_BACKOFF_BASE * 2**(n-1)`` seconds (capped by
    ``INTERSTITIAL_BACKOFF_MAX``); after ``INTERSTITIAL_RETRY_TIMES`` the request is given up
    with :class:`IgnoreRequest`, logged and counted (``stenogram/interstitial/gave_up``).
    """

    def __init__(self, crawler):
        settings = crawler.settings
        if not settings.getbool("INTERSTITIAL_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_times = settings.getint("INTERSTITIAL_RETRY_TIMES")
        self.base = settings.getfloat("INTERSTITIAL_BACKOFF_BASE")
        self.maximum = settings.getfloat("INTERSTITIAL_BACKOFF_MAX")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _annotate(self, request, response, reason: str) -> None:
        """The challenge-page verdict as a metadata record beside the archived response, so the
        WARC itself says why this 200 never became a document."""
        from stenogram.crawler.archiving import WarcArchiver

        archiver = self.crawler.get_extension(WarcArchiver)
        if archiver is not None and request.meta.get("warc") is not None:
            archiver.write_metadata(request.meta["warc"], response.url, {
                "x-stenogram-interstitial": reason,
                "x-stenogram-is-transcript": "false",
            })

    async def process_response(self, request, response):
        if response.status != 200:
            return response
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        reason = interstitial_reason(response.body, content_type)
        if reason is None:
            return response
        self.stats.inc_value("stenogram/interstitial/seen")
        self._annotate(request, response, reason)
        self.stats.inc_value(f"stenogram/interstitial/seen/{reason}")
        attempt = request.meta.get("interstitial_times", 0) + 1
        if attempt > self.max_times:
            self.stats.inc_value("stenogram/interstitial/gave_up")
            logger.warning("giving up %s: anti-bot interstitial (%s) %d times; kept in the WARC",
                           request.url, reason, attempt)
            raise IgnoreRequest(f"interstitial {reason}: gave up after {attempt} answers")
        delay = backoff_delay(attempt, self.base, self.maximum)
        self.stats.inc_value("stenogram/interstitial/retried")
        logger.info("anti-bot interstitial (%s) for %s: retry %d/%d in %.1f s",
                    reason, request.url, attempt, self.max_times, delay)
        retry = request.copy()
        retry.meta["interstitial_times"] = attempt
        retry.dont_filter = True
        # the anti-bot wall is the host's answer to the crawler, not to this page: in a cluster the
        # other workers wait too (crawler/host_budget.py); alone, only this request waits
        await self.crawler.signals.send_catch_log_async(signal=host_backoff, request=request, seconds=delay,
                                                        reason="interstitial")
        await pause(delay)
        return retry


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware with exponential pauses between retries of the same request.

    Responses flagged ``dataloss`` (a body shorter than its Content-Length) are retried too.
    Retry ``n`` waits ``RETRY_BACKOFF_BASE * 2**(n-1)`` seconds (capped by
    ``RETRY_BACKOFF_MAX``, stretched by up to ``RETRY_BACKOFF_JITTER``): connection resets on
    mid.ru come in bursts, and public crawlers that keep working retry up to 10 times with
    growing pauses. Replaces ``scrapy.downloadermiddlewares.retry.RetryMiddleware`` at 550.
    """

    def __init__(self, crawler):
        settings = crawler.settings
        super().__init__(settings)
        self.crawler = crawler
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")
        self.backoff_jitter = settings.getfloat("RETRY_BACKOFF_JITTER")
        self.rng = random.Random()

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw._log_totals, signal=signals.spider_closed)
        return mw

    async def process_response(self, request, response):
        if "dataloss" in (response.flags or ()) and not request.meta.get("dont_retry"):
            # a body cut short (DOWNLOAD_FAIL_ON_DATALOSS=False keeps it for the WARC) is not the page
            self.crawler.stats.inc_value("stenogram/retry/dataloss")
            result = self._retry(request, "dataloss") or response
        else:
            result = super().process_response(request, response)
        return await self._after(result)

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        return await self._after(result)

    async def _after(self, result):
        if result is not None and hasattr(result, "meta") and not hasattr(result, "status"):
            delay = backoff_delay(result.meta.get("retry_times", 1), self.backoff_base, self.backoff_max,
                                  self.backoff_jitter, self.rng)
            self.crawler.stats.inc_value("stenogram/retry/backoff_seconds", round(delay, 3))
            await pause(delay)
        return result

    def _log_totals(self, spider, reason):
        waited = self.crawler.stats.get_value("stenogram/retry/backoff_seconds", 0)
        if waited:
            logger.info("retries waited %d s in total", waited)


class ArchiveGuardMiddleware:
    """Stops the crawl when a response arrives that the WARC extension could not write.

    The WARC files are the source of truth: a page fetched but not archived is a page lost. The
    archiving extension runs in a signal handler, where Scrapy catches and logs exceptions, so
    a full disk or an unwritable folder would otherwise let the crawl run on, archiving nothing.
    This middleware sees every response right after the extension (order it above every other
    downloader middleware, e.g. 950, so its ``process_response`` runs first); a response
    without ``meta["warc"]`` closes the spider with reason ``warc_write_failed`` (logged once,
    counted ``stenogram/warc_write_failed``), which makes ``stenogram crawl`` exit non-zero.
    """

    CLOSE_REASON = "warc_write_failed"

    def __init__(self, crawler):
        settings = crawler.settings
        if (not settings.getbool("ARCHIVE_GUARD_ENABLED")
                or not settings.getbool("WARC_ENABLED")  # archive off on purpose
                or not settings.getwithbase("EXTENSIONS").get("stenogram.crawler.archiving.WarcArchiver")):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if request.meta.get("warc") is not None or request.meta.get("warc_skip"):
            return response
        if {"cached", "replayed", "recrawl_skipped"}.intersection(response.flags or ()):
            return response
        stop_crawl(self.crawler, self.CLOSE_REASON,
                   f"{response.url} was fetched but could not be written to the WARC "
                   "(disk full or output folder not writable? see the archiving error above)")
        raise IgnoreRequest("not archived: WARC write failed")


class RedirectTrapMiddleware:
    """Counts and logs redirect chains cut off at ``REDIRECT_MAX_TIMES`` (endless hops), and
    stops redirect loops with one line.

    Scrapy's RedirectMiddleware drops a chain past its limit with a DEBUG line and no stat; an
    operator reading a daily crawl's stats should see them. A loop (A -> B -> A) never reaches
    that limit: the redirected request keeps the original's ``dont_filter`` (RedirectMiddleware's
    ``_redirect``), so the scheduler's duplicate filter drops the second A, logging at most its
    first duplicate at DEBUG, and the page is lost without a word. So a 3xx whose target (resolved
    as RedirectMiddleware does: ``safe_url_string``, ``//`` taking the request's scheme,
    ``urljoin``) is a URL of its own chain is counted (``stenogram/traps/redirect_loop``),
    logged once as a warning with the chain, and dropped here (IgnoreRequest, as Scrapy's own
    limit does), which is the outcome the duplicate filter gave, now said. A ``dont_filter``
    request is left to Scrapy (it follows the loop, e.g. a cookie check redirecting to itself,
    and the chain limit above stops an endless one). Order it just above RedirectMiddleware
    (e.g. 610) so it sees the redirect first.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.max_times = crawler.settings.getint("REDIRECT_MAX_TIMES")
        if not crawler.settings.getbool("REDIRECT_ENABLED") or not self.max_times:
            raise NotConfigured

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def _target(request, response) -> str:
        location = safe_url_string(response.headers["Location"])
        if response.headers["Location"].startswith(b"//"):
            location = f"{urlsplit(request.url).scheme}://{location.lstrip('/')}"
        return urljoin(request.url, location)

    def process_response(self, request, response):
        if (response.status in (301, 302, 303, 307, 308) and b"Location" in response.headers
                and not request.meta.get("dont_redirect") and not request.dont_filter):
            chain = request.meta.get("redirect_urls", []) + [request.url]
            target = self._target(request, response)
            seen = {canonicalize_url(u) for u in chain}
            if canonicalize_url(target) in seen:
                self.crawler.stats.inc_value("stenogram/traps/redirect_loop")
                logger.warning("redirect loop: %s", " -> ".join(chain + [target]))
                raise IgnoreRequest("redirect loop")
        if (300 <= response.status < 400 and b"Location" in response.headers
                and not request.meta.get("dont_redirect")
                and request.meta.get("redirect_times", 0) >= self.max_times):
            self.crawler.stats.inc_value("stenogram/traps/redirect_max_reached")
            chain = request.meta.get("redirect_urls", [])
            logger.warning("redirect trap: gave up after %d redirects from %s (last %s)",
                           len(chain), chain[0] if chain else request.url, request.url)
        return response
