"""The CDX server API of web archives, as a backfill reads it: queries, answers, replay URLs.

Two kinds of server answer the same query (``url``, ``matchType=prefix``, ``from``/``to``,
``output=json``), in two shapes:

* the Wayback Machine's CDX server: one JSON array whose first row names the fields
  (``urlkey, timestamp, original, mimetype, statuscode, digest, length``); with
  ``showResumeKey=true`` and ``limit=N`` a full page ends with an empty row and a row holding
  the key that continues the listing (``resumeKey=``);
* pywb's: one JSON object per line with its own field names (``url``, ``mime``, ``status``);
  it has no resume keys (only a ZipNum cluster pages, with ``page=``), so a listing that
  filled the page is asked again once, whole (:func:`needs_unpaged`).

Nothing is filtered on the server: :func:`wanted` decides on our side (a status or MIME filter
would hide the URL-agnostic revisits, ``warc/revisit`` with status ``-``; pywb's filter syntax
differs from the Wayback server's). Collapsing to one capture per URL and payload digest is done
here too (:class:`CaptureLedger`): the Wayback server's ``collapse=digest`` only folds *adjacent*
rows (two URLs with one payload would lose one) and pywb has no such option.

A listing is walked page by page by :class:`CdxWalk` (resume keys sent back exactly as received;
every way a server can make a client loop or skip is a :class:`ListingBroken` stop), for the
spider one page per Scrapy callback, for any other caller through :func:`list_captures`.

A capture's bytes as archived, with no rewriting and no banner, come from
``<archive>/<14-digit timestamp>id_/<original URL>`` (:func:`replay_url`); both servers answer
with ``Memento-Datetime`` (RFC 7089) naming the capture actually served, which may be the
closest one rather than the one asked for.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from stenogram.crawler.middlewares import http_date
from stenogram.crawler.state import open_state_db

#: the Internet Archive's replay prefix and CDX endpoint (any other archive: ``<prefix>/cdx``,
#: pywb's default, unless ``--cdx`` names the endpoint)
WAYBACK_REPLAY = "https://web.archive.org/web"
WAYBACK_CDX = "https://web.archive.org/cdx/search/cdx"

#: field names of the two servers -> ours
_FIELDS = {"urlkey": "urlkey", "timestamp": "timestamp", "original": "original", "url": "original",
           "mimetype": "mimetype", "mime": "mimetype", "statuscode": "status", "status": "status",
           "digest": "digest", "length": "length"}
_TIMESTAMP = re.compile(r"^\d{4,14}$")


def check_archive_urls(urls: dict[str, str | None], loopback_only: bool, verb: str) -> None:
    """ValueError, in one line, for an archive URL (``{option: url}``) that is not http(s), or
    not on loopback under ``--loopback`` (no delays: never a real archive). ``verb`` says what the
    command does with the archive ("backfills", "discovers")."""
    from stenogram.crawler.scope import ScopeError, is_loopback_host, origin

    for option, url in urls.items():
        if url is None:
            continue
        try:
            origin(url)
        except ScopeError as exc:
            raise ValueError(f"{option} {url}: {exc}") from None
        if loopback_only and not is_loopback_host(urlsplit(url).hostname):
            raise ValueError(f"--loopback {verb} only from an archive on loopback, and {option} is {url}")


class CdxError(ValueError):
    """An answer that is not a CDX listing in either JSON form."""


@dataclass(frozen=True)
class CdxRow:
    """One capture as the CDX server lists it."""

    urlkey: str
    timestamp: str  # 14 digits, UTC
    original: str
    mimetype: str
    status: str
    digest: str
    length: str = ""

    @property
    def archived_at(self) -> str:
        """The capture time as ISO 8601 UTC (the corpus's ``archived_at``)."""
        return timestamp_iso(self.timestamp)


@dataclass(frozen=True)
class CdxPage:
    rows: list[CdxRow]
    resume_key: str | None  # the Wayback server's key for the next page, if any
    shape: str  # "wayback" (JSON array) | "pywb" (JSON lines) | "empty"


def cdx_endpoint(archive: str) -> str:
    """The CDX endpoint that goes with a replay prefix (``--cdx`` overrides it)."""
    parts = urlsplit(archive)
    if parts.hostname in ("web.archive.org", "wayback.archive.org"):
        return f"{parts.scheme}://{parts.netloc}/cdx/search/cdx"
    return archive.rstrip("/") + "/cdx"


def cdx_query(endpoint: str, url: str, *, limit: int | None, resume_key: str | None = None,
              from_ts: str | None = None, to_ts: str | None = None) -> str:
    """The query URL for every capture under the prefix ``url``, as JSON.

    Nothing is filtered on the server: a URL-agnostic revisit is listed as ``warc/revisit``
    with status ``-`` by the Wayback server, and a filter on status or MIME type would hide
    the URLs an archive holds only that way; :func:`wanted` decides on our side.

    ``resume_key`` goes back exactly as the server gave it (:func:`resume_param`).
    """
    params: list[tuple[str, str]] = [("url", url), ("matchType", "prefix"), ("output", "json")]
    if from_ts:
        params.append(("from", from_ts))
    if to_ts:
        params.append(("to", to_ts))
    if limit:
        params += [("limit", str(limit)), ("showResumeKey", "true")]
    query = f"{endpoint}?{urlencode(params)}"
    if resume_key:
        query += "&resumeKey=" + resume_param(resume_key)
    return query


#: what may stand in a query value as it is: RFC 3986 unreserved and sub-delims but ``&``,
#: and ``%`` so that escapes the server wrote stay as written
_KEY_SAFE = "%+!$'()*,;:@/?=~-._"


def resume_param(key: str) -> str:
    """A resume key as the ``resumeKey=`` value: the key itself, byte for byte.

    The Wayback CDX server (internetarchive/wayback, ``wayback-cdx-server``, ``CDXServer.
    writeCdxResponse``) writes the key already encoded, ``URLEncoder.encode("<urlkey>
    <timestamp>!", "UTF-8")`` (README, "Resumption Key": ``org%2Carchive%29%2F+19980109140106%21``),
    and its servlet decodes the parameter once and starts the next search at that very string
    (``createBoundedCdxIterator``: ``startEndUrl[0] = query.resumeKey``). Encoding it again
    would start the search at ``org%2Carchive...``, before the prefix: the first page again.
    Only a character that cannot stand in a query value at all (space, ``&``, ``#``,
    non-ASCII: never in a key the Wayback server wrote) is escaped, so any key reaches the
    server as the value it was given.
    """
    return quote(key, safe=_KEY_SAFE)


def prefix_key(url: str) -> str:
    """The SURT form of a prefix URL (scheme and ``www.`` dropped, host reversed), as a CDX
    server keys it: two prefixes with one key are one listing."""
    import surt

    key = surt.surt(url)
    return key + "/" if url.endswith("/") and not key.endswith("/") else key


def parse_cdx(body: bytes) -> CdxPage:
    """Rows (and the resume key) of a CDX answer in either JSON form; :class:`CdxError` else.

    Rows that lack a timestamp or an original URL are dropped: nothing could be fetched for them.
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return CdxPage([], None, "empty")
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CdxError(f"not a CDX JSON array: {exc}") from None
        return _wayback_rows(data)
    if text.startswith("{"):
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise CdxError(f"line {n} is not a CDX JSON object: {exc}") from None
            if not isinstance(obj, dict):
                raise CdxError(f"line {n} is not a CDX JSON object")
            if row := _row(obj):
                rows.append(row)
        return CdxPage(rows, None, "pywb")
    raise CdxError(f"not a JSON CDX answer (starts with {text[:30]!r})")


def _wayback_rows(data) -> CdxPage:
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise CdxError("a CDX JSON array must hold rows (arrays)")
    if not data:
        return CdxPage([], None, "empty")
    header, body = [str(h) for h in data[0]], data[1:]
    resume_key = None
    # showResumeKey: [..rows.., [], ["<key>"]]
    if len(body) >= 2 and body[-2] == [] and len(body[-1]) == 1:
        resume_key = str(body[-1][0]) or None
        body = body[:-2]
    rows = []
    for values in body:
        if not values:
            continue
        if row := _row(dict(zip(header, values))):
            rows.append(row)
    return CdxPage(rows, resume_key, "wayback")


def _row(obj: dict) -> CdxRow | None:
    fields = {}
    for name, value in obj.items():
        if name in _FIELDS and value is not None:
            fields[_FIELDS[name]] = str(value)
    ts, original = fields.get("timestamp", ""), fields.get("original", "")
    if not _TIMESTAMP.match(ts) or not original:
        return None
    return CdxRow(urlkey=fields.get("urlkey", original), timestamp=ts.ljust(14, "0"),
                  original=original, mimetype=fields.get("mimetype", ""),
                  status=fields.get("status", ""), digest=fields.get("digest", ""),
                  length=fields.get("length", ""))


def needs_unpaged(page: CdxPage, limit: int | None) -> bool:
    """A full page with no resume key: the server cannot page this way (pywb), ask again whole."""
    return bool(limit) and page.resume_key is None and len(page.rows) >= limit


def mimetype_of(row: CdxRow) -> str:
    """The row's media type, without parameters, in lower case."""
    return row.mimetype.split(";")[0].strip().lower()


def wanted(row: CdxRow) -> bool:
    """A capture worth fetching: status 200 and HTML, or a revisit that may stand for one.

    A ``warc/revisit`` row is a capture whose payload the archive already held (under this URL,
    or, URL-agnostic, under another: ``WARC-Refers-To-Target-URI``); the Wayback server lists it
    with status ``-`` (its status is the referred record's), pywb with the revisit's own HTTP
    status. Its ``original`` is the URL it stands for, and ``id_`` replays the referred payload
    under that URL, so a URL held only as revisits is still listed and fetched.
    """
    mime = mimetype_of(row)
    if mime == "warc/revisit":
        return row.status in ("200", "-", "")
    return row.status == "200" and mime in ("text/html", "application/xhtml+xml")


# -- walking a listing through all its pages ---------------------------------------------

class ListingBroken(Exception):
    """A listing the server would make us loop in, or skip part of: stop it, say why once.

    ``reason`` is one of :data:`BROKEN_REASONS` (a stat name); the message is one line."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


#: the ways a CDX server can break a listing, and what each means for the client
BROKEN_REASONS = {
    "repeated_page": "an answer repeats a page already read (the same key or the same rows)",
    "empty_page_with_key": "an empty page that still gives a key to go on",
    "not_advancing": "a page whose rows do not come after the previous page's",
}


class CdxUnavailable(OSError):
    """The CDX server could not be read (refused, unreachable, an HTTP error)."""


@dataclass(frozen=True)
class NextPage:
    """What to ask for next: a resume key (Wayback), or the whole listing once (pywb)."""

    resume_key: str | None = None
    whole: bool = False


class CdxWalk:
    """One listing of the captures under a URL prefix, page after page, each page once.

    The Wayback CDX server (internetarchive/wayback ``CDXServer.writeCdxResponse``) prints a
    resume key when a page reached ``limit``; the key names the last line *read* (filtered or
    not), and the next search starts just after it. So a correct listing only moves forward:
    each page's rows sort after the previous page's (CDX order: URL key, then timestamp),
    no key comes twice, and a page that gives a key holds rows (the server prints it only when
    it wrote ``limit`` of them). The last page may be full and give a key; the next is then
    empty with no key: the end. :meth:`advance` checks each page against what was read before
    and raises :class:`ListingBroken` instead of going round again.

    The walk is the listing's state in memory: a listing resumed from the frontier (its next
    page owed) starts a new walk at that key, whose first check is that the key moves on.
    """

    def __init__(self, endpoint: str, prefix: str, *, limit: int | None, from_ts: str | None = None,
                 to_ts: str | None = None):
        self.endpoint, self.prefix, self.limit = endpoint, prefix, limit
        self.from_ts, self.to_ts = from_ts, to_ts
        self.keys: set[str] = set()
        self.pages: set[int] = set()
        self.last: tuple[str, str] | None = None  # the greatest (urlkey, timestamp) read
        self.read = 0

    def query(self, resume_key: str | None = None, whole: bool = False) -> str:
        return cdx_query(self.endpoint, self.prefix, limit=None if whole else self.limit,
                         resume_key=resume_key, from_ts=self.from_ts, to_ts=self.to_ts)

    @property
    def first(self) -> str:
        """The first page's query: the name of the walk (``meta["walk"]``)."""
        return self.query()

    def advance(self, page: CdxPage, sent_key: str | None = None, whole: bool = False) -> NextPage | None:
        """The next page to ask for after ``page`` (None: the listing is complete), or
        :class:`ListingBroken`. ``sent_key`` is the key that asked for ``page``."""
        self.read += 1
        if sent_key:
            self.keys.add(sent_key)
        key = page.resume_key
        if whole:  # pywb's whole listing after a full page: the first rows come again, rightly
            return None
        if key is not None and not page.rows:
            raise ListingBroken("empty_page_with_key", f"an empty page that still gives a resume key ({key!r})")
        if page.rows:
            fingerprint = hash(tuple(page.rows))
            if fingerprint in self.pages:
                raise ListingBroken("repeated_page", f"a page of {len(page.rows)} rows came a second time")
            self.pages.add(fingerprint)
        if key is not None and key == sent_key:
            raise ListingBroken("not_advancing", f"the server gave back the key it was sent ({key!r})")
        if key is not None and key in self.keys:
            raise ListingBroken("repeated_page", f"the resume key {key!r} came a second time")
        if page.rows:
            first = min((r.urlkey, r.timestamp) for r in page.rows)
            if self.last is not None and first <= self.last:
                raise ListingBroken("not_advancing",
                                    f"a page starts at {' '.join(first)!r}, not after {' '.join(self.last)!r}")
            self.last = max((r.urlkey, r.timestamp) for r in page.rows)
        if key is not None:
            self.keys.add(key)
            return NextPage(resume_key=key)
        if needs_unpaged(page, self.limit):
            return NextPage(whole=True)
        return None


