"""A real Dask cluster on loopback for the rebuild tests and the rebuild benchmark.

The scheduler and workers are the ``dask scheduler`` / ``dask worker`` commands of the project's
venv (the ``distributed`` package), started as separate processes exactly as the README's recipe
starts them on other machines, bound to 127.0.0.1 (their HTTP servers too: ``--no-dashboard``
alone leaves those on all interfaces), without dashboards. Workers run without a
nanny (``--no-nanny``): a killed worker stays dead, so a test that kills one knows the other
did the rest. Each process has its own process group and is always stopped (SIGTERM, then
SIGKILL), logs in the given folder. Their Dask settings are the README recipe's:
``DASK_CONFIG=tools/dask`` (housekeeping a rebuild never reads, turned down).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stenogram.corpus.serve import stop as stop_processes

DASK = Path(sys.executable).with_name("dask")
DASK_CONFIG = Path(__file__).resolve().parent.parent / "tools" / "dask"


class LocalDaskCluster:
    """``with LocalDaskCluster(folder, workers=2) as cluster:`` → ``cluster.address``."""

    def __init__(self, folder: Path, workers: int = 2, threads: int = 1, timeout: float = 60.0,
                 env: dict | None = None):
        self.folder, self.n_workers, self.threads, self.timeout = Path(folder), workers, threads, timeout
        self.env = {**(os.environ if env is None else env), "DASK_CONFIG": str(DASK_CONFIG)}
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        try:
            return subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.folder, env=self.env)
        finally:
            log.close()

    def start(self) -> "LocalDaskCluster":
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "scheduler.json"
        info.unlink(missing_ok=True)
        self.scheduler = self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                     "--scheduler-file", str(info))
        deadline = time.monotonic() + self.timeout
        while not self.address:
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: {self.log('scheduler')[-2000:]}")
            try:
                self.address = json.loads(info.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        for i in range(self.n_workers):
            self.add_worker(f"w{i}")
        return self

    def add_worker(self, name: str) -> subprocess.Popen:
        proc = self._spawn(name, "worker", self.address, "--name", name, "--host", "127.0.0.1",
                           "--nthreads", str(self.threads), "--no-nanny", "--no-dashboard",
                           "--dashboard-address", "127.0.0.1:0",
                           "--local-directory", str(self.folder / "scratch"),
                           "--death-timeout", str(int(self.timeout)))
        self.workers.append(proc)
        return proc

    def log(self, name: str) -> str:
        try:
            return (self.folder / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def kill_worker(self, index: int) -> int:
        """SIGKILL worker ``index`` (as a lost machine); its pid."""
        proc = self.workers[index]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return proc.pid

    def stop(self) -> None:
        stop_processes([p for p in [*self.workers, self.scheduler] if p is not None])

    def __enter__(self) -> "LocalDaskCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
