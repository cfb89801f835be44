"""The CDX server API of web archives, as a backfill reads it: queries, answers, replay URLs.

Two kinds of server answer the same query (``url``, ``matchType=prefix``, ``filter``,
``from``/``to``, ``output=json``), in two shapes:

* the Wayback Machine's CDX server: one JSON array whose first row names the fields
  (``urlkey, timestamp, original, mimetype, statuscode, digest, length``); with
  ``showResumeKey=true`` and ``limit=N`` a full page ends with an empty row and a row holding
  the key that continues the listing (``resumeKey=``);
* pywb's: one JSON object per line with its own field names (``url``, ``mime``, ``status``);
  it has no resume keys (only a ZipNum cluster pages, with ``page=``), so a listing that
  filled the page is asked again once, whole (:func:`needs_unpaged`).

Filters are written so both read them alike: the Wayback server matches ``field:regex``, pywb
tests ``field:text`` for containment, and ``statuscode:200`` / ``mimetype:text/html`` mean the
same to both. Collapsing to one capture per URL and payload digest is done here, on our side
(:class:`CaptureLedger`): the Wayback server's ``collapse=digest`` only folds *adjacent* rows
(two URLs with one payload would lose one) and pywb has no such option.

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
from urllib.parse import urlencode, urlsplit

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
    """The query URL for captures under the prefix ``url``: status 200, HTML only, as JSON."""
    params: list[tuple[str, str]] = [
        ("url", url), ("matchType", "prefix"), ("output", "json"),
        ("filter", "statuscode:200"), ("filter", "mimetype:text/html"),
    ]
    if from_ts:
        params.append(("from", from_ts))
    if to_ts:
        params.append(("to", to_ts))
    if limit:
        params += [("limit", str(limit)), ("showResumeKey", "true")]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{endpoint}?{urlencode(params)}"


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


def wanted(row: CdxRow) -> bool:
    """Status 200 and HTML, whatever the server's filter did (pywb's is a substring test)."""
    return row.status == "200" and row.mimetype.split(";")[0].strip().lower() in (
        "text/html", "application/xhtml+xml")


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
