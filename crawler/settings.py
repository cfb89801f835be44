"""Scrapy settings for stenogram.

Defaults are for the live sites and are deliberately polite: mid.ru is only crawled reliably at
one request every ten seconds or slower (public crawlers that keep working do this), robots.txt is
obeyed with wildcard support (Protego), and every exchange is archived before anything else
touches it. The demo and the tests override the delays for the loopback sample site only.
"""
from __future__ import annotations

import os

from stenogram import archive as _warc

BOT_NAME = "stenogram"
SPIDER_MODULES = ["stenogram.crawler.spiders"]
NEWSPIDER_MODULE = "stenogram.crawler.spiders"

# --- where things go -------------------------------------------------------------------------
STENOGRAM_DATA = os.environ.get("STENOGRAM_DATA", "data")  # every file of a crawl below one folder
WARC_DIR = None  # default: <STENOGRAM_DATA>/warc
STENOGRAM_DB = None  # default: <STENOGRAM_DATA>/corpus.db
STENOGRAM_DB_CACHE_MIB = 16  # SQLite page cache per spider's corpus connection
STENOGRAM_CRAWL_ID = None  # default: a UTC timestamp chosen when the crawl starts
STENOGRAM_OPERATOR = os.environ.get("STENOGRAM_OPERATOR", "")  # warcinfo `operator`: who archived
# Template-drift alarm (stenogram/report.py): the crawl report warns when more than this share of
# a source's transcript pages needed the fallback extraction or were refused; 20% because a
# stable template gives ~0% (the sample site, the gold set) and a redesign gives most pages.
STENOGRAM_DRIFT_THRESHOLD = 0.2

# --- identity and politeness ------------------------------------------------------------------
# a contact the sites' operators can reach: the environment's STENOGRAM_CONTACT, else the project
_contact = os.environ.get("STENOGRAM_CONTACT", "https://github.com/stenogram/stenogram")
USER_AGENT = f"stenogram/0.1 (archiving crawler; +{_contact})"
ROBOTSTXT_OBEY = True  # Scrapy's parser (Protego) understands mid.ru's `Disallow: /*?PAGEN`
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 3.0  # spiders raise this where a site needs it (mid.ru: 10 s)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 3.0
AUTOTHROTTLE_MAX_DELAY = 120.0
DOWNLOAD_TIMEOUT = 60
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en,ru;q=0.8",
    # No "br": warcio 1.8 cannot decode brotli bodies with the current brotli package, so a
    # br-coded record would fail `warcio check` and break indexers. gzip/deflate read everywhere.
    "Accept-Encoding": "gzip, deflate",
}

# mid.ru resets connections often: retry more than Scrapy's default (its codes include 429).
RETRY_TIMES = 10  # public mid.ru crawlers that keep working retry up to 10 times
RETRY_BACKOFF_BASE = 2.0  # seconds, doubled per attempt (BackoffRetryMiddleware)
RETRY_BACKOFF_MAX = 300.0  # so ten retries end within about 20 minutes
RETRY_BACKOFF_JITTER = 0.2  # up to +20%, so retries after one burst do not fire together
RETRY_AFTER_ENABLED = True  # honour Retry-After on 429/503, up to RETRY_AFTER_MAX seconds
RETRY_AFTER_HTTP_CODES = [429, 503]  # rate limit and overload: where servers send Retry-After
RETRY_AFTER_MAX = 600.0  # a longer wait is given up: the next scheduled crawl fetches it
INTERSTITIAL_ENABLED = True  # anti-bot pages served with 200: archived, never documents, retried
INTERSTITIAL_RETRY_TIMES = 5  # then given up, counted; the WARC keeps the challenge page
INTERSTITIAL_BACKOFF_BASE = 30.0  # seconds, doubled per attempt: 30 s to 8 min over five
INTERSTITIAL_BACKOFF_MAX = 900.0  # a quarter of an hour at most between attempts
# One politeness budget per host for every worker sharing a Redis server (crawler/host_budget.py):
# with a Redis URL (`stenogram crawl --redis URL`) the delay, concurrency, Retry-After and anti-bot
# backoff above hold for the cluster as a whole; without one (the default) nothing changes.
# (STENOGRAM_REDIS_URL is declared with the other scale-out settings below.)
HOST_BUDGET_ENABLED = True  # with a Redis URL; False only to measure what the budget prevents
# Redis keys <prefix>:{host:port} and ...:leases; not under STENOGRAM_REDIS_PREFIX on purpose:
# politeness is per host, so every crawl sharing this Redis shares the hosts' budgets
HOST_BUDGET_KEY_PREFIX = "stenogram:budget"
HOST_BUDGET_LEASE = 90.0  # s: a killed worker's place at a host frees after this (> DOWNLOAD_TIMEOUT)
HOST_BUDGET_POLL_MAX = 1.0  # s between asks while every place at a host is taken
# robots.txt is read up to RFC 9309's minimum parsing limit, Google's documented 500 KiB
# (crawler/robots.py): a 5 MiB file cost ~35 ms of CPU per URL checked (issue 23)
ROBOTSTXT_PARSER = "stenogram.crawler.robots.BoundedRobotParser"
ROBOTSTXT_MAX_SIZE = 500 * 1024  # bytes read of a robots.txt; the rest ignored, as Google does
REDIRECT_MAX_TIMES = 10  # half Scrapy's 20: a longer chain is a trap (counted by RedirectTrapMiddleware)
ARCHIVE_GUARD_ENABLED = True  # a response that did not reach the WARC stops the crawl

