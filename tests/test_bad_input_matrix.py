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

import pytest
from click.testing import CliRunner

from stenogram.cli import cli
from test_reader import make_sample_warc

from conftest import stenogram_cmd

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
