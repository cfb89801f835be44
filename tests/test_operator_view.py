"""The operator's view of a crawl (issue 13, point 8): Ctrl-C, the log file, the report at 80
columns, the progress display.

The Ctrl-C tests crawl the sample site *without* ``--loopback``, with a real politeness delay, so
the crawl is in the state that took 89 s to stop: requests queued behind ``DOWNLOAD_DELAY``. The
sample site records every request it receives, so "nothing sent after Ctrl-C" is checked where
it matters, on the server.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from stenogram.crawler.progress import Row, render_rows
from stenogram.crawler.runner import CrawlResult
from stenogram.report import CrawlSummary, DriftLine, SourceLine, print_summary

VENV_BIN = Path(sys.executable).parent
SOURCE = "globalsecurity"


def crawl_cmd(site, out: Path, *extra: str) -> list[str]:
    """`stenogram crawl` of one source of the sample site, polite (no --loopback): one request
    every 4 s, no jitter, no AutoThrottle, so the next request is always far away."""
    return [str(VENV_BIN / "stenogram"), "crawl", SOURCE, "--out", str(out),
            "--base-url", f"{SOURCE}={site.base_urls[SOURCE]}",
            "-s", "DOWNLOAD_DELAY=4", "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "AUTOTHROTTLE_ENABLED=false",
            *extra]


def wait_for_requests(site, n: int, proc: subprocess.Popen, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = len(site.requested(SOURCE))
        if seen >= n:
            return seen
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the crawl sent fewer than {n} requests in {timeout} s")


def check_warcs(out: Path) -> list[Path]:
    warc_dir = out / "warc"
    assert not list(warc_dir.glob("*.open")), sorted(p.name for p in warc_dir.iterdir())
    warcs = sorted(warc_dir.glob("*.warc.gz"))
    assert warcs
    for path in warcs:
        check = subprocess.run([str(VENV_BIN / "warcio"), "check", str(path)], capture_output=True, text=True,
                               timeout=120)
        assert check.returncode == 0, (path.name, check.stdout[-500:], check.stderr[-500:])
    return warcs


@pytest.mark.network
def test_ctrl_c_stops_a_polite_crawl_in_seconds_with_nothing_sent_after_it(tmp_path):
    """(a) + (c): SIGINT after the first responses of a crawl with a 4 s delay; the crawl has
    dozens of pages left (minutes at that pace), yet it exits well within the bound, the server
    got no request after the signal, the WARCs are closed and valid, the frontier keeps what is
    owed, and stdout holds only the report while Scrapy's INFO lines are in the log file."""
    from stenogram.sample_site.server import SampleSite

    out = tmp_path / "data"
    with SampleSite(port=0, size=30, seed=5) as site:
        proc = subprocess.Popen(crawl_cmd(site, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_requests(site, 3, proc)  # robots.txt and two pages; the next is 4 s away
        proc.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        sent_before = len(site.requested(SOURCE))
        # the bound: the owed pages alone (checked below) are more than 30 s at one per 4 s
        stdout, stderr = proc.communicate(timeout=30)
        print(f"stopped {time.monotonic() - signalled:.1f} s after SIGINT")  # a figure, not a test
        time.sleep(0.5)
        after = site.requested(SOURCE)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-3000:]
    assert len(after) == sent_before, f"sent after SIGINT: {after[sent_before:]}"
    check_warcs(out)

    # state committed: the pages not fetched are owed to the next crawl, the corpus is sound
    state = sqlite3.connect(out / "state.db")
    owed = state.execute("select count(*) from frontier where source = ?", (SOURCE,)).fetchone()[0]
    assert owed * 4 > 30, owed  # what waiting for the queue would have cost
    corpus = sqlite3.connect(out / "corpus.db")
    assert corpus.execute("pragma integrity_check").fetchone()[0] == "ok"

    # stdout: the report and nothing else; the terminal's stderr: the warning about the signal
    assert "stenogram crawl" in stdout and "Stopped by SIGINT" in stdout, stdout
    assert " INFO:" not in stdout and "[scrapy" not in stdout, stdout
    assert "next request" not in stdout and "\x1b[" not in stdout, stdout  # a pipe: no progress display
    assert "INFO" not in stderr, stderr[-2000:]
    assert "received SIGINT" in stderr, stderr[-2000:]
    logs = list((out / "logs").glob("*.log"))
    assert len(logs) == 1 and f"Log: {logs[0]}" in stdout.replace("\n", "")
    log = logs[0].read_text()
    assert "[scrapy.core.engine] INFO: Spider opened" in log
    assert "[scrapy.core.engine] INFO: Closing spider (shutdown)" in log
    assert "received SIGINT" in log


class Stall:
    """A fault hook for the sample site: every request after the first ``free`` hangs until
    released, so a request is on the wire when the crawl is told to stop."""

    def __init__(self, free: int):
        self.free = free
        self.seen = 0
        self.release = threading.Event()

    def intercept(self, request):
        self.seen += 1
        if self.seen > self.free:
            self.release.wait(300)
        return False  # then served normally


@pytest.mark.network
def test_a_second_ctrl_c_stops_at_once(tmp_path):
    """(b): a request hangs on the server; the first SIGINT waits for it (grace 300 s here), the
    second aborts it and the crawl exits at once, still with its WARC closed and valid."""
    from stenogram.sample_site.server import SampleSite

    out = tmp_path / "data"
    stall = Stall(free=2)
    with SampleSite(port=0, size=10, seed=5, faults=stall) as site:
        try:
            proc = subprocess.Popen(crawl_cmd(site, out, "-s", "STENOGRAM_SHUTDOWN_GRACE=300",
                                              "-s", "DOWNLOAD_DELAY=0.5"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for_requests(site, 3, proc)  # the third request is the one hanging
            proc.send_signal(signal.SIGINT)
            time.sleep(2)
            assert proc.poll() is None, "the first SIGINT did not wait for the request in flight"
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)  # the hang lasts 300 s, the grace too
        finally:
            stall.release.set()
    assert proc.returncode == 130, stdout[-2000:] + stderr[-3000:]
    assert "received SIGINT again" in stderr, stderr[-2000:]
    assert "Stopped by SIGINT" in stdout, stdout  # the normal close ran: the report is there
    assert len(site.requested(SOURCE)) == 3
    check_warcs(out)


def test_report_fits_80_columns_untruncated():
    """(d): every header and cell of the report whole at 80 columns, with all its lines."""
    names = ("mid", "mid_archive", "globalsecurity", "interaffairs")
    reasons = ("finished", "corpus_write_failed", "shutdown", "state_write_failed")
    summary = CrawlSummary(
        sources=[SourceLine(n, 123456, 98765, 54321, 4321, r) for n, r in zip(names, reasons)],
        off_scope=5, off_scope_by={"off_site": 3, "redirect": 2}, replay={"hit": 3, "mapped": 1, "miss": 2},
        edited=[{"document_id": 3, "title": "Foreign Minister Sergey Lavrov's remarks " * 3,
                 "url": "http://127.0.0.1:8001/en/foreign_policy/news/1234567/"}],
        drift=[DriftLine("mid", 10, 5, 2), DriftLine("globalsecurity", 1234, 56, 789)], shutdown={"dropped": 3, "in_flight": 1},
        recrawl={"new": 1, "due": 2, "not_modified": 3, "changed": 4, "skipped_not_due": 5})
    result = CrawlResult("20261129T201500Z", Path("data/warc"), Path("data/corpus.db"),
                         log_file=Path("data/logs/20261129T201500Z.log"), interrupted="SIGINT")
    console = Console(width=80, record=True, color_system=None)
    print_summary(summary, result, console)
    text = console.export_text()
    assert "…" not in text and "..." not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80
    # the longest source name's extraction line is one line, not wrapped onto two
    assert "Extraction: globalsecurity: 1178 by profile, 56 by fallback, 789 refused" in \
        [line.strip() for line in text.splitlines()], text
    header = next(line for line in text.splitlines() if "source" in line)
    for column in ("source", "fetched", "transcripts", "other", "errors", "finish"):
        assert column in header.split(), header
    for name, reason in zip(names, reasons):
        row = next(line for line in text.splitlines() if line.split()[:1] == [name])
        assert row.split() == [name, "123456", "98765", "54321", "4321", reason], row
    # the others' lines are still there
    for words in ("Replayed from the archive: 3 served", "Refused off scope", "template drift",
                  "edited: document 3", "Stopped by SIGINT", "Log: data/logs/20261129T201500Z.log"):
        assert words in text.replace("\n", " "), words


def test_progress_rows_render_untruncated():
    """(e), the renderable: every figure per source, at 80 columns, nothing cut."""
    rows = [Row("globalsecurity", 123456, 99999, 12345, 3, "in 10 s", "stopping"),
            Row("mid_archive", 1, 2, 3, 0, "fetching", "crawling"),
            Row("interaffairs", 7, 0, 2, 0, "-", "finished")]
    console = Console(width=80, record=True, color_system=None)
    console.print(render_rows(rows, note="SIGINT: stopping, nothing new is sent", elapsed=3723))
    text = console.export_text()
    assert "…" not in text
    for column in ("fetched", "queued", "transcripts", "errors", "next request", "state"):
        assert column in text
    line = next(line for line in text.splitlines() if line.split()[:1] == ["globalsecurity"])
    assert line.split() == ["globalsecurity", "123456", "99999", "12345", "3", "in", "10", "s", "stopping"]
    assert "SIGINT: stopping" in text and "3,723 s" in text


@pytest.mark.network
def test_progress_display_during_a_real_crawl(tmp_path):
    """(e), live: `--progress` draws the per-source table while crawling, even into a pipe
    (test (a) shows that without it a pipe gets only the report); with `--verbose` the log is
    on the terminal too."""
    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=6, seed=2) as site:
        shown = subprocess.run(crawl_cmd(site, tmp_path / "a", "--loopback", "-s", "DOWNLOAD_DELAY=0.2",
                                         "--progress", "--verbose", "-s", "LOG_LEVEL=INFO"),
                               capture_output=True, text=True, timeout=180)
    assert shown.returncode == 0, shown.stdout[-2000:] + shown.stderr[-2000:]
    assert "next request" in shown.stdout and SOURCE in shown.stdout
    assert "\x1b[" in shown.stdout  # drawn as a live display (cursor movements), then the report
    assert shown.stdout.rindex("next request") < shown.stdout.rindex("stenogram crawl 2")
    # --verbose: Scrapy's INFO lines on the terminal as well as in the log file
    assert "[scrapy.core.engine] INFO: Spider opened" in shown.stdout + shown.stderr
    assert "[scrapy.core.engine] INFO: Spider opened" in "".join(
        p.read_text() for p in (tmp_path / "a" / "logs").glob("*.log"))


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
@pytest.mark.network
def test_progress_is_on_by_default_in_a_terminal(tmp_path):
    """A terminal gets the display without --progress (stdout is a pty here).

    The crawl is polite (4 s a request), so the display is read until it shows the next
    request's countdown, then the crawl is stopped with Ctrl-C (exit 130, as the README says):
    waiting for the whole polite crawl would only measure the delay.
    """
    import pty

    from stenogram.sample_site.server import SampleSite

    with SampleSite(port=0, size=4, seed=2) as site:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(crawl_cmd(site, tmp_path / "t", "--loopback"), stdout=follower,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        os.close(follower)
        chunks, interrupted = [], False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not interrupted and b"next request" in b"".join(chunks):
                proc.send_signal(signal.SIGINT)
                interrupted = True
        proc.wait(timeout=60)
        os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert interrupted, text[-2000:]
    assert proc.returncode == 130, text[-2000:]
    assert "next request" in text and "stenogram crawl" in text
