"""Every command that takes a path x every bad input a new user hands over by mistake.

Each case asserts: no traceback, the message is one ``Error:`` line (plus, for commands that
process many files, one ``skipped FILE: reason`` line per skipped file), a non-zero exit status
(sysexits: 65 not what we read, 66 missing, 73 cannot create; 1 when the rest was processed), and
no file created or changed where the command only reads (or refused). Most cases run in-process
with click's CliRunner (the same code as the console script, fast); ``SUBPROCESS`` repeats a
few through the installed ``stenogram`` script, where a traceback would really be printed.
"""
from __future__ import annotations

import gzip
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import subprocess

import click
import pytest
from click.testing import CliRunner

from stenogram.cli import cli
from test_reader import make_sample_warc

from conftest import VENV_BIN, stenogram_cmd

ARC_BODY = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>x</title><p>hi</p></html>"
ARC_HEAD = b"1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n"


@pytest.fixture(scope="module")
def goods(tmp_path_factory):
    """Valid inputs to pair the bad one with: a WARC and a corpus built from it."""
    d = tmp_path_factory.mktemp("goods")
    make_sample_warc(d / "good.warc.gz")
    make_sample_warc(d / "plain.warc", gzip_records=False)
    result = CliRunner().invoke(cli, ["reprocess", "--db", str(d / "corpus.db"), "--workers", "1",
                                      str(d / "good.warc.gz")])
    assert result.exit_code == 0, result.output
    return d


