"""Data from elsewhere is data, never code, and never allowed to be large.

* a corpus file is untrusted: SQL stored in ``corpus_meta.fts_deferred`` used to be executed
  when the corpus was opened (a crafted file made ``stenogram diff`` run it);
* a WARC is untrusted: a 2 MB gzip bomb made ``reprocess`` reach 6.4 GB; now payloads are
  decoded in bounded steps and a record past the cap is a counted ``too-large`` skip;
* a page is untrusted: titles and URLs reach rich, which reads ``[...]`` as markup (a title with
  ``[/bold]`` crashed the crawl report).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from types import SimpleNamespace

import brotli
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st
from rich.console import Console
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stenogram.archive.reader import (ReadStats, TooLargeError, decode_content, iter_captures,
                            warc_damage)
from stenogram.corpus.schema import COUNT_TRIGGERS, FTS_DEFERRED_FLAG, FTS_TRIGGERS
from stenogram.corpus.store import Corpus
from stenogram.cli import cli
from stenogram.report import CrawlSummary, SourceLine, print_summary

MIB = 1024 * 1024
PAGE = (b"<html><head><title>Remarks, Minsk</title></head><body><div class='text article-content'>"
        b"<p>Foreign Minister Sergey Lavrov: Thank you. Question: what about the talks?</p>"
        b"</div></body></html>")


# ------------------------------------------------------------------ a crafted corpus.db

def _capture(url: str, body: bytes, record_id: str):
    from stenogram.archive.capture import Capture, WarcLocation

    return Capture(url=url, fetched_at="2024-04-12T15:38:00Z", http_status=200,
                   content_type="text/html", body=body, source="mid",
                   location=WarcLocation("x.warc.gz", 0, 1, record_id, None))


def _corpus_with_one_document(path: Path) -> None:
    text = ("Foreign Minister Sergey Lavrov's remarks and answers to media questions. "
            "Question: Thank you. Sergey Lavrov: The talks were useful. ") * 20
    transcript = {"title": "Remarks", "date": "2024-04-12", "language": "en", "text": text,
                  "paragraphs": [text], "turns": [], "participants": [], "is_transcript": True,
                  "source": "mid", "kind": "transcript", "place": "Minsk"}
    with Corpus(path) as corpus:
        corpus.ingest(_capture("https://mid.ru/en/1/", PAGE, "<urn:uuid:1>"), transcript)


PAYLOADS = [
    "CREATE TABLE pwned (x)",
    "CREATE TRIGGER evil AFTER INSERT ON captures BEGIN DELETE FROM documents; END",
    "ATTACH DATABASE '{tmp}/pwned.db' AS pwned",
    "VACUUM INTO '{tmp}/pwned.db'",
]


def _craft(path: Path, sql: str) -> None:
    """What an attacker can do with a corpus file: drop the FTS triggers and store SQL."""
    conn = sqlite3.connect(path)
    for name in FTS_TRIGGERS:
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    conn.execute("INSERT OR REPLACE INTO corpus_meta (key, value) VALUES ('fts_deferred', ?)",
                 (json.dumps({"documents_ai": sql, "documents_ad": sql, "documents_au": sql}),))
    conn.commit()
    conn.close()


def _triggers(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    finally:
        conn.close()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_stored_sql_in_fts_deferred_is_never_executed(tmp_path, payload):
    db = tmp_path / "corpus.db"
    _corpus_with_one_document(db)
    _craft(db, payload.format(tmp=tmp_path))
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    before = sorted(p.name for p in tmp_path.iterdir())

    # reading commands: open read-only, run nothing, change nothing, create nothing
    runner = CliRunner()
    for args in (["diff", "--db", str(db), "1"], ["export", "--db", str(db)]):
        result = runner.invoke(cli, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    # the writer finishes the "interrupted" bulk load with triggers from code, not the file's
    with Corpus(db) as corpus:
        assert not corpus.fts_deferred
        hits = corpus.conn.execute(
            "SELECT rowid FROM documents_fts WHERE documents_fts MATCH 'talks'").fetchall()
    assert hits == [(1,)]
    assert _triggers(db) == {**FTS_TRIGGERS, **COUNT_TRIGGERS}  # exactly ours: no "evil", none missing
    conn = sqlite3.connect(db)
    assert "pwned" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert not (tmp_path / "pwned.db").exists()


def test_defer_fts_stores_a_flag_not_sql(tmp_path):
    db = tmp_path / "corpus.db"
    _corpus_with_one_document(db)
    with Corpus(db) as corpus:
        assert corpus.defer_fts()
        value = corpus.conn.execute(
            "SELECT value FROM corpus_meta WHERE key = 'fts_deferred'").fetchone()[0]
        assert value == FTS_DEFERRED_FLAG
        assert _triggers(db) == COUNT_TRIGGERS  # the FTS ones dropped, the aggregate's kept
        corpus.resume_fts()
    assert _triggers(db) == {**FTS_TRIGGERS, **COUNT_TRIGGERS}


# ------------------------------------------------------------------ gzip bombs

def _zeros_gz(n: int, *, member_header: bytes = b"", trailer: bytes = b"") -> bytes:
    """gzip of header + n zero bytes + trailer, compressed in steps (never n bytes in memory)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [c.compress(member_header)]
    block = bytes(MIB)
    for _ in range(n // MIB):
        out.append(c.compress(block))
    out.append(c.compress(bytes(n % MIB)))
    out.append(c.compress(trailer))
    out.append(c.flush())
    return b"".join(out)


def _normal_record(url: str) -> bytes:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True, warc_version="1.1")
    w.write_record(w.create_warc_record(
        url, "response", payload=io.BytesIO(PAGE), length=len(PAGE),
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": "2024-04-12T15:40:00Z"}))
    return buf.getvalue()


def _member_bomb(url: str, n: int) -> bytes:
    """One WARC record (one gzip member) whose payload is n zero bytes: ~n/1000 on disk."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\n"
            f"WARC-Date: 2024-04-12T15:38:00Z\r\nWARC-Record-ID: <urn:uuid:{hashlib.md5(url.encode()).hexdigest()}>\r\n"
            f"Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http) + n}\r\n\r\n").encode()
    return _zeros_gz(n, member_header=head + http, trailer=b"\r\n\r\n")


def _encoding_bomb(url: str, n: int) -> bytes:
    """An ordinary WARC record whose HTTP body is gzip of n zero bytes (Content-Encoding: gzip)."""
    body = _zeros_gz(n)
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True, warc_version="1.1")
    w.write_record(w.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body),
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html"),
                                                 ("Content-Encoding", "gzip")], protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": "2024-04-12T15:39:00Z"}))
    return buf.getvalue()


def bomb_warc(path: Path, n: int) -> Path:
    """A WARC: a member bomb, a content-encoding bomb, then a normal page (reading must go on)."""
    path.write_bytes(_member_bomb("https://mid.ru/bomb-member", n)
                     + _encoding_bomb("https://mid.ru/bomb-encoding", n)
                     + _normal_record("https://mid.ru/after-the-bombs"))
    return path


def test_bombs_are_skipped_with_a_reason_in_bounded_memory(tmp_path):
    n = 64 * MIB
    warc = bomb_warc(tmp_path / "bombs.warc.gz", n)
    assert warc.stat().st_size < MIB // 4  # ~1000:1, like the 2 MB bomb of the report
    cap = 2 * MIB
    stats = ReadStats()
    tracemalloc.start()
    try:
        urls = [c.url for c in iter_captures(warc, stats, max_decoded=cap)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert urls == ["https://mid.ru/after-the-bombs"]
    assert stats.skipped["too-large"] == 2, stats.to_dict()
    # the payload read up to the cap, plus warcio's inflated read block (~4 MiB) and copies
    assert peak < 4 * cap + 16 * MIB, f"peak {peak / MIB:.1f} MiB for {n // MIB} MiB bombs"
    print(f"reader peak (tracemalloc) on 2 x {n // MIB} MiB bombs at a {cap // MIB} MiB cap: "
          f"{peak / MIB:.1f} MiB")
    assert warc_damage(warc, max_decoded=cap) is None  # large is not damaged


def test_a_header_line_bomb_is_cut_and_skipped_as_corrupt(tmp_path):
    """warcio reads header lines whole: a member inflating to 64 MiB without a newline."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = [c.compress(b"WARC/1.1\r\nWARC-Type: response\r\nX-Bomb: ")]
    bomb += [c.compress(b"a" * MIB) for _ in range(64)] + [c.flush()]
    warc = tmp_path / "line.warc.gz"
    warc.write_bytes(_normal_record("https://mid.ru/before") + b"".join(bomb)
                     + _normal_record("https://mid.ru/after"))
    stats = ReadStats()
    tracemalloc.start()
    try:
        urls = [c.url for c in iter_captures(warc, stats)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert urls == ["https://mid.ru/before", "https://mid.ru/after"]
    assert stats.skipped["corrupt"] == 1
    assert peak < 32 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, gzip"])
def test_decode_content_stops_at_the_cap(coding):
    n, cap = 32 * MIB, 2 * MIB
    if coding == "gzip":
        data = _zeros_gz(n)
    elif coding == "deflate":
        data = zlib.compress(bytes(n), 9)
    elif coding == "br":
        data = brotli.compress(bytes(n), quality=5)
    else:  # a bomb inside a bomb: the outer layer alone is small
        data = gzip.compress(_zeros_gz(n))
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="cap"):
            decode_content(data, coding, max_decoded=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(data) + 4 * cap
    assert decode_content(data, coding, max_decoded=n) == bytes(n)  # at the cap: decoded whole


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_reprocess_of_a_bomb_stays_small_at_the_default_cap(tmp_path):
    """The real command at its default 64 MiB cap on 128 MiB bombs: max RSS of the process
    (unbounded, the payload alone and its joined copy were 256 MiB, over a ~140 MiB baseline)."""
    warc = bomb_warc(tmp_path / "bombs.warc.gz", 128 * MIB)
    db = tmp_path / "corpus.db"
    # VmHWM, the peak RSS of this process image: getrusage's ru_maxrss survives exec and so
    # includes the pytest process the child was forked from (444 MiB in a full-suite run).
    code = ("import sys\nfrom stenogram.cli import cli\n"
            "try:\n    cli.main(sys.argv[1:])\n"
            "finally:\n    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
            "    print('maxrss_kib', hwm[0].split()[1], file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code, "reprocess", "--db", str(db),
                           "--workers", "1", str(warc)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rss_mib = int(proc.stderr.split("maxrss_kib")[-1].split()[0]) / 1024
    assert rss_mib < 300, f"reprocess peaked at {rss_mib:.0f} MiB on 2 x 128 MiB bombs"
    print(f"reprocess max RSS on 2 x 128 MiB bombs at the 64 MiB cap: {rss_mib:.0f} MiB")
    assert proc.stderr.count("too-large") == 2
    assert ": 1 captures read" in proc.stdout  # the page after the bombs


# ------------------------------------------------------------------ markup from pages

HOSTILE = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["[/bold]", "[bold]", "[red]", "]", "[", "\\", "[/]", "[link=file:///etc/passwd]x",
                              "[@click=app.quit]", ":smile:", "Лавров", "%s", "{0}", "\\[", "\\"]),
             max_size=8).map("".join),
)


def _render(title: str, url: str, crawl_id: str = "c1", finish: str = "finished") -> str:
    summary = CrawlSummary(sources=[SourceLine("mid", 1, 1, 0, 0, finish)],
                           edited=[{"document_id": 7, "title": title, "url": url}])
    result = SimpleNamespace(crawl_id=crawl_id, warc_dir=Path("/data/[bold]warc"),
                             db_path=Path("/data/corpus[/].db"))
    buf = io.StringIO()
    print_summary(summary, result, Console(file=buf, width=100_000, color_system=None))
    return buf.getvalue()


@given(title=HOSTILE, url=HOSTILE, crawl_id=HOSTILE)
@settings(max_examples=100, deadline=None)
def test_report_prints_hostile_titles_and_urls_verbatim(title, url, crawl_id):
    out = _render(title, f"https://mid.ru/{url}", crawl_id)
    assert repr(title) in out  # printed as data, not interpreted
    assert "/data/[bold]warc" in out and "/data/corpus[/].db" in out


def test_the_reported_title_that_crashed_the_report():
    title = "Lavrov: [/bold] answers [bold]to[/] questions"
    assert repr(title) in _render(title, "https://mid.ru/en/[/bold]")
