"""Recover WARC files a killed crawl left open.

A ``NAME.warc.gz.open`` file holds one gzip member per record; a crash can leave a member
(or a record inside a complete member) half written. :func:`salvage_open_warc` keeps the
longest prefix of complete members that each hold one complete WARC record, truncates the
rest, renames the file to ``NAME.warc.gz`` and rebuilds ``NAME.cdxj`` (sorted, by
cdxj-indexer) from what was kept,
so the index never lists a record that is not there (nor misses one that is).

Files still held by a live writer (an exclusive ``flock``) are left alone.

:func:`salvage_paths` is what ``stenogram reprocess`` and ``stenogram salvage`` run over the
folders they are given: the same cut for every ``.open`` file no live writer holds, plus the
cases a folder copied from another machine brings (``rsync`` of a live worker's folder): an
``.open`` copy beside a closed file of the same name is either a longer copy of an earlier
salvage (it replaces it: the same bytes at the same offsets, and more) or an older copy of a
file since closed (it is removed). A folder this process cannot write is not salvaged (cutting
and renaming need it) and its ``.open`` files are not read: reading them in place would cite a
file name that stops existing once the file is closed; they are reported instead.
"""
from __future__ import annotations

import fcntl
import glob
import logging
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Iterable

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
    #: "closed": cut and renamed; "empty": no complete record, removed; "replaced": a longer copy
    #: of a file salvaged before replaced it; "superseded": an older copy of a closed file, removed
    outcome: str = "closed"


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


def _take_lock(path: str) -> int | None:
    """A descriptor of ``path`` holding its exclusive flock, or None when another open file
    holds it (a live writer, or another salvage of the same file).

    Opened read-write when it can be (NFS emulates flock with byte-range locks, which need it),
    else read-only (a file this process may read but not write: :class:`ReadOnlyError` next).
    Held until the salvage is done, so two processes salvaging one folder (a crawl starting
    while a reprocess runs) never cut or rename the same file twice."""
    writable = True
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise
    except OSError:
        fd, writable = os.open(path, os.O_RDONLY), False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:  # EBADF: NFS will not lock a file opened read-only
        os.close(fd)
        if writable:
            raise
        raise ReadOnlyError(f"cannot salvage {path}: it is read-only here ({exc.strerror})")
    try:
        if os.stat(path).st_ino != os.fstat(fd).st_ino:  # salvaged by another since we opened
            raise FileNotFoundError(f"{path} was salvaged by another process")
    except BaseException:
        os.close(fd)
        raise
    return fd


class ReadOnlyError(PermissionError):
    """An ``.open`` file that could be salvaged, but this process cannot write it or its folder."""


def _check_writable(path: str) -> None:
    folder = os.path.dirname(path) or "."
    for what, where in (("folder", folder), ("file", path)):
        if not os.access(where, os.W_OK):
            raise ReadOnlyError(f"cannot salvage {path}: its {what} is read-only here")


