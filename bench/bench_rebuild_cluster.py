"""Rebuild throughput: one local process vs a Dask cluster of 2 worker processes on this machine.

What is measured: ``stenogram reprocess`` over the same WARCs, the real extractor and the real
writer, twice: ``-j 1`` (one process reads, extracts, prepares and ingests: the baseline) and
``--cluster`` on a ``dask scheduler`` with two single-threaded ``dask worker`` processes started
here on 127.0.0.1 with the README's settings (tests/dask_support.py, ``DASK_CONFIG=tools/dask``).
Figures: captures rebuilt per second (wall time of the command, the cluster's start-up excluded
and printed apart), the speed-up, CPU ms per capture of the writer, each worker and the
scheduler, peak RSS of each process (sampled from /proc), the load average during each run, and
the two corpora compared (same documents, versions and captures). The machine is shared: judge by
CPU, ``2 * local / cluster total`` is what two idle cores would give. Each process's start-up
(imports: the workers import the extractor in their first task) is in its CPU, so small runs
understate the cluster; the cost per added capture is the difference of two sizes' totals.

The archive: the demo's WARCs (every source of the sample site, a silent edit, a recrawl with
revisits) replicated until it holds at least ``--captures`` captures. A replica is a byte-level
copy of every record with new WARC-Record-IDs (and the ids that point at them) and its own host
in every URL, so each replica's captures are new captures of new URLs; the bodies are the same,
so extraction costs what it costs on the sample pages and ingest takes the exact-duplicate path
(the cheapest; ``bench_corpus.py`` measures ingest of distinct documents). Block and payload
digests stay valid (only WARC headers change). Generated once under ``--workdir`` (default
``/tmp/stenogram-bench-rebuild``), reused by later runs.

The ceiling: two independent ``reprocess -j 1`` at once, each over the whole archive into a
corpus of its own (no Dask, nothing shared; ``--no-pair`` skips it). It is the most any two
processes get from this machine on this work (two cores of a VM can give less than twice one
core: shared caches, memory bandwidth, the host), so the cluster is also given as a share of it.

The projection per added machine is arithmetic on these figures, stated as such: each worker
process adds ``1 / (worker CPU s per capture)`` captures/s, until the single writer's ceiling
``1 / (writer CPU s per capture)``.

    python bench/bench_rebuild_cluster.py                    # >= 100,000 captures (~15 min idle)
    python bench/bench_rebuild_cluster.py --captures 10000   # a quicker run
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from dask_support import LocalDaskCluster  # noqa: E402

BIN = Path(sys.executable).parent
REPLICAS_PER_FILE = 40
_ID_HEADERS = (b"WARC-Record-ID", b"WARC-Warcinfo-ID", b"WARC-Refers-To", b"WARC-Concurrent-To")
_URL_HEADERS = (b"WARC-Target-URI", b"WARC-Refers-To-Target-URI")
_HOST = re.compile(rb"^(https?://)127\.0\.0\.1:(\d+)")


# --------------------------------------------------------------------------- the archive


def base_archive(workdir: Path) -> Path:
    """The demo's WARC folder (crawled once, kept)."""
    data = workdir / "base"
    warcs = data / "warc"
    if not list(warcs.glob("*.warc.gz")):
        shutil.rmtree(data, ignore_errors=True)
        print("crawling the sample site (stenogram demo) for the base WARCs...", flush=True)
        proc = subprocess.run([str(BIN / "stenogram"), "demo", "--data", str(data)],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode:
            sys.exit(f"stenogram demo failed:\n{proc.stderr[-3000:]}")
    return warcs


def _members(path: Path) -> list[tuple[bytes, bytes]]:
    """Each gzip member of a .warc.gz as (WARC header block, the rest of the record)."""
    data, out = path.read_bytes(), []
    while data:
        d = zlib.decompressobj(31)
        record = d.decompress(data)
        data = d.unused_data
        head, sep, rest = record.partition(b"\r\n\r\n")
        out.append((head + sep, rest))
    return out


def _rewrite(head: bytes, replica: int) -> bytes:
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines):
        name, sep, value = line.partition(b": ")
        if not sep:
            continue
        if name in _ID_HEADERS:
            new = uuid.uuid5(uuid.NAMESPACE_URL, f"{replica}:{value.decode()}")
            lines[i] = name + b": <urn:uuid:" + str(new).encode() + b">"
        elif name in _URL_HEADERS:
            lines[i] = name + b": " + _HOST.sub(
                lambda m: m.group(1) + b"r%d-%s.replica.invalid" % (replica, m.group(2)), value)
    return b"\r\n".join(lines)


def count_captures(paths: Path | list[Path]) -> int:
    from stenogram.archive.reader import iter_captures

    return sum(1 for _ in iter_captures(paths if isinstance(paths, list) else [paths]))


