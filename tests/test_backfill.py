"""``stenogram backfill`` against a real pywb on loopback, standing in for the Wayback Machine.

One module-wide world (pywb starts in seconds; the collection is built once): the sample site
is crawled by the project itself, the WARCs are re-dated to 2019 (the archive's "original
capture times") and become a pywb collection served by ``wayback`` on a free loopback port.
Then, on the live sample site, one transcript is silently edited and one page removed (404).

pywb answers the CDX API as JSON lines and has no resume keys; :class:`ArchiveProxy`, a small
loopback front, answers as the Wayback Machine does (a JSON array with a header row, paged with
``showResumeKey``/``resumeKey``: the opaque, already encoded keys of the Wayback CDX server
stand-in, tests/wayback_cdx.py), records every request, and can refuse with a 429 storm.
"""
from __future__ import annotations

import gzip
import json
import random
import re
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import VENV_BIN, LoopbackHandler, crawl_args, stenogram_cmd
from stenogram.corpus.serve import stop  # SIGTERM each process group, SIGKILL what lingers
from test_interop_tools import run, start_wayback, tools_bin  # noqa: F401  (tools_bin: a fixture)
from wayback_cdx import CdxLine, WaybackStandIn

pytestmark = [pytest.mark.network, pytest.mark.slow]
SOURCES = ("mid", "mid_archive", "mid_domino", "globalsecurity", "interaffairs")
#: the runs through the Wayback-form front (paging, --list, kills, 429s): fewer pages, faster
FRONT_SOURCES = ("mid", "mid_archive")
#: the archive's first capture is dated here; each second of the crawl is ten minutes of it
EPOCH = datetime(2019, 6, 1, 10, 0, 0, tzinfo=timezone.utc)
SCALE = 600
COLL = "history"


# -- the collection -------------------------------------------------------------------------

def parse_warc_date(text: str) -> datetime:
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)