# --- backfill from web archives (crawler/spiders/backfill.py, `stenogram backfill`) -------------
# Seconds between requests to the archive, one at a time: the Internet Archive answers heavy users
# with 429, and a backfill is a one-off run of hours, not a race (README, "History").
BACKFILL_DELAY = 5.0
BACKFILL_CDX_PAGE_SIZE = 1000  # CDX rows asked for per listing page (the Wayback server's resume keys)
BACKFILL_REFUSALS_MAX = 5  # answers refused in a row (429/503, each after its wait) before stopping

# --- a web archive's index as the crawl's frontier (crawler/discover.py, `crawl --discover-from`) ---
# The archive's replay prefix (web.archive.org/web, a pywb collection): its CDX index's article
# URLs of each source are fetched live; None: a crawl sees only what the site links today.
DISCOVER_FROM = None
DISCOVER_CDX = None  # its CDX endpoint; None: the one that goes with DISCOVER_FROM (crawler/cdx.py)
DISCOVER_CDX_PAGE_SIZE = 1000  # CDX rows per listing page: the Wayback CDX server's own page size
# Live answers that send a discovered page to the archive's copy instead: refused (403, 451) or
# gone (404, 410); an anti-bot wall given up on (INTERSTITIAL_RETRY_TIMES) does too. 5xx and 429
# are not here: they are retried and stay owed, the live page may come back.
DISCOVER_FALLBACK_STATUSES = [403, 404, 410, 451]

# --- feeds (crawler/feeds.py) ------------------------------------------------------------------
# A feed is tens of kilobytes (mid.ru's: 20 items) and feedparser keeps several copies of what it
# reads: a larger one is refused, counted (stenogram/feed/too_large) and logged, not parsed.
FEED_MAX_BYTES = 8 * 1024 * 1024

# --- incremental recrawls (crawler/state.py, crawler/recrawl.py) ------------------------------
STENOGRAM_STATE_DB = None  # default: <STENOGRAM_DATA>/state.db
RECRAWL_ENABLED = True  # a daily crawl fetches what is new or due, not the whole archive
RECRAWL_SCHEDULE = "14:1,365:7,*:90"  # item age (days) : recheck interval (days); *: older
RECRAWL_UNDATED_INTERVAL_DAYS = 7  # an item of unknown age is rechecked weekly
RECRAWL_SLACK_HOURS = 3.0  # so a daily cron job does not slip to every other day
RECRAWL_FORCE = False  # True: refetch everything once (after a schedule change)
# callbacks whose pages (listings, feeds, indexes) are fetched on every crawl: that is where new items show
RECRAWL_DISCOVERY_CALLBACKS = ["parse_listing", "parse_rss", "parse_index", "parse_sitemap"]
# the frontier (crawler/recrawl.py FrontierKeeper): every scheduled URL is owed until archived and
# ingested, so a crawl killed midway is resumed by the next; SQLite beside the state, no server
FRONTIER_ENABLED = True  # off: nothing owed is kept (benchmarks only)
FRONTIER_BACKEND = "stenogram.crawler.state.SqliteFrontier"  # any class with Frontier's methods
# the recrawl state (the urls table): any class with CrawlState's methods (--redis: in Redis)
CRAWL_STATE_BACKEND = "stenogram.crawler.state.CrawlState"

