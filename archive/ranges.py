"""WARC captures as (file, offset) references, planned in one process and read in another.

Why: a rebuild on a cluster (``corpus.cluster``) must not ship page bodies from the machine that
writes the corpus to the machines that extract; each worker reads the records itself from a path
every machine sees. The writer still needs to know, before any worker starts, *which* records
become captures and in what order (the corpus must come out as a local run's), which ones the
corpus already holds (skipped before extraction), and where each revisit's original is (often in
another file). So the work is split in two:

- :func:`plan_captures` (the writer's process) scans every record, exactly as
  :func:`stenogram.archive.reader.iter_captures` does (same damage handling, digest checks, revisit
  resolution, deferred revisits, warcinfo attribution) but keeps no payload: it yields a
  :class:`CaptureRef` per would-be capture, in ``iter_captures``' order.
- :func:`read_refs` (a worker) reads the records a run of refs names, decodes them and builds the
  same :class:`~archive.capture.Capture` objects ``iter_captures`` would have yielded, with the
  reader's own functions. Records the reader would skip while decoding (``too-large``,
  ``bad-content-encoding``, ``not-http``, an unreadable revisit original) are skipped the same way
  and reported back as :class:`SkipEvent` so the writer's :class:`~archive.reader.ReadStats` end
  up as a local run's.

Scanning (inflate and digests, no decoding) is cheap against the extraction the workers do;
``bench/bench_rebuild_cluster.py`` measures what the writer's share caps a cluster at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from stenogram.archive.capture import Capture
from stenogram.archive.reader import (DEFAULT_MAX_DECODED, ReadStats, _CrawlOfRecords, _Original,
                                      _Provenance, _response_capture, _revisit_capture,
                                      _walk_captures, read_record_at)


@dataclass(frozen=True)
class CaptureRef:
    """Where one capture's record is, and what the planning scan learnt about it.

    ``original``: for a revisit, the (path, offset) of the response whose body it stands for.
    ``source``/``crawl_id``: from the warcinfo record the record names (``_CrawlOfRecords``).
    ``provenance``: a backfill's facts about the page (``_Provenance``: original URL, archive
    time, archive), from the metadata record that follows it.
    """

    path: str
    offset: int
    record_id: str
    original: tuple[str, int] | None = None
    source: str | None = None
    crawl_id: str | None = None
    provenance: dict | None = None


@dataclass(frozen=True)
class SkipEvent:
    """A record a worker skipped while decoding it: replayed into the writer's ``ReadStats``."""

    reason: str
    path: str
    offset: int | None
    detail: str


@dataclass
class RecordingStats(ReadStats):
    """ReadStats that also keep each skip, to be sent back to the writer (see :class:`SkipEvent`)."""

    events: list = field(default_factory=list)

    def skip(self, reason: str, path, offset, detail: object = "") -> None:
        super().skip(reason, path, offset, detail)
        self.events.append(SkipEvent(reason, str(path), offset, str(detail)))


def plan_captures(paths: Iterable[str | Path] | str | Path, stats: ReadStats | None = None,
                  max_decoded: int = DEFAULT_MAX_DECODED) -> Iterator[CaptureRef]:
    """A :class:`CaptureRef` for each capture ``iter_captures(paths)`` would yield, in its order.

    Paths are made absolute (workers on other machines open them as given). ``stats`` counts
    files, records and the skips the scan itself finds (``not-a-warc``, ``truncated``,
    ``corrupt``, ``digest-mismatch``, ``too-large`` as stored, ``revisit-unresolved``); the
    captures and the skips found while decoding are the workers' to count (:func:`read_refs`).
    Like ``iter_captures``, each ref is held until the next response or revisit (or the end of
    its file), so that the metadata record of a backfill's page reaches it.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    stats = stats if stats is not None else ReadStats()
    crawls, provenance = _CrawlOfRecords(), _Provenance()

    def build(rec, original: _Original | None):
        rec.payload = b""  # the workers decode it; the plan keeps only where it is
        return rec, original

    def ref(item) -> CaptureRef:
        rec, original = item
        source, crawl = crawls.by_warcinfo.get(rec.rec_headers.get_header("WARC-Warcinfo-ID") or "",
                                               (None, None))
        return CaptureRef(str(rec.path), rec.offset, rec.record_id or "",
                          (str(original.path), original.offset) if original else None,
                          source, crawl, provenance.by_record.pop(rec.record_id or "", None))

    yield from _walk_captures(paths, stats, max_decoded, crawls, provenance, build, ref, absolute=True)


class _SpiderOfRef:
    """``_Provenance.apply``'s view of who wrote a record, from the ref (no warcinfo here)."""

    def __init__(self, ref: CaptureRef):
        self.ref = ref

    def spider_of(self, rec) -> str | None:
        return self.ref.source


def read_refs(refs: list[CaptureRef], stats: ReadStats,
              max_decoded: int = DEFAULT_MAX_DECODED) -> list[Capture | None]:
    """The capture each ref stands for, or None where the reader skips it (counted in ``stats``).

    The same functions as ``iter_captures`` build each capture, so it is the same object a local
    run ingests. A record that can no longer be read at all (the file changed or vanished after
    planning) is skipped as ``unreadable``.
    """
    out: list[Capture | None] = []
    for ref in refs:
        try:
            # digests unchecked: the plan holds only records whose digests the scan verified
            rec = read_record_at(ref.path, ref.offset, max_decoded, check_digests=False)
        except (ValueError, OSError) as exc:
            stats.skip("unreadable", ref.path, ref.offset, f"{type(exc).__name__}: {exc}")
            out.append(None)
            continue
        if ref.original is None:
            capture = _response_capture(rec, stats, max_decoded)
        else:
            capture = _revisit_capture(rec, _Original(Path(ref.original[0]), ref.original[1]),
                                       stats, max_decoded)
        if capture is not None:
            provenance = _Provenance()
            if ref.provenance:
                provenance.by_record[ref.record_id] = dict(ref.provenance)
            if provenance.apply(capture, rec, _SpiderOfRef(ref)):
                stats.captures += 1
                capture.source = capture.source or ref.source
                capture.crawl_id = capture.crawl_id or ref.crawl_id
            else:
                stats.skip("no-provenance", rec.path, rec.offset,
                           "a backfill's capture without its metadata record")
                capture = None
        out.append(capture)
    return out
