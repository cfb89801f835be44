"""Recover WARC files a killed crawl left open.

A ``NAME.warc.gz.open`` file holds one gzip member per record; a crash can leave a member
(or a record inside a complete member) half written. :func:`salvage_open_warc` keeps the
longest prefix of complete members that each hold one complete WARC record, truncates the
rest, renames the file to ``NAME.warc.gz`` and rebuilds ``NAME.cdxj`` (sorted, by
cdxj-indexer) from what was kept,
so the index never lists a record that is not there (nor misses one that is).

Files still held by a live writer (an exclusive ``flock``) are left alone.
"""
from __future__ import annotations

import fcntl
import glob
import logging
import os
import re
import zlib
from dataclasses import dataclass

from stenogram.archive.cdxj import index_warc

logger = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
CDXJ_SUFFIX = ".cdxj"
_CHUNK = 1 << 20
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)


@dataclass(frozen=True)
class SalvageResult:
    path: str | None  # the final .warc.gz, or None when nothing complete was left
    records_kept: int
    bytes_kept: int
    bytes_dropped: int
    index_lines: int


def complete_prefix_length(path: str | os.PathLike) -> tuple[int, int]:
    """(bytes, records) of the longest prefix made of complete one-record gzip members."""
    good_end = 0
    records = 0
    with open(path, "rb") as fh:
        while True:
            fh.seek(good_end)
            member_length = _complete_member_length(fh)
            if member_length is None:
                break
            good_end += member_length
            records += 1
    return good_end, records


def _complete_member_length(fh) -> int | None:
    """Length of the gzip member at the file position if it is whole and holds a whole record."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
    consumed = 0
    head = b""
    tail = b""
    produced = 0
    while not inflater.eof:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return None
        try:
            out = inflater.decompress(chunk)
        except zlib.error:
            return None
        consumed += len(chunk)
        if len(head) < 65536:
            head += out[: 65536 - len(head)]
        produced += len(out)
        tail = (tail + out)[-4:]
    consumed -= len(inflater.unused_data)
    header_end = head.find(b"\r\n\r\n")
    if not head.startswith(b"WARC/") or header_end < 0:
        return None
    match = _CONTENT_LENGTH.search(head[: header_end + 2])
    if not match:
        return None
    if produced != header_end + 4 + int(match.group(1)) + 4 or tail != b"\r\n\r\n":
        return None
    return consumed


def _is_locked(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases our lock, if we got it
    return False


def salvage_open_warc(open_path: str | os.PathLike) -> SalvageResult | None:
    """Cut ``open_path`` back to its complete records, close it and rebuild its index.

    Returns None (and touches nothing) when another process still holds the file.
    """
    open_path = os.fspath(open_path)
    if not open_path.endswith(WARC_SUFFIX + OPEN_SUFFIX):
        raise ValueError(f"not an open WARC file: {open_path}")
    if _is_locked(open_path):
        logger.info("skipping %s: still being written by a live process", open_path)
        return None
    final_path = open_path[: -len(OPEN_SUFFIX)]
    stem = final_path[: -len(WARC_SUFFIX)]
    total = os.path.getsize(open_path)
    keep, records = complete_prefix_length(open_path)
    with open(open_path, "r+b") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    for stale in (stem + CDXJ_SUFFIX + OPEN_SUFFIX,):
        if os.path.exists(stale):
            os.remove(stale)
    if records == 0:
        os.remove(open_path)
        logger.warning("salvage: %s held no complete record (%d bytes); removed", open_path, total)
        return SalvageResult(None, 0, 0, total, 0)
    if os.path.exists(final_path):
        raise FileExistsError(f"cannot salvage {open_path}: {final_path} already exists")
    os.replace(open_path, final_path)
    lines = index_warc(final_path, stem + CDXJ_SUFFIX)
    logger.warning(
        "salvage: %s kept %d complete records (%d bytes), dropped %d trailing bytes; "
        "index rebuilt with %d lines",
        final_path, records, keep, total - keep, lines,
    )
    return SalvageResult(final_path, records, keep, total - keep, lines)


def salvage_directory(directory: str | os.PathLike) -> list[SalvageResult]:
    """Salvage every leftover ``*.warc.gz.open`` in ``directory`` not held by a live writer."""
    results = []
    pattern = os.path.join(glob.escape(os.fspath(directory)), "*" + WARC_SUFFIX + OPEN_SUFFIX)
    for path in sorted(glob.glob(pattern)):
        result = salvage_open_warc(path)
        if result is not None:
            results.append(result)
    finish_orphan_indexes(directory)
    return results


_WRITER_PID = re.compile(r"-(\d+)~[^/]*$")


def finish_orphan_indexes(directory: str | os.PathLike) -> list[str]:
    """Index WARCs that were closed but whose live ``NAME.cdxj.open`` was never sorted.

    A writer closes its WARC (rename to ``.warc.gz``) and then sorts its live index into
    ``NAME.cdxj``; a kill in between leaves the WARC complete and the index unsorted and
    ``.open`` (found by tools/torture.py). The index is rebuilt from the WARC, as salvage does.
    Indexes of a writer whose process (the PID in the name) still runs are left alone.
    """
    done = []
    pattern = os.path.join(glob.escape(os.fspath(directory)), "*" + CDXJ_SUFFIX + OPEN_SUFFIX)
    for orphan in sorted(glob.glob(pattern)):
        stem = orphan[: -len(CDXJ_SUFFIX + OPEN_SUFFIX)]
        if os.path.exists(stem + WARC_SUFFIX + OPEN_SUFFIX) or _writer_alive(stem):
            continue
        if os.path.exists(stem + WARC_SUFFIX):
            lines = index_warc(stem + WARC_SUFFIX, stem + CDXJ_SUFFIX)
            logger.warning("salvage: %s was closed but not indexed; index rebuilt with %d lines",
                           stem + WARC_SUFFIX, lines)
        os.remove(orphan)
        done.append(stem + CDXJ_SUFFIX)
    return done


def _writer_alive(stem: str) -> bool:
    m = _WRITER_PID.search(os.path.basename(stem))
    if not m:
        return False
    pid = int(m.group(1))
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
