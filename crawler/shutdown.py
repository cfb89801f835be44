"""Ctrl-C that stops a polite crawl in seconds, with WARCs closed and state committed.

Scrapy's own handler stops scheduling, but its engine then waits for every request already in
the downloader: those queued behind ``DOWNLOAD_DELAY`` (10 s on mid.ru) and those sleeping in a
Retry-After or backoff wait, and pages are still fetched after Ctrl-C (README, Operations, has the
figures from before and after). :class:`Shutdown` replaces that handler for :func:`crawler.runner.run_crawl`:

* first signal (graceful): :class:`ShutdownMiddleware` refuses any request still on its way to
  the downloader; requests queued in the downloader's slots are dropped (they stay owed in the
  frontier, so the next crawl fetches them); Retry-After/backoff/interstitial waits end at once
  (:func:`crawler.middlewares.end_pauses`); requests already on the wire may finish for
  ``STENOGRAM_SHUTDOWN_GRACE`` seconds, then their connections are aborted. The spiders close
  the normal way: WARCs closed, corpus and frontier committed.
* second signal: in-flight connections are aborted at once and the same close runs without
  waiting; if the process is still alive ``STENOGRAM_SHUTDOWN_KILL_AFTER`` seconds later it exits
  (130) anyway: a WARC left ``.open`` is salvaged by the next crawl.

A page being parsed when the signal comes is not waited for: the reactor runs the handler's
``graceful`` only once the callback returns, and a listing of a million links kept it busy for
minutes (issue 23: ~280 s). When the signal comes while a function registered with
:func:`page_reader` (:class:`crawler.traps.TrapMiddleware`'s reading of a spider's output) is
running, found on the interrupted frame's own stack (so never in other code the reactor runs
while that reading is suspended), the handler raises :class:`PageAbandoned` there; the middleware stops reading that page (what it yielded so
far is kept; the links it did not reach are found again by the next crawl's discovery) and the
close above goes on at once.

Every figure is counted under ``stenogram/shutdown/*`` in each crawler's stats.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.ossignal import install_shutdown_handlers, signal_names

logger = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a job stopped by Ctrl-C


class PageAbandoned(BaseException):
    """Raised by the signal handler inside a spider callback reading a page (see the module
    docstring). A BaseException, as KeyboardInterrupt is: a spider's ``except Exception`` must
    not swallow it."""


#: code objects of the functions reading a spider's output (see :func:`page_reader`)
_PAGE_READERS: set = set()


def page_reader(function):
    """Register ``function`` (a generator or async generator reading a spider callback's output,
    which catches :class:`PageAbandoned`) as a place where Ctrl-C may interrupt a long parse."""
    _PAGE_READERS.add(function.__code__)
    return function


def reading_a_page(frame, limit: int = 64) -> bool:
    """True when ``frame`` (where a signal interrupted the main thread) runs inside a
    :func:`page_reader`: a suspended reader is not on the stack, so it is never found."""
    while frame is not None and limit > 0:
        if frame.f_code in _PAGE_READERS:
            return True
        frame, limit = frame.f_back, limit - 1
    return False


class _Held:
    """Stands in a downloader slot's ``latercall`` so the slot never sends again."""

    def cancel(self) -> None:
        pass


class ShutdownMiddleware:
    """The last downloader middleware before the download: after Ctrl-C nothing is sent.

    Order it after every other middleware (e.g. 990): between its ``process_request`` and the
    downloader's queue there is no wait, so a request that passes it was enqueued before the
    signal and is dropped from the queue by :meth:`Shutdown.graceful`.
    """

    def __init__(self, crawler):
        if not crawler.settings.getbool("STENOGRAM_SHUTDOWN_ENABLED"):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        shutdown = getattr(self.crawler, "stenogram_shutdown", None)
        if shutdown is not None and shutdown.stopping:
            self.crawler.stats.inc_value("stenogram/shutdown/refused")
            raise IgnoreRequest("crawl interrupted: not sent")
        return None


