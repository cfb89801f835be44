"""Rebuilds on a Dask cluster: extraction and MinHash preparation on ``distributed`` workers.

Why Dask: a rebuild is extraction-bound (milliseconds of CPU per page; the writer's ingest is a
fraction of that), so the work to spread is a pure function of a page. Dask's ``distributed``
already has what a home-made queue would need: workers that join and leave, a task re-run
elsewhere when its worker dies (``distributed.scheduler.allowed-failures``), and plain
``dask scheduler`` / ``dask worker`` commands an operator starts on any machine.

The shape (``stenogram reprocess --cluster tcp://HOST:8786``), on ``corpus.reprocess``'s seam
(an ``executor`` with ``submit``, and a ``reading`` that says what the chunks hold):

- the writer's process (the one with the corpus) plans the captures with
  :func:`stenogram.archive.ranges.plan_captures`: a scan of the WARCs that keeps no payload, in
  the order a local run reads them; ``reprocess`` drops what the corpus already holds by
  WARC-Record-ID, as it does locally;
- each chunk sent to the cluster is a few consecutive records: WARC paths and offsets
  (:class:`~stenogram.archive.ranges.CaptureRef`), never page bodies. Each worker opens the WARC
  files itself, so every machine must see them at the same path (a shared mount);
- a worker (:func:`rebuild_run`) reads its records, extracts and prepares them with the local
  pool's code (``extract_chunk``, ``extract_and_prepare``) and returns the captures without their
  bodies, with their transcripts (less ``NOT_INGESTED``) and ``Prepared`` values;
- the writer takes the results back *in plan order* and ingests them itself, in its usual
  batched transactions: one writer, the corpus a local run makes. A bounded number of chunks is
  in flight (two per worker thread, as with the local pool), so memory does not grow with the
  archive.

A worker killed mid-run loses nothing: the scheduler gives its chunks to another worker, and the
writer still ingests each chunk once, in order. If the writer dies, the next run skips what was
committed (ingest is idempotent by WARC-Record-ID), as for a local rebuild.

Before anything is submitted every worker is asked (``Client.run``) whether it reads the WARC
files at the writer's paths and whether its extractor is the writer's (``settings_hash``): a
worker with another extractor version or other profiles would make a corpus no local run makes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import partial

from stenogram.archive.ranges import CaptureRef, RecordingStats, plan_captures, read_refs
from stenogram.archive.reader import DEFAULT_MAX_DECODED, ReadStats

#: the transcript's field ``Corpus.ingest`` never reads (the text again, as paragraphs): a worker
#: drops it, a third less to pickle, send and unpickle in the writer (bench_rebuild_cluster.py)
NOT_INGESTED = "paragraphs"


class ClusterError(RuntimeError):
    """The cluster cannot do this rebuild (unreachable, no workers, files not visible, ...)."""


@dataclass
class RunResult:
    """What a worker sends back for one chunk of refs (see module docstring).

    ``items``: for each ref, None (skipped while decoding, reported in ``events``) or
    ``(capture without body, (transcript, error, Prepared | None), extracted)``.
    """

    items: list
    captures: int
    revisits_resolved: int
    events: list


def rebuild_run(refs: list[CaptureRef], max_decoded: int = DEFAULT_MAX_DECODED) -> RunResult:
    """A worker's task: read, extract and prepare one chunk of records (top-level: it is sent by
    name, so every worker needs the same stenogram installed)."""
    from stenogram.corpus.reprocess import (extract_and_prepare, extract_chunk,
                                            not_extractable_reason)

    stats = RecordingStats()
    captures = read_refs(refs, stats, max_decoded)
    reasons = [c is not None and not_extractable_reason(c) for c in captures]
    todo = [c for c, r in zip(captures, reasons) if c is not None and not r]
    done = iter(extract_and_prepare(extract_chunk, todo) if todo else ())
    items: list = []
    for cap, reason in zip(captures, reasons):
        if cap is None:
            items.append(None)
        elif reason:
            no_text = {"is_transcript": False, "reason": reason, "text": ""}
            items.append((replace(cap, body=b""), (no_text, None, None), False))
        else:
            transcript, error, prepared = next(done)
            if transcript:
                transcript.pop(NOT_INGESTED, None)
            items.append((replace(cap, body=b""), (transcript, error, prepared), True))
    return RunResult(items, stats.captures, stats.revisits_resolved, stats.events)


class RefChunk:
    """A chunk of refs on its way through ``reprocess``: sent whole (``to_extract``), turned into
    captures and results by the worker's :class:`RunResult` (``merge``), then ingested as a
    local chunk is (``captures``, ``results``)."""

    def __init__(self, refs: list[CaptureRef], summary, stats: ReadStats):
        self.refs, self.summary, self.stats = refs, summary, stats
        self.captures: list = []
        self.results: list = []

    def to_extract(self) -> list[CaptureRef]:
        return self.refs

    def merge(self, result: RunResult) -> None:
        self.stats.captures += result.captures
        self.stats.revisits_resolved += result.revisits_resolved
        for event in result.events:  # logged and counted here, as a local read would
            self.stats.skip(event.reason, event.path, event.offset, event.detail)
        for item in result.items:
            if item is None:  # never a capture: not read, as iter_captures would not yield it
                self.summary.captures_read -= 1
                continue
            capture, res, extracted = item
            self.summary.not_extracted += not extracted
            self.captures.append(capture)
            self.results.append(res)


class RemoteReading:
    """``reprocess``'s ``reading`` for chunks of :class:`CaptureRef` read by the workers."""

    def __init__(self, stats: ReadStats, max_decoded: int = DEFAULT_MAX_DECODED):
        self.stats = stats
        self.work = partial(rebuild_run, max_decoded=max_decoded)

    @staticmethod
    def record_id(ref: CaptureRef) -> str:
        return ref.record_id

    def chunk(self, refs: list[CaptureRef], summary) -> RefChunk:
        return RefChunk(refs, summary, self.stats)