def _unwritable(case: Path) -> Path:
    """A folder this process cannot write in (root ignores modes: /proc/self then)."""
    if os.geteuid() == 0:
        for candidate in (Path("/proc/self"), Path("/sys")):
            if candidate.is_dir() and not os.access(candidate, os.W_OK):
                return candidate
        pytest.skip("no unwritable folder for root")
    folder = case / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def make_input(kind: str, case: Path, goods: Path, suffix: str) -> Path:
    """Create the bad input ``kind`` inside ``case``; ``suffix``: the name it pretends to have."""
    if kind == "missing":
        return case / f"missing{suffix}"
    if kind == "directory":
        (case / f"adir{suffix}").mkdir()
        return case / f"adir{suffix}"
    if kind == "empty-file":
        (case / f"empty{suffix}").write_bytes(b"")
        return case / f"empty{suffix}"
    if kind == "not-sqlite":
        (case / f"notes{suffix}").write_text("my notes, not a database\n")
        return case / f"notes{suffix}"
    if kind == "csv-as-warc":
        (case / f"table{suffix}").write_text("url,title\nhttps://mid.ru/,Lavrov\n")
        return case / f"table{suffix}"
    if kind == "whole-file-gzip":
        (case / f"whole{suffix}").write_bytes(gzip.compress((goods / "plain.warc").read_bytes()))
        return case / f"whole{suffix}"
    if kind == "truncated-warc":
        data = (goods / "good.warc.gz").read_bytes()
        (case / f"cut{suffix}").write_bytes(data[: len(data) * 2 // 3])
        return case / f"cut{suffix}"
    if kind == "arc-file":
        arc = b"filedesc://x.arc 127.0.0.1 20240412000000 text/plain %d\n" % len(ARC_HEAD) + ARC_HEAD
        arc += (b"\nhttp://example.com/ 127.0.0.1 20240412153800 text/html %d\n" % len(ARC_BODY)
                + ARC_BODY + b"\n")
        (case / f"old{suffix}").write_bytes(arc)
        return case / f"old{suffix}"
    if kind == "unwritable-parent":
        return _unwritable(case) / f"out{suffix}"
    if kind == "missing-parent":
        return case / "no" / "such" / f"out{suffix}"
    if kind == "directory-in-the-way":
        (case / f"taken{suffix}").mkdir()
        return case / f"taken{suffix}"
    raise AssertionError(kind)


# command -> (argument template, the suffix a bad input pretends to have, bad inputs tried,
#             whether the command only reads). "{bad}" is the bad path; the others are goods.
DB_READ = ["missing", "directory", "empty-file", "not-sqlite", "csv-as-warc"]
WARC_IN = ["missing", "directory", "empty-file", "csv-as-warc", "whole-file-gzip",
           "truncated-warc", "arc-file"]
OUT = ["unwritable-parent", "missing-parent", "directory-in-the-way"]


@dataclass(frozen=True)
class Slot:
    command: str
    args: tuple[str, ...]
    suffix: str
    kinds: tuple[str, ...]
    reads_only: bool  # nothing may appear or change anywhere


SLOTS = [
    Slot("reprocess --db", ("reprocess", "--db", "{bad}", "--workers", "1", "{good_warc}"), ".db",
         ("directory", "not-sqlite", "csv-as-warc", "unwritable-parent", "missing-parent"), True),
    Slot("reprocess WARC", ("reprocess", "--db", "{case}/new.db", "--workers", "1", "{bad}"),
         ".warc.gz", tuple(WARC_IN), False),
    Slot("export --db", ("export", "--db", "{bad}"), ".db", tuple(DB_READ), True),
    Slot("export -o", ("export", "--db", "{good_db}", "-o", "{bad}"), ".jsonl", tuple(OUT), True),
    Slot("diff --db", ("diff", "--db", "{bad}", "1"), ".db", tuple(DB_READ), True),
    Slot("serve --db", ("serve", "--db", "{bad}", "--port", "{port}"), ".db", tuple(DB_READ), True),
    Slot("wacz WARC", ("wacz", "-o", "{case}/out.wacz", "{bad}"), ".warc.gz", tuple(WARC_IN), True),
    Slot("wacz --db", ("wacz", "--db", "{bad}", "-o", "{case}/out.wacz", "{good_warc}"), ".db",
         tuple(DB_READ), True),
    Slot("wacz -o", ("wacz", "-o", "{bad}", "{good_warc}"), ".wacz", tuple(OUT), True),
    Slot("index", ("index", "{bad}"), ".warc.gz", tuple(WARC_IN), True),
    Slot("extract", ("extract", "{bad}"), ".html",
         ("missing", "directory", "empty-file", "whole-file-gzip"), True),
    Slot("eval-extract --gold", ("eval-extract", "--gold", "{bad}"), "",
         ("missing", "directory", "not-sqlite"), True),
    Slot("crawl --replay", ("crawl", "mid", "--loopback", "--out", "{case}/out", "--replay", "{bad}"),
         ".warc.gz", tuple(WARC_IN), True),
    Slot("crawl --replay WACZ", ("crawl", "mid", "--loopback", "--out", "{case}/out", "--replay",
                                 "{bad}"), ".wacz", ("empty-file", "csv-as-warc"), True),
    Slot("demo --data", ("demo", "--data", "{bad}"), "", ("unwritable-parent", "not-sqlite"), True),
]
CASES = [(slot, kind) for slot in SLOTS for kind in slot.kinds]
# Through the real console script too (a traceback there is printed, not caught).
SUBPROCESS = {("serve --db", "not-sqlite"), ("reprocess --db", "not-sqlite"),
              ("diff --db", "missing"), ("index", "whole-file-gzip"), ("wacz WARC", "truncated-warc"),
              ("reprocess WARC", "arc-file"), ("crawl --replay", "csv-as-warc"),
              ("export --db", "empty-file")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(*roots: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def _args(slot: Slot, bad: Path, case: Path, goods: Path) -> list[str]:
    values = {"bad": str(bad), "case": str(case), "good_warc": str(goods / "good.warc.gz"),
              "good_db": str(goods / "corpus.db"), "port": str(_free_port())}
    return [a.format(**values) for a in slot.args]


def _check(slot: Slot, kind: str, bad: Path, code: int, stderr: str, case: Path) -> None:
    label = f"{slot.command} x {kind}"
    assert "Traceback" not in stderr, f"{label}:\n{stderr}"
    assert code != 0, f"{label}: exit 0\n{stderr}"
    assert code in (1, 65, 66, 73), f"{label}: exit {code}\n{stderr}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, f"{label}: expected one Error line\n{stderr}"
    others = [line for line in lines if not line.startswith("Error: ")]
    # a command that went on with the rest names each skipped file/record with its reason
    assert all(bad.name in line for line in others), f"{label}: extra output\n{stderr}"
    if code != 1:  # refused outright: the one line is everything
        assert len(lines) == 1, f"{label}:\n{stderr}"
    assert "serving" not in stderr, f"{label}: started the server"


@pytest.mark.parametrize("slot,kind", CASES, ids=[f"{s.command}-{k}" for s, k in CASES])
def test_bad_input(slot, kind, goods, tmp_path, monkeypatch):
    case = tmp_path
    monkeypatch.chdir(case)  # anything created relative to cwd lands where we look
    bad = make_input(kind, case, goods, slot.suffix)
    before = _tree(case, goods)
    result = CliRunner().invoke(cli, _args(slot, bad, case, goods))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        pytest.fail(f"{slot.command} x {kind}: raised\n"
                    + "".join(traceback.format_exception(result.exception)))
    _check(slot, kind, bad, result.exit_code, result.stderr, case)
    after = _tree(case, goods)
    if slot.reads_only or result.exit_code != 1:
        assert after == before, f"{slot.command} x {kind}: files changed {set(after) ^ set(before)}"
    else:  # partly processed: only the command's own output (and its lock files) may appear
        assert set(after) - set(before) <= {str(case / name) for name in (
            "new.db", "new.db-writers.lock", "new.db-bulk.lock")}


SUBPROCESS_CASES = [(s, k) for s, k in CASES if (s.command, k) in SUBPROCESS]


@pytest.mark.parametrize("slot,kind", SUBPROCESS_CASES,
                         ids=[f"{s.command}-{k}" for s, k in SUBPROCESS_CASES])
def test_bad_input_through_the_console_script(slot, kind, goods, tmp_path):
    bad = make_input(kind, tmp_path, goods, slot.suffix)
    before = _tree(tmp_path, goods)
    proc = stenogram_cmd(*_args(slot, bad, tmp_path, goods), timeout=120, cwd=tmp_path)
    _check(slot, kind, bad, proc.returncode, proc.stderr, tmp_path)
    if slot.reads_only or proc.returncode != 1:
        assert _tree(tmp_path, goods) == before


def test_the_count_of_bad_inputs_tried():
    """The evidence page (docs/evidence.md) states this figure; keep them equal."""
    evidence = (Path(__file__).resolve().parents[1] / "docs" / "evidence.md").read_text(encoding="utf-8")
    assert f"{len(CASES)} bad inputs" in evidence, len(CASES)


def test_a_broken_file_among_good_ones_is_skipped_and_the_rest_processed(goods, tmp_path):
    """`index` on a folder: the broken files are named with their reason, every good file is
    indexed, exit 1 at the end (it used to stop at the first: 5 of 24 files indexed)."""
    folder = tmp_path / "warc"
    folder.mkdir()
    for i in range(4):
        make_sample_warc(folder / f"crawl-{i}.warc.gz")
    make_sample_warc(folder / "crawl-4.warc", gzip_records=False)  # and its .warc.gz twin:
    make_sample_warc(folder / "crawl-4.warc.gz")                   # two distinct indexes
    for kind in ("csv-as-warc", "whole-file-gzip", "truncated-warc"):
        make_input(kind, folder, goods, ".warc.gz")
    result = CliRunner().invoke(cli, ["index", str(folder)])
    assert result.exit_code == 1, result.output
    assert "indexed 6 of 9 WARC files; 3 skipped" in result.stderr
    assert sum(line.startswith("skipped ") for line in result.stderr.splitlines()) == 3
    indexes = sorted(p.name for p in folder.glob("*.cdxj"))
    assert indexes == ["crawl-0.cdxj", "crawl-1.cdxj", "crawl-2.cdxj", "crawl-3.cdxj",
                       "crawl-4.cdxj", "crawl-4.warc.cdxj"]


# ----------------------------------------------------------------------------- issue 23
# The cases the first matrix did not try (each gave a traceback, a hang or a wrong exit code),
# then a generator: every command x every option x odd values. All run through the console
# script, each bounded by a generous subprocess timeout: a hang is a failure, not a stuck run.

#: every exit status a command may give: the table of stenogram/exit_codes.py (docs/reference/exit-codes.md)
DOCUMENTED_EXITS = {e.status for e in __import__("stenogram.exit_codes", fromlist=["x"]).EXIT_STATUSES}
CLOSED = "http://127.0.0.1:9"  # the discard port: refused at once, nothing leaves the machine


def _one_line(proc, code: int, label: str) -> str:
    out = proc.stderr + proc.stdout
    assert "Traceback" not in out and "Exception ignored" not in out, f"{label}:\n{out}"
    assert proc.returncode == code, f"{label}: exit {proc.returncode}, expected {code}\n{out}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{label}: expected one line\n{out}"
    return lines[0]


@pytest.fixture()
def fifo(tmp_path):
    path = tmp_path / "pipe.warc.gz"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("args", [
    ["extract", "{zero}"], ["index", "{zero}"], ["index", "{fifo}"], ["salvage", "{fifo}"],
    ["reprocess", "--db", "{tmp}/c.db", "-j", "1", "{zero}"], ["reprocess", "--db", "{tmp}/c.db", "{fifo}"],
    ["wacz", "-o", "{tmp}/o.wacz", "{fifo}"], ["export", "--db", "{zero}"], ["export", "--db", "{fifo}"],
    ["crawl", "mid", "--loopback", "--out", "{tmp}/out", "--base-url", f"mid={CLOSED}", "--replay", "{fifo}"],
])
def test_special_files_are_refused_unread(args, fifo, tmp_path):
    """/dev/zero or a FIFO where a file is read: refused from stat alone (a FIFO would block on
    open, /dev/zero never ends: `extract /dev/zero` reached 9.9 GiB), exit 66."""
    values = {"zero": "/dev/zero", "fifo": str(fifo), "tmp": str(tmp_path)}
    proc = stenogram_cmd(*[a.format(**values) for a in args], timeout=60)
    line = _one_line(proc, 66, " ".join(args))
    assert line.startswith("Error: ") and ("character device" in line or "named pipe" in line), line
    assert not (tmp_path / "c.db").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,says", [
    (["search", "--db", "{db}", "--limit", str(10**30), "lavrov"], "--limit"),
    (["search", "--db", "{db}", "--offset", str(10**30), "lavrov"], "--offset"),
    (["diff", "--db", "{db}", str(10**30)], "DOC_ID"),
    (["reprocess", "--db", "{tmp}/c.db", "--cache-mib", "-5", "{warc}"], "--cache-mib -5"),
    (["reprocess", "--db", "{tmp}/c.db", "--workers", "100000", "{warc}"], "--workers 100000"),
    (["reprocess", "--db", "{tmp}/c.db", "-j", "-1", "{warc}"], "-j -1"),
    (["reprocess", "--db", "{tmp}/c.db", "--commit-every", "0", "{warc}"], "--commit-every 0"),
    (["serve", "--db", "{db}", "--port", "70000"], "--port 70000"),
    (["sample-site", "--port", "-1"], "--port -1"),
])
def test_numbers_out_of_bounds_are_one_line_exit_64(args, says, goods, tmp_path):
    values = {"db": str(goods / "corpus.db"), "warc": str(goods / "good.warc.gz"), "tmp": str(tmp_path)}
    proc = stenogram_cmd(*[a.format(**values) for a in args], timeout=60)
    line = _one_line(proc, 64, " ".join(args))
    assert line.startswith("Error: ") and "must be from" in line, line
    assert not (tmp_path / "c.db").exists()


@pytest.mark.parametrize("args", [["--help"], ["extract", "{html}"], ["search", "--help"]])
def test_stdout_on_a_full_device_is_one_line_exit_74(args, tmp_path):
    (tmp_path / "page.html").write_text("<html><title>t</title><p>Lavrov said things.</p></html>")
    values = {"html": str(tmp_path / "page.html")}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(VENV_BIN / "stenogram"), *[a.format(**values) for a in args]], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == 74, proc.stderr
    assert proc.stderr.strip() == "stenogram: cannot write the output: No space left on device"


@pytest.mark.parametrize("command", ["crawl", "backfill"])
def test_a_read_only_data_folder_is_refused_before_the_crawl(command, tmp_path):
    out = _unwritable(tmp_path) / "data"
    args = (["crawl", "mid", "--base-url", f"mid={CLOSED}"] if command == "crawl"
            else ["backfill", "mid", "--archive", f"{CLOSED}/web"])
    proc = stenogram_cmd(*args, "--loopback", "--out", str(out), timeout=60)
    line = _one_line(proc, 73, command)
    assert line.startswith("Error: ") and "cannot write" in line, line


def char_device(tmp_path: Path) -> Path:
    """A character device of our own (a copy of /dev/zero's node): never the system's, which a
    command that wrongly renamed its output over it would destroy for every process."""
    path = tmp_path / "zero.dev"
    try:
        os.mknod(path, 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 5))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here (not root)")
    return path


