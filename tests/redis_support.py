"""A real redis-server on loopback for the scale-out tests (fakeredis is not Redis).

``.ci/run`` installs Debian's ``redis-server``; on a developer's machine without it the tests
skip with the reason (``skip_unless_ci``), under CI its absence fails them. The server binds
127.0.0.1 on a free port, keeps its files in the test's tmp folder, writes an append-only file
(so a restart keeps the frontier, as the README's recipe runs it) and is always stopped.
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import skip_unless_ci

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server process: ``start``, ``stop`` (SIGTERM: AOF flushed), ``kill`` (SIGKILL)."""

    def __init__(self, workdir: Path, port: int | None = None, appendonly: bool = True,
                 password: str | None = None, args: tuple[str, ...] = ()):
        """``password``: started with ``requirepass`` (``url`` then has none: a test adds it);
        ``args``: more ``redis-server`` options, e.g. ``("--key-load-delay", "1000")``."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.password = password
        self.args = tuple(args)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> "RedisServer":
        args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "everysec", "--protected-mode", "yes", "--daemonize", "no",
                "--logfile", str(self.workdir / "redis.log"),
                *(["--requirepass", self.password] if self.password else []), *self.args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.process.returncode}: "
                                   f"{(self.workdir / 'redis.log').read_text(errors='replace')[-2000:]}")
            if self._ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{self.port} within {timeout} s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                if self.password:  # one inline command per line (RESP's inline form)
                    s.sendall(f"AUTH {self.password}\r\n".encode())
                    if not s.recv(16).startswith(b"+OK"):
                        return False
                s.sendall(b"PING\r\n")
                # a Redis loading its data answers -LOADING: it is up (and listening)
                return s.recv(64).startswith((b"+PONG", b"-LOADING"))
        except OSError:
            return False

    def stop(self, timeout: float = 10) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> "RedisServer":
        self.stop()
        return self.start()


@pytest.fixture
def redis_server(tmp_path):
    """A fresh redis-server on a free 127.0.0.1 port, stopped after the test."""
    if not Path(REDIS_SERVER).exists():
        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.kill()


# -- what a `crawl --redis` worker left in its --out folder ------------------------------------------

def worker_stat(out: Path, key: str) -> int:
    """A number of the worker's stats dump (its logs end with it), summed over its spiders."""
    total = 0
    for log in (out / "logs").glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if f"'{key}':" in line:
                total += int(line.split(":")[-1].strip().rstrip(",}"))
    return total


def worker_fetches(outs: list[Path], types=("response", "revisit")) -> "Counter":
    """(URL, status) -> records of ``types`` over the workers' WARCs (robots.txt aside: each
    worker reads it for itself, as each process of a single crawl would)."""
    from collections import Counter

    from warcio.archiveiterator import ArchiveIterator

    count: Counter = Counter()
    for out in outs:
        for path in sorted((out / "warc").glob("*.warc.gz")):
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh):
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    if record.rec_type in types and not url.endswith("/robots.txt"):
                        count[(url, record.http_headers.get_statuscode())] += 1
    return count
