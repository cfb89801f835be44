#!/usr/bin/env python3
"""Crash torture: `stenogram crawl` of the sample site killed with SIGKILL again and again.

Why: resuming after ``kill -9`` is a promise of the README, and the schedules of kills a test
author picks by hand are the ones the code was written for. This harness draws the kill moments
from a seeded RNG over the whole length of a run (start-up, listing walks, commits, shutdown),
then runs the crawl once more without a kill and compares the result with an uninterrupted crawl
of the same site:

* documents: each document as the set of its versions' normalised-text hashes and the set of
  URLs it was captured at; the two corpora must hold the same multiset of documents;
* canonical: each document's canonical URL and canonical version (its text hash), which the
  corpus chooses by a rule over the captures, never by fetch or ingest order (``corpus.store``);
* versions: the set of (normalised-text hash, document) pairs, and their number;
* captures: the set of (URL, is-transcript, reason, version hash) facts; a refetch after a kill
  adds a capture row but no new fact, a page lost for good removes one;
* archive: every URL with a response or revisit record in the uninterrupted crawl has one in the
  tortured crawl; every revisit's ``WARC-Refers-To`` names a record that exists; no ``.open``
  file is left; every WARC passes ``warcio check``.

Run it from the checkout (``.venv/bin/python tools/torture.py --seed 1 --size 1500 --kills 20``);
it prints one summary line per seed and exits 1 when any difference is found. The sample site is
served from this process on 127.0.0.1; nothing else is contacted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VENV_BIN = Path(sys.executable).parent


def warcio_command() -> list[str]:
    """The project's own ``warcio`` (beside this interpreter), else .venv-tools' one."""
    for candidate in (VENV_BIN / "warcio", ROOT / ".venv-tools" / "bin" / "warcio"):
        if candidate.exists():
            return [str(candidate)]
    return [sys.executable, "-m", "warcio.cli"]


def crawl_command(site, out: Path, settings: dict | None = None) -> list[str]:
    args = [str(VENV_BIN / "stenogram"), "crawl", "--loopback", "--out", str(out)]
    for source, url in site.base_urls.items():
        args += ["--base-url", f"{source}={url}"]
    for name, value in (settings or {}).items():
        args += ["-s", f"{name}={value}"]
    return args


def run_to_end(cmd: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - start


# -- what a finished crawl holds -------------------------------------------------------------

@dataclass
class Snapshot:
    documents: Counter
    versions: set
    n_versions: int
    captures: set
    archived: set
    n_documents: int
    warc_problems: list = field(default_factory=list)
    canonical: set = field(default_factory=set)


class CorpusFacts(NamedTuple):
    """What ``differences`` compares in a corpus (see the module docstring)."""

    documents: Counter
    versions: set
    n_versions: int
    captures: set
    n_documents: int
    canonical: set


def corpus_facts(db: Path) -> CorpusFacts:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return facts_of(con)
    finally:
        con.close()


def facts_of(con: sqlite3.Connection) -> CorpusFacts:
    """The facts of the corpus open on ``con`` (a file, or a test's ``:memory:`` corpus)."""
    vhash = dict(con.execute("select id, text_hash from versions"))
    doc_hashes: dict[int, set] = {}
    for vid, doc in con.execute("select id, document_id from versions"):
        doc_hashes.setdefault(doc, set()).add(vhash[vid])
    doc_urls: dict[int, set] = {}
    captures = set()
    for url, doc, vid, is_t, reason in con.execute(
            "select url, document_id, version_id, is_transcript, reason from captures"):
        captures.add((url, int(is_t or 0), reason, vhash.get(vid)))
        if doc is not None:
            doc_urls.setdefault(doc, set()).add(url)
    rows = con.execute("select id, canonical_url, canonical_version_id from documents").fetchall()
    key = {d: (frozenset(doc_hashes.get(d, ())), frozenset(doc_urls.get(d, ()))) for d, *_ in rows}
    documents = Counter(key.values())
    versions = {(h, key[d]) for d, hs in doc_hashes.items() if d in key for h in hs}
    n_versions = con.execute("select count(*) from versions").fetchone()[0]
    canonical = {(key[d], url, vhash.get(vid)) for d, url, vid in rows}
    return CorpusFacts(documents, versions, n_versions, captures, len(rows), canonical)


def warc_facts(warc_dir: Path, check: bool) -> tuple[set, list]:
    """URLs with a response/revisit record, and the problems found in the WARC files."""
    from warcio.archiveiterator import ArchiveIterator

    problems, archived, ids, refers = [], set(), set(), []
    problems += [f"left open: {p.name}" for p in warc_dir.glob("*.open")]
    for path in sorted(warc_dir.glob("*.warc.gz")):
        if check:
            proc = subprocess.run([*warcio_command(), "check", str(path)], capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                problems.append(f"warcio check {path.name}: {(proc.stdout + proc.stderr).strip()[-300:]}")
        try:
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh):
                    ids.add(record.rec_headers.get_header("WARC-Record-ID"))
                    if record.rec_type in ("response", "revisit"):
                        archived.add(record.rec_headers.get_header("WARC-Target-URI"))
                    if record.rec_type == "revisit" and record.rec_headers.get_header("WARC-Refers-To"):
                        refers.append((path.name, record.rec_headers.get_header("WARC-Refers-To")))
        except Exception as exc:  # a broken file is a finding, not a crash of the harness
            problems.append(f"unreadable {path.name}: {exc}")
    dangling = [r for r in refers if r[1] not in ids]
    if dangling:
        problems.append(f"{len(dangling)} revisits refer to missing records, e.g. {dangling[0]}")
    return archived, problems


def snapshot(out: Path, check: bool = True) -> Snapshot:
    facts = corpus_facts(out / "corpus.db")
    archived, problems = warc_facts(out / "warc", check)
    return Snapshot(facts.documents, facts.versions, facts.n_versions, facts.captures, archived,
                    facts.n_documents, problems, facts.canonical)


def differences(reference: Snapshot, got: Snapshot) -> list[str]:
    out = []

    def some(items, n=3):
        return sorted(map(str, items))[:n]

    if got.documents != reference.documents:
        missing = reference.documents - got.documents
        extra = got.documents - reference.documents
        out.append(f"documents: {got.n_documents} vs {reference.n_documents} uninterrupted; "
                   f"{sum(missing.values())} missing, {sum(extra.values())} different/extra; "
                   f"missing e.g. {some(sorted(u for _h, urls in missing for u in urls), 3)}")
    if got.versions != reference.versions or got.n_versions != reference.n_versions:
        out.append(f"versions: {got.n_versions} vs {reference.n_versions}; "
                   f"{len(reference.versions - got.versions)} missing, {len(got.versions - reference.versions)} extra")
    if got.canonical != reference.canonical:
        missing = reference.canonical - got.canonical
        chosen = {k: (u, h) for k, u, h in got.canonical}
        examples = [f"{url} -> {chosen.get(k, ('(no such document)',))[0]}" for k, url, _h in missing]
        out.append(f"canonical: {len(missing)} documents with another canonical URL or version, "
                   f"e.g. {some(examples)}")
    if got.captures != reference.captures:
        missing = reference.captures - got.captures
        extra = got.captures - reference.captures
        out.append(f"captures: {len(missing)} facts missing e.g. {some(missing)}, "
                   f"{len(extra)} extra e.g. {some(extra)}")
    lost = reference.archived - got.archived
    if lost:
        out.append(f"archive: {len(lost)} URLs archived uninterrupted but not here, e.g. {some(lost)}")
    out += [f"warc: {p}" for p in got.warc_problems]
    return out


# -- the torture ---------------------------------------------------------------------------

@dataclass
class Result:
    seed: int
    size: int
    kills: int
    completed_runs: int
    runs: int
    reference_seconds: float
    differences: list
    documents: int
    reference_documents: int

    def line(self) -> str:
        verdict = "0 differences" if not self.differences else f"{len(self.differences)} DIFFERENCES"
        return (f"seed {self.seed} size {self.size}: {self.kills} kills, {self.runs} runs "
                f"({self.completed_runs} ran to the end before their kill), documents "
                f"{self.documents}/{self.reference_documents}, uninterrupted run {self.reference_seconds:.1f} s: "
                f"{verdict}")


def torture(seed: int, size: int, kills: int, work: Path, site_seed: int = 1, check_warcs: bool = True,
            settings: dict | None = None, log=print, reference: tuple | None = None) -> Result:
    """Kill a crawl ``kills`` times at seeded random moments, finish it, compare with ``reference``.

    ``reference`` is (site, Snapshot, seconds) of an uninterrupted crawl of the same site; one is
    made when it is None. The site must be the same one (same ports), so URLs compare as they are.
    """
    from stenogram.sample_site.server import SampleSite

    rng = random.Random(seed)
    own_site = reference is None
    site = SampleSite(port=0, size=size, seed=site_seed) if own_site else reference[0]
    if own_site:
        site.start()
    try:
        if own_site:
            ref_out = work / "uninterrupted"
            proc, seconds = run_to_end(crawl_command(site, ref_out, settings), timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"the uninterrupted crawl failed ({proc.returncode}): {proc.stdout[-2000:]}")
            reference = (site, snapshot(ref_out, check_warcs), seconds)
            log(f"uninterrupted crawl: {reference[1].n_documents} documents in {seconds:.1f} s")
        _site, ref, full_seconds = reference
        out = work / f"killed-{seed}"
        # The horizon of each draw is the work left: a full run at first, less what a killed run
        # got through (plus a start-up's worth: each run rediscovers), then the length of a
        # run that finished on its own. So kills keep landing inside the first, long crawl (its
        # listings, commits and WARC rotations) and later inside incremental runs (start-up,
        # discovery, shutdown), instead of after the crawl has already ended.
        startup = 0.05 * full_seconds
        horizon, delivered, completed, runs = full_seconds, 0, 0, 0
        while delivered < kills and runs < kills * 4:
            runs += 1
            delay = rng.uniform(0, horizon)
            start = time.monotonic()
            proc = subprocess.Popen(crawl_command(site, out, settings), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                proc.wait(timeout=delay)
                # it finished first: later kills are drawn over the length of such a run
                completed += 1
                horizon = max(0.5, time.monotonic() - start)
                log(f"  run {runs}: finished in {horizon:.1f} s before its kill at {delay:.1f} s "
                    f"(exit {proc.returncode})")
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                delivered += 1
                horizon = max(1.0, horizon - delay) + startup
                log(f"  run {runs}: kill -9 at {delay:.1f} s")
        proc, seconds = run_to_end(crawl_command(site, out, settings), timeout=3600)
        runs += 1
        found = [] if proc.returncode == 0 else [f"the clean run exited {proc.returncode}: {proc.stdout[-500:]}"]
        got = snapshot(out, check_warcs)
        found += differences(ref, got)
        return Result(seed, size, delivered, completed, runs, full_seconds, found, got.n_documents,
                      ref.n_documents)
    finally:
        if own_site:
            site.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, action="append",
                        help="RNG seed of the kill moments (repeat for several seeds; default 1)")
    parser.add_argument("--size", type=int, default=1500, help="sample site size (filler transcripts)")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 per seed (at least this many)")
    parser.add_argument("--site-seed", type=int, default=1, help="the sample site's own generator seed")
    parser.add_argument("--work", type=Path, help="keep the crawls here (default: a temporary folder)")
    parser.add_argument("--no-warcio-check", action="store_true", help="skip `warcio check` (faster)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    seeds = args.seed or [1]
    from stenogram.sample_site.server import SampleSite

    work = args.work or Path(tempfile.mkdtemp(prefix="stenogram-torture-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    with SampleSite(port=0, size=args.size, seed=args.site_seed) as site:
        ref_out = work / "uninterrupted"
        if ref_out.exists():
            shutil.rmtree(ref_out)
        proc, seconds = run_to_end(crawl_command(site, ref_out), timeout=3600)
        if proc.returncode != 0:
            print(f"the uninterrupted crawl failed ({proc.returncode}):\n{proc.stdout[-2000:]}")
            return 1
        ref = snapshot(ref_out, not args.no_warcio_check)
        print(f"uninterrupted crawl of size {args.size}: {ref.n_documents} documents, {ref.n_versions} versions, "
              f"{len(ref.captures)} capture facts in {seconds:.1f} s", flush=True)
        if ref.warc_problems:
            print("the uninterrupted crawl's own WARCs have problems:", *ref.warc_problems, sep="\n  ")
        for seed in seeds:
            killed = work / f"killed-{seed}"
            if killed.exists():
                shutil.rmtree(killed)
            result = torture(seed, args.size, args.kills, work, check_warcs=not args.no_warcio_check,
                             reference=(site, ref, seconds), log=lambda m: print(m, flush=True))
            results.append(result)
            print(result.line(), flush=True)
            for diff in result.differences:
                print("   ", diff)
    total_kills = sum(r.kills for r in results)
    bad = [r for r in results if r.differences]
    print(f"SUMMARY: {len(results)} seeds {seeds}, size {args.size}, {total_kills} kills "
          f"({', '.join(str(r.kills) for r in results)}), "
          f"{sum(len(r.differences) for r in results)} differences"
          + (f" (seeds {[r.seed for r in bad]})" if bad else ""))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2, default=str))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