def list_captures(endpoint: str, prefix: str, *, limit: int | None = 1000, from_ts: str | None = None,
                  to_ts: str | None = None, fetch=None):
    """Every capture the CDX server lists under ``prefix``, through all pages, each page once.

    ``fetch(url) -> bytes`` reads one query (default :func:`fetch_cdx`, urllib); it raises
    :class:`CdxUnavailable` when the server cannot be read. A listing the server breaks raises
    :class:`ListingBroken` after the rows of the pages before it were yielded; no row of the
    offending page is. Rows come as listed (unfiltered: see :func:`wanted`).
    """
    fetch = fetch or fetch_cdx
    walk = CdxWalk(endpoint, prefix, limit=limit, from_ts=from_ts, to_ts=to_ts)
    step: NextPage | None = NextPage()
    while step is not None:
        page = parse_cdx(fetch(walk.query(step.resume_key, step.whole)))
        sent, whole = step.resume_key, step.whole
        step = walk.advance(page, sent, whole)
        yield from page.rows


def fetch_cdx(url: str, timeout: float = 60.0) -> bytes:
    """One CDX answer over HTTP (urllib), or :class:`CdxUnavailable` in one line."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise CdxUnavailable(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CdxUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from None


# -- replay URLs and capture times ----------------------------------------------------------

def replay_url(archive: str, timestamp: str, original: str) -> str:
    """``<archive>/<timestamp>id_/<original>``: the capture's bytes as archived."""
    return f"{archive.rstrip('/')}/{timestamp}id_/{original}"