@pytest.mark.parametrize("args", [
    ["wacz", "-o", "{dev}", "{warc}"], ["export", "--db", "{db}", "-o", "{dev}"],
    ["diff", "--db", "{db}", "1", "--html", "{dev}"], ["export", "--db", "{db}", "-o", "{fifo}"],
])
def test_an_output_that_is_a_device_or_a_pipe_is_not_replaced(args, goods, tmp_path, fifo):
    """An output is written beside its target and renamed over it: over /dev/zero that replaced
    the device with a WACZ for the whole machine (found by the generator below)."""
    device = char_device(tmp_path)
    values = {"dev": str(device), "fifo": str(fifo), "db": str(goods / "corpus.db"),
              "warc": str(goods / "good.warc.gz")}
    proc = stenogram_cmd(*[a.format(**values) for a in args], timeout=60)
    line = _one_line(proc, 73, " ".join(args))
    assert "not replaced" in line, line
    import stat

    assert stat.S_ISCHR(device.stat().st_mode) and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_damaged_state_db_stops_the_crawl_before_it_starts(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "state.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4080))  # a header, then noise
    proc = stenogram_cmd("crawl", "mid", "--loopback", "--out", str(out), "--base-url", f"mid={CLOSED}", timeout=60)
    out_text = proc.stdout + proc.stderr
    assert "Traceback" not in out_text and proc.returncode == 65, out_text
    assert "state.db is not a SQLite database or is damaged" in out_text and "move it aside" in out_text
    assert not (out / "warc").exists()


def test_reprocess_workers_never_outlive_their_parent(goods, tmp_path):
    """`kill -9` of a process holding a local pool: its workers go with it (they used to wait for
    ever on their queue: ~2,000 of them after `reprocess --workers 100000`)."""
    import signal
    import textwrap
    import time

    script = tmp_path / "pool.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from stenogram.corpus.reprocess import local_pool
        pool = local_pool(2)
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
        print(" ".join(map(str, sorted(pids))), flush=True)
        time.sleep(600)
    """))
    proc = subprocess.Popen([str(VENV_BIN / "python"), str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "pool workers outlived their parent"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


# --- the generator: every command x every option x odd values

#: a valid command line for each command, on which one option at a time is made odd; crawl and
#: backfill go to the closed discard port on loopback only. `serve`, `sample-site` and `demo` are
#: left out: a value they accept starts a server that runs until stopped (their numbers and
#: paths are in the cases above and in the first matrix).
BASES = {
    # quiet on the terminal (errors of a crawl that does run are its log's, not a bad input's)
    # and quick: no retries of the closed port
    "crawl": ["crawl", "@sources", "--loopback", "--out", "{tmp}/out", "--base-url", f"mid={CLOSED}",
              "-s", "LOG_LEVEL=CRITICAL", "-s", "RETRY_ENABLED=False"],
    "backfill": ["backfill", "@sources", "--loopback", "--archive", f"{CLOSED}/web", "--out", "{tmp}/out",
                 "-s", "LOG_LEVEL=CRITICAL", "-s", "RETRY_ENABLED=False", "-s", "BACKFILL_DELAY=0"],
    "diff": ["diff", "--db", "{db}", "@doc_id"],
    "eval-extract": ["eval-extract"],
    "export": ["export", "--db", "{db}", "-o", "{tmp}/export.jsonl"],
    "extract": ["extract", "@page"],
    "index": ["index", "@paths"],
    "reprocess": ["reprocess", "--db", "{tmp}/c.db", "-j", "1", "@paths"],
    "salvage": ["salvage", "@paths"],
    "search": ["search", "--db", "{db}", "@query"],
    "wacz": ["wacz", "-o", "{tmp}/o.wacz", "@paths"],
}
#: the valid value of each argument ("@name" above) when another option is the odd one
ARGUMENTS = {"sources": "mid", "doc_id": "1", "page": "{html}", "paths": "{warc}", "query": "lavrov"}
#: odd values by what the option takes; "{...}" are made per case (a FIFO, a non-UTF-8 name...)
ODD = {
    "number": ["-1", str(10**30), "", "\udcff"],
    "path": ["{fifo}", "{dev}", "{tmp}/missing/deeper", "{nonutf8}"],
    "text": ["", "-1", "\udcff"],
}
#: options whose value is a network address: only loopback closed ports (never a name to resolve)
NETWORK = {"--cluster": ["", "tcp://127.0.0.1:9", "-1"], "--redis": ["", "redis://127.0.0.1:9/0", "-1"],
           "--archive": ["", "ftp://127.0.0.1:9/", "-1"], "--cdx": ["", "file:///etc/passwd", "-1"],
           "--base-url": ["", "mid=", "mid=ftp://127.0.0.1:9/"]}


def _kind(param) -> str:
    from stenogram.inputs import Bounded, _Checked

    if isinstance(param.type, (Bounded, click.types.IntParamType, click.types.FloatParamType)):
        return "number"
    if isinstance(param.type, (_Checked, click.Path)):
        return "path"
    return "text"


def generated_cases() -> list[tuple[str, str, str]]:
    """(command, option or argument name, odd value) for every valued parameter of each command."""
    from stenogram.cli import cli as group

    ctx = click.Context(group)
    cases = []
    for name in BASES:
        for param in group.get_command(ctx, name).params:
            if getattr(param, "is_flag", False) or isinstance(param.type, click.Tuple) or param.name == "help":
                continue
            label = param.opts[0] if isinstance(param, click.Option) else f"@{param.name}"
            for value in NETWORK.get(label, ODD[_kind(param)]):
                cases.append((name, label, value))
    return cases


def sampled(cases: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """What `make test` runs of the generated cases: every (command, option) pair once, with a
    value drawn by a seed, so each run stays within minutes (all 160-odd cases take ~12 minutes
    on a loaded 2-core machine: one subprocess each). ``STENOGRAM_BAD_INPUT_ALL=1`` runs every
    case; ``STENOGRAM_BAD_INPUT_SEED`` picks the values (default: the day, so successive days
    cover the other values; the seed is in each test id)."""
    if os.environ.get("STENOGRAM_BAD_INPUT_ALL"):
        return cases
    import datetime
    import random

    seed = int(os.environ.get("STENOGRAM_BAD_INPUT_SEED", datetime.date.today().toordinal()))
    rng = random.Random(seed)
    by_option: dict[tuple[str, str], list] = {}
    for case in cases:
        by_option.setdefault(case[:2], []).append(case)
    return [rng.choice(options) for options in by_option.values()]


GENERATED = sampled(generated_cases())


def _odd_args(name: str, label: str, value: str, values: dict) -> list[str]:
    """The command's base line with ``label`` set to ``value`` (added when the base lacks it)."""
    base = list(BASES[name])
    if label.startswith("@") and label not in base:
        base.append(label)
    if label in base and label.startswith("@"):
        base[base.index(label)] = value
    elif label in base:
        base[base.index(label) + 1] = value
    else:
        base += [label, value]
    args = [ARGUMENTS[a[1:]] if a.startswith("@") else a for a in base]
    return [a.format(**values) for a in args]


@pytest.mark.parametrize("name,label,value", GENERATED, ids=[f"{n} {opt} {v!r}" for n, opt, v in GENERATED])
def test_generated_odd_values(name, label, value, goods, tmp_path):
    """No traceback, no hang, an exit status from the documented set, whatever the value."""
    fifo_path = tmp_path / "pipe.warc.gz"
    os.mkfifo(fifo_path)
    nonutf8 = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.warc.gz")
    with open(os.fsencode(nonutf8), "wb") as f:
        f.write(b"not a warc\n")
    (tmp_path / "page.html").write_text("<html><title>t</title><p>Lavrov said things.</p></html>")
    device = char_device(tmp_path) if "{dev}" in value else None
    values = {"tmp": str(tmp_path), "fifo": str(fifo_path), "dev": str(device), "nonutf8": nonutf8,
              "db": str(goods / "corpus.db"),
              "warc": str(goods / "good.warc.gz"), "html": str(tmp_path / "page.html")}
    args = _odd_args(name, label, value, values)
    try:
        proc = subprocess.run([str(VENV_BIN / "stenogram"), *args], capture_output=True, timeout=180,
                              cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args}: still running after 180 s (a hang)")
    out = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    assert "Traceback" not in out, f"{args}:\n{out}"
    assert proc.returncode in DOCUMENTED_EXITS, f"{args}: exit {proc.returncode}\n{out}"
    if device is not None:
        import stat

        assert stat.S_ISCHR(device.stat().st_mode), f"{args}: replaced the device"
