"""CDXJ lines in pywb's format, written live beside each WARC.

``SURT TIMESTAMP14 {"url", "mime", "status", "digest", "length", "offset", "filename"}`` —
the same fields, key order, string values and omissions as ``cdxj-indexer`` 1.5.0 (its
default record set: response, revisit, resource, and metadata not of type
application/warc-fields), so a live index equals the indexer's output for the same WARC
modulo sort order.

The live index of ``NAME.warc.gz.open`` is ``NAME.cdxj.open``, a line written and flushed as
each record is written; when the WARC is closed its lines are sorted into ``NAME.cdxj``, the
same bytes cdxj-indexer writes for the closed file (:func:`index_warc`, which salvage and
``stenogram index`` use).
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import IO

import surt
from surt.GoogleURLCanonicalizer import normalizePath
from surt.IAURLCanonicalizer import alphaReorderQuery
from surt.URLRegexTransformer import stripQuerySessionID
from warcio.timeutils import iso_date_to_timestamp

INDEXED_RECORD_TYPES = ("response", "revisit", "resource", "metadata")
_MIME_SPLIT = re.compile(r"[;\s]")
#: a WARC-Date as :func:`archive.warc_writer.warc_date` writes it (fraction optional)
_WARC_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", re.ASCII)
_DATE_SEPARATORS = str.maketrans("", "", "-T:")
#: URLs :func:`url_key` takes apart itself: lowercase http(s) scheme, a host of letter/digit/
#: hyphen labels, a port without leading zero, path and query of unreserved characters only
#: (plus ``/``, and ``=``/``&`` in the query): nothing surt would unescape, escape or IDNA-encode
_PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::([1-9][0-9]{0,3}|[1-5][0-9]{4}))?"
    r"(/[A-Za-z0-9._~/-]*)?(?:\?([A-Za-z0-9._~=&-]*))?", re.ASCII)
_DOTTED_QUAD = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                          r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])", re.ASCII)
_WWW_PREFIX = re.compile(r"www[0-9]*\.", re.ASCII)  # surt's massageHost
_SESSION_ID_HINT = re.compile(r"sid|sessionid|cfid", re.IGNORECASE)  # in all its patterns
_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_key(url: str) -> str:
    """SURT form of ``url``, the sort key of CDX lines (the URL itself if SURT fails)."""
    key = _plain_url_key(url)
    if key is not None:
        return key
    try:
        return surt.surt(url)
    except Exception:
        return url


def _plain_url_key(url: str) -> str | None:
    """``surt.surt(url)`` for a plain http(s) URL, None for any other.

    The surt package runs every URL through its whole canonicaliser (some hundred Python
    calls, a name lookup for an IP host): half of the CPU of a CDXJ line. A plain URL (see
    :data:`_PLAIN_URL`: no escapes, no fragment, no user, a dotted-quad or letter host) needs
    only what surt does to such a URL, done here with surt's own helpers where they are not
    no-ops: host lowercased, ``www``/``wwwN`` dropped, labels reversed; default port dropped;
    ``.``/``..``/``//`` path segments resolved, path lowercased, trailing slash dropped;
    session ids dropped from the query, which is lowercased and sorted, and dropped if empty.
    """
    match = _PLAIN_URL.fullmatch(url)
    if match is None:
        return None
    scheme, host, port, path, query = match.groups()
    if host[-1].isdigit() and not _DOTTED_QUAD.fullmatch(host):
        return None  # surt reads such hosts as numbers (octal, one integer...): its own way
    host = host.lower()
    www = _WWW_PREFIX.match(host)
    if www is not None:
        host = host[www.end():]
    key = ",".join(reversed(host.split(".")))
    if port is not None and int(port) != _DEFAULT_PORTS[scheme]:
        key += f":{int(port)}"
    if path is None:
        path = "/"
    elif "//" in path or "/." in path:
        path = normalizePath(path.encode("ascii")).decode("ascii")
    path = path.lower()
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    key += ")" + path
    if query:
        if _SESSION_ID_HINT.search(query):
            query = stripQuerySessionID(query.encode("ascii")).decode("ascii")
        query = query.lower()
        if "&" in query:
            query = alphaReorderQuery(query.encode("ascii")).decode("ascii")
        if query:
            key += "?" + query
    return key


def cdx_timestamp(warc_date: str) -> str:
    """The 14-digit timestamp of a WARC-Date, as warcio's ``iso_date_to_timestamp`` gives it.

    That parses the date into a datetime and formats it back, a quarter of the CPU of a CDXJ
    line; a date of the writer's own form is its digits up to the seconds (fraction cut, as
    warcio cuts it), once ``fromisoformat`` has refused impossible ones as warcio would.
    Any other form goes through warcio.
    """
    if _WARC_DATE.fullmatch(warc_date):
        seconds = warc_date[:19]
        datetime.fromisoformat(seconds)  # ValueError on month 13, second 60... as warcio
        return seconds.translate(_DATE_SEPARATORS)
    return iso_date_to_timestamp(warc_date)


def cdx_json(fields: dict[str, str | None]) -> str:
    """``json.dumps(fields)``, the same text, for plain ASCII keys.

    Each string value goes through json's own C string encoder (ASCII-only, as ``json.dumps``
    writes by default); the general encoder costs twice as much for a dict this small. A
    value that is not a string (a record without a target URI) takes the general way.
    """
    try:
        return "{" + ", ".join([f'"{name}": {encode_basestring_ascii(value)}'
                                for name, value in fields.items()]) + "}"
    except TypeError:
        return json.dumps(fields)


def cdx_mime(record_type: str, content_type: str | None) -> str | None:
    """The ``mime`` field: ``warc/revisit`` for revisits, else the bare media type."""
    if record_type == "revisit":
        return "warc/revisit"
    if not content_type:
        return None
    return _MIME_SPLIT.split(content_type, 1)[0].strip()


def is_indexed(record_type: str, warc_content_type: str | None) -> bool:
    """Whether cdxj-indexer's default record filter keeps this record."""
    if record_type not in INDEXED_RECORD_TYPES:
        return False
    if record_type in ("resource", "metadata") and warc_content_type == "application/warc-fields":
        return False
    return True


