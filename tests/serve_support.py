"""Shared by test_serve.py and test_browser.py: one demo-like corpus per test session (the
sample site crawled, one transcript silently edited, mid.ru crawled again) and a running
`stenogram serve` over it (Datasette + pywb on loopback ports)."""
from __future__ import annotations

import atexit
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_cache: dict[str, Path] = {}


def demo_corpus() -> Path:
    """`stenogram demo` (small) into a temporary folder, once per session: its corpus.db."""
    if "db" not in _cache:
        out = Path(tempfile.mkdtemp(prefix="stenogram-web-"))
        atexit.register(shutil.rmtree, out, True)
        proc = subprocess.run([str(BIN / "stenogram"), "demo", "--data", str(out / "data"), "--size", "8"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "Silent edits in the corpus (two texts at one URL): 1" in proc.stdout, proc.stdout[-2000:]
        assert re.search(r"Searchable by speaker and date: [1-9]\d* transcript\(s\) with Lavrov's own turns; "
                         r"'Russia' in his words \d{4}-\d{4}: [1-9]", proc.stdout), proc.stdout[-2000:]
        assert "In the edit feed (/-/edits.atom when served" in proc.stdout and "): 1 edit(s)" in proc.stdout
        assert re.search(r"Release \d{4}-\d\d-\d\d: .*releases/demo \(\d+ documents, \d+ versions\): "
                         r"SHA256SUMS verified \(\d+ files\)", proc.stdout), proc.stdout[-2000:]
        _cache["db"] = out / "data" / "corpus.db"
        _cache["demo_stdout"] = proc.stdout
    return _cache["db"]


def wayback_bin() -> Path | None:
    """pywb from .venv-tools (tools/setup-tools.sh builds it on first use, as the interop tests do)."""
    venv = ROOT / ".venv-tools"
    proc = subprocess.run([str(ROOT / "tools" / "setup-tools.sh"), str(venv)], capture_output=True,
                          text=True, timeout=900)
    wayback = venv / "bin" / "wayback"
    return wayback if proc.returncode == 0 and wayback.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def serving(db: Path, wayback: Path | None, extra: tuple[str, ...] = ()):
    """`stenogram serve` on a free loopback port; yields (base URL, replay base or None, proc)."""
    port = free_port()
    args = [str(BIN / "stenogram"), "serve", "--db", str(db), "--port", str(port)]
    args += ["--pywb", str(wayback)] if wayback else ["--no-replay"]
    args += list(extra)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    replay = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, _read(log)
            text = _read(log)
            m = re.search(r"replayed by pywb at (\S+)/", text)
            if "serving " in text:
                try:
                    urllib.request.urlopen(base + "/", timeout=3).read()
                    replay = m.group(1) if m else None
                    break
                except OSError:
                    pass
            time.sleep(0.3)
        else:
            raise AssertionError("stenogram serve did not answer within 90 s:\n" + _read(log))
        yield base, replay, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _read(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")
