"""Unattended operation: the README's cron line and systemd units run as written, a second crawl
on the same folder exits 75 while one runs, and an unwritable archive stops the crawl loudly.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import stenogram_cmd
from test_operations_support import crawl_args

pytestmark = [pytest.mark.network, pytest.mark.slow]

VENV = Path(sys.executable).parent.parent

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide" / "operate.md"


def doc_block(language: str, first_line: str, page: Path = GUIDE) -> str:
    """The page's fenced ``language`` block that starts with ``first_line``: the tests run
    the documented commands themselves, so the documentation cannot drift from what works."""
    for block in re.findall(rf"```{language}\n(.*?)```", page.read_text(), re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"{page.name} has no ```{language} block starting {first_line!r}")


#: The operations guide's crontab line and systemd service (ExecStart is what the test runs).
CRON_LINE = doc_block("cron", "").strip()
SYSTEMD_SERVICE = doc_block("ini", "[Unit]\nDescription=stenogram daily crawl")


def test_the_readme_shows_the_same_cron_line():
    assert doc_block("cron", "", ROOT / "README.md").strip() == CRON_LINE


def deploy(tmp_path: Path) -> Path:
    """A /srv/stenogram look-alike: the project's venv under a temporary root."""
    root = tmp_path / "srv" / "stenogram"
    (root / "data").mkdir(parents=True)
    (root / ".venv").symlink_to(VENV)
    return root


def loopback_args(site, out: Path) -> list[str]:
    """What the test adds to the documented command: --loopback, the sample site's base URLs and
    short waits."""
    args = crawl_args(site, out)
    assert args[:4] == ["crawl", "--loopback", "--out", str(out)]
    return ["--loopback", *args[4:]]


def test_cron_line_runs_as_written_and_the_second_day_is_incremental(tmp_path):
    from stenogram.sample_site.server import SampleSite

    root = deploy(tmp_path)
    schedule, command = re.match(r"^(\S+ \S+ \S+ \S+ \S+)\s+(.*)$", CRON_LINE).groups()
    assert len(schedule.split()) == 5
    with SampleSite(port=0, size=10, seed=3) as site:
        extra = " ".join(shlex.quote(a) for a in loopback_args(site, root / "data"))
        command = command.replace("/srv/stenogram", str(root))
        command = command.replace(" >> ", f" {extra} >> ", 1)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"}  # cron's bare env
        days = [subprocess.run(["/bin/sh", "-c", command], env=env, timeout=120) for _ in range(2)]
    log = (root / "data" / "crawl.log").read_text()
    assert [d.returncode for d in days] == [0, 0], log[-3000:]
    assert log.count("stenogram crawl ") >= 2  # two reports
    reports = log.split("This crawl:")
    assert re.search(r"^\s*[1-9]\d* new documents", reports[1])
    assert re.search(r"^\s*0 new documents, 0 new versions", reports[2])
    assert sorted((root / "data" / "warc").glob("*.warc.gz"))


def test_systemd_execstart_runs_as_written(tmp_path):
    from stenogram.sample_site.server import SampleSite

    root = deploy(tmp_path)
    unit = SYSTEMD_SERVICE.replace("/srv/stenogram", str(root))
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    workdir = re.search(r"^WorkingDirectory=(.*)$", unit, re.M).group(1)
    env = dict(kv.split("=", 1) for kv in re.findall(r"^Environment=(.*)$", unit, re.M))
    env["PATH"] = "/usr/bin:/bin"
    with SampleSite(port=0, size=6, seed=4) as site:
        argv = shlex.split(exec_start) + loopback_args(site, root / "data")
        proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (root / "data" / "corpus.db").exists() and (root / "data" / "state.db").exists()
    success = re.search(r"^SuccessExitStatus=(.*)$", unit, re.M).group(1).split()
    assert "75" in success


def test_a_second_crawl_on_the_same_folder_exits_75(tmp_path):
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    out = tmp_path / "data"
    faults = Faults().add("slow", r"\.html?$|/content/id/|/\d{6,}/$", delay=1.0, times=None)
    with SampleSite(port=0, size=10, seed=3, faults=faults) as site:
        args = [str(VENV / "bin" / "stenogram"), *crawl_args(site, out)]
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
        try:
            lock = out / "crawl.lock"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (lock.exists() and "pid" in lock.read_text()):
                time.sleep(0.05)
            assert first.poll() is None, "the first crawl ended before the test could overlap it"
            second = stenogram_cmd(*crawl_args(site, out), timeout=60)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.communicate(timeout=30)
    assert second.returncode == 75, second.stdout + second.stderr
    assert "not crawling" in second.stdout and f"pid {first.pid}" in second.stdout


def test_unwritable_archive_folder_stops_the_crawl(tmp_path):
    """Root-proof: the WARC folder's parent is a regular file, so no process can create it."""
    from stenogram.sample_site.server import SampleSite

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the archive folder should be\n")
    out = tmp_path / "data"
    with SampleSite(port=0, size=6, seed=4) as site:
        args = crawl_args(site, out, "mid", settings={"WARC_DIR": str(blocker / "warc")})
        proc = stenogram_cmd(*args, timeout=60)
        asked = len(site.requests)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "warc_writ" in proc.stdout  # the finish reason warc_write_failed (the table may cut it)
    assert text.count("stopping the crawl") == 1
    assert "could not be written to the WARC" in text
    # the crawl stopped early and nothing unarchived reached the corpus
    assert asked <= 20
    con = sqlite3.connect(out / "corpus.db") if (out / "corpus.db").exists() else None
    if con is not None:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        if "documents" in tables:
            assert con.execute("select count(*) from documents").fetchone()[0] == 0


def test_disk_full_mid_crawl_stops_cleanly_and_the_next_run_resumes(tmp_path):
    """Root-proof full disk: RLIMIT_FSIZE makes writes past a size fail with EFBIG for any user
    (Python ignores SIGXFSZ), so the archive fills up in the middle of the crawl."""
    import resource

    from stenogram.sample_site.server import SampleSite

    out = tmp_path / "data"

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    with SampleSite(port=0, size=60, seed=4) as site:
        args = [str(VENV / "bin" / "stenogram"), *crawl_args(site, out)]
        full = subprocess.run(args, capture_output=True, text=True, timeout=120, preexec_fn=small_disk)
        again = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert full.returncode != 0
    # whichever file hits the limit first (WARC, corpus, crawl state) stops the crawl by name
    assert "stopping the crawl" in full.stderr
    assert re.search(r"(warc|corpus|state)_write_\S*", full.stdout), full.stdout[-2000:]
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    warc_dir = out / "warc"
    assert not list(warc_dir.glob("*.open"))
    for path in sorted(warc_dir.glob("*.warc.gz")):
        check = subprocess.run([str(VENV / "bin" / "warcio"), "check", str(path)], capture_output=True,
                               text=True, timeout=60)
        assert check.returncode == 0, (path.name, check.stdout[-500:], check.stderr[-500:])
    con = sqlite3.connect(out / "corpus.db")
    assert con.execute("select count(*) from documents").fetchone()[0] >= 30
