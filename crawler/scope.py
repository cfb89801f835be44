"""What a crawl may fetch: its own site over http(s), at a public address. Nothing else.

A page is untrusted input: an RSS ``<link>`` or a redirect can point anywhere, at
``file:///etc/passwd``, a cloud metadata service (``http://169.254.169.254/``), an intranet
admin page (``http://10.0.0.1/admin``) or an FTP server. A crawler that follows them leaks
local files into the WARC and lets any page it reads make requests from inside our network.

Three rules (scheme, host, address), checked in three places:

* :class:`ScopeMiddleware` (a downloader middleware, first in the chain) refuses a request
  whose scheme is not http/https, whose host is not one of its spider's ``allowed_hosts``
  (the base URL's host when ``--base-url`` is given, the live site's hosts otherwise), or
  whose host resolves to a private, link-local, multicast, reserved or loopback address
  (loopback is allowed when the spider's own base URL is on loopback). Redirects are new requests
  that Scrapy sends through the downloader middlewares again from the start, so the same
  check sees every hop; a redirect to a scheme Scrapy will not follow (``file:``) is counted
  when its response comes back. Every refusal is counted (``stenogram/offsite/refused`` and
  ``stenogram/offsite/refused/<reason>``) and logged (the first per host and reason as a
  WARNING), and the request never reaches a download handler.
* :class:`ScopeSpiderMiddleware` applies the scheme and host rules to what a spider yields,
  so an off-scope link is dropped before it is scheduled (or written to the crawl's state).
* :class:`ScopeResolver` (``TWISTED_DNS_RESOLVER``) checks the address again at connect
  time, so a name that answers differently the second time (DNS rebinding) still cannot
  reach a private address.

``DOWNLOAD_HANDLERS`` turns file/ftp/s3/data off in crawler/settings.py as the last line.
"""
from __future__ import annotations

import ipaddress
import logging
import urllib.request
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError

logger = logging.getLogger(__name__)

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
STAT = "stenogram/offsite/refused"


class ScopeError(ValueError):
    """A base URL that cannot be crawled (malformed, not http/https)."""


class AddressRefused(DNSLookupError):
    """A host name resolved to an address the crawl must not connect to."""

    def __init__(self, host: str, address: str, reason: str):
        super().__init__(f"{host} resolves to {address} ({reason}): refused")
        self.host, self.address, self.reason = host, address, reason


# -- URLs and hosts ----------------------------------------------------------------------------


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` or a loopback address literal (127.0.0.0/8, ::1). Names are not resolved:
    a name that merely resolves to 127.0.0.1 does not make a base URL local."""
    if not host:
        return False
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """``host`` or ``host:port`` (port only when not the scheme's default) of an http(s) URL.

    Raises :class:`ScopeError` with a one-line reason for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ScopeError(f"not a URL: {url!r} ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise ScopeError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise ScopeError(f"no host in URL: {url!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"


def host_allowed(url: str, allowed_hosts) -> bool:
    """True when ``url``'s host (and port) is one of ``allowed_hosts`` (``host`` or
    ``host:port`` entries; a bare host allows the default ports 80 and 443 only)."""
    try:
        return origin(url) in {h.lower() for h in allowed_hosts}
    except ScopeError:
        return False


def source_url_refusal(url, hosts, path_pattern) -> str | None:
    """Why ``url``, given from outside (a web archive's CDX row, a ``Link: rel="original"``
    header, a Memento redirect), may not stand for a page of a source; None when it may.

    The URL is parsed (:func:`urllib.parse.urlsplit`), never substring-matched: it must be
    http(s), its host (and port) one of ``hosts`` (as :func:`host_allowed`), and its *path*
    matched by ``path_pattern`` (a regex or compiled pattern, ``search``ed in the path alone).
    ``javascript:alert(1)//archive.mid.ru/-/asset_publisher/a/content/id/1`` holds a transcript
    path and a source's host, and is refused for its scheme; ``https://evil.example/?u=
    //archive.mid.ru/...`` for its host; ``https://archive.mid.ru/x?u=/-/asset_publisher/...``
    for its path. Characters no URL holds as they are (controls, spaces, quotes, angle
    brackets) are refused too: a URL that stands for a page is stored, shown and linked.
    Returns a short reason: ``not_a_url``, ``scheme``, ``host``, ``path``, ``characters``.
    """
    import re

    if not isinstance(url, str) or not url:
        return "not_a_url"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c in '<>"\\`' for c in url):
        return "characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        return "not_a_url"
    if parts.scheme.lower() not in SCHEMES:
        return "scheme"
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return "host"
    if not host_allowed(url, hosts):
        return "host"
    pattern = re.compile(path_pattern) if isinstance(path_pattern, str) else path_pattern
    if not pattern.search(parts.path):
        return "path"
    return None