DOWNLOADER_MIDDLEWARES = {
    # first: off-scope requests and redirect hops are refused before robots.txt or state see them
    "stenogram.crawler.scope.ScopeMiddleware": 10,
    "stenogram.crawler.recrawl.RecrawlMiddleware": 50,
    # --redis only: a page archived by a worker that died is answered from Redis, not refetched
    "stenogram.crawler.redis_frontier.ArchivedResponseMiddleware": 55,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "stenogram.crawler.middlewares.BackoffRetryMiddleware": 550,
    "stenogram.crawler.middlewares.RetryAfterMiddleware": 560,
    "stenogram.crawler.middlewares.InterstitialMiddleware": 580,  # below HttpCompression (590): decoded body
    "stenogram.crawler.middlewares.RedirectTrapMiddleware": 610,  # just above RedirectMiddleware (600)
    "stenogram.crawler.middlewares.ArchiveGuardMiddleware": 950,  # sees every response before anything acts on it
    # waits for the host's turn in Redis (only with STENOGRAM_REDIS_URL) right before the wire; on
    # the way back it only reads the status and Retry-After and frees the host's place
    "stenogram.crawler.host_budget.HostBudgetMiddleware": 980,
    "stenogram.crawler.shutdown.ShutdownMiddleware": 990,  # last before the wire: nothing sent after Ctrl-C
}
SPIDER_MIDDLEWARES = {
    "stenogram.crawler.scope.ScopeSpiderMiddleware": 960,  # off-scope links dropped before anything keeps them
    # crawler traps (and DEPTH_LIMIT, URLLENGTH_LIMIT) dropped before the frontier owes them
    "stenogram.crawler.traps.TrapMiddleware": 955,
    "stenogram.crawler.recrawl.RecrawlFilterMiddleware": 950,
    # below the recrawl filter: it sees the owed requests that filter re-issues (to re-arm them)
    # and adds the archive's listings after the spider's start (only with DISCOVER_FROM)
    "stenogram.crawler.discover.ArchiveDiscovery": 940,
}
# Keep the server's reason phrase and connection headers (Transfer-Encoding...) for the WARC.
DOWNLOAD_HANDLERS = {
    "http": "stenogram.crawler.download_handler.WireHTTP11DownloadHandler",
    "https": "stenogram.crawler.download_handler.WireHTTP11DownloadHandler",
    # http(s) only: a link or redirect to file:, ftp:, s3: or data: is never fetched (crawler/scope.py)
    "file": None,
    "ftp": None,
    "s3": None,
    "data": None,
}
# Scope (crawler/scope.py): each spider's allowed_hosts, public addresses only; the resolver
# checks the address again at connect time. --loopback sets SCOPE_LOOPBACK_ONLY.
SCOPE_LOOPBACK_ONLY = False  # --loopback: no delays, so never anything but 127.0.0.0/8
SCOPE_RESOLVER_LOOPBACK = True  # stenogram crawl: off unless a source's base URL is on loopback
TWISTED_DNS_RESOLVER = "stenogram.crawler.scope.ScopeResolver"

# --- bounds: traps and budgets (crawler/traps.py, docs/limits.md) ------------------------------
# Per-source budgets, Scrapy's own settings (each source is its own crawler; a spider's
# custom_settings may set its own). Pages: a run stops there (logged, counted by CrawlBudget), the
# rest stays owed for the next run; 50,000 is more than five days of mid.ru at one page per 10 s.
CLOSESPIDER_PAGECOUNT = 50_000
# Links deep: mid_archive's and interaffairs' listing walks go 50 pages deep, mid sets 4 for itself
DEPTH_LIMIT = 100
TRAP_ENABLED = True  # off only to measure what the rules prevent (bench/bench_traps.py)
# Heritrix's TooManyPathSegmentsDecideRule says 20; no source's URL has more than 13 (a backfill's
# archive URL wrapping a 9-segment mid_archive path)
TRAP_MAX_PATH_SEGMENTS = 16
TRAP_MAX_PATH_REPEATS = 2  # Heritrix's PathologicalPathDecideRule default: /a/b/a/b/a/b/ is a trap
# folders descended in a row, link after link: the sources' index trees are at most 3 deep below
# where their spiders start; a calendar whose every index links deeper ones goes on for ever
TRAP_MAX_DESCENTS = 5
# requests taken from one page, the rest of it not read: a listing has ~20 items, a
# globalsecurity month index a few hundred, a backfill CDX page BACKFILL_CDX_PAGE_SIZE rows
TRAP_MAX_LINKS_PER_PAGE = 5000

# A body cut short by the server is still evidence: keep it (flagged) so it reaches the WARC.
DOWNLOAD_FAIL_ON_DATALOSS = False
# A response head is bounded too (crawler/download_handler.py): CPython's http.client refuses more
# than 100 header lines (_MAXHEADERS); 256 KiB is 16 of Twisted's longest lines (16 KiB each).
# A million Set-Cookie lines took 1.7 GiB before (issue 23); the download now fails, counted.
HTTP_MAX_RESPONSE_HEADERS = 100
HTTP_MAX_RESPONSE_HEAD_BYTES = 256 * 1024  # status line and header lines together, folds included
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024

