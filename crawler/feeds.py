"""RSS and Atom feeds, read by feedparser: the links of a feed's entries, or why there are none.

A feed is where a daily crawl sees what is new, so a feed that yields nothing must say so: a
silent empty feed looks exactly like a quiet day. :func:`read_feed` returns the entries'
links together with the one problem that explains an empty or doubtful reading
(:class:`FeedReading`); the spider counts and logs it (``TranscriptSpider.feed_links``).

feedparser reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 alike (``entry.link`` is RSS's ``<link>``
and Atom's ``<link rel="alternate" href>``; relative links resolve against ``xml:base`` and
the ``Content-Location`` we pass, the feed's URL). Its reading is strict first (expat through
``xml.sax``) and, when the document is not well-formed XML, loose (sgmllib), with ``bozo`` set
and ``bozo_exception`` saying why (feedparser's ``api.parse``).

Entity declarations are refused before feedparser sees the bytes. feedparser's
``sanitizer.replace_doctype`` strips declarations that nest entities but keeps "safe" ones with
a literal value, and its loose parser expands those with no bound: a 280 KB feed declaring one
200 KB entity and using it 20,000 times raised ``MemoryError`` at 3 GB of address space
(expat's own billion-laughs guard, libexpat >= 2.4, stops the strict reading first; the loose
one then expands). A one-line nested bomb, which ``replace_doctype``'s line-anchored pattern
misses, costs expat 1.8 s and 80 MB before its guard trips, and one whose entity value holds a
``<`` (which moves feedparser's head/body split) 24 s. RSS 2.0 and Atom (RFC 4287) declare no
DTD and no entity, and neither feed we read uses one, so a feed that declares an entity is
refused whole (``entities``), counted, and logged. So is a feed over ``FEED_MAX_BYTES``
(``too_large``): a feed is tens of kilobytes, and feedparser holds several copies of what it
reads.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import feedparser
import feedparser.exceptions

#: the marker of an XML entity declaration (XML 1.0 section 4.2: ``'<!ENTITY' S Name S
#: EntityDef S? '>'``; XML is case-sensitive, and so are expat and feedparser's pattern)
ENTITY_DECLARATION = b"<!ENTITY"

#: problems, in the order they are checked; each is a stats key ``stenogram/feed/<problem>``
TOO_LARGE, ENTITIES, NOT_A_FEED, MALFORMED, EMPTY = "too_large", "entities", "not_a_feed", "malformed", "empty"


@dataclass
class FeedReading:
    """What a feed gave: its entries' links (absolute, in feed order) and, when the reading is
    empty or doubtful, the problem (one of the constants above) and a one-line detail."""

    links: list[str] = field(default_factory=list)
    version: str = ""  # feedparser's name of the format: rss20, atom10, ... ("" when unknown)
    entries: int = 0
    problem: str | None = None
    detail: str = ""


def read_feed(body: bytes, url: str, content_type: str | None, max_bytes: int) -> FeedReading:
    """The links of the entries of the RSS or Atom document ``body`` fetched from ``url``.

    ``problem`` is set when nothing can be trusted to be read (``too_large``, ``entities``:
    no links at all), when the document is not a feed (``not_a_feed``), not well-formed
    (``malformed``: feedparser's loose reading, whose links are still returned), or has no
    entries (``empty``).
    """
    if len(body) > max_bytes:
        return FeedReading(problem=TOO_LARGE, detail=f"{len(body):,} bytes, over FEED_MAX_BYTES={max_bytes:,}")
    if ENTITY_DECLARATION in body:
        return FeedReading(problem=ENTITIES,
                           detail="it declares XML entities (an entity-expansion bomb?); not parsed")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # a stream, never a string: feedparser.parse takes a string that looks like a URL or a
    # path as one to open (its docstring says so)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    links = []
    for entry in parsed.entries:
        link = entry.get("link") or next((ln.get("href") for ln in entry.get("links", ()) if ln.get("href")), None)
        if link:
            links.append(link.strip())
    reading = FeedReading(links=links, version=parsed.get("version") or "", entries=len(parsed.entries))
    exc = parsed.get("bozo_exception")
    # feedparser's ThingsNobodyCaresAboutButMe (a charset or media type the headers got wrong,
    # e.g. RSS served as text/html) is not a fault of the feed's reading
    if parsed.get("bozo") and not isinstance(exc, feedparser.exceptions.ThingsNobodyCaresAboutButMe):
        reading.problem, reading.detail = MALFORMED, _one_line(exc)
    if not reading.version and not parsed.entries:
        reading.problem = NOT_A_FEED
        reading.detail = "neither RSS nor Atom" + (f" ({reading.detail})" if reading.detail else "")
    elif not links and reading.problem is None:
        reading.problem = EMPTY
        reading.detail = (f"{reading.version}: {len(parsed.entries)} entries, none with a link"
                          if parsed.entries else f"{reading.version}: no entries")
    return reading


def _one_line(exc) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "not well-formed"
    return " ".join(text.split())[:200]