_REPLAY = re.compile(r"/(?P<ts>\d{4,14})id_/(?P<original>.+)$")


def split_replay_url(url: str) -> tuple[str, str] | None:
    """(timestamp, original URL) of an ``id_`` replay URL, or None."""
    m = _REPLAY.search(url)
    return (m["ts"].ljust(14, "0"), m["original"]) if m else None


def timestamp_iso(ts: str) -> str:
    ts = ts.ljust(14, "0")
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"


def iso_timestamp(iso: str) -> str:
    """``2019-03-01T10:00:00Z`` (or a date) -> ``20190301100000``."""
    return re.sub(r"\D", "", iso)[:14].ljust(14, "0")


def memento_iso(value: str | bytes | None) -> str | None:
    """A ``Memento-Datetime`` header (an HTTP-date) as ISO 8601 UTC, or None."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    when = http_date(value)
    if when is None:
        return None
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def link_original(value: str | bytes | None) -> str | None:
    """The ``rel="original"`` target of a Memento ``Link`` header, or None."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    for m in re.finditer(r'<([^>]*)>\s*;([^<]*)', value):
        if re.search(r'rel="?[^";]*\boriginal\b', m[2]):
            return m[1]
    return None


def normalise_bound(value: str | None, what: str) -> str | None:
    """``--from``/``--to`` as given (YYYY, YYYYMM, ... up to 14 digits, or an ISO date)."""
    if value in (None, ""):
        return None
    digits = re.sub(r"[-:TZ ]", "", str(value))
    if not _TIMESTAMP.match(digits):
        raise ValueError(f"--{what} {value}: expected a year or a timestamp (YYYY[MM[DD[hhmmss]]])")
    return digits


