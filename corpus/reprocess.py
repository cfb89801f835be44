"""Rebuild or update a corpus from WARC files with the current extractor.

Why this shape: extraction is the CPU cost, then the per-document dedup work (normalise, hash,
shingle, MinHash: ``corpus.prepare``); ingest itself is short SQL (``bench/bench_extract.py``,
``bench/bench_corpus.py``). So captures are read in the main process (``pending_chunks``:
records already in the corpus, same WARC-Record-ID, are skipped before extraction, so a second
run over the same WARCs changes nothing and costs only the reading), split into what is
extracted and what is recorded as is (``Chunk``: non-HTML and non-200 responses), sent in
chunks to an executor that extracts *and prepares* them (``extracted_in_order``: a local
``ProcessPoolExecutor``, or any executor the caller passes), and ingested back in the main
process in order (``ingest_chunk``: one writer, no locking).

Transactions: chunks are small (work units for the pool), commits are not: ``CommitBatcher``
commits every ``commit_every`` captures or ``commit_seconds``, whichever comes first (each
commit rewrites the index pages it touched, so 16-capture commits cost a third of the writer's
time); a crash loses at most that batch, and the next run redoes it (ingest is idempotent).

Sharing the corpus with a crawl: when another process has the corpus open
(``Corpus.others_writing``, checked at the start and after every commit), a batch is
committed after at most ``SHARED_COMMIT_SECONDS`` and the write lock is left free for
``SHARED_PAUSE_SECONDS`` after each commit, and the full-text index is not deferred (its
rebuild would be one long transaction). The crawl's ingests wait for the lock (``Corpus``'s
busy timeout) instead of failing with "database is locked"; each waits at most about one
batch. Band keys stay correct across the two writers: each ``BandIndex`` reloads when the
other has committed (``PRAGMA data_version``), which makes a shared run slower, not wrong.

Full-text index: when a run has added more new documents than the corpus held at its start
(and at least ``BULK_MIN_DOCUMENTS``), row-by-row FTS indexing is switched off and the index is
rebuilt once at the end (``Corpus.defer_fts``/``resume_fts``): a rebuild costs less than half of
a row-by-row insert per document, but for the *whole* corpus, so deferring pays once the new
documents outnumber the old ones (``bench/bench_corpus.py`` prints the rebuild's share). ``defer_fts=True``/``False`` forces either way.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import islice

from stenogram.corpus.prepare import prepare_transcripts
from stenogram.corpus.store import Corpus
from stenogram.corpus.wal import checkpoint_every

log = logging.getLogger(__name__)


BULK_MIN_DOCUMENTS = 10_000
# Sharing the corpus (module docstring): the longest write transaction, and the pause after
# each commit. SQLite's busy handler retries every 100 ms at most, so the pause lets a
# waiting writer in at least twice.
SHARED_COMMIT_SECONDS = 1.0
SHARED_PAUSE_SECONDS = 0.25
BULK_CHECKPOINT_PAGES = 25_600  # see corpus.wal.checkpoint_every


@dataclass
class ReprocessSummary:
    captures_read: int = 0
    already_ingested: int = 0
    skipped_corrupt: int = 0
    not_extracted: int = 0
    extraction_errors: int = 0
    new_documents: int = 0
    new_versions: int = 0
    non_transcripts: int = 0
    fts_rebuilt: bool = False
    fts_rebuild_seconds: float = 0.0
    reader_stats: dict = field(default_factory=dict)


class CommitBatcher:
    """One open transaction on ``corpus`` that commits every ``every`` captures or ``seconds``.

    ``ingested(n)`` after each chunk; ``close()`` commits the rest; an exception inside the
    ``with`` rolls back the open batch only (earlier batches are committed).
    """

    def __init__(self, corpus: Corpus, every: int = 1000, seconds: float = 10.0):
        self.corpus, self.every, self.seconds = corpus, every, seconds
        self._tx = None
        self._pending = 0
        self._since = 0.0
        self.commits = 0
        self.shared = corpus.others_writing()  # refreshed after every commit

    def __enter__(self) -> "CommitBatcher":
        self._begin()
        return self

    def __exit__(self, *exc) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.__exit__(*exc)

    def _begin(self) -> None:
        self._tx = self.corpus.transaction()
        self._tx.__enter__()
        self._pending, self._since = 0, time.monotonic()

    def ingested(self, n: int) -> bool:
        """Count ``n`` ingested captures; commit when the batch is full. True if it committed."""
        self._pending += n
        seconds = min(self.seconds, SHARED_COMMIT_SECONDS) if self.shared else self.seconds
        if self._pending < self.every and time.monotonic() - self._since < seconds:
            return False
        tx, self._tx = self._tx, None
        tx.__exit__(None, None, None)
        self.commits += 1
        self.shared = self.corpus.others_writing()
        if self.shared:
            time.sleep(SHARED_PAUSE_SECONDS)  # the write lock is free: let the other writer in
        self._begin()
        return True


#: statuses whose capture holds a page's text: a 200, and a 304 Not Modified (a
#: ``server-not-modified`` revisit: the text seen again is the one it refers to)
TEXT_STATUSES = (200, 304)


def not_extractable_reason(capture) -> str | None:
    """Why a capture is recorded without extraction, or None if it should be extracted.

    A truncated record (any ``WARC-Truncated`` reason) never gives text: what it holds is not
    the whole page, and a cut page taken for the text would become a "new version" (a silent
    edit that never happened) or the canonical text. The live pipeline asks the same question.
    """
    truncated = getattr(capture.location, "truncated", None)
    if truncated:
        return f"truncated record (WARC-Truncated: {truncated})"
    if capture.http_status not in TEXT_STATUSES:
        return f"http status {capture.http_status}"
    ctype = (capture.content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in ("text/html", "application/xhtml+xml"):
        return f"not html: {ctype}"
    return None


def extract_chunk(captures: list) -> list[tuple[dict | None, str | None]]:
    """Worker: ``(transcript_dict, error)`` for each capture (top-level so it pickles)."""
    from stenogram.extract import extract_page

    out = []
    for cap in captures:
        try:
            out.append((extract_page(cap.body, cap.url, cap.content_type).to_dict(), None))
        except Exception as exc:  # one bad page must not stop the run; counted and logged
            out.append((None, f"extraction failed: {type(exc).__name__}: {exc}"))
    return out


def extract_and_prepare(extractor: Callable[[list], list], captures: list) -> list:
    """Worker: ``extractor``'s ``(transcript, error)`` pairs, each with its ``Prepared`` (or None)."""
    results = extractor(captures)
    prepared = prepare_transcripts(None if error else t for t, error in results)
    return [(t, error, p) for (t, error), p in zip(results, prepared)]