def is_source_url(url, hosts, path_pattern) -> bool:
    """True when :func:`source_url_refusal` finds nothing against ``url``."""
    return source_url_refusal(url, hosts, path_pattern) is None


def address_refusal(address: str, allow_loopback: bool = False) -> str | None:
    """Why ``address`` must not be connected to (``private``, ``link_local``, ...), or None."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:  # 100.64/10 shared address space and the like
        return "reserved"
    return None


def spider_loopback(spider) -> bool:
    """May this spider connect to loopback? Only when its own base URL is on loopback (a spider
    that declares no ``allowed_hosts`` is not a stenogram source and is not restricted here)."""
    hosts = getattr(spider, "allowed_hosts", None)
    if not hosts:
        return True
    return all(is_loopback_host(urlsplit(f"//{h}").hostname) for h in hosts)


# -- the downloader middleware -----------------------------------------------------------------


class ScopeMiddleware:
    """Refuses, counts and logs every request outside its spider's scope (see module doc).

    Order it first (e.g. 10): below RobotsTxtMiddleware (100), so an off-site host does not
    even get a robots.txt request, and below RedirectMiddleware (600), so its
    ``process_response`` runs after the redirect was decided and sees redirects to schemes
    Scrapy drops. ``SCOPE_LOOPBACK_ONLY`` (set by ``--loopback``) refuses every address that is
    not loopback whatever the spider says. A replay (``REPLAY_FROM``) answers http(s) from the
    given WARCs only and maps the archived site's host onto the spider's, so there only the
    scheme rule applies: nothing is fetched, no name is resolved.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.loopback_only = crawler.settings.getbool("SCOPE_LOOPBACK_ONLY")
        self.replay = bool(crawler.settings.getlist("REPLAY_FROM"))
        self._logged: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider):
        hosts = getattr(spider, "allowed_hosts", None)
        if hosts:
            logger.info("scope of %s: %s over http(s)", spider.name, ", ".join(hosts))

    # -- requests
    def url_refusal(self, request) -> tuple[str, str] | None:
        """(reason, what) when the URL alone puts ``request`` off scope: its scheme or host."""
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            return "scheme", scheme or "?"
        hosts = getattr(self.crawler.spider, "allowed_hosts", None)
        if not self.replay and hosts and not host_allowed(request.url, hosts):
            return "host", parts.netloc or "?"
        return None

    async def process_request(self, request):
        if why := self.url_refusal(request):
            self.refuse(request, *why)
        if self.replay:
            return None
        host = (urlsplit(request.url).hostname or "").strip("[]")
        address = host
        try:
            ipaddress.ip_address(host)
        except ValueError:  # a name: what does it resolve to?
            address = await self._resolve(request, host)
        if address is None:
            return None
        if self.loopback_only and not ipaddress.ip_address(address.strip("[]")).is_loopback:
            self.refuse(request, "not_loopback", f"{host} ({address})")
        reason = address_refusal(address, spider_loopback(self.crawler.spider))
        if reason:
            self.refuse(request, reason, host if host == address else f"{host} ({address})")
        return None

    async def _resolve(self, request, host: str) -> str | None:
        from twisted.internet import reactor

        try:
            return await maybe_deferred_to_future(reactor.resolve(host))
        except AddressRefused as exc:
            self.refuse(request, exc.reason, f"{host} ({exc.address})")
        except DNSLookupError:
            return None  # the download fails on its own, as any unknown host does

    # -- responses: redirects that RedirectMiddleware dropped for their scheme
    def process_response(self, request, response):
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location and not request.meta.get("dont_redirect"):
            target = response.urljoin(location.decode("latin-1"))
            scheme = urlsplit(target).scheme.lower()
            if scheme not in SCHEMES:
                self.count("scheme", scheme or "?", target, redirect_from=request.url)
                self.settle(request)
        return response

    # -- counting and logging
    def count(self, reason: str, what: str, url: str, redirect_from: str | None = None) -> None:
        self.stats.inc_value(STAT)
        self.stats.inc_value(f"{STAT}/{reason}")
        if redirect_from:
            self.stats.inc_value("stenogram/offsite/refused_redirects")
        via = f" (redirect from {redirect_from})" if redirect_from else ""
        if (reason, what) not in self._logged:
            self._logged.add((reason, what))
            logger.warning("off scope, not fetched (%s: %s): %s%s", reason, what, url, via)
        else:
            logger.debug("off scope, not fetched (%s: %s): %s%s", reason, what, url, via)

    def refuse(self, request, reason: str, what: str):
        redirects = request.meta.get("redirect_urls")
        self.count(reason, what, request.url, redirect_from=redirects[-1] if redirects else None)
        self.settle(request)
        raise IgnoreRequest(f"off scope ({reason}: {what})")

    def settle(self, request) -> None:
        """A refusal is a final answer: the crawl's frontier (crawler/recrawl.py) owes nothing
        for the URL or the redirect hops that led to it, so no later run asks again. Only a
        frontier the recrawl middlewares already keep is told; none is created here."""
        keeper = getattr(self.crawler, "_stenogram_frontier", None)
        if keeper is not None:
            keeper.done(request)