# -- the ledger: one capture per URL and digest, durable ----------------------------------

LEDGER_SCHEMA = """
create table if not exists backfill_captures (
    archive text not null,
    urlkey text not null,
    digest text not null,
    timestamp text not null,
    original text not null,
    source text not null,
    primary key (archive, urlkey, digest)
);
"""


class CaptureLedger:
    """Which capture stands for each (URL, payload digest) of an archive, in ``state.db``.

    The CDX listing is sorted by URL key, then time, so the first capture claimed for a digest
    is its earliest: a rerun after a kill claims the very same captures (a second listing of a
    page already claimed returns the same answer), and the corpus gets the same rows.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.db = open_state_db(self.path, LEDGER_SCHEMA)

    def claim(self, archive: str, row: CdxRow, source: str) -> bool:
        """True when ``row`` is the capture that stands for its URL and digest (now or before)."""
        digest = row.digest or f"ts:{row.timestamp}"  # no digest listed: every capture counts
        self.db.execute(
            "insert or ignore into backfill_captures (archive, urlkey, digest, timestamp, "
            "original, source) values (?, ?, ?, ?, ?, ?)",
            (archive, row.urlkey, digest, row.timestamp, row.original, source))
        chosen = self.db.execute(
            "select timestamp from backfill_captures where archive = ? and urlkey = ? and digest = ?",
            (archive, row.urlkey, digest)).fetchone()[0]
        return chosen == row.timestamp

    def count(self, archive: str | None = None) -> int:
        if archive is None:
            return self.db.execute("select count(*) from backfill_captures").fetchone()[0]
        return self.db.execute("select count(*) from backfill_captures where archive = ?",
                               (archive,)).fetchone()[0]

    def close(self) -> None:
        self.db.close()


def duration_text(captures: int, delay: float, cdx_pages: int = 0) -> str:
    """How long ``captures`` fetches (and ``cdx_pages`` listings) take at one per ``delay`` s."""
    seconds = (captures + cdx_pages) * delay
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
