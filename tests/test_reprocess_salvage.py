"""`stenogram reprocess` salvages WARCs left `.open` by a killed crawl, and only those.

A worker killed with SIGKILL (machine gone) leaves ``NAME.warc.gz.open``: the pages it archived
there are not fetched again by another worker (their responses are replayed from Redis), so
unless the corpus writer salvages the file they never reach the corpus. Checked here:

- a real ``stenogram crawl`` against the sample site, killed with SIGKILL once a seeded number
  of records is complete in its ``.open`` file (``STENOGRAM_KILL_SEED`` picks another); the
  ``reprocess`` of its folder holds every 2xx response record that was complete, read back
  with warcio's ``ArchiveIterator``; ``warcio check`` and ``cdxj-indexer`` accept the result;
- a file a live writer holds (its flock, as ``WarcWriter`` holds it) is skipped and said so,
  then read once the writer has closed it;
- a folder copied (as rsync copies it) from a machine whose worker was alive: the copy is
  salvaged, later copies of the same file (longer while still ``.open``, then complete) add the
  missing records and duplicate none, by WARC-Record-ID and at the offsets of the final file;
- a read-only folder: its ``.open`` file is left as it is, not read, reported, exit status 1;
- an ``.open`` file without a complete record, its ``.cdxj.open``, a ``.open`` file named on
  the command line; the one rule that names WARCs (recursive, ``expand_warc_paths``).
"""
from __future__ import annotations

import fcntl
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
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from conftest import crawl_args
from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
from stenogram.archive.reader import expand_warc_paths, read_record_at
from stenogram.archive.salvage import complete_prefix_length, salvage_paths
from stenogram.archive.warc_writer import WarcWriter
from stenogram.cli import cli

VENV_BIN = Path(sys.executable).parent
KILL_SEED = int(os.environ.get("STENOGRAM_KILL_SEED", "20261130"))


# --------------------------------------------------------------------------- helpers


def reprocess(db: Path, *paths) -> "click.testing.Result":
    return CliRunner().invoke(cli, ["reprocess", "--db", str(db), "-j", "1", "--no-progress",
                                    *map(str, paths)])


def captures(db: Path) -> list[tuple[str, str, int, str]]:
    """(warc_record_id, warc_file, warc_offset, url) of every capture."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT warc_record_id, warc_file, warc_offset, url FROM captures "
                           "ORDER BY id").fetchall()
    finally:
        con.close()


def responses(warc: Path, types=("response",)) -> list[tuple[str, int, int]]:
    """(WARC-Record-ID, offset, HTTP status) of every response record (or of ``types``), read
    by warcio."""
    out = []
    with open(warc, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            if rec.rec_type in types:
                out.append((rec.rec_headers.get_header("WARC-Record-ID"), it.get_record_offset(),
                            int(rec.http_headers.get_statuscode())))
    return out


def page(writer: WarcWriter, n: int) -> None:
    url = f"http://127.0.0.1:8000/en/press/{n}/"
    body = (f"<html><head><title>Remarks {n}</title></head><body><article><h1>Remarks {n}"
            f"</h1><p>{'Question and answer number %d. ' % n * 40}</p></article></body></html>")
    writer.write_exchange(ArchivedRequest(url, headers=[(b"User-Agent", b"t")]),
                          ArchivedResponse(url, 200, headers=[(b"Content-Type", b"text/html")],
                                           body=body.encode(), ip_address="127.0.0.1"))


def open_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.open"))


def copy_folder(src: Path, dst: Path) -> None:
    """What ``rsync -a src/ dst/`` does to the files: each copied whole under its name
    (rsync writes a temporary file and renames it), nothing deleted."""
    dst.mkdir(exist_ok=True)
    for f in src.iterdir():
        shutil.copy2(f, dst / f.name)


# --------------------------------------------------------------------------- a killed crawl


def records_written(folder: Path) -> int:
    """Complete records in the crawl's WARCs, open or closed (one writer per spider)."""
    total = 0
    for f in folder.glob("*.warc.gz*") if folder.exists() else ():
        try:
            total += complete_prefix_length(f)[1] if ".cdxj" not in f.name else 0
        except FileNotFoundError:  # renamed as it closed: counted as .warc.gz next time
            pass
    return total


def slow_site():
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    faults = Faults().add("slow", r"\.html?$|/content/id/|/\d{6,}/$", delay=0.15, times=None)
    return SampleSite(port=0, size=12, seed=7, faults=faults)