class ScopeSpiderMiddleware(ScopeMiddleware):
    """The same URL rules (scheme, host) on what a spider yields, before it is scheduled.

    An off-scope link is then dropped before the scheduler, its duplicate filter and the
    crawl's state ever see it, and counted like the downloader's refusals. Names are resolved
    only by :class:`ScopeMiddleware`, which also sees redirects (they skip spider middlewares).
    Order it above every spider middleware that keeps state (e.g. 960 > RecrawlFilter's 950).
    """

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _keep(self, item) -> bool:
        if isinstance(item, Request) and (why := self.url_refusal(item)):
            self.count(*why, item.url)
            return False
        return True

    async def process_start(self, start):
        async for item in start:
            if self._keep(item):
                yield item

    def process_spider_output(self, response, result):
        for item in result:
            if self._keep(item):
                yield item

    async def process_spider_output_async(self, response, result):
        async for item in result:
            if self._keep(item):
                yield item


# -- the resolver ------------------------------------------------------------------------------


class ScopeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing addresses no crawl may connect to.

    Installed once per process (``TWISTED_DNS_RESOLVER``), so it knows no spider: it refuses
    private, link-local, multicast and reserved addresses always, and loopback when
    ``SCOPE_RESOLVER_LOOPBACK`` is off (``stenogram crawl`` turns it off when no source crawled
    has a loopback base URL). The per-spider rules are the middleware's; this is the check at
    connect time, which holds even when the middleware is switched off. Proxies named in the environment
    (``http_proxy``...) are the operator's own and are not checked. Subclasses (a test's stub)
    override :meth:`lookup`, never the check.
    """

    allow_loopback = True

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_loopback = crawler.settings.getbool("SCOPE_RESOLVER_LOOPBACK")
        return resolver

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trusted = {urlsplit(p if "//" in p else f"//{p}").hostname
                        for scheme, p in urllib.request.getproxies().items() if p and scheme != "no"} - {None}

    def getHostByName(self, name, timeout=()):
        if isinstance(name, bytes):  # Twisted's connect path passes IDNA bytes, reactor.resolve str
            name = name.decode("ascii", "replace")
        d = self.lookup(name, timeout)
        if name not in self.trusted:
            d.addCallback(self._check, name)
        return d

    def lookup(self, name, timeout=()):
        return CachingThreadedResolver.getHostByName(self, name, timeout)

    def _check(self, address, name):
        reason = address_refusal(address, self.allow_loopback)
        if reason:
            refused = AddressRefused(name, address, reason)
            # Twisted's connect path reports it only as "no results for hostname lookup"
            logger.info("resolver refused %s: resolves to %s (%s)", name, address, reason)
            raise refused
        return address