def record_id(capture) -> str:
    return capture.location.warc_record_id


def pending_chunks(corpus: Corpus, captures: Iterable, size: int, summary: ReprocessSummary,
                   progress: Callable[[int], None],
                   record_id: Callable[[object], str] = record_id) -> Iterator[list]:
    """``captures`` in chunks of ``size``, less those already in the corpus (same
    WARC-Record-ID: a rerun over the same WARCs costs only the reading); empty chunks dropped."""
    it = iter(captures)
    while chunk := list(islice(it, size)):
        summary.captures_read += len(chunk)
        todo = [cap for cap in chunk if corpus.conn.execute(
            "SELECT 1 FROM captures WHERE warc_record_id = ?", (record_id(cap),)).fetchone() is None]
        summary.already_ingested += len(chunk) - len(todo)
        progress(len(chunk) - len(todo))
        if todo:
            yield todo


@dataclass
class Chunk:
    """A chunk of new captures and their ``(transcript, error, prepared)`` results: made here
    for captures recorded without extraction, filled in by extraction for the others (``todo``)."""

    captures: list
    results: list
    todo: list[int]

    @classmethod
    def split(cls, captures: list, summary: ReprocessSummary) -> "Chunk":
        results: list = [None] * len(captures)
        todo = []
        for i, cap in enumerate(captures):
            reason = not_extractable_reason(cap)
            if reason:
                summary.not_extracted += 1
                results[i] = ({"is_transcript": False, "reason": reason, "text": ""}, None, None)
            else:
                todo.append(i)
        return cls(captures, results, todo)

    def to_extract(self) -> list:
        return [self.captures[i] for i in self.todo]

    def merge(self, extracted: list) -> None:
        for i, res in zip(self.todo, extracted):
            self.results[i] = res


