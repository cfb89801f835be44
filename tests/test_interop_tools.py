"""The archivists' own tools accept our files: warcio check, cdxj-indexer, wacz validate, pywb.

pywb and py-wacz live in ``.venv-tools`` (tools/setup-tools.sh, pinned in
tools/requirements-tools.txt), built on first use. pywb listens on 127.0.0.1 only, on a free
port, and is killed at the end of the test; every wait is bounded.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stenogram.archive.cli import rebuild_cdxj
from stenogram.archive.reader import iter_captures
from stenogram.archive.wacz import build_wacz
from stenogram.corpus.serve import stop  # SIGTERM each process group, SIGKILL what lingers
from conftest import skip_unless_ci
from test_reader import EN_TEXT, EN_URL, RU_TEXT, RU_URL, make_sample_warc

ROOT = Path(__file__).resolve().parents[1]
MAIN_BIN = Path(sys.executable).parent
TOOLS_VENV = ROOT / ".venv-tools"


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """The tool venv's bin/, built by tools/setup-tools.sh when missing or stale."""
    try:
        proc = subprocess.run([str(ROOT / "tools" / "setup-tools.sh"), str(TOOLS_VENV)],
                              capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        skip_unless_ci("tools venv could not be built: tools/setup-tools.sh timed out")
    if proc.returncode != 0:
        skip_unless_ci(f"tools venv could not be built: {proc.stderr.strip()[-500:]}")
    return TOOLS_VENV / "bin"


def run(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def sample_warc(tmp_path) -> Path:
    path = tmp_path / "warc" / "sample-00000.warc.gz"
    path.parent.mkdir()
    make_sample_warc(path)
    return path


@pytest.fixture
def writer_warc(tmp_path) -> Path | None:
    """A WARC written by our own archive.warc_writer (gzip + windows-1251 pages)."""
    writer_mod = pytest.importorskip("stenogram.archive.warc_writer")
    from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
    import gzip

    from test_reader import html_page

    d = tmp_path / "ours"
    writer = writer_mod.WarcWriter(d, prefix="interop", salvage=False)
    en = gzip.compress(html_page("Remarks", EN_TEXT).encode())
    writer.write_exchange(
        ArchivedRequest(EN_URL),
        ArchivedResponse(EN_URL, 200, [("Content-Type", "text/html; charset=UTF-8"),
                                       ("Content-Encoding", "gzip"),
                                       ("Content-Length", str(len(en)))], en),
        date="2024-04-12T15:38:00Z")
    ru = html_page("Лавров", RU_TEXT, "windows-1251").encode("cp1251")
    writer.write_exchange(
        ArchivedRequest(RU_URL),
        ArchivedResponse(RU_URL, 200, [("Content-Type", "text/html; charset=windows-1251"),
                                       ("Transfer-Encoding", "chunked")], ru),
        date="2024-04-12T15:39:00Z")
    writer.close()
    (path,) = writer.files_written
    return Path(path)


def test_warcio_check_accepts_both(tools_bin, sample_warc, writer_warc):
    # The tools venv's warcio: `warcio check` decodes every payload, and warcio 1.8.1 can only
    # decode brotli with brotlipy (the tools venv has it); with the main venv's brotli 1.2.1
    # it crashes on the sample's "br" response (reported upstream of this package).
    for warc in (sample_warc, writer_warc):
        proc = run([tools_bin / "warcio", "check", "-v", warc])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "digest pass" in proc.stdout and "digest fail" not in proc.stdout
    proc = run([MAIN_BIN / "warcio", "check", "-v", writer_warc])  # no brotli inside
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cdxj_indexer_agrees_with_live_and_rebuilt_index(writer_warc):
    live = writer_warc.with_name(writer_warc.name[: -len(".warc.gz")] + ".cdxj")
    live_bytes = live.read_bytes()
    live_lines = live.read_text().splitlines()
    assert live_lines == sorted(live_lines)  # EN (ru,mid) was written before RU (ru,interaffairs)
    proc = run([MAIN_BIN / "cdxj-indexer", "--sort", writer_warc])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == live_lines
    rebuilt = rebuild_cdxj(writer_warc)
    assert rebuilt == live
    assert rebuilt.read_bytes() == live_bytes
    # and our reader gets the pages back from our writer's file
    bodies = {c.url: c.body for c in iter_captures([writer_warc])}
    assert EN_TEXT.encode() in bodies[EN_URL]
    assert RU_TEXT in bodies[RU_URL].decode("cp1251")


def test_wacz_validate(tools_bin, sample_warc, writer_warc, tmp_path):
    for warcs in ([sample_warc], [writer_warc]):
        out = tmp_path / f"{warcs[0].stem}.wacz"
        build_wacz(warcs, out, title="interop")
        proc = run([tools_bin / "wacz", "validate", "-f", out])
        assert proc.returncode == 0 and "Validation succeeded" in proc.stdout, proc.stdout + proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def wayback(tools_bin, tmp_path):
    """pywb on 127.0.0.1:<free port> serving ./collections under tmp_path/pywb."""
    home = tmp_path / "pywb"
    home.mkdir()
    started: list[subprocess.Popen] = []

    def start(collections: dict[str, list[Path]]) -> str:
        for coll, files in collections.items():
            proc = run([tools_bin / "wb-manager", "init", coll], cwd=home)
            assert proc.returncode == 0, proc.stderr
            unpack = ["--unpack-wacz"] if any(f.suffix == ".wacz" for f in files) else []
            proc = run([tools_bin / "wb-manager", "add", *unpack, coll, *files], cwd=home)
            assert proc.returncode == 0, proc.stderr
        proc, base = start_wayback(tools_bin, home)
        started.append(proc)
        return base

    yield start
    stop(started)


def start_wayback(tools: Path, home: Path) -> tuple[subprocess.Popen, str]:
    """pywb's ``wayback`` serving ``home``'s collections on a free loopback port, once it
    answers: the process (its own process group, for :func:`stop`) and its base URL."""
    port = free_port()
    log = open(home / "wayback.log", "wb")
    proc = subprocess.Popen([str(tools / "wayback"), "-b", "127.0.0.1", "-p", str(port)], cwd=home,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"wayback exited: {(home / 'wayback.log').read_text()[-2000:]}")
        try:
            fetch(base + "/", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.3)
    stop([proc])
    pytest.fail("wayback did not answer within 60 s")


def page_text(headers: dict, body: bytes) -> str:
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    charset = ctype.split("charset=")[-1].strip() if "charset=" in ctype else "utf-8"
    return body.decode(charset, errors="replace")


def test_pywb_replays_gzip_and_windows_1251_pages(wayback, sample_warc, writer_warc, tmp_path):
    wacz = tmp_path / "sample.wacz"
    build_wacz([sample_warc], wacz)
    base = wayback({"sample": [sample_warc], "ours": [writer_warc], "packaged": [wacz]})
    for coll in ("sample", "ours", "packaged"):
        status, headers, body = fetch(f"{base}/{coll}/20240412153800mp_/{EN_URL}")
        assert status == 200, (coll, body[:500])
        assert EN_TEXT in page_text(headers, body).replace("&#x27;", "'").replace("&#39;", "'"), coll
        status, headers, body = fetch(f"{base}/{coll}/20240412153900mp_/{RU_URL}")
        assert status == 200, (coll, body[:500])
        assert RU_TEXT in page_text(headers, body), coll


def test_pywb_replays_live_indexes_and_a_page_after_a_recrawl_304(wayback, tools_bin, tmp_path):
    """A first crawl, then a re-crawl answered 304 Not Modified, each in its own WARC with the
    live .cdxj stenogram wrote beside it, dropped as they are into a pywb collection's
    archive/ and indexes/ (no reindexing). The 304 is a WARC 1.1 ``server-not-modified``
    revisit holding the 304's own head: ``warcio check`` passes, cdxj-indexer indexes it with
    status 304 exactly as the live index did, every URL replays its page from the 200, and at
    the re-check's own time pywb 2.10 serves what the record says happened, a 304 with no body
    (``WARCPathLoader.load_resource`` takes a revisit's own HTTP head when it has one and the
    original's payload; ``WbResponse`` sends no body for a 304), naming the re-check's time."""
    import gzip
    import json
    import shutil

    from stenogram.archive.digests import DigestIndex
    from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
    from stenogram.archive.warc_writer import WarcWriter
    from test_reader import html_page

    d = tmp_path / "warc"
    d.mkdir()
    index = DigestIndex.in_directory(d)
    # URLs written in an order far from their SURT order: an unsorted index loses most of them
    urls = [f"http://127.0.0.{1 + i % 3}:8001/news/{900 - 37 * i}/" for i in range(12)]
    pages = {u: gzip.compress(html_page(f"Remarks {i}", f"{EN_TEXT} ({i})").encode(), mtime=0)
             for i, u in enumerate(urls)}
    html = [("Content-Type", "text/html; charset=UTF-8"), ("Content-Encoding", "gzip"),
            ("ETag", '"v1"')]
    first = WarcWriter(d, "first", digest_index=index, salvage=False)
    for i, url in enumerate(urls):
        first.write_exchange(ArchivedRequest(url), ArchivedResponse(
            url, 200, html + [("Content-Length", str(len(pages[url])))], pages[url]),
            date=f"2024-04-12T15:{i:02d}:00Z")
    first.close()
    second = WarcWriter(d, "second", digest_index=index, salvage=False)
    recrawled = urls[5]
    second.write_revisit(
        ArchivedRequest(recrawled, headers=[("If-None-Match", '"v1"')]),
        ArchivedResponse(recrawled, 304, [("ETag", '"v1"'), ("Date", "Mon, 01 May 2024 00:00:00 GMT")]),
        index.latest_for_uri(recrawled), date="2024-05-01T00:00:00Z")
    second.close()
    index.close()
    (recheck,) = second.files_written
    proc = run([tools_bin / "warcio", "check", "-v", recheck])
    assert proc.returncode == 0 and "digest pass" in proc.stdout, proc.stdout + proc.stderr
    live_line = Path(recheck[: -len(".warc.gz")] + ".cdxj").read_text().splitlines()
    proc = run([MAIN_BIN / "cdxj-indexer", recheck])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == live_line
    (line,) = live_line
    fields = json.loads(line.split(" ", 2)[2])
    assert fields["mime"] == "warc/revisit" and fields["status"] == "304"

    home = tmp_path / "pywb"  # the wayback fixture's
    assert run([tools_bin / "wb-manager", "init", "live"], cwd=home).returncode == 0
    coll = home / "collections" / "live"
    for warc in d.glob("*.warc.gz"):
        shutil.copy(warc, coll / "archive")
        shutil.copy(warc.with_name(warc.name[: -len(".warc.gz")] + ".cdxj"), coll / "indexes")
    base = wayback({})
    for i, url in enumerate(urls):
        status, headers, body = fetch(f"{base}/live/20240412150000mp_/{url}")
        assert status == 200, (url, body[:300])
        assert f"({i})" in page_text(headers, body), url
    # the page the 304 re-checked replays from its 200 ...
    status, headers, body = fetch(f"{base}/live/20240412150500mp_/{recrawled}")
    assert status == 200 and "(5)" in page_text(headers, body), body[:300]
    # ... and the re-check itself is a memento of its own time, served as the 304 it was
    status, headers, body = fetch(f"{base}/live/20240501000000mp_/{recrawled}")
    assert status == 304 and body == b"", (status, body[:300])
    assert "01 May 2024" in headers.get("Memento-Datetime", "")
    status, _, timemap = fetch(f"{base}/live/timemap/link/{recrawled}")
    assert status == 200 and b"20240501000000" in timemap and b"20240412150500" in timemap