class Shutdown:
    """The crawl's SIGINT/SIGTERM handling (see the module docstring)."""

    def __init__(self, crawlers, grace: float, kill_after: float, board=None):
        self.crawlers = list(crawlers)
        self.grace = grace
        self.kill_after = kill_after
        self.board = board
        self.signals = 0
        self.stopping = False
        self.signame = None
        for crawler in self.crawlers:
            crawler.stenogram_shutdown = self
        from stenogram.crawler.middlewares import reset_pauses

        reset_pauses()  # a crawl in the same process after an interrupted one waits again

    @property
    def interrupted(self) -> bool:
        return self.signals > 0

    def install(self) -> None:
        from stenogram.compat import check_patch_targets

        check_patch_targets()  # the patch made at the second signal: its target said gone now
        install_shutdown_handlers(self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        """In the signal handler only flags and callFromThread: logging here could deadlock."""
        from twisted.internet import reactor

        self.signals += 1
        self.signame = signal_names.get(signum, str(signum))
        if self.signals == 1:
            reactor.callFromThread(self.graceful)
            if reading_a_page(frame):  # inside a spider's callback: stop reading the page now
                raise PageAbandoned(self.signame)
        elif self.signals == 2:
            reactor.callFromThread(self.immediate)
            self._watchdog = threading.Timer(self.kill_after, os._exit, (EXIT_INTERRUPTED,))
            self._watchdog.daemon = True
            self._watchdog.start()

    def crawl_ended(self) -> None:
        """The reactor has stopped: the spiders are closed, so no exit is forced any more (the
        report that follows may take seconds on a large corpus)."""
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.cancel()

    # -- first signal
    def graceful(self) -> None:
        from twisted.internet import reactor

        from stenogram.crawler.middlewares import end_pauses

        self.stopping = True
        logger.warning("received %s: stopping (nothing new is sent; in-flight requests get %.0f s; "
                       "send again to stop at once)", self.signame, self.grace)
        self._note(f"{self.signame}: stopping, nothing new is sent; {self.signame} again stops at once")
        for crawler in self.crawlers:
            crawler.stats.set_value("stenogram/shutdown/signal", self.signame)
            crawler.stats.set_value("stenogram/shutdown/in_flight", self._transferring(crawler))
            self._hold_downloader(crawler)
        woken = end_pauses()
        if woken:
            for crawler in self.crawlers:
                crawler.stats.set_value("stenogram/shutdown/waits_ended", woken)
        self._abort_timer = reactor.callLater(self.grace, self.abort_connections)
        from scrapy.utils.defer import deferred_from_coro

        for crawler in self.crawlers:
            if getattr(crawler, "crawling", False):  # engine stop -> close_spider: WARC closed, corpus committed
                deferred_from_coro(crawler.stop_async())

    def _hold_downloader(self, crawler) -> None:
        """Drop what waits in the downloader's slots and keep the slots from sending again."""
        downloader = getattr(getattr(crawler, "engine", None), "downloader", None)
        if downloader is None:
            return
        dropped = 0
        for slot in list(downloader.slots.values()):
            if slot.latercall is not None and not isinstance(slot.latercall, _Held):
                slot.latercall.cancel()
            slot.latercall = _Held()
            while slot.queue:
                request, deferred = slot.queue.popleft()
                dropped += 1
                deferred.errback(IgnoreRequest("crawl interrupted: dropped from the download queue"))
        if dropped:
            crawler.stats.inc_value("stenogram/shutdown/dropped", dropped)

    @staticmethod
    def _transferring(crawler) -> int:
        downloader = getattr(getattr(crawler, "engine", None), "downloader", None)
        if downloader is None:
            return 0
        return sum(len(slot.transferring) for slot in downloader.slots.values())

    # -- grace over, or second signal
    def abort_connections(self) -> int:
        """Abort every TCP connection the reactor holds: the in-flight downloads fail at once."""
        from twisted.internet import reactor, tcp

        from stenogram.crawler.middlewares import end_pauses

        end_pauses()
        for crawler in self.crawlers:
            self._hold_downloader(crawler)  # a slot made since (a new host): held too
        _no_connection_retries()
        aborted = 0
        for selectable in {*reactor.getReaders(), *reactor.getWriters()}:
            if isinstance(selectable, tcp.Client):
                selectable.abortConnection()
                aborted += 1
        if aborted:
            logger.warning("aborted %d connection(s) still open", aborted)
            for crawler in self.crawlers:
                crawler.stats.inc_value("stenogram/shutdown/aborted_connections", aborted)
        return aborted

    def immediate(self) -> None:
        logger.warning("received %s again: stopping now", self.signame)
        self._note(f"{self.signame} again: stopping now")
        if not self.stopping:
            self.graceful()
        timer = getattr(self, "_abort_timer", None)
        if timer is not None and timer.active():
            timer.cancel()
        self.abort_connections()

    def _note(self, text: str) -> None:
        if self.board is not None:
            self.board.note = text


def _no_connection_retries() -> None:
    """Twisted's connection pool sends a GET again on a new connection when a reused one is
    lost before the answer (``_RetryingHTTP11ClientProtocol``): an aborted download would be
    sent a second time after Ctrl-C (seen in tests/test_operator_view.py). The process is
    stopping, so no retry of that kind is wanted any more."""
    from stenogram.compat import stop_connection_retries

    stop_connection_retries()  # raises CompatError if Twisted's retrying wrapper is gone


def restore_default_handlers() -> None:
    """After the crawl: Ctrl-C raises KeyboardInterrupt again (the report may still be printing)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