class InProcess:
    """Where extraction runs with ``workers`` <= 1: each chunk at once, in this process."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def extracted_in_order(executor, work: Callable[[list], list], chunks: Iterable[Chunk],
                       ahead: int) -> Iterator[Chunk]:
    """Each chunk with its extraction merged in, in input order, with at most ``ahead``
    chunks submitted and not yet returned (bounded memory).

    ``executor`` is where extraction runs: anything with ``concurrent.futures``'
    ``submit(fn, arg) -> future`` (``InProcess``, a local ``ProcessPoolExecutor``, a cluster's
    client)."""
    in_flight: deque = deque()
    for chunk in chunks:
        in_flight.append((chunk, executor.submit(work, chunk.to_extract())))
        while len(in_flight) > ahead:
            chunk, future = in_flight.popleft()
            chunk.merge(future.result())
            yield chunk
    for chunk, future in in_flight:
        chunk.merge(future.result())
        yield chunk


def ingest_chunk(corpus: Corpus, chunk: Chunk, summary: ReprocessSummary) -> None:
    """Ingest a chunk's captures in order, inside the batch's transaction."""
    for cap, (transcript, error, prepared) in zip(chunk.captures, chunk.results):
        if error:
            summary.extraction_errors += 1
            log.warning("%s: %s", cap.url, error)
            transcript = {"is_transcript": False, "reason": error, "text": ""}
        r = corpus.ingest(cap, transcript, prepared)
        summary.new_documents += r.new_document
        summary.new_versions += r.new_version
        summary.non_transcripts += r.document_id is None


class FtsDeferral:
    """Whether this run has row-by-row full-text indexing off, and when to switch it off
    (module docstring): ``mode`` None decides by itself, True defers from the start, False
    never."""

    def __init__(self, corpus: Corpus, mode: bool | None):
        self.corpus, self.mode, self.active = corpus, mode, False
        self.documents_at_start = corpus.conn.execute(
            "SELECT count(*) FROM documents").fetchone()[0]

    def consider(self, new_documents: int, shared: bool) -> None:
        if self.active or self.mode is False or shared:
            return  # shared: its rebuild would hold the write lock for long
        if self.mode or new_documents >= max(BULK_MIN_DOCUMENTS, self.documents_at_start):
            self.active = self.corpus.defer_fts()
            if self.active:
                log.info("many new documents: full-text index deferred to the end of the run")

    def interrupted(self) -> None:
        if self.active:  # the next Corpus opened on the database rebuilds it
            log.warning("run interrupted with the full-text index deferred; it is rebuilt the "
                        "next time the corpus is opened")

    def finish(self, summary: ReprocessSummary) -> None:
        if self.active:
            log.info("rebuilding the full-text index")
            started = time.monotonic()
            summary.fts_rebuilt = self.corpus.resume_fts()
            summary.fts_rebuild_seconds = time.monotonic() - started


#: local extraction processes per core at most: extraction is CPU-bound, so more than one per
#: core only queues; 4x leaves room for cores waiting on a slow disk. ``reprocess --workers
#: 100000`` started ~2,000 processes before this bound (issue 23).
WORKERS_PER_CORE = 4


def max_workers(cores: int | None = None) -> int:
    """The most local extraction processes a run may start: ``WORKERS_PER_CORE`` per core."""
    import os

    return WORKERS_PER_CORE * (cores or os.cpu_count() or 1)


def die_with_parent() -> None:
    """A pool worker's initializer: the kernel kills it when the process that started it dies.

    ``ProcessPoolExecutor``'s workers wait on a pipe whose write end every forked worker holds
    too, so after a ``kill -9`` of their parent no end-of-file ever comes and they wait for
    ever (issue 23: 2,000 of them). Linux's ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (prctl(2))
    ends them with it; a worker whose parent is already gone exits at once. Elsewhere a no-op.
    """
    import ctypes
    import os
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # orphaned before the prctl took effect
        os._exit(1)


def local_pool(workers: int, mp_context=None) -> ProcessPoolExecutor:
    """The local process pool: at most :func:`max_workers` processes, each ending with its parent."""
    return ProcessPoolExecutor(max_workers=min(workers, max_workers()), mp_context=mp_context,
                               initializer=die_with_parent)


def reprocess(corpus: Corpus, captures: Iterable, *, workers: int = 0, chunk_size: int = 16,
              extractor: Callable[[list], list] = extract_chunk,
              progress: Callable[[int], None] | None = None, commit_every: int = 1000,
              commit_seconds: float = 10.0, defer_fts: bool | None = None,
              mp_context=None, executor=None, reading=None) -> ReprocessSummary:
    """Ingest ``captures`` (an iterable of ``Capture``) into ``corpus``; see module docstring.

    ``defer_fts``: None decides by itself (module docstring); True defers from the start;
    False never. Where extraction runs: ``executor`` (``extracted_in_order``), ``workers``
    chunks at a time; without one, a local process pool of ``workers`` processes
    (``mp_context``: its multiprocessing context, default the platform's), or this process
    when ``workers`` <= 1. ``reading``: ``captures`` are references to records that the
    executor's workers read themselves (``corpus.cluster.RemoteReading`` names their record
    ids, makes their chunks and the work sent for them).
    """
    if executor is None and workers > max_workers():
        log.warning("reprocess: %d workers asked for, %d started (%d per core)", workers, max_workers(),
                       WORKERS_PER_CORE)
        workers = max_workers()
    summary = ReprocessSummary()
    progress = progress or (lambda n: None)
    fts = FtsDeferral(corpus, defer_fts)
    fts.consider(0, corpus.others_writing())  # defer_fts=True: from the first document
    if executor is None and workers > 1:
        pool = local_pool(workers, mp_context)
    else:  # a caller's executor stays open
        pool = nullcontext(executor or InProcess())
    work, ahead = partial(extract_and_prepare, extractor), 2 * workers if workers > 1 else 0
    split, key = Chunk.split, record_id
    if reading is not None:
        work, split, key = reading.work, reading.chunk, reading.record_id
    try:
        with checkpoint_every(corpus.conn, BULK_CHECKPOINT_PAGES, corpus.others_writing), \
                CommitBatcher(corpus, commit_every, commit_seconds) as batcher, pool as executor:
            chunks = (split(todo, summary) for todo in
                      pending_chunks(corpus, captures, chunk_size, summary, progress, key))
            for chunk in extracted_in_order(executor, work, chunks, ahead):
                ingest_chunk(corpus, chunk, summary)
                if batcher.ingested(len(chunk.captures)):
                    fts.consider(summary.new_documents, batcher.shared)
                progress(len(chunk.captures))
    except BaseException:
        fts.interrupted()
        raise
    fts.finish(summary)
    return summary


def count_reader_stats(stats, summary: ReprocessSummary) -> None:
    """Copy the reader's counters (``archive.reader.ReadStats``) into the summary."""
    summary.reader_stats = stats.to_dict()
    summary.skipped_corrupt = stats.skipped_total