def format_cdxj_line(
    *,
    url: str,
    warc_date: str,
    filename: str,
    offset: int,
    length: int,
    record_type: str = "response",
    content_type: str | None = None,
    status: int | str | None = None,
    digest: str | None = None,
) -> str:
    """One CDXJ line (with trailing newline) from a record's fields.

    ``content_type`` is the HTTP Content-Type for response/revisit records and the WARC
    Content-Type for resource/metadata records; ``status`` is given for response/revisit.
    """
    fields: dict[str, str] = {"url": url}  # insertion order is the key order written
    mime = cdx_mime(record_type, content_type)
    if mime is not None:
        fields["mime"] = mime
    if status is not None and record_type in ("response", "revisit"):
        fields["status"] = str(status)
    if digest:
        fields["digest"] = digest
    fields["length"] = str(length)
    fields["offset"] = str(offset)
    fields["filename"] = filename
    return f"{url_key(url)} {cdx_timestamp(warc_date)} {cdx_json(fields)}\n"


def index_warc(warc_path: str | os.PathLike, target: str | os.PathLike) -> int:
    """(Re)write the sorted CDXJ index of a WARC file with cdxj-indexer (its default fields and
    records, what pywb reads); atomic, so a reader never sees half an index. Returns the number
    of lines. Used by ``stenogram index`` and by salvage."""
    from cdxj_indexer.main import CDXJIndexer  # ~0.14 s (pkg_resources): not at CLI start

    target = os.fspath(target)
    tmp = target + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            CDXJIndexer(out, [os.fspath(warc_path)], sort=True).process_all()
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    with open(target, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


class LiveCdxjIndex:
    """Appends one line per indexed record to the index file, flushed every time; sorted on close.

    pywb binary-searches a ``.cdxj`` in its ``indexes/`` folder, so an unsorted index loses most
    of its URLs there. Closing sorts the lines with cdxj-indexer's own sorter (plain string
    order, identical neighbours dropped, merged through temporary files when large), so the
    closed file is byte for byte what ``stenogram index`` (cdxj-indexer ``--sort``) writes for
    the same WARC.
    """

    def __init__(self, path: str | os.PathLike, filename: str):
        self.path = os.fspath(path)
        self.filename = filename  # the WARC's final name, written into every line
        self._fh: IO[str] = open(self.path, "a", encoding="utf-8")

    def add(self, **fields) -> None:
        self._fh.write(format_cdxj_line(filename=self.filename, **fields))
        self._fh.flush()

    def close(self, final_path: str | os.PathLike | None = None) -> None:
        """Sort the lines into ``final_path`` (default: in place) and remove the live file."""
        from cdxj_indexer.main import SortingWriter  # see index_warc

        self._fh.close()
        final = os.fspath(final_path) if final_path is not None else self.path
        tmp = final + ".tmp"
        try:
            with open(self.path, encoding="utf-8") as lines, \
                    open(tmp, "w", encoding="utf-8") as out:
                writer = SortingWriter(out)
                for line in lines:
                    writer.write(line)
                writer.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        finally:  # a failed sort (disk full) leaves the live file, never half an index
            if os.path.exists(tmp):
                os.remove(tmp)
        if final != self.path:
            os.remove(self.path)
        self.path = final