def _same_prefix(a: str, b: str, length: int) -> bool:
    """Whether the first ``length`` bytes of files ``a`` and ``b`` are equal."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while length > 0:
            n = min(_CHUNK, length)
            if fa.read(n) != fb.read(n):
                return False
            length -= n
    return True


def salvage_open_warc(open_path: str | os.PathLike) -> SalvageResult | None:
    """Cut ``open_path`` back to its complete records, close it and rebuild its index.

    Returns None (and touches nothing) when another process still holds the file. When the
    closed name exists already (a copied folder, module docstring), the two are compared: the
    ``.open`` file replaces a closed file that is a prefix of its complete records (outcome
    "replaced"), is removed when its complete records are a prefix of the closed file
    ("superseded"), and anything else raises ``FileExistsError`` with both left as they are.
    Raises :class:`ReadOnlyError` (touching nothing) when the file or its folder is read-only.
    """
    open_path = os.fspath(open_path)
    if not open_path.endswith(WARC_SUFFIX + OPEN_SUFFIX):
        raise ValueError(f"not an open WARC file: {open_path}")
    fd = _take_lock(open_path)
    if fd is None:
        logger.info("skipping %s: still being written by a live process", open_path)
        return None
    try:  # closing the descriptor releases the lock
        _check_writable(open_path)
        return _salvage_locked(open_path, fd)
    finally:
        os.close(fd)


def _salvage_locked(open_path: str, fd: int) -> SalvageResult:
    final_path = open_path[: -len(OPEN_SUFFIX)]
    stem = final_path[: -len(WARC_SUFFIX)]
    total = os.path.getsize(open_path)
    keep, records = complete_prefix_length(open_path)
    outcome = "closed"
    if os.path.exists(final_path):
        closed = os.path.getsize(final_path)
        if keep > closed and _same_prefix(open_path, final_path, closed):
            outcome = "replaced"  # a longer copy of what an earlier salvage closed
        elif keep <= closed and _same_prefix(open_path, final_path, keep):
            _remove_open(open_path, stem)
            if not os.path.exists(stem + CDXJ_SUFFIX):
                index_warc(final_path, stem + CDXJ_SUFFIX)
            logger.warning("salvage: %s is an older copy of %s (%d of its %d bytes); removed",
                           open_path, final_path, keep, closed)
            return SalvageResult(final_path, records, keep, total - keep, 0, "superseded")
        else:
            raise FileExistsError(f"cannot salvage {open_path}: {final_path} already exists "
                                  "with other records (both left as they are)")
    os.ftruncate(fd, keep)
    os.fsync(fd)
    if records == 0:
        _remove_open(open_path, stem)
        logger.warning("salvage: %s held no complete record (%d bytes); removed", open_path, total)
        return SalvageResult(None, 0, 0, total, 0, "empty")
    os.replace(open_path, final_path)
    _remove_open(None, stem)
    lines = index_warc(final_path, stem + CDXJ_SUFFIX)
    logger.warning(
        "salvage: %s kept %d complete records (%d bytes), dropped %d trailing bytes; "
        "index rebuilt with %d lines%s",
        final_path, records, keep, total - keep, lines,
        "; it replaced an earlier salvage of a shorter copy" if outcome == "replaced" else "",
    )
    return SalvageResult(final_path, records, keep, total - keep, lines, outcome)


def _remove_open(open_path: str | None, stem: str) -> None:
    """Remove ``open_path`` (if given) and the live index ``NAME.cdxj.open`` beside it."""
    for stale in (open_path, stem + CDXJ_SUFFIX + OPEN_SUFFIX):
        if stale and os.path.exists(stale):
            os.remove(stale)


def salvage_directory(directory: str | os.PathLike) -> list[SalvageResult]:
    """Salvage every leftover ``*.warc.gz.open`` in ``directory`` not held by a live writer."""
    results = []
    pattern = os.path.join(glob.escape(os.fspath(directory)), "*" + WARC_SUFFIX + OPEN_SUFFIX)
    for path in sorted(glob.glob(pattern)):
        try:
            result = salvage_open_warc(path)
        except FileNotFoundError:  # salvaged meanwhile by another process
            continue
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


@dataclass
class SalvageReport:
    """What :func:`salvage_paths` did with each ``.open`` file it found (lists of paths)."""

    results: list[SalvageResult] = field(default_factory=list)
    live: list[str] = field(default_factory=list)  # held by a live writer: left alone
    read_only: list[str] = field(default_factory=list)  # not writable here: left alone, not read
    conflicts: list[str] = field(default_factory=list)  # a closed file of the same name differs
    paths: list[str] = field(default_factory=list)  # the inputs to read now (see salvage_paths)

    def of(self, *outcomes: str) -> list[SalvageResult]:
        return [r for r in self.results if r.outcome in outcomes]

    @property
    def records(self) -> int:
        """Complete records the salvaged files hold (closed or replaced)."""
        return sum(r.records_kept for r in self.of("closed", "replaced"))

    @property
    def unread(self) -> list[str]:
        """``.open`` files left as they are for a reason the operator must act on."""
        return self.read_only + self.conflicts

    def summary(self) -> str:
        """One line, e.g. "salvaged 1 WARC left open (37 records); 1 still being written,
        skipped"; empty when there was no ``.open`` file."""
        parts = []
        if closed := self.of("closed", "replaced"):
            replaced = len(self.of("replaced"))
            parts.append(f"salvaged {len(closed)} WARC(s) left open ({self.records} records, "
                         f"{sum(r.bytes_dropped for r in closed)} bytes of unfinished records "
                         "dropped" + (f"; {replaced} replacing a shorter copy salvaged before"
                                      if replaced else "") + ")")
        if empty := self.of("empty"):
            parts.append(f"{len(empty)} left open without a complete record, removed")
        if older := self.of("superseded"):
            parts.append(f"{len(older)} older copy(ies) of a closed WARC, removed")
        if self.live:
            parts.append(f"{len(self.live)} still being written, skipped")
        if self.read_only:
            parts.append(f"{len(self.read_only)} in a read-only folder, not read "
                         f"(e.g. {self.read_only[0]})")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} beside a different closed WARC of the same "
                         f"name, not read (e.g. {self.conflicts[0]})")
        return "; ".join(parts)


def salvage_paths(paths: Iterable[str | os.PathLike]) -> SalvageReport:
    """Salvage every ``*.warc.gz.open`` the inputs name, by the rule that names WARCs
    (``archive.reader.expand_warc_paths``: a folder stands for every such file under it, a
    file for itself), unless a live writer holds it; see the module docstring.

    ``report.paths`` are the inputs to read afterwards: the folders as given, and a given
    ``.open`` file replaced by its closed name (dropped when nothing was kept or it was left
    alone). An input that does not exist raises ``FileNotFoundError``. Leftover live indexes
    of WARCs already closed (:func:`finish_orphan_indexes`) are finished in the folders holding
    one, where writable.
    """
    from stenogram.archive.reader import expand_warc_paths

    report = SalvageReport()
    suffix = WARC_SUFFIX + OPEN_SUFFIX
    for given in map(os.fspath, paths):
        found = expand_warc_paths([given], suffixes=(suffix,))
        explicit = not os.path.isdir(given)
        if explicit and not given.endswith(suffix):
            report.paths.append(given)
            continue
        for path in map(str, found):
            try:
                result = salvage_open_warc(path)
            except ReadOnlyError as exc:
                logger.error("%s", exc)
                report.read_only.append(path)
                continue
            except FileExistsError as exc:
                logger.error("%s", exc)
                report.conflicts.append(path)
                continue
            except FileNotFoundError:  # salvaged meanwhile by another process (a crawl starting)
                if explicit:
                    report.paths.append(path[: -len(OPEN_SUFFIX)])
                continue
            if result is None:
                report.live.append(path)
                continue
            report.results.append(result)
            if explicit and result.path is not None:
                report.paths.append(result.path)
        if not explicit:
            report.paths.append(given)
            folders = {os.path.dirname(str(p)) for p in
                       expand_warc_paths([given], suffixes=(CDXJ_SUFFIX + OPEN_SUFFIX,))}
            for folder in sorted(folders):
                if os.access(folder, os.W_OK):
                    finish_orphan_indexes(folder)
    return report
