"""A `crawl --redis` worker that cannot use its Redis stops with one line and exit 1 (issue 26, 5).

Real ``redis-server`` processes on loopback (tests/redis_support.py), never a stand-in:

* one with ``requirepass`` (as a shared Redis should run): the worker's URL without the password
  gets ``NOAUTH``, with a wrong one ``WRONGPASS``. Neither is an outage (waiting never fixes a
  credential), so the worker must not retry: before, it retried for ever with no output, since
  every reconnect reset the outage clock and redis-py's ``AuthenticationError`` is a
  ``ConnectionError`` that the client was told to retry;
* one replaying a long dataset at start-up (``key-load-delay``, a ``redis-server`` option, slows
  the load down; ``loading-process-events-interval-bytes`` at its minimum keeps it answering):
  Redis accepts connections and answers the handshake (its ``CLIENT`` and ``AUTH`` commands are
  allowed while loading) but every other command gets ``-LOADING Redis is loading the dataset in
  memory`` (Redis ``server.c``, ``shared.loadingerr``). A TCP connect and a handshake are not an
  answer: the outage budget (``STENOGRAM_REDIS_RETRY_FOR``) runs on and the worker stops when it
  is spent, where before each reconnect started the budget again.

The password never appears in what the worker prints (``redact``).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from redis_support import REDIS_SERVER, RedisServer, free_port
from conftest import VENV_BIN, skip_unless_ci

PASSWORD = "s3cret-worker-pass"


@pytest.fixture
def locked_redis(tmp_path):
    if not Path(REDIS_SERVER).exists():
        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    server = RedisServer(tmp_path / "redis", password=PASSWORD).start()
    try:
        yield server
    finally:
        server.kill()


def worker(url: str, out: Path, retry_for: float, timeout: float = 120) -> subprocess.CompletedProcess:
    """A `stenogram crawl --redis` worker of one source whose site is a closed loopback port (it
    must stop before crawling; if it did not, it would reach nothing)."""
    cmd = [str(VENV_BIN / "stenogram"), "crawl", "mid", "--loopback", "--no-progress",
           "--base-url", f"mid=http://127.0.0.1:{free_port()}", "--out", str(out), "--redis", url,
           "-s", f"STENOGRAM_REDIS_RETRY_FOR={retry_for}"]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the worker was still retrying after {timeout} s (budget {retry_for} s): "
                    f"{(exc.stderr or b'')[-1000:]!r}")


def connections_received(server: RedisServer) -> int:
    import redis

    r = redis.Redis(port=server.port, password=server.password, decode_responses=True)
    try:
        return int(r.info("stats")["total_connections_received"])
    finally:
        r.close()


@pytest.mark.network
@pytest.mark.parametrize("credentials", ["", f":wrong-{PASSWORD}@"], ids=["no-password", "wrong-password"])
def test_a_worker_refused_by_redis_stops_at_once_with_one_line(locked_redis, tmp_path, credentials):
    url = f"redis://{credentials}127.0.0.1:{locked_redis.port}/0"
    before = connections_received(locked_redis)
    # a budget far longer than the test's timeout: only "not retried" can end it in time
    proc = worker(url, tmp_path / "out", retry_for=3600, timeout=90)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "refused the credentials" in lines[0] and f"127.0.0.1:{locked_redis.port}" in lines[0]
    assert ("Authentication required" if not credentials else "invalid username-password") in lines[0]
    assert PASSWORD not in proc.stdout + proc.stderr  # the wrong password is redacted too
    # refused once, not retried: the worker opened a connection or two, not one per backoff step
    assert connections_received(locked_redis) - before <= 2
    assert not (tmp_path / "out").exists()  # it stopped before creating anything


@pytest.mark.network
def test_the_right_password_is_accepted(locked_redis):
    from stenogram.crawler.redis_frontier import RedisFrontier, ping

    url = f"redis://:{PASSWORD}@127.0.0.1:{locked_redis.port}/0"
    ping(url, retry_for=5)
    frontier = RedisFrontier(url, prefix="auth", retry_for=5)
    assert frontier.count("mid") == 0


@pytest.fixture
def loading_redis(tmp_path):
    """A redis-server that keeps loading its dump for minutes: 400 keys of 4 KiB random bytes
    (incompressible, so each key is more than ``loading-process-events-interval-bytes`` and Redis
    answers between keys), each loaded 0.5 s late."""
    if not Path(REDIS_SERVER).exists():
        skip_unless_ci("redis-server is not installed (.ci/run installs Debian's redis-server)")
    import redis

    folder = tmp_path / "redis"
    server = RedisServer(folder, appendonly=False).start()
    try:
        r = redis.Redis(port=server.port)
        pipe = r.pipeline(transaction=False)
        for n in range(400):
            pipe.set(f"key:{n}", os.urandom(4096))
        pipe.execute()
        r.save()
        r.close()
    finally:
        server.stop()
    server = RedisServer(folder, port=server.port, appendonly=False,
                         args=("--key-load-delay", "500000",
                               "--loading-process-events-interval-bytes", "1024")).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.network
def test_reconnecting_to_a_redis_that_serves_nothing_does_not_restart_the_outage(loading_redis, tmp_path):
    import socket

    with socket.create_connection(("127.0.0.1", loading_redis.port), timeout=30) as probe:
        probe.sendall(b"PING\r\n")  # one inline command, no client-side retries
        assert probe.recv(64).startswith(b"-LOADING")  # the server really is loading
    url = loading_redis.url
    proc = worker(url, tmp_path / "out", retry_for=3, timeout=90)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert url in lines[0] and "loading" in lines[0].lower(), lines[0]
    # and it was a real outage, retried with backoff over the budget, not a refusal
    assert connections_received(loading_redis) > 3