class _Submitted:
    """A Dask future whose failure names the records it was for."""

    def __init__(self, future, refs: list[CaptureRef]):
        self.future, self.refs = future, refs

    def result(self):
        try:
            return self.future.result()
        except Exception as exc:  # KilledWorker after allowed-failures, or a bug in the task
            first, last = self.refs[0], self.refs[-1]
            raise ClusterError(
                f"records {first.path}@{first.offset} to {last.path}@{last.offset} failed on "
                f"the cluster: {type(exc).__name__}: {exc}") from exc
        finally:
            self.future.release()


class ClusterExecutor:
    """``reprocess``'s executor on a ``distributed.Client``: ``submit(fn, refs)``."""

    def __init__(self, client):
        self.client = client

    def submit(self, fn, refs):
        # pure=False: a rerun must not be answered from the cluster's memory of an earlier one
        return _Submitted(self.client.submit(fn, refs, pure=False), refs)

    def threads(self) -> int:
        workers = self.client.scheduler_info()["workers"].values()
        return sum(w["nthreads"] for w in workers) or 1


def _worker_view(paths: list[str]) -> dict:
    """Run on each worker: the ``paths`` it cannot read, and its extractor's settings hash."""
    from stenogram.extract import settings_hash

    missing = [p for p in paths if not os.access(p, os.R_OK)]
    return {"missing": missing[:1], "n_missing": len(missing), "settings_hash": settings_hash()}


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` on the scheduler at ``address`` that has at least one worker.

    ``timeout``: for the connection and for a first worker; default Dask's own
    ``distributed.comm.timeouts.connect`` (30 s; ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``).
    """
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    if timeout is None:
        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        client.close()
        raise ClusterError(f"the Dask scheduler at {address} has no workers (waited "
                           f"{timeout:.0f} s; start them with `dask worker {address}`)") from None
    return client


def check_workers(client, paths: list[str]) -> None:
    """Refuse (:class:`ClusterError`) unless every worker reads every WARC at ``paths`` and
    extracts as this process does."""
    from stenogram.extract import settings_hash

    ours = settings_hash()
    for worker, view in sorted(client.run(_worker_view, paths).items()):
        if view["n_missing"]:
            raise ClusterError(
                f"worker {worker} cannot read {view['n_missing']} of the WARC files (e.g. "
                f"{view['missing'][0]}): every machine must see them at the same path")
        if view["settings_hash"] != ours:
            raise ClusterError(
                f"worker {worker} extracts with other settings ({view['settings_hash']}; here "
                f"{ours}): install the same stenogram on every machine")


def reprocess_on_cluster(corpus, paths, client, *, stats: ReadStats | None = None,
                         max_decoded: int = DEFAULT_MAX_DECODED, **options):
    """``reprocess`` of the WARCs at ``paths`` with extraction on ``client``'s workers.

    ``options`` are ``reprocess``'s (chunk_size, progress, commit_every, defer_fts...).
    ``stats`` receives what a local read's ``ReadStats`` would (records already in the corpus
    are counted as captures without being read again).
    """
    from stenogram.corpus.reprocess import reprocess

    stats = stats if stats is not None else ReadStats()
    paths = [os.path.abspath(p) for p in paths]
    check_workers(client, paths)
    executor = ClusterExecutor(client)
    summary = reprocess(corpus, plan_captures(paths, stats, max_decoded), executor=executor,
                        workers=max(2, executor.threads()),
                        reading=RemoteReading(stats, max_decoded), **options)
    stats.captures += summary.already_ingested
    return summary
