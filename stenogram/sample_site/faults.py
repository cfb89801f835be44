"""Switchable, deterministic transport faults for the sample site.

The live sources misbehave in known ways (docs/SITES.md): mid.ru resets
connections, answers 200 with anti-bot interstitials, rate-limits with 429/503 + Retry-After,
and edits published items silently. A :class:`Faults` object reproduces those faults on
loopback so the crawler's operations code can be tested against them. It plugs into
``SampleSite.dispatch`` through its one hook: ``Faults.intercept(request)`` returns ``False``
(serve normally), a :class:`~stenogram.sample_site.messages.Response` (serve this instead) or
``None`` (drop the connection without answering).

Every fault is deterministic: a rule fires on the first ``times`` hits of each matching request
target (per source), so a test knows exactly what the crawler saw. ``Faults.sprinkled`` spreads
faults over a share of all pages by a seeded hash of the target, for soak runs.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field

from stenogram.sample_site.messages import Request, Response

KINDS = ("status", "retry_after", "slow", "reset", "truncate", "redirect_loop", "interstitial",
         "oversize", "endless")

#: The two anti-bot pages mid.ru answers with status 200 (F5 "TSPD" bot defence).
INTERSTITIAL_PAGES = (
    "<!DOCTYPE html><html><head><title></title>"
    '<script type="text/javascript" src="/TSPD/08a3fb1a0bab2000{token}?type=7"></script>'
    "</head><body><noscript>Please enable JavaScript to view the page content."
    "<br/>Your support ID is: {token}.</noscript></body></html>",
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Data processing</title>"
    '<script src="/TSPD/?type=20"></script></head><body>'
    "<p>Data processing... Please, wait.</p></body></html>",
)


@dataclass
class Fault:
    """One rule: requests whose target matches ``path`` (a regex, ``re.search``) misbehave.

    ``times`` is how many hits of each matching target fire the fault (``None``: every hit).
    ``source`` limits the rule to one source's listener.
    """

    kind: str
    path: str
    source: str | None = None
    times: int | None = 1
    status: int = 500            # status / retry_after kinds
    retry_after: str = "1"       # Retry-After value: seconds or an HTTP-date
    delay: float = 0.0           # slow: seconds to wait before answering normally
    size: int = 0                # oversize: body bytes; truncate: bytes actually sent
    variant: int = 0             # interstitial: which of INTERSTITIAL_PAGES

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        self._pattern = re.compile(self.path)

    def matches(self, request: Request) -> bool:
        return (self.source in (None, request.source)) and bool(self._pattern.search(request.target))


class TruncatedResponse(Response):
    """A response whose Content-Length promises more than is sent before the socket closes.

    The server honours ``declared_length`` (see the server's ``_serve``); ``body`` is what is
    actually written.
    """

    def __init__(self, body: bytes, declared_length: int, headers=None):
        super().__init__(200, body, list(headers or [("Content-Type", "text/html; charset=utf-8")]))
        self.declared_length = declared_length


@dataclass
class Faults:
    """The fault configuration a :class:`SampleSite` accepts (``SampleSite(faults=Faults(...))``).

    ``applied`` records every fault served as ``(source, target, kind)`` so tests can compare
    what the crawler did with what the site did to it.
    """

    rules: list[Fault] = field(default_factory=list)
    max_delay: float = 30.0      # a slow fault never holds a server thread longer than this

    def __post_init__(self):
        self._hits: dict[tuple[int, str, str], int] = {}
        self._lock = threading.Lock()
        self.applied: list[tuple[str, str, str]] = []

    # -- building
    def add(self, kind: str, path: str, **kw) -> "Faults":
        self.rules.append(Fault(kind, path, **kw))
        return self

    @classmethod
    def sprinkled(cls, seed: int = 1, rate: float = 0.05, path: str = r"\.htm|/content/id/|/\d{5,}/$|\.html$",
                  retry_after: str = "1") -> "Faults":
        """Faults on a seeded share of transcript pages (first hit only): for soak runs.

        Each matching target is hashed with ``seed``; the hash picks whether it misbehaves and
        how (reset, 500, 503 + Retry-After, interstitial), so a rerun sees the same faults.
        """
        return cls(rules=[_Sprinkle(seed=seed, rate=rate, pattern=path, retry_after=retry_after)])

    # -- the hook
    def intercept(self, request: Request) -> Response | None | bool:
        for index, rule in enumerate(self.rules):
            if not rule.matches(request):
                continue
            if isinstance(rule, _Sprinkle):
                kind = rule.pick(request)
                if kind is None or not self._fires(index, request, 1):
                    continue
                rule = Fault(kind, rule.path, status=503 if kind == "retry_after" else 500,
                             retry_after=rule.retry_after, variant=len(request.target) % 2)
            elif rule.kind != "endless" and not self._fires(index, request, rule.times):
                continue
            outcome = self._serve(rule, request)
            if outcome is False:
                continue
            with self._lock:
                self.applied.append((request.source, request.target, rule.kind))
            return outcome
        return False

    def count(self, kind: str | None = None, source: str | None = None) -> int:
        with self._lock:
            return sum(1 for s, _t, k in self.applied if kind in (None, k) and source in (None, s))

    def _fires(self, index: int, request: Request, times: int | None) -> bool:
        key = (index, request.source, request.target)
        with self._lock:
            seen = self._hits.get(key, 0)
            self._hits[key] = seen + 1
        return times is None or seen < times

    def _serve(self, rule: Fault, request: Request) -> Response | None | bool:
        kind = rule.kind
        if kind == "status":
            return Response(rule.status, f"<html><body><h1>{rule.status}</h1></body></html>".encode(),
                            [("Content-Type", "text/html; charset=utf-8")])
        if kind == "retry_after":
            return Response(rule.status, b"<html><body>Too many requests</body></html>",
                            [("Content-Type", "text/html; charset=utf-8"), ("Retry-After", rule.retry_after)])
        if kind == "slow":
            time.sleep(min(rule.delay, self.max_delay))
            return False  # then answer normally (the client may have given up by now)
        if kind == "reset":
            return None
        if kind == "truncate":
            body = b"<html><head><title>cut</title></head><body><p>" + b"x" * 4096
            return TruncatedResponse(body[: rule.size or 512], declared_length=len(body) + 10_000)
        if kind == "redirect_loop":
            # /a -> /a?loop=1 -> /a?loop=2 ... never settling
            m = re.search(r"loop=(\d+)", request.target)
            n = int(m.group(1)) + 1 if m else 1
            base = re.sub(r"[?&]loop=\d+", "", request.target)
            sep = "&" if "?" in base else "?"
            return Response(302, b"", [("Location", f"{base}{sep}loop={n}"),
                                       ("Content-Type", "text/html; charset=utf-8")])
        if kind == "interstitial":
            token = hashlib.sha1(request.target.encode()).hexdigest()[:16]
            page = INTERSTITIAL_PAGES[rule.variant % len(INTERSTITIAL_PAGES)].format(token=token)
            return Response(200, page.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8"),
                                                        ("Cache-Control", "no-store")])
        if kind == "oversize":
            filler = b"<p>" + b"padding " * 128 + b"</p>\n"
            body = b"<html><body>" + filler * (rule.size // len(filler) + 1) + b"</body></html>"
            return Response(200, body, [("Content-Type", "text/html; charset=utf-8")])
        if kind == "endless":
            return _endless_page(rule, request)
        raise AssertionError(kind)


def _endless_page(rule: Fault, request: Request) -> Response | bool:
    """A calendar that never ends: the page for N links to N+1 (the regex's ``n`` group)."""
    m = rule._pattern.search(request.target)
    try:
        n = int(m.group("n"))
    except (IndexError, TypeError, ValueError):
        raise ValueError(f"an endless fault needs a (?P<n>\\d+) group in its path: {rule.path!r}") from None
    if rule.times is not None and n < rule.times:  # `times` is the first page number that is endless
        return False
    nxt = request.target[: m.start("n")] + str(n + 1) + request.target[m.end("n"):]
    body = (f"<html><head><title>Page {n}</title></head><body><h1>Archive, page {n}</h1>"
            f'<a href="{nxt}">Next</a></body></html>')
    return Response(200, body.encode(), [("Content-Type", "text/html; charset=utf-8")])


class _Sprinkle(Fault):
    """A rule that fires a hash-chosen fault on a share of targets (see Faults.sprinkled)."""

    def __init__(self, seed: int, rate: float, pattern: str, retry_after: str = "1"):
        self.seed, self.rate, self.pattern = seed, rate, pattern
        super().__init__("status", pattern, times=1, retry_after=retry_after)

    def pick(self, request: Request) -> str | None:
        h = int.from_bytes(hashlib.sha1(f"{self.seed}:{request.source}:{request.target}".encode()).digest()[:8], "big")
        share = (h % 1_000_000) / 1_000_000
        if share >= self.rate:
            return None
        return ("reset", "status", "retry_after", "interstitial")[(h >> 24) % 4]