@pytest.mark.network
def test_a_crawl_killed_mid_write_reaches_the_corpus(tmp_path):
    out = tmp_path / "worker"
    # complete records before the kill, of the 152 the whole crawl writes: past its listings
    threshold = random.Random(KILL_SEED).randint(50, 120)
    with slow_site() as site:
        proc = subprocess.Popen([str(VENV_BIN / "stenogram"), *crawl_args(site, out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (f"the crawl ended before {threshold} records "
                                             f"(seed {KILL_SEED}): {proc.stderr.read()[-2000:]}")
                assert time.monotonic() < deadline, "no records written in 60 s"
                if records_written(out / "warc") >= threshold:
                    break
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
    # one writer per spider: some files may be closed already, the others are left open
    left = {f: complete_prefix_length(f) for f in sorted((out / "warc").glob("*.warc.gz.open"))}
    kept_records = sum(records for _, records in left.values())
    assert left and kept_records >= threshold

    db = tmp_path / "corpus.db"  # the corpus writer's, not the crawl's own
    result = reprocess(db, out / "warc")
    assert result.exit_code == 0, result.output
    assert f"salvaged {len(left)} WARC(s) left open ({kept_records} records, " in result.output
    assert not open_files(out / "warc")
    in_corpus = {rid: (f, off) for rid, f, off, _ in captures(db)}
    salvaged_responses = 0
    for f, (kept_bytes, _) in left.items():
        salvaged = f.with_name(f.name.removesuffix(".open"))
        assert salvaged.stat().st_size == kept_bytes
        records = responses(salvaged)  # warcio's reading of the salvaged file
        salvaged_responses += len(records)
        for rid, offset, status in records:
            if 200 <= status < 300:
                assert in_corpus.get(rid) == (salvaged.name, offset), rid
    assert salvaged_responses >= 2
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] >= 1  # transcripts too
    con.close()
    every = [r for warc in expand_warc_paths([out / "warc"])
             for r in responses(warc, ("response", "revisit"))]
    assert len(in_corpus) == len(every)  # and nothing else: one per response or revisit

    # the archivists' tools accept them, and their indexes are cdxj-indexer's
    for f in left:
        salvaged = f.with_name(f.name.removesuffix(".open"))
        check = subprocess.run([str(VENV_BIN / "warcio"), "check", "-v", str(salvaged)],
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout and "digest fail" not in check.stdout
        indexer = subprocess.run([str(VENV_BIN / "cdxj-indexer"), "--sort", str(salvaged)],
                                 capture_output=True, text=True, timeout=120)
        assert indexer.returncode == 0, indexer.stderr
        index = salvaged.with_name(salvaged.name.removesuffix(".warc.gz") + ".cdxj")
        assert index.read_text() == indexer.stdout

    again = reprocess(db, out / "warc")  # nothing left to salvage, nothing new
    assert again.exit_code == 0 and "salvaged" not in again.output
    assert len(captures(db)) == len(every)


# --------------------------------------------------------------------------- a live writer


def test_a_file_a_live_writer_holds_is_skipped_then_read(tmp_path):
    folder = tmp_path / "warc"
    done = WarcWriter(folder, "done", hostname="box", salvage=False)
    page(done, 1)
    done.close()
    live = WarcWriter(folder, "live", hostname="box", salvage=False)
    for n in (2, 3):
        page(live, n)
    [held] = folder.glob("*.warc.gz.open")
    before = held.read_bytes()
    # and another file held by a plain flock from this test, as the writer holds its own
    other = folder / held.name.replace("live-", "other-")
    shutil.copy(held, other)
    with open(other, "rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        db = tmp_path / "corpus.db"
        result = reprocess(db, folder)
    assert result.exit_code == 0, result.output
    assert "2 still being written, skipped" in result.output and "salvaged" not in result.output
    assert held.read_bytes() == before and other.exists()
    assert [url for *_, url in captures(db)] == ["http://127.0.0.1:8000/en/press/1/"]

    live.close()  # the worker closes its file, and the flock on the other one is gone
    result = reprocess(db, folder)
    assert result.exit_code == 0, result.output
    # the other file (a copy of the live one's first bytes under another name) is salvaged as
    # a WARC of its own; its records are the live file's, by id, so nothing is added twice
    assert "salvaged 1 WARC(s) left open" in result.output
    ids = [rid for rid, *_ in captures(db)]
    assert len(ids) == 3 == len(set(ids))


# --------------------------------------------------------------------------- rsync


def test_a_copied_folder_salvaged_then_completed_adds_and_duplicates_nothing(tmp_path):
    """The worker's machine (A) is alive; the writer's (B) reprocesses rsync copies of A's folder."""
    a, b, db = tmp_path / "A", tmp_path / "B", tmp_path / "corpus.db"
    worker = WarcWriter(a, "w1", hostname="machine-a", salvage=False)
    for n in range(3):
        page(worker, n)
    copy_folder(a, b)  # copies of NAME.warc.gz.open and NAME.cdxj.open, not locked on B
    first = reprocess(db, b)
    assert first.exit_code == 0, first.output
    assert "salvaged 1 WARC(s) left open" in first.output
    assert len(captures(db)) == 3 and not open_files(b)

    for n in range(3, 5):
        page(worker, n)
    copy_folder(a, b)  # a longer copy beside the closed file B's salvage made
    second = reprocess(db, b)
    assert second.exit_code == 0, second.output
    assert "replacing a shorter copy salvaged before" in second.output
    assert len(captures(db)) == 5 and not open_files(b)

    page(worker, 5)
    copy_folder(a, b)  # copied while still open ...
    worker.close()
    copy_folder(a, b)  # ... and again once closed: B has the complete file and an older copy
    third = reprocess(db, b)
    assert third.exit_code == 0, third.output
    assert "1 older copy(ies) of a closed WARC, removed" in third.output
    assert not open_files(b)

    [final] = a.glob("*.warc.gz")
    assert (b / final.name).read_bytes() == final.read_bytes()
    rows = captures(db)
    expected = {(rid, off) for rid, off, _ in responses(final)}
    assert len(expected) == 6
    assert {(rid, off) for rid, _, off, _ in rows} == expected and len(rows) == 6
    for rid, name, offset, url in rows:  # every capture cites a record that is there
        assert name == final.name
        assert read_record_at(b / name, offset).target_uri == url


def test_a_salvage_overwritten_by_the_complete_file_adds_the_rest(tmp_path):
    """The brief's case: B salvaged a copy; later rsync brings the closed file under that name."""
    a, b, db = tmp_path / "A", tmp_path / "B", tmp_path / "corpus.db"
    worker = WarcWriter(a, "w1", hostname="machine-a", salvage=False)
    page(worker, 0)
    page(worker, 1)
    copy_folder(a, b)
    assert reprocess(db, b).exit_code == 0
    first = captures(db)
    for n in range(2, 6):
        page(worker, n)
    worker.close()
    copy_folder(a, b)
    result = reprocess(db, b)
    assert result.exit_code == 0, result.output
    assert "salvaged" not in result.output
    assert "2 already in the corpus" in result.output
    rows = captures(db)
    assert rows[:2] == first and len(rows) == 6 == len({r[0] for r in rows})
    [final] = b.glob("*.warc.gz")
    assert {(rid, off) for rid, _, off, _ in rows} == {(rid, off) for rid, off, _ in responses(final)}


# --------------------------------------------------------------------------- odd leftovers


def test_open_file_without_a_complete_record_and_one_named_on_the_command_line(tmp_path):
    folder, db = tmp_path / "warc", tmp_path / "corpus.db"
    w = WarcWriter(folder, "w", hostname="box", salvage=False)
    page(w, 1)
    [held] = folder.glob("*.warc.gz.open")
    cut = folder / "cut-20261130000000000-00000-1~box.warc.gz.open"
    cut.write_bytes(held.read_bytes()[:200])  # the start of its warcinfo record only
    (folder / "cut-20261130000000000-00000-1~box.cdxj.open").write_text("")
    named_copy = folder / "named.warc.gz.open"
    shutil.copy(held, named_copy)
    w.close()
    for closed in folder.glob("w-*"):
        closed.rename(tmp_path / closed.name)  # leave only the two leftovers in the folder

    named = reprocess(db, named_copy)  # a .open file named as an argument
    assert named.exit_code == 0, named.output
    assert "salvaged 1 WARC(s) left open" in named.output
    assert (folder / "named.warc.gz").exists() and len(captures(db)) == 1

    result = reprocess(db, folder)
    assert result.exit_code == 0, result.output
    assert "1 left open without a complete record, removed" in result.output
    assert not open_files(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["named.cdxj", "named.warc.gz"]

    with pytest.raises(FileNotFoundError):
        salvage_paths([folder / "missing.warc.gz.open"])


def _run_unprivileged(fn) -> dict:
    """``fn()`` in a forked child that cannot write what root created (as ``nobody`` when this
    process is root, who may write anything); its JSON result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            data = json.dumps(fn()).encode()
        except BaseException as exc:  # reported to the parent
            data = json.dumps({"error": repr(exc)}).encode()
        os.write(write, data)
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def test_a_read_only_folder_is_reported_and_left_as_it_is(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="stenogram-ro-"))  # reachable by `nobody`
    try:
        os.chmod(base, 0o755)
        folder, out = base / "warc", base / "out"
        w = WarcWriter(folder, "w", hostname="box", salvage=False)
        page(w, 1)
        w.close()
        w = WarcWriter(folder, "v", hostname="box", salvage=False)
        page(w, 2)
        [held] = folder.glob("*.warc.gz.open")
        leftover = folder / held.name.replace("v-", "x-")
        shutil.copy(held, leftover)  # a leftover nobody holds
        w.close()
        before = leftover.read_bytes()
        out.mkdir()
        os.chmod(out, 0o777)
        if os.geteuid() != 0:
            os.chmod(folder, 0o555)

        def run():
            result = reprocess(out / "corpus.db", folder)
            return {"code": result.exit_code, "output": result.output,
                    "captures": len(captures(out / "corpus.db"))}

        got = _run_unprivileged(run)
        assert "error" not in got, got
        assert got["code"] == 1, got["output"]
        assert "1 in a read-only folder, not read" in got["output"]
        assert "could not be salvaged and were not read" in got["output"]
        assert got["captures"] == 2  # the closed files were read
        assert leftover.read_bytes() == before
    finally:
        os.chmod(base / "warc", 0o755) if (base / "warc").exists() else None
        shutil.rmtree(base)


def test_one_rule_names_warcs_in_folders_at_any_depth(tmp_path):
    for name in ("b.warc.gz", "a.warc", "c.cdxj", "sub/d.warc.gz", "sub/deeper/e.warc",
                 "sub/f.warc.gz.open", "elsewhere/g.warc.gz"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "link").symlink_to(tmp_path / "elsewhere")  # not followed inside
    (tmp_path / "tree" / "h.warc.gz").write_bytes(b"")
    names = [p.relative_to(tmp_path).as_posix() for p in expand_warc_paths([tmp_path / "tree"])]
    assert names == ["tree/h.warc.gz"]
    names = [p.relative_to(tmp_path).as_posix()
             for p in expand_warc_paths([tmp_path / "sub", tmp_path / "a.warc"])]
    assert names == ["sub/d.warc.gz", "sub/deeper/e.warc", "a.warc"]
    opened = expand_warc_paths([tmp_path], suffixes=(".warc.gz.open",))
    assert [p.name for p in opened] == ["f.warc.gz.open"]
    from stenogram.corpus import reprocess as reprocess_module
    assert not hasattr(reprocess_module, "warc_paths")  # one function, not two


def test_salvage_command(tmp_path):
    """`stenogram salvage DIR...`: the same salvage on its own (before `index` or `wacz` of a
    gone worker's folder), nothing written beside it."""
    folder = tmp_path / "w3" / "warc"
    w = WarcWriter(folder, "w", hostname="box", salvage=False)
    page(w, 1)
    page(w, 2)
    [held] = folder.glob("*.warc.gz.open")
    left = folder / held.name.replace("w-", "gone-")
    left.write_bytes(held.read_bytes() + b"\x1f\x8b\x08\x00partial")  # a cut record at the end
    result = CliRunner().invoke(cli, ["salvage", str(tmp_path)])
    assert result.exit_code == 0, result.output
    closed = folder / left.name.removesuffix(".open")
    assert f"{closed}\t5 records" in result.output  # warcinfo, then request and response twice
    assert "salvaged 1 WARC(s) left open (5 records, 11 bytes of unfinished records dropped)" \
        in result.output
    assert "1 still being written, skipped" in result.output and held.exists()
    w.close()
    assert [rid for rid, _, _ in responses(closed)] == [rid for rid, _, _ in responses(
        folder / held.name.removesuffix(".open"))]
    result = CliRunner().invoke(cli, ["salvage", str(folder)])
    assert result.exit_code == 0 and "no WARC left open" in result.output


@pytest.mark.network
def test_cluster_reprocess_salvages_first(tmp_path):
    """`reprocess --cluster`: the writer salvages before it plans, workers read the closed file."""
    from dask_support import LocalDaskCluster

    folder = tmp_path / "w1"
    w = WarcWriter(folder, "w", hostname="box", salvage=False)
    for n in range(4):
        page(w, n)
    w.close()
    gone = WarcWriter(tmp_path / "gone", "gone", hostname="box2", salvage=False)
    for n in range(4, 6):
        page(gone, n)
    [held] = (tmp_path / "gone").glob("*.warc.gz.open")
    shutil.copy(held, folder / held.name)  # a dead worker's leftover, as its machine left it
    gone.close()
    twin = tmp_path / "twin"
    shutil.copytree(folder, twin)
    local = reprocess(tmp_path / "local.db", twin)
    assert local.exit_code == 0, local.output
    with LocalDaskCluster(tmp_path / "dask", workers=1) as cluster:
        result = CliRunner().invoke(cli, ["reprocess", "--db", str(tmp_path / "cluster.db"),
                                          "--cluster", cluster.address, "--no-progress",
                                          str(folder)])
    assert result.exit_code == 0, result.output
    assert "salvaged 1 WARC(s) left open (5 records, 0 bytes" in result.output
    assert captures(tmp_path / "cluster.db") == captures(tmp_path / "local.db")
    assert len(captures(tmp_path / "local.db")) == 6
