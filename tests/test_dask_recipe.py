"""The scale-out guide's Dask recipe listens on the interface it names, and nowhere else (issue 26, item 5).

A Dask scheduler runs whatever a client that reaches it submits, so where it listens is the whole
of its security on a network without TLS. ``dask scheduler --no-dashboard`` still starts its HTTP
server (health, metrics and the routes of ``distributed.scheduler.http.routes``) on the dashboard
address, ``:8787`` (all interfaces) by default, and every ``dask worker`` its own on ``:0``; only
``--dashboard-address HOST:PORT`` moves them (dask/distributed issues 5634, 6301, 7207). So the
recipe's ``--host 127.0.0.1 --no-dashboard`` alone still listened on 0.0.0.0.

The test runs the recipe's own ``dask scheduler`` and ``dask worker`` lines, read from docs/guide/scale-out.md
(ports made free, one worker process: its nanny and the worker it starts), and the test cluster
of tests/dask_support.py, and reads every listening TCP socket of their processes from
``/proc/net/tcp`` and ``/proc/net/tcp6`` (a socket is ``socket:[inode]`` among ``/proc/PID/fd``;
``st`` 0A is LISTEN; the local address is hex, little-endian for IPv4, proc(5)).
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dask_support import DASK, DASK_CONFIG, LocalDaskCluster
from redis_support import free_port

ROOT = Path(__file__).resolve().parent.parent
LISTEN = "0A"
LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1 as /proc shows them

pytestmark = [pytest.mark.network, pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                      reason="reads /proc")]


def recipe_lines() -> tuple[str, str]:
    """The ``dask scheduler`` and ``dask worker`` command lines of the scale-out guide's Dask recipe."""
    text = (ROOT / "docs" / "guide" / "scale-out.md").read_text(encoding="utf-8")
    section = text[text.index("## Rebuilds on a Dask cluster"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    scheduler = next(c for c in commands if c.startswith(".venv/bin/dask scheduler"))
    worker = next(c for c in commands if c.startswith(".venv/bin/dask worker"))
    return scheduler, worker


def session_pids(leaders: list[int]) -> set[int]:
    """Every live process in the sessions the ``leaders`` started (a nanny's workers too)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # after "(comm)": state ppid pgrp session
            if int(fields[3]) in leaders:
                pids.add(int(entry.name))
    return pids


def listening(pids: set[int]) -> list[tuple[str, int, int]]:
    """(local address in /proc's hex, port, pid) of each listening TCP socket of ``pids``."""
    owner = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owner[int(target[8:-1])] = pid
        except OSError:  # a process that ended meanwhile
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == LISTEN and int(fields[9]) in owner:
                found.append((address, int(port, 16), owner[int(fields[9])]))
    return found


def wait_for_worker(address: str, timeout: float = 120) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(1, timeout=timeout)


def test_the_readme_recipe_listens_only_on_its_named_interface(tmp_path):
    from stenogram.corpus.serve import stop as stop_processes

    scheduler_line, worker_line = recipe_lines()
    port, dashboard = free_port(), free_port()
    env = {**os.environ, "DASK_CONFIG": str(DASK_CONFIG)}

    def start(line: str, name: str) -> subprocess.Popen:
        line = line.replace("8786", str(port)).replace("8787", str(dashboard)).replace("$(nproc)", "1")
        args = shlex.split(line)
        assert args[0] == ".venv/bin/dask", line
        with open(tmp_path / f"{name}.log", "wb") as log:
            return subprocess.Popen([str(DASK), *args[1:]], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path, env=env)

    assert "--dashboard-address" in scheduler_line and "--dashboard-address" in worker_line
    procs = [start(scheduler_line, "scheduler")]
    try:
        host = re.search(r"--host (\S+)", scheduler_line)[1]
        deadline = time.monotonic() + 60
        while True:  # the scheduler listens before a worker may join
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and procs[0].poll() is None, \
                    (tmp_path / "scheduler.log").read_text()[-2000:]
                time.sleep(0.2)
        procs.append(start(worker_line, "worker"))
        wait_for_worker(f"tcp://{host}:{port}")
        pids = session_pids([p.pid for p in procs])
        sockets = listening(pids)
        assert len(pids) >= 3  # the scheduler, the worker's nanny, the worker it started
        assert {port, dashboard} <= {p for _a, p, _pid in sockets}, sockets
        assert len({pid for _a, _p, pid in sockets}) >= 3, sockets  # the three listen, each...
        assert [s for s in sockets if s[0] not in LOOPBACK] == [], sockets  # ...on loopback only
    finally:
        stop_processes(procs)


def test_the_test_cluster_listens_only_on_loopback(tmp_path):
    """tests/dask_support.py's cluster (the rebuild tests' and bench's) is the recipe on 127.0.0.1."""
    with LocalDaskCluster(tmp_path, workers=1) as cluster:
        wait_for_worker(cluster.address)
        sockets = listening(session_pids([cluster.scheduler.pid, *(w.pid for w in cluster.workers)]))
        assert len(sockets) >= 4, sockets  # scheduler and worker: their comm and HTTP servers
        assert [s for s in sockets if s[0] not in LOOPBACK] == [], sockets