# --- archive -> extract -> corpus -------------------------------------------------------------
# The WARC files (crawler/archiving.py -> archive/warc_writer.py, which runs without a crawler too;
# its defaults are these, from stenogram/archive/__init__.py).
WARC_ENABLED = True  # off only on purpose (benchmarks, dry runs); ArchiveGuardMiddleware then stands down
WARC_PREFIX = _warc.DEFAULT_PREFIX  # file names PREFIX-TIMESTAMP-SERIAL-PID~HOST.warc.gz
WARC_MAX_SIZE = _warc.DEFAULT_MAX_SIZE  # bytes: 1 GB files, the size Heritrix and wget rotate at
WARC_MAX_AGE = 0  # seconds a file stays open before rotation; 0: rotate by size only
WARC_MAX_RECORD_BODY = _warc.DEFAULT_MAX_RECORD_BODY  # longer bodies are cut (WARC-Truncated: length)
WARC_DIGEST = _warc.DEFAULT_DIGEST  # sha1 base32 is the CDX convention; sha256 selectable
# deflate level 6 (zlib's and wget's own); warcio's 9 costs far more CPU for files barely smaller:
# README, Benchmarks, and `bench/bench_archive.py --compresslevel 9`
WARC_COMPRESSLEVEL = _warc.DEFAULT_COMPRESSLEVEL
EXTENSIONS = {
    "stenogram.crawler.archiving.WarcArchiver": 100,
    "stenogram.crawler.traps.CrawlBudget": 200,  # a source stopped by CLOSESPIDER_PAGECOUNT: said loudly
    "stenogram.crawler.progress.CrawlProgress": 500,  # only with STENOGRAM_PROGRESS
}
ITEM_PIPELINES = {
    "stenogram.crawler.pipelines.CorpusPipeline": 300,
}

# Replay (crawler/replay.py), set by `stenogram crawl --replay`: no network, only the archive
REPLAY_FROM = []  # WARC/WACZ files or folders to answer from; empty: a live crawl
REPLAY_AT = None  # 14-digit timestamp: the capture closest to it; None: the latest

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19 would otherwise open a control server
LOG_LEVEL = "INFO"
# --- the operator's view (crawler/progress.py, crawler/shutdown.py) -----------------------------
# `stenogram crawl` writes Scrapy's log to <STENOGRAM_DATA>/logs/<crawl id>.log (LOG_FILE, unless
# given) and shows only warnings on the terminal (all of it with --verbose).
STENOGRAM_PROGRESS = False  # the live progress display; `crawl` sets it on a terminal or --progress
STENOGRAM_SHUTDOWN_ENABLED = True  # Ctrl-C stops in seconds, nothing sent after it
STENOGRAM_SHUTDOWN_GRACE = 3.0  # after Ctrl-C, seconds in-flight requests may finish before abort
STENOGRAM_SHUTDOWN_KILL_AFTER = 3.0  # after a second Ctrl-C, seconds before the process exits anyway
FEED_EXPORT_ENCODING = "utf-8"
# --- scale-out: many workers on one Redis (crawler/redis_frontier.py) --------------------------
# `stenogram crawl --redis URL` sets STENOGRAM_REDIS_URL and the Redis backends; without it a
# crawl is one process with its state in SQLite, and none of the STENOGRAM_REDIS_* is read.
STENOGRAM_REDIS_URL = None
STENOGRAM_REDIS_PREFIX = "stenogram"  # key namespace: one Redis can hold several crawls
STENOGRAM_WORKER_ID = None  # default HOST-PID; names the worker's WARC files and its leases
# A request a worker took stays its own this long without a renewal (renewed every third of it
# while the worker lives): after a kill -9 it goes back to the queue within this time. Long
# enough that a busy worker (a 64 MiB page, a slow disk, a Redis restart) is not taken for dead.
STENOGRAM_REDIS_LEASE = 60.0
# Leases are renewed from a thread, so a worker whose event loop is busy (a huge page extracted,
# a slow fsync) keeps them; one whose event loop has not turned for this long is wedged for good
# (a deadlock, a runaway extraction) and stops renewing, so its requests go to the other workers
# one lease later. Generous: far beyond the longest legitimate pause (seconds).
STENOGRAM_REDIS_STALL_MAX = 600.0
STENOGRAM_REDIS_POLL = 0.5  # seconds between looks at the queue while only others hold work
STENOGRAM_REDIS_RETRY_FOR = 60.0  # a Redis restart shorter than this is a pause, not a failure