def warc_date_text(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def archive_time(crawled: datetime, first: datetime) -> datetime:
    """When the archive "captured" what the crawl fetched at ``crawled``."""
    return EPOCH + (crawled - first) * SCALE


def redate_warc(src: Path, dst: Path, first: datetime) -> None:
    """Copy a WARC (one gzip member per record) with every WARC-Date moved to its archive time.

    Only the WARC-Date header lines change; record blocks, and so their digests, are untouched.
    """
    data, out = src.read_bytes(), []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        record = d.decompress(data)
        data = d.unused_data
        head, sep, rest = record.partition(b"\r\n\r\n")
        head = re.sub(rb"(?m)^WARC-Date: (\S+)\r?$",
                      lambda m: b"WARC-Date: " + warc_date_text(
                          archive_time(parse_warc_date(m[1].decode()), first)).encode() + b"\r", head)
        out.append(gzip.compress(head + sep + rest, mtime=0))
    dst.write_bytes(b"".join(out))


def first_response_date(warcs: list[Path]) -> datetime:
    dates = []
    for warc in warcs:
        with gzip.open(warc, "rb") as fh:
            text = fh.read().decode("latin-1")
        dates += [parse_warc_date(m) for m in re.findall(r"WARC-Type: response\r\n(?:.*\r\n)*?WARC-Date: (\S+)", text)]
    return min(dates)


# -- a Wayback-form front for pywb, with a 429 storm ----------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ArchiveProxy:
    """Loopback front of pywb: CDX answers in the Wayback Machine's form (JSON array, header
    row, resume keys), everything else passed through as pywb answered; ``storm_after`` makes
    every ``id_`` request after that many answer 429 with ``Retry-After: 1``."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.storm_after: int | None = None
        self.requests: list[tuple[float, str, int]] = []
        self.lock = threading.Lock()
        self.opener = urllib.request.build_opener(_NoRedirect)
        proxy = self

        class Handler(LoopbackHandler):
            def do_GET(self):
                status, headers, body = proxy.answer(self.path)
                with proxy.lock:
                    proxy.requests.append((time.monotonic(), self.path, status))
                self._send(status, body, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def id_requests(self) -> list[tuple[float, str, int]]:
        with self.lock:
            return [r for r in self.requests if "id_/" in r[1]]

    def answer(self, path: str):
        if urllib.parse.urlsplit(path).path.endswith("/cdx"):
            return self.cdx(path)
        if "id_/" in path and self.storm_after is not None and len(self.id_requests()) >= self.storm_after:
            return 429, [("Retry-After", "1"), ("Content-Type", "text/plain")], b"Too Many Requests"
        return self.forward(path)

    def forward(self, path: str):
        try:
            resp = self.opener.open(self.upstream + path, timeout=30)
        except urllib.error.HTTPError as err:
            resp = err
        body = resp.read()
        skip = {"transfer-encoding", "connection", "content-length", "keep-alive"}
        return resp.status if hasattr(resp, "status") else resp.code, \
            [(k, v) for k, v in resp.headers.items() if k.lower() not in skip], body

    def cdx(self, path: str):
        """pywb's whole listing of the query, answered as the Wayback CDX server would page it
        (tests/wayback_cdx.py: opaque keys, ``limit``, ``showResumeKey``, the JSON form)."""
        parts = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        upstream = [(k, v) for k, v in query if k not in ("limit", "showResumeKey", "resumeKey")]
        status, _, body = self.forward(parts.path + "?" + urllib.parse.urlencode(upstream))
        assert status == 200, body[:300]
        listed = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        index = {CdxLine(r["urlkey"], r["timestamp"], r["url"], r.get("mime", "-"), str(r.get("status", "-")),
                         r.get("digest", "-"), str(r.get("length", "-"))): None for r in listed}
        return WaybackStandIn(index, serve=False).cdx(query)


# -- the world ------------------------------------------------------------------------------

@dataclass
class World:
    root: Path
    site: object
    first: Path  # the crawl the archive captured
    pywb: str  # http://127.0.0.1:P
    proxy: ArchiveProxy
    first_date: datetime  # the first crawl's first response (the archive's EPOCH)
    collection: Path  # the pywb collection (its CDXJ index says what the archive holds)
    edited_url: str
    removed_url: str
    runs: dict = field(default_factory=dict)

    @property
    def archive(self) -> str:
        return f"{self.pywb}/{COLL}"

    @property
    def proxied(self) -> str:
        return f"{self.proxy.base}/{COLL}"

    def site_args(self) -> list[str]:
        out = []
        for source, url in self.site.base_urls.items():
            out += ["--base-url", f"{source}={url}"]
        return out

    def backfill_args(self, out: Path, archive: str, *extra: str, sources=()) -> list[str]:
        return ["backfill", *sources, "--archive", archive, "--out", str(out), "--loopback",
                *self.site_args(), *extra]

    def front_args(self, out: Path, *extra: str) -> list[str]:
        """A backfill of FRONT_SOURCES through the Wayback-form front, 2 CDX rows a page."""
        return self.backfill_args(out, self.proxied, "-s", "BACKFILL_CDX_PAGE_SIZE=2", *extra,
                                  sources=FRONT_SOURCES)


@pytest.fixture(scope="module")
def world(tools_bin, tmp_path_factory):  # noqa: F811
    from stenogram.sample_site.faults import Faults
    from stenogram.sample_site.server import SampleSite

    root = tmp_path_factory.mktemp("backfill")
    site = SampleSite(port=0, size=6, seed=7).start()
    procs = []
    proxy = None
    try:
        first = root / "first"
        proc = stenogram_cmd(*crawl_args(site, first, *SOURCES))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        warcs = sorted((first / "warc").glob("*.warc.gz"))
        first_date = first_response_date(warcs)
        home = root / "pywb"
        home.mkdir()
        assert run([tools_bin / "wb-manager", "init", COLL], cwd=home).returncode == 0
        dated = root / "dated"
        dated.mkdir()
        for warc in warcs:
            redate_warc(warc, dated / warc.name, first_date)
        proc = run([tools_bin / "wb-manager", "add", COLL, *sorted(dated.iterdir())], cwd=home)
        assert proc.returncode == 0, proc.stderr
        wayback, base = start_wayback(tools_bin, home)
        procs.append(wayback)
        proxy = ArchiveProxy(base)
        # since the archive's visit: one transcript silently edited, one page removed
        (edited,) = site.silent_edits(1)
        edited_url = site.urls(edited.key)["mid"][0]
        listed = "".join(p.read_text() for p in (home / "collections" / COLL / "indexes").glob("*.cdxj"))
        removed_path = next(p for p in sorted(site.catalog.paths("mid_archive"))
                            if f'"url": "{site.base_urls["mid_archive"]}{p}", "mime": "text/html"' in listed)
        site.faults = Faults().add("status", re.escape(removed_path) + "$", source="mid_archive",
                                   status=404, times=None)
        removed_url = site.base_urls["mid_archive"] + removed_path
        yield World(root, site, first, base, proxy, first_date, home / "collections" / COLL,
                    edited_url, removed_url)
    finally:
        stop(procs)
        if proxy is not None:
            proxy.close()
        site.stop()


def rows(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def captures(db: Path) -> list[tuple]:
    """What a capture says, independent of WARC files and ids: url, original time, archive,
    source, verdict, and the text of the version it holds."""
    return sorted(rows(db, "SELECT c.url, c.archived_at, c.via, c.source, c.is_transcript, v.text_hash "
                           "FROM captures c LEFT JOIN versions v ON v.id = c.version_id"),
                  key=repr)


def documents(db: Path) -> set[frozenset]:
    """Each document as the set of its versions' text hashes."""
    out: dict[int, set] = {}
    for doc, thash in rows(db, "SELECT document_id, text_hash FROM versions"):
        out.setdefault(doc, set()).add(thash)
    return {frozenset(v) for v in out.values()}


def expected_captures(world: World, sources=SOURCES) -> set[tuple[str, str]]:
    """(transcript URL, capture time) for every capture the archive holds of a transcript page
    (its CDX index): a 200 HTML response, or a revisit (URL-agnostic ones included: the URL it
    stands for is listed, its payload replayed from the record it refers to); one capture per URL
    and payload digest, the earliest."""
    transcripts = {url for (url,) in rows(world.first / "corpus.db",
                                          "SELECT url FROM captures WHERE is_transcript = 1")}
    earliest: dict[tuple[str, str], str] = {}
    for index in (world.collection / "indexes").glob("*.cdxj"):
        for line in index.read_text().splitlines():
            _key, ts, blob = line.split(" ", 2)
            fields = json.loads(blob)
            mime = fields.get("mime", "")
            wanted = (fields.get("status") == "200" and mime.startswith("text/html")) or (
                mime == "warc/revisit" and fields.get("status", "-") in ("200", "-"))
            if fields["url"] in transcripts and wanted \
                    and any(fields["url"].startswith(world.site.base_urls[s] + "/") for s in sources):
                key = (fields["url"], fields.get("digest", ts))
                earliest[key] = min(earliest.get(key, ts), ts)
    return {(url, f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z")
            for (url, _digest), ts in earliest.items()}


@pytest.fixture(scope="module")
def backfilled(world):
    """A backfill straight from pywb (its JSON-lines CDX; a page size it fills, so the whole
    listing is asked for again), then a live crawl of the edited site into the same folder."""
    out = world.root / "direct"
    proc = stenogram_cmd(*world.backfill_args(out, world.archive, "-s", "BACKFILL_CDX_PAGE_SIZE=3"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after_backfill = (captures(out / "corpus.db"), documents(out / "corpus.db"))
    live = stenogram_cmd(*crawl_args(world.site, out, *SOURCES))
    return out, after_backfill, live


def test_backfill_gets_every_archived_transcript_with_its_original_time(world, backfilled):
    out, (caps, docs), _ = backfilled
    expected = expected_captures(world)
    got = [(url, archived_at) for url, archived_at, via, source, is_t, _ in caps if is_t]
    assert sorted(got) == sorted(expected)  # each once
    for _url, _archived_at, via, source, _is_t, _ in caps:
        assert via == world.archive
        assert source in SOURCES
    # every archived transcript once, as in the crawl the archive captured
    assert docs == documents(world.first / "corpus.db")
    first_seen = rows(out / "corpus.db", "SELECT min(first_seen), max(first_seen) FROM documents")[0]
    assert first_seen[0].startswith("2019-") and first_seen[1].startswith("2019-")
    # the Domino era is in: documents every year from 2004 to 2015
    years = {y for (y,) in rows(out / "corpus.db", "SELECT DISTINCT year FROM documents")}
    assert set(range(2004, 2016)) <= years


def test_live_crawl_merges_with_the_archive(world, backfilled):
    out, (_, docs_before), live = backfilled
    assert live.returncode in (0, 1), live.stdout + live.stderr
    db = out / "corpus.db"
    # one document per transcript: the live captures joined the archived ones
    assert len(documents(db)) == len(docs_before)
    # the silent edit: two versions, the archived text first (2019), today's text canonical
    (doc_id,) = {d for (d,) in rows(db, "SELECT document_id FROM captures WHERE url = ? AND "
                                        "document_id IS NOT NULL", world.edited_url)}
    versions = rows(db, "SELECT id, first_seen FROM versions WHERE document_id = ? ORDER BY first_seen", doc_id)
    assert len(versions) == 2
    assert versions[0][1].startswith("2019-") and not versions[1][1].startswith("2019-")
    canonical, first_seen, n_captures = rows(db, "SELECT canonical_version_id, first_seen, n_captures "
                                                 "FROM documents WHERE id = ?", doc_id)[0]
    assert canonical == versions[1][0] and first_seen.startswith("2019-")
    vias = rows(db, "SELECT via FROM captures WHERE document_id = ?", doc_id)
    assert {v for (v,) in vias} == {world.archive, None}
    # the page removed since: its archived capture and document are still there
    kept = rows(db, "SELECT document_id, via FROM captures WHERE url = ? AND is_transcript = 1",
                world.removed_url)
    assert kept and all(d is not None and v == world.archive for d, v in kept)
    assert world.site.faults.count("status", "mid_archive") >= 1  # the live crawl got its 404


def test_reprocess_of_the_warcs_rebuilds_the_same_rows(world, backfilled):
    out, _, _ = backfilled
    rebuilt = world.root / "rebuilt.db"
    proc = stenogram_cmd("reprocess", "--db", str(rebuilt), str(out / "warc"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # reprocess also reads listings and other pages the crawl made no item of: transcripts only
    transcripts = lambda db: [c for c in captures(db) if c[4] == 1]  # noqa: E731
    assert transcripts(rebuilt) == transcripts(out / "corpus.db")
    assert any(via for _u, _a, via, *_ in transcripts(rebuilt))
    assert documents(rebuilt) == documents(out / "corpus.db")
    assert rows(rebuilt, "SELECT min(first_seen) FROM documents") == \
        rows(out / "corpus.db", "SELECT min(first_seen) FROM documents")


@pytest.fixture(scope="module")
def uninterrupted(world):
    """A backfill of FRONT_SOURCES through the Wayback-form front (resume keys), uninterrupted."""
    out = world.root / "wayback-form"
    start = time.monotonic()
    proc = stenogram_cmd(*world.front_args(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, time.monotonic() - start


@pytest.mark.xfail(strict=False, reason=(
    "flaky, not fixed (2026-12-08): in 1 of 3 fresh-clone runs one capture was missing from the"
    " paged listing through the pywb front; under investigation (issue 21 left open for it)"))
def test_wayback_form_with_resume_keys_gives_the_same_captures(world, uninterrupted, backfilled):
    out, _ = uninterrupted
    got = {(u, a) for u, a, _v, _s, is_t, _h in captures(out / "corpus.db") if is_t}
    expected = expected_captures(world, FRONT_SOURCES)
    assert got == expected
    direct = {(u, a) for u, a, _v, _s, is_t, _h in backfilled[1][0] if is_t}
    assert got <= direct  # the same captures as read from pywb's own JSON lines
    paged = [p for _, p, _ in world.proxy.requests if "/cdx?" in p and "resumeKey=" in p]
    assert paged, "the listing was not paged"


def test_list_fetches_no_capture_and_says_how_long(world, uninterrupted):
    out = world.root / "listing"
    before = len(world.proxy.id_requests())
    proc = stenogram_cmd("backfill", *FRONT_SOURCES, "--archive", world.proxied, "--out", str(out),
                         "--list", *world.site_args(), "-s", "BACKFILL_DELAY=0.5",
                         "-s", "BACKFILL_CDX_PAGE_SIZE=5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(world.proxy.id_requests()) == before  # no capture fetched
    assert not (out / "warc").exists() and not (out / "corpus.db").exists()
    n = len(expected_captures(world, FRONT_SOURCES))
    m = re.search(r"total ([\d,]+) captures: (\d+) s at one request every 0.5 s", proc.stdout)
    assert m, proc.stdout
    assert int(m[1].replace(",", "")) == n and int(m[2]) == round(n * 0.5)


def test_kill_at_random_moments_and_rerun_gives_the_same_corpus(world, uninterrupted):
    reference, duration = uninterrupted
    out = world.root / "killed"
    rng = random.Random(20261129)
    args = [str(VENV_BIN / "stenogram"), *world.front_args(out)]
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.5, max(duration, 1.0)))
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL
            kills += 1
        proc.wait(timeout=30)
    proc = stenogram_cmd(*args[1:])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert kills >= 1
    assert captures(out / "corpus.db") == captures(reference / "corpus.db")
    assert documents(out / "corpus.db") == documents(reference / "corpus.db")


def test_429_storm_stops_cleanly_and_the_rerun_resumes(world, uninterrupted):
    reference, _ = uninterrupted
    out = world.root / "storm"
    args = world.front_args(out, "-s", "BACKFILL_REFUSALS_MAX=3")
    world.proxy.storm_after = len(world.proxy.id_requests()) + 2
    start = len(world.proxy.requests)
    try:
        proc = stenogram_cmd(*args)
    finally:
        world.proxy.storm_after = None
    assert proc.returncode == 69, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("stenogram backfill:")]
    assert len(lines) == 1 and "kept refusing" in lines[0] and "resume" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    owed = rows(out / "state.db", "SELECT count(*) FROM frontier WHERE source = 'backfill'")[0][0]
    assert owed >= 1
    # three refusals in a row, then the stop; Retry-After honoured: nothing was sent to the
    # archive during the second it asked to wait after each
    seen = world.proxy.requests[start:]
    refused = [i for i, (_w, _p, status) in enumerate(seen) if status == 429]
    assert len(refused) == 3
    for i in refused[:-1]:
        assert seen[i + 1][0] - seen[i][0] >= 0.9
    proc = stenogram_cmd(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert captures(out / "corpus.db") == captures(reference / "corpus.db")


@pytest.mark.parametrize("args, says", [
    (["--archive", "ftp://archive.example/web"], "--archive ftp://archive.example/web: not an http(s) URL"),
    (["nosuch", "--archive", "https://web.archive.org/web"], "unknown source(s): nosuch"),
    (["--archive", "https://web.archive.org/web", "--from", "last year"], "--from last year: expected a year"),
    (["--archive", "http://127.0.0.2:9/coll", "--cdx", "http://10.0.0.1/cdx", "--loopback"],
     "--loopback backfills only from an archive on loopback, and --cdx is http://10.0.0.1/cdx"),
    (["--archive", "https://web.archive.org/web", "--loopback"], "and --archive is https://web.archive.org/web"),
    (["--archive", "https://web.archive.org/web", "-s", "BACKFILL_DELAY=soon"], "expected a number"),
])
def test_bad_arguments_say_so_in_one_line_and_create_nothing(tmp_path, args, says):
    out = tmp_path / "data"
    proc = stenogram_cmd("backfill", *args, "--out", str(out), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr
    assert not out.exists()


def test_reading_view_replays_an_archived_capture_from_our_own_warc(world, backfilled, tools_bin):  # noqa: F811
    """The transcript page links each capture to pywb over our WARCs; a page fetched from the
    archive sits there under the archive's id_ URL, and that link replays its text."""
    from stenogram.corpus.web.views import transcript

    out, _, _ = backfilled
    home = world.root / "pywb"
    assert run([tools_bin / "wb-manager", "init", "ours"], cwd=home).returncode == 0
    proc = run([tools_bin / "wb-manager", "add", "ours", *sorted((out / "warc").glob("*.warc.gz"))], cwd=home)
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(f"file:{out / 'corpus.db'}?mode=ro", uri=True)
    try:
        (doc_id,) = {d for (d,) in conn.execute("SELECT document_id FROM captures WHERE url = ? AND via IS NOT NULL",
                                                (world.removed_url,))}
        doc = transcript(conn, doc_id, replay_base=f"{world.pywb}/ours")
    finally:
        conn.close()
    archived = [c for c in doc["captures"] if c["via"]]
    assert archived and all(c["seen_at"].startswith("2019-") for c in archived)
    assert [c["seen_at"] for c in doc["captures"]] == sorted(c["seen_at"] for c in doc["captures"])
    with urllib.request.urlopen(archived[0]["replay_url"], timeout=30) as resp:
        page = resp.read().decode("utf-8", "replace")
    assert doc["paragraphs"][0][:40] in page.replace("&#x27;", "'").replace("&#39;", "'")
