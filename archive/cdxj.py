"""CDXJ lines in pywb's format, written live beside each WARC.

``SURT TIMESTAMP14 {"url", "mime", "status", "digest", "length", "offset", "filename"}`` —
the same fields, key order, string values and omissions as ``cdxj-indexer`` 1.5.0 (its
default record set: response, revisit, resource, and metadata not of type
application/warc-fields), written by cdxj-indexer's own SURT key and line writer, so a live
index equals the indexer's output for the same WARC modulo sort order.

The live index of ``NAME.warc.gz.open`` is ``NAME.cdxj.open``, a line written and flushed as
each record is written; when the WARC is closed its lines are sorted into ``NAME.cdxj``, the
same bytes cdxj-indexer writes for the closed file (:func:`index_warc`, which salvage and
``stenogram index`` use).
"""
from __future__ import annotations

import os
import re
from typing import IO

from warcio.timeutils import iso_date_to_timestamp

from stenogram.compat import write_cdxj_line

INDEXED_RECORD_TYPES = ("response", "revisit", "resource", "metadata")
_MIME_SPLIT = re.compile(r"[;\s]")


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


def index_warc(warc_path: str | os.PathLike, target: str | os.PathLike) -> int:
    """(Re)write the sorted CDXJ index of a WARC file with cdxj-indexer (its default fields and
    records, what pywb reads); atomic, so a reader never sees half an index. Returns the number
    of lines. Used by ``stenogram index`` and by salvage."""
    from cdxj_indexer.main import CDXJIndexer  # imports pkg_resources (slow): not at CLI start

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
        from cdxj_indexer.main import CDXJIndexer  # see index_warc

        self.path = os.fspath(path)
        self.filename = filename  # the WARC's final name, written into every line
        self._fh: IO[str] = open(self.path, "a", encoding="utf-8")
        self._indexer = CDXJIndexer(self._fh, [])  # its SURT key and line writer

    def add(self, *, url: str, warc_date: str, offset: int, length: int,
            record_type: str = "response", content_type: str | None = None,
            status: int | str | None = None, digest: str | None = None) -> None:
        """Write the line of one record, the fields cdxj-indexer writes, in its order.

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
        fields.update(length=str(length), offset=str(offset), filename=self.filename)
        write_cdxj_line(self._indexer, self._indexer.get_url_key(url),
                        iso_date_to_timestamp(warc_date), fields, self._fh)
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
