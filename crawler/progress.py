"""A live progress display for a crawl in a terminal: one row per source.

A polite crawl of mid.ru runs for hours at one request every ten seconds; without a display the
operator sees nothing between start and report. :class:`CrawlProgress` is a Scrapy extension,
enabled by ``STENOGRAM_PROGRESS`` (``stenogram crawl`` sets it when stdout is a terminal or with
``--progress``; cron output stays plain). All crawlers of the process share one
:class:`ProgressBoard`, a rich ``Live`` redrawn four times a second from the reactor's clock
(never from another thread: the figures are read where Scrapy writes them).

Each row: pages fetched, requests queued (scheduler + downloader queue), transcript pages,
errors (the report's ERROR_KEYS), and when the next request is due on that source's slots.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from scrapy import signals
from scrapy.exceptions import NotConfigured

REFRESH_SECONDS = 0.25


@dataclass
class Row:
    """One source's figures, as shown."""

    source: str
    fetched: int = 0
    queued: int = 0
    transcripts: int = 0
    errors: int = 0
    next_due: str = "-"
    state: str = "starting"


def render_rows(rows: list[Row], note: str = "", elapsed: float | None = None) -> Table:
    """The display for ``rows``; fits 80 columns (tests/test_operator_view.py)."""
    title = "stenogram crawl" + (f" · {elapsed:,.0f} s" if elapsed is not None else "")
    table = Table(title=Text(title), caption=Text(note) if note else None, box=None, padding=(0, 1))
    table.add_column("source", no_wrap=True)
    for name in ("fetched", "queued", "transcripts", "errors"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("next request", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for row in rows:
        table.add_row(Text(row.source), str(row.fetched), str(row.queued), str(row.transcripts),
                      Text(str(row.errors), style="red" if row.errors else ""), Text(row.next_due),
                      Text(row.state))
    return table


class ProgressBoard:
    """The one ``Live`` display of the process, shared by every crawler's :class:`CrawlProgress`."""

    _shared: "ProgressBoard | None" = None

    def __init__(self, console: Console | None = None, refresh: float = REFRESH_SECONDS):
        self.console = console or Console(force_terminal=True)
        self.refresh = refresh
        self.sources: list[CrawlProgress] = []
        self.note = ""
        self.started = time.monotonic()
        self.live: Live | None = None
        self._loop = None

    @classmethod
    def shared(cls, console: Console | None = None) -> "ProgressBoard":
        if cls._shared is None:
            cls._shared = cls(console)
        return cls._shared

    @classmethod
    def close_shared(cls) -> None:
        """Stop the shared display (the runner calls it before the report is printed)."""
        board, cls._shared = cls._shared, None
        if board is not None:
            board.stop()

    def add(self, source: "CrawlProgress") -> None:
        self.sources.append(source)
        if self.live is None:
            self.start()

    def renderable(self) -> Table:
        return render_rows([s.row() for s in self.sources], self.note, time.monotonic() - self.started)

    def start(self) -> None:
        from twisted.internet import task

        self.live = Live(self.renderable(), console=self.console, auto_refresh=False, transient=True,
                         redirect_stdout=True, redirect_stderr=True)
        self.live.start()
        self._loop = task.LoopingCall(self.redraw)
        self._loop.start(self.refresh, now=False)

    def redraw(self) -> None:
        if self.live is not None:
            self.live.update(self.renderable(), refresh=True)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self.live is not None:
            live, self.live = self.live, None
            live.update(self.renderable(), refresh=True)
            live.stop()


class CrawlProgress:
    """Scrapy extension: feeds one crawler's row of the shared :class:`ProgressBoard`."""

    def __init__(self, crawler):
        if not crawler.settings.getbool("STENOGRAM_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.board = ProgressBoard.shared()
        self.source = crawler.spidercls.name
        self.state = "starting"

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        self.source = spider.name
        self.state = "crawling"
        self.board.add(self)

    def spider_closed(self, spider, reason):
        self.state = str(reason)
        self.board.redraw()

    # -- figures, read on the reactor's thread
    def row(self) -> Row:
        from stenogram.report import ERROR_KEYS

        stats = self.crawler.stats
        get = (lambda key: int(stats.get_value(key, 0) or 0)) if stats else (lambda key: 0)
        shutdown = getattr(self.crawler, "stenogram_shutdown", None)
        state = self.state
        if state == "crawling" and shutdown is not None and shutdown.stopping:
            state = "stopping"
        queued, next_due = self._queue()
        return Row(self.source, fetched=get("downloader/response_count"), queued=queued,
                   transcripts=get("stenogram/transcript_pages"),
                   errors=sum(get(k) for k in ERROR_KEYS), next_due=next_due, state=state)

    def _queue(self) -> tuple[int, str]:
        """Requests waiting (scheduler + downloader slots) and when the next one is due."""
        engine = getattr(self.crawler, "engine", None)
        if engine is None or self.state != "crawling":
            return 0, "-"
        queued = 0
        scheduler = engine.scheduler  # None before the spider opened
        try:
            queued += len(scheduler) if scheduler is not None else 0
        except TypeError:
            pass
        downloader = engine.downloader
        due: float | None = None
        busy = False
        now = time.monotonic()
        for dslot in list(downloader.slots.values()):
            queued += len(dslot.queue)
            busy = busy or bool(dslot.transferring)
            if dslot.queue:
                wait = max(0.0, dslot.lastseen + dslot.delay - now)
                due = wait if due is None else min(due, wait)
        if busy:
            return queued, "fetching"
        if due is None:
            return queued, "-"
        return queued, f"in {due:.0f} s" if due >= 1 else "now"