def replicated_archive(workdir: Path, captures: int) -> tuple[Path, int]:
    """A folder of WARCs holding >= ``captures`` captures (see module docstring); its count."""
    base = base_archive(workdir)
    per_copy = count_captures(base)
    replicas = math.ceil(captures / per_copy)
    folder = workdir / f"replicated-{replicas}"
    done = folder / "complete"
    if done.exists():
        return folder, int(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"writing {replicas} replicas of {per_copy} captures into {folder}...", flush=True)
    members = [m for f in sorted(base.glob("*.warc.gz")) for m in _members(f)]
    for first in range(0, replicas, REPLICAS_PER_FILE):
        with open(folder / f"replica-{first // REPLICAS_PER_FILE:05d}.warc.gz", "wb") as out:
            for replica in range(first, min(first + REPLICAS_PER_FILE, replicas)):
                for head, rest in members:
                    c = zlib.compressobj(6, zlib.DEFLATED, 31)
                    out.write(c.compress(_rewrite(head, replica) + rest) + c.flush())
    total = count_captures(folder)
    done.write_text(str(total))
    return folder, total


# --------------------------------------------------------------------------- measuring


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """Peak RSS of each of a set of processes (pids added as they start), from /proc, and the
    machine's 1-minute load average over the same time (``load()``: mean and max)."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.pids, self.peak, self.loads = interval, set(), {}, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(self.interval):
            self.loads.append(os.getloadavg()[0])
            for pid in list(self.pids):
                try:
                    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)

    def load(self) -> str:
        if not self.loads:
            return "load average n/a"
        return (f"load average {sum(self.loads) / len(self.loads):.1f} (max "
                f"{max(self.loads):.1f}) on 2 cores")


def run_reprocess(db: Path, folder: Path | list[Path], extra: list[str], sampler: PeakRss) -> dict:
    """One ``stenogram reprocess``: wall seconds, its CPU seconds, its summary line."""
    started = time.perf_counter()
    paths = [str(p) for p in (folder if isinstance(folder, list) else [folder])]
    proc = subprocess.Popen([str(BIN / "stenogram"), "reprocess", "--db", str(db), "--no-progress",
                             *extra, *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler.pids.add(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"reprocess {' '.join(extra)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    # CPU of the finished child: its own rusage via wait4 is gone after communicate(), so the
    # children total is read around it (only this child ran in between)
    return {"wall": wall, "pid": proc.pid, "summary": out.decode().splitlines()[0]}


def run_pair(workdir: Path, folder: Path, extra: list[str]) -> dict:
    """Two independent ``reprocess -j 1`` at once, each over all of ``folder`` into a corpus of its
    own: each does exactly the baseline's work (a smaller archive would not do: ingest costs more
    per capture as a document's captures grow), so neither waits for the other at the end. Wall
    seconds until both ended, their CPU seconds, and the captures both rebuilt together."""
    files = sorted(folder.glob("*.warc.gz"))
    results = [None, None]
    cpu0 = children_cpu()
    started = time.perf_counter()
    with PeakRss() as rss:
        def one(i):
            db = workdir / f"pair-{i}.db"
            for p in workdir.glob(f"pair-{i}.db*"):
                p.unlink()
            results[i] = run_reprocess(db, files, ["-j", "1", *extra], rss)

        threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - started
    if None in results:
        sys.exit("a reprocess of the pair failed")
    return {"wall": wall, "cpu": children_cpu() - cpu0, "load": rss.load(),
            "captures": 2 * count_captures(files)}


def children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def corpus_digest(db: Path) -> tuple:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = []
        for table in ("documents", "versions", "captures"):
            h = hashlib.sha256()
            for row in con.execute(f"SELECT * FROM {table} ORDER BY id"):
                h.update(repr(row).encode())
            out.append((table, con.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
                        h.hexdigest()[:16]))
        return tuple(out)
    finally:
        con.close()


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--captures", type=int, default=100_000, help="at least this many captures")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/stenogram-bench-rebuild"))
    ap.add_argument("--chunk-size", type=int, default=None,
                    help="reprocess --chunk-size (default: its own, 16 local, 64 cluster)")
    ap.add_argument("--skip-local", action="store_true", help="cluster run only (no baseline)")
    ap.add_argument("--no-pair", action="store_true",
                    help="skip the ceiling run (two independent -j 1 processes at once)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    folder, total = replicated_archive(args.workdir, args.captures)
    size = sum(p.stat().st_size for p in folder.glob("*.warc.gz"))
    print(f"archive: {total:,} captures in {len(list(folder.glob('*.warc.gz')))} WARC files, "
          f"{mib(size)}; load average at start {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    chunk = ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []

    local = None
    if not args.skip_local:
        db = args.workdir / "local.db"
        for p in args.workdir.glob("local.db*"):
            p.unlink()
        with PeakRss() as rss:
            cpu0 = children_cpu()
            local = run_reprocess(db, folder, ["-j", "1", *chunk], rss)
            local["cpu"] = children_cpu() - cpu0
        local["rss"] = rss.peak.get(local["pid"], 0)
        local["rate"] = total / local["wall"]
        print(f"local, 1 process: {local['wall']:.1f} s, {local['rate']:.1f} captures/s, "
              f"CPU {1000 * local['cpu'] / total:.2f} ms/capture, peak RSS {mib(local['rss'])}; "
              f"{rss.load()}\n  {local['summary']}", flush=True)

    pair = None
    if local and not args.no_pair:
        pair = run_pair(args.workdir, folder, chunk)
        pair["rate"] = pair["captures"] / pair["wall"]
        print(f"ceiling, two independent -j 1 processes at once (each over the same "
              f"{pair['captures'] // 2:,} captures into its own corpus, no Dask): {pair['wall']:.1f} s, "
              f"{pair['rate']:.1f} captures/s = {pair['rate'] / local['rate']:.2f}x one process, CPU "
              f"{1000 * pair['cpu'] / pair['captures']:.2f} ms/capture; {pair['load']}", flush=True)

    db = args.workdir / "cluster.db"
    for p in args.workdir.glob("cluster.db*"):
        p.unlink()
    started = time.perf_counter()
    with LocalDaskCluster(args.workdir / "dask", workers=2) as cluster, PeakRss() as rss:
        from stenogram.corpus.cluster import connect

        client = connect(cluster.address)
        client.wait_for_workers(2, timeout=120)
        client.close()
        startup = time.perf_counter() - started
        servers = [cluster.scheduler.pid, *(w.pid for w in cluster.workers)]
        rss.pids.update(servers)
        cpu_before = {pid: _proc_cpu(pid) for pid in servers}
        cpu0 = children_cpu()
        run = run_reprocess(db, folder, ["--cluster", cluster.address, *chunk], rss)
        run["cpu"] = children_cpu() - cpu0
        cpu = {pid: _proc_cpu(pid) - cpu_before[pid] for pid in servers}
    run["rate"] = total / run["wall"]
    worker_cpu = sum(cpu[w.pid] for w in cluster.workers)
    print(f"cluster, 2 worker processes (started in {startup:.1f} s, not counted): "
          f"{run['wall']:.1f} s, {run['rate']:.1f} captures/s; {rss.load()}\n"
          f"  CPU per capture: writer {1000 * run['cpu'] / total:.2f} ms, workers "
          + " + ".join(f"{1000 * cpu[w.pid] / total:.2f}" for w in cluster.workers)
          + f" = {1000 * worker_cpu / total:.2f} ms, scheduler "
          f"{1000 * cpu[cluster.scheduler.pid] / total:.2f} ms, total "
          f"{1000 * (run['cpu'] + worker_cpu + cpu[cluster.scheduler.pid]) / total:.2f} ms\n"
          f"  peak RSS: writer {mib(rss.peak.get(run['pid'], 0))}, workers "
          + ", ".join(mib(rss.peak.get(w.pid, 0)) for w in cluster.workers)
          + f", scheduler {mib(rss.peak.get(cluster.scheduler.pid, 0))}\n  {run['summary']}",
          flush=True)
    if local:
        same = corpus_digest(args.workdir / "local.db") == corpus_digest(db)
        print(f"speed-up: {run['rate'] / local['rate']:.2f}x one process (target >= 1.8x); "
              f"corpora {'identical' if same else 'DIFFERENT'} (documents, versions, captures)")
        if pair:
            print(f"  against the ceiling: the cluster reaches {run['rate'] / pair['rate']:.2f} of what "
                  f"two independent processes reach on this machine "
                  f"({pair['rate'] / local['rate']:.2f}x one process)")
        cluster_cpu = run["cpu"] + worker_cpu + cpu[cluster.scheduler.pid]
        print(f"  CPU: local {1000 * local['cpu'] / total:.2f} ms/capture, cluster (all its "
              f"processes) {1000 * cluster_cpu / total:.2f}; on 2 idle cores the cluster would "
              f"be {2 * local['cpu'] / cluster_cpu:.2f}x (an estimate from CPU time: the wall "
              f"figures above depend on what else the machine ran)")
    per_worker = total / worker_cpu if worker_cpu else 0.0  # one worker process on a core
    ceiling = total / run["cpu"] if run["cpu"] else 0.0
    print(f"projection (arithmetic, not measured): each worker process adds ~{per_worker:.0f} "
          f"captures/s (1 / its CPU per capture), so a machine with k cores adds ~k x "
          f"{per_worker:.0f}; the single writer caps the cluster near {ceiling:.0f} captures/s "
          f"(1 / its CPU per capture on these pages), i.e. about "
          f"{ceiling / per_worker:.0f} worker processes" if per_worker else "")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0 if not local or same else 1


if __name__ == "__main__":
    sys.exit(main())
