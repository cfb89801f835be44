"""``stenogram backfill`` against the Wayback CDX server stand-in (tests/wayback_cdx.py).

The archive holds every URL form each source had, on the hosts it had them (mid.ru's Bitrix
pages, the Liferay portal on www.mid.ru and on archive.mid.ru, Domino documents on both hosts,
International Affairs' two schemes, globalsecurity's library), a URL held only as a URL-agnostic
revisit, and rows that are not transcripts. URL keys hold ``,`` ``)`` ``!`` (Domino's
``!OpenDocument``), ``+`` and ``%`` escapes (a Liferay query), so the resume keys the stand-in
prints hold ``%2C %29 %21 %2B %25`` and ``+``. Pages are 2 rows: every listing pages.

The backfill is a real ``stenogram backfill`` process; kills are SIGKILLs sent by the stand-in
itself when it has served a seeded number of requests (a moment defined by what was served,
not by a clock).
"""
from __future__ import annotations

import gzip
import os
import random
import re
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from conftest import VENV_BIN, stenogram_cmd
from stenogram.crawler import cdx
from wayback_cdx import WaybackStandIn, capture, java_url_encode

pytestmark = [pytest.mark.network]

VIEW = "d8e1e8bd51f1a1d543256a31003a8d5c"


def page(title: str, n: int) -> bytes:
    """A transcript-like page whose links are root-relative, as the live sites wrote them."""
    paragraphs = "".join(f"<p>Sergey Lavrov: paragraph {i} of {title}, on the situation, number {n}.</p>"
                         for i in range(6))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><h1>{title}</h1><div class="text article-content">{paragraphs}</div>'
            f'<a href="/en/foreign_policy/news/{5000000 + n}/">next</a> <a href="related/{n}">related</a>'
            f'</body></html>').encode()


#: (original URL, timestamp): transcript pages of every source and era
TRANSCRIPTS = [
    ("https://mid.ru/en/foreign_policy/news/5001234/", "20220301101500"),
    ("https://mid.ru/en/foreign_policy/news/5001234/", "20230301101500"),  # edited since
    ("https://www.mid.ru/ru/foreign_policy/news/5001240/", "20220405120000"),
    ("https://mid.ru/en/press_service/minister_speeches/1927070/", "20240102030405"),
    ("https://www.mid.ru/ru/foreign_policy/news/-/asset_publisher/cKNonkJE02Bw/content/id/4813581",
     "20210720083000"),
    ("https://www.mid.ru/en/foreign_policy/news/-/asset_publisher/cKNonkJE02Bw/content/id/4813590"
     "?p_p_id=101_INSTANCE_cKNonkJE02Bw&_101_INSTANCE_cKNonkJE02Bw_redirect=%2Fen%2Fforeign_policy+news",
     "20190911154500"),
    ("http://www.mid.ru:80/ru/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/3001740",
     "20171003090000"),
    ("https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/4001740",
     "20221111111111"),
    ("http://archive.mid.ru/brp_4.nsf/0/28BF39A9DFD8DDE544257D77005CCE7B", "20150101000000"),
    ("http://www.mid.ru/brp_4.nsf/newsline/3E1C2B0B7C26A4DA44257BE20045D1B5", "20130707070707"),
    (f"http://www.mid.ru/bdomp/brp_4.nsf/{VIEW}/0B4E8C7A1F2D3E4F44257A9B0031C2D1!OpenDocument", "20120606060606"),
    ("https://en.interaffairs.ru/lavrov/1234-remarks-and-answers-to-media-questions.html", "20160505050505"),
    ("https://en.interaffairs.ru/article/sergey-lavrovs-interview-with-rt/", "20230909090909"),
    ("https://www.globalsecurity.org/wmd/library/news/russia/2019/russia-190301-russia-mfa01.htm",
     "20190302000000"),
]
TRANSCRIPTS += [  # enough of each era for its listings to run over several pages
    *((f"https://www.mid.ru/ru/foreign_policy/news/-/asset_publisher/cKNonkJE02Bw/content/id/{4813600 + i}",
       f"2020{i + 1:02d}15120000") for i in range(4)),
    *((f"http://archive.mid.ru/brp_4.nsf/0/{i:X}{'0' * 30}{i:X}", f"2008{i + 1:02d}01000000") for i in range(1, 5)),
    *((f"http://www.mid.ru/bdomp/brp_4.nsf/{VIEW}/{i:X}A{'B' * 29}{i:X}!OpenDocument", f"2010{i + 1:02d}01000000")
      for i in range(1, 4)),
    *((f"https://en.interaffairs.ru/article/lavrov-remarks-{i}/", f"2024{i + 1:02d}01000000") for i in range(3)),
]
#: listed, not fetched: listings, a redirect, an image, a 404
OTHER = [
    ("https://mid.ru/en/foreign_policy/news/", "20220301100000", "text/html", "200"),
    ("https://mid.ru/en/foreign_policy/news/?PAGEN_1=2", "20220301100100", "text/html", "200"),
    ("https://mid.ru/en/foreign_policy/news/5001999/", "20220301100200", "text/html", "301"),
    ("https://mid.ru/en/foreign_policy/news/5001998/", "20220301100300", "text/html", "404"),
    ("https://mid.ru/upload/iblock/photo.jpg", "20220301100400", "image/jpeg", "200"),
    ("https://archive.mid.ru/ru/press_service/minister_speeches?_101_INSTANCE_7OvQR5KJWVmR_cur=2",
     "20211212000000", "text/html", "200"),
]
#: a transcript URL the archive holds only as a URL-agnostic revisit of another's payload
REVISIT = ("https://mid.ru/ru/foreign_policy/news/5001241/", "20220406120000")
REVISITED = 2  # TRANSCRIPTS[2]: the same text under another URL


def build_index() -> dict:
    index = {}
    for n, (url, ts) in enumerate(TRANSCRIPTS):
        body = page(f"Transcript {n}", n)
        index[capture(url, ts, body)] = body
    # the same payload captured again a year later at the same URL: one capture stands for both
    url, _ = TRANSCRIPTS[0]
    body = page("Transcript 0", 0)
    index[capture(url, "20220601000000", body)] = body
    for url, ts, mime, status in OTHER:
        body = b"<html>listing</html>"
        index[capture(url, ts, body, mimetype=mime, status=status)] = body
    referred = next(line for line in index if line.original == TRANSCRIPTS[REVISITED][0])
    index[capture(REVISIT[0], REVISIT[1], None, mimetype="warc/revisit", status="-",
                  digest=referred.digest)] = None
    return index


def iso(ts: str) -> str:
    return cdx.timestamp_iso(ts)


def expected() -> Counter:
    """(url, archived_at) of every capture a backfill must get, each once."""
    got = Counter((url, iso(ts)) for url, ts in TRANSCRIPTS)
    got[(REVISIT[0], iso(REVISIT[1]))] += 1
    return got


@pytest.fixture
def archive():
    stand_in = WaybackStandIn(build_index())
    yield stand_in
    stand_in.close()


def backfill_args(stand_in: WaybackStandIn, out: Path, *extra: str) -> list[str]:
    return ["backfill", "--archive", stand_in.archive, "--cdx", stand_in.endpoint, "--out", str(out),
            "--loopback", "-s", "BACKFILL_CDX_PAGE_SIZE=2", *extra]


def corpus_captures(out: Path) -> Counter:
    db = out / "corpus.db"
    if not db.exists():
        return Counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return Counter(conn.execute("SELECT url, archived_at FROM captures").fetchall())
    finally:
        conn.close()


def warc_metadata(out: Path) -> list[str]:
    """The metadata records' blocks of every WARC of the run."""
    blocks = []
    for warc in sorted((out / "warc").glob("*.warc.gz")):
        with gzip.open(warc, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
        blocks += [r for r in text.split("WARC/1.1\r\n") if "WARC-Type: metadata" in r]
    return blocks


def log_text(out: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted((out / "logs").glob("*.log")))


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[\w.]+\] (WARNING|ERROR): ")


def one_line(proc) -> str:
    """The command's one line about the stop; every other line on stderr is a log record of
    one line (warnings and errors reach the terminal), and there is no traceback anywhere."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    said = [ln for ln in lines if ln.startswith("stenogram backfill:")]
    assert len(said) == 1, proc.stderr
    assert all(LOG_LINE.match(ln) for ln in lines if not ln.startswith("stenogram backfill:")), proc.stderr
    return said[0]


# -- every capture, once ----------------------------------------------------------------------

def test_every_capture_of_every_url_form_once_through_opaque_keys_and_small_pages(archive, tmp_path):
    out = tmp_path / "data"
    proc = stenogram_cmd(*backfill_args(archive, out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert corpus_captures(out) == expected()
    # every listing paged with the keys as printed: each key the server received decodes to
    # "<urlkey> <timestamp>!" of a line it holds, and no query was asked twice
    queries = archive.cdx_requests()
    assert len(queries) == len(set(queries))
    assert len(archive.keys_received) >= 5
    texts = {f"{line.urlkey} {line.timestamp}!" for line in archive.lines}
    assert set(archive.keys_received) <= texts
    sent = "".join(java_url_encode(k) for k in archive.keys_received)  # the keys as printed
    assert all(part in sent for part in ("%2C", "%29", "%21", "+", "%2F"))
    # mid.ru and www.mid.ru are one listing to a CDX server (SURT): asked once, not twice
    firsts = [prefix_of(q) for q in queries if "resumeKey" not in q]
    assert len(firsts) == len({cdx.prefix_key(p) for p in firsts})
    assert "https://www.mid.ru/ru/foreign_policy/news/" not in firsts  # listed as mid.ru's
    # each capture fetched once, never a non-transcript row
    fetched = Counter(p for p, s in archive.replay_requests())
    assert all(n == 1 for n in fetched.values()) and len(fetched) == sum(expected().values())
    assert not any("PAGEN" in p or "photo.jpg" in p or "5001999" in p for p in fetched)


def test_outlinks_resolve_against_the_original_url_not_the_archive(archive, tmp_path):
    out = tmp_path / "data"
    proc = stenogram_cmd(*backfill_args(archive, out, "mid_domino"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outlinks = [line.split(": ", 1)[1].strip() for block in warc_metadata(out)
                for line in block.splitlines() if line.startswith("outlink: ")]
    assert outlinks
    assert "http://archive.mid.ru/en/foreign_policy/news/5000008/" in outlinks
    assert "http://www.mid.ru/brp_4.nsf/newsline/related/9" in outlinks
    assert not any(link.startswith(archive.base) for link in outlinks)


def test_killed_at_seeded_moments_and_rerun_gets_every_capture_once(archive, tmp_path):
    out = tmp_path / "data"
    args = [str(VENV_BIN / "stenogram"), *backfill_args(archive, out)]
    reference = tmp_path / "reference"
    proc = stenogram_cmd(*backfill_args(archive, reference))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = len(archive.requests)
    rng = random.Random(20261208)
    kills = 0
    for _ in range(3):
        archive.requests.clear()
        kill_at = rng.randrange(1, total)
        running = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def kill(served, path, pid=running.pid, at=kill_at):
            if served == at:
                os.kill(pid, signal.SIGKILL)

        archive.on_request = kill
        try:
            code = running.wait(timeout=300)
        finally:
            archive.on_request = None
        kills += code == -signal.SIGKILL
    assert kills >= 2
    proc = stenogram_cmd(*args[1:])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert corpus_captures(out) == expected() == corpus_captures(reference)


# -- the stops: one line, a non-zero exit, counted, resumable --------------------------------

def _ignores_keys(stand_in):
    def hook(params, answer):
        if "resumeKey" in dict(params):
            return stand_in.cdx([(k, v) for k, v in params if k != "resumeKey"])
        return answer
    return hook


def _empty_with_key(stand_in):
    def hook(params, answer):
        if "resumeKey" in dict(params):
            header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
            return 200, [("Content-Type", "application/json")], \
                ('[%s, [], ["%s"]]' % (str(header).replace("'", '"'),
                                       java_url_encode("ru,mid)/zz 20300101000000!"))).encode()
        return answer
    return hook


def _key_sent_back(stand_in):
    def hook(params, answer):
        query = dict(params)
        if "resumeKey" in query:
            status, headers, body = answer
            text = body.decode()
            key = cdx.parse_cdx(body).resume_key
            if key:
                text = text.replace(key, java_url_encode(query["resumeKey"]))
            return status, headers, text.encode()
        return answer
    return hook


BROKEN = {"repeated_page": "came a second time", "empty_page_with_key": "an empty page",
          "not_advancing": "gave back the key it was sent"}


def prefix_of(query: str) -> str:
    return dict(parse_qsl(urlsplit(query).query))["url"]


@pytest.mark.parametrize("fault, reason", [
    (_ignores_keys, "repeated_page"), (_empty_with_key, "empty_page_with_key"),
    (_key_sent_back, "not_advancing"),
])
@pytest.mark.parametrize("listing_only", [False, True])
def test_a_broken_listing_stops_cleanly_and_the_rerun_completes(archive, tmp_path, fault, reason, listing_only):
    out = tmp_path / "data"
    archive.cdx_hook = fault(archive)
    extra = ("--list",) if listing_only else ()
    proc = stenogram_cmd(*backfill_args(archive, out, *extra), timeout=300)
    assert proc.returncode == 76, proc.stdout + proc.stderr
    line = one_line(proc)
    assert "listing of" in line and "stopped" in line
    # each broken listing: asked no further, stopped with one log line, counted in the summary
    errors = [ln for ln in log_text(out).splitlines() if "backfill: the archive's listing of" in ln]
    stopped = {e.split("listing of ")[1].split(" ")[0] for e in errors}
    assert errors and len(errors) == len(stopped)
    assert all(BROKEN[reason] in e for e in errors)
    more = re.search(r"\(and (\d+) more listing", line)
    assert (int(more[1]) + 1 if more else 1) == len(stopped)
    for prefix in stopped:  # two questions about it: the first page, and the page that broke it
        assert sum(1 for q in archive.cdx_requests() if prefix_of(q) == prefix) == 2
    if listing_only:
        return
    got = corpus_captures(out)
    assert got and all(n == 1 for n in got.values()) and set(got) < set(expected())
    archive.cdx_hook = None  # the archive mends: the same command lists again and completes
    proc = stenogram_cmd(*backfill_args(archive, out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert corpus_captures(out) == expected()


def test_a_5xx_storm_on_the_listing_stops_cleanly_and_the_rerun_resumes(archive, tmp_path):
    out = tmp_path / "data"
    storm = {"on": True}

    def hook(params, answer):
        return (503, [("Retry-After", "0"), ("Content-Type", "text/plain")], b"busy") if storm["on"] else answer

    archive.cdx_hook = hook
    proc = stenogram_cmd(*backfill_args(archive, out))
    assert proc.returncode == 69, proc.stdout + proc.stderr
    assert "run the same command later" in one_line(proc)
    storm["on"] = False
    proc = stenogram_cmd(*backfill_args(archive, out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert corpus_captures(out) == expected()


def test_a_5xx_storm_on_captures_stops_cleanly_and_the_rerun_resumes(archive, tmp_path):
    out = tmp_path / "data"
    storm = {"on": True}

    def hook(path, answer):
        return (500, [("Content-Type", "text/plain")], b"error") if storm["on"] else answer

    archive.replay_hook = hook
    proc = stenogram_cmd(*backfill_args(archive, out, "-s", "BACKFILL_REFUSALS_MAX=3"))
    assert proc.returncode == 69, proc.stdout + proc.stderr
    assert "kept refusing" in one_line(proc)
    storm["on"] = False
    proc = stenogram_cmd(*backfill_args(archive, out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert corpus_captures(out) == expected()


@pytest.mark.parametrize("listing_only", [False, True])
def test_an_unreachable_archive_exits_non_zero_with_one_line(tmp_path, listing_only):
    out = tmp_path / "data"
    args = ["backfill", "--archive", "http://127.0.0.1:9/web", "--cdx", "http://127.0.0.1:9/cdx/search/cdx",
            "--out", str(out), "--loopback", "mid"]
    proc = stenogram_cmd(*args, *(["--list"] if listing_only else []), timeout=300)
    assert proc.returncode == 69, proc.stdout + proc.stderr
    line = one_line(proc)
    assert "could not be read" in line and "127.0.0.1:9" in line


# -- a hostile archive ------------------------------------------------------------------------

HOSTILE = [
    "javascript:alert(1)//archive.mid.ru/-/asset_publisher/a/content/id/1",
    "https://evil.example/?u=//archive.mid.ru/ru/foreign_policy/news/-/asset_publisher/a/content/id/2",
    "https://archive.mid.ru/ru/search?q=/-/asset_publisher/a/content/id/3",
    'https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/a/content/id/4"><script>',
]


def test_a_hostile_archive_cannot_plant_a_url(tmp_path):
    index = build_index()
    for n, url in enumerate(HOSTILE):
        body = page(f"Hostile {n}", 90 + n)
        line = capture("https://archive.mid.ru/en/press_service/minister_speeches/", f"2021010{n + 1}000000", body)
        index[type(line)(line.urlkey + f"/hostile{n}", line.timestamp, url, "text/html", "200", line.digest,
                         line.length)] = body
    # a capture whose replay names another original (Link), and one redirected to a replay of a
    # hostile original (a Memento redirect)
    linked = "https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/77"
    redirected = "https://archive.mid.ru/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/78"
    for n, url in enumerate((linked, redirected)):
        body = page(f"Hostile replay {n}", 95 + n)
        index[capture(url, f"2021020{n + 1}000000", body)] = body
    stand_in = WaybackStandIn(index)

    def replay_hook(path, answer):
        status, headers, body = answer
        if path.endswith(linked):
            headers = [(k, v) for k, v in headers if k != "Link"] + [
                ("Link", f'<{HOSTILE[0]}>; rel="original"')]
        if path.endswith(redirected):
            return 302, [("Location", f"/web/20210202000000id_/{HOSTILE[0]}")], b""
        return status, headers, body

    stand_in.replay_hook = replay_hook
    out = tmp_path / "data"
    try:
        proc = stenogram_cmd(*backfill_args(stand_in, out, "mid_archive"))
    finally:
        stand_in.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = corpus_captures(out)
    assert {url for url, _ in got} == {url for url, _ in TRANSCRIPTS if "asset_publisher" in url}
    stored = sqlite3.connect(f"file:{out / 'corpus.db'}?mode=ro", uri=True)
    try:
        urls = [u for (u,) in stored.execute("SELECT url FROM captures UNION SELECT canonical_url FROM documents")
                if u is not None]
    finally:
        stored.close()
    assert all(re.match(r"https?://(www\.|archive\.)?mid\.ru(:80)?/", u) for u in urls), urls
    metadata = "".join(warc_metadata(out))
    assert "javascript:" not in metadata and "evil.example" not in metadata and "<script>" not in metadata
    log = log_text(out)
    # the scheme, the host and the characters refused (the search page is the site's own, just not
    # a transcript: counted as such), the Link header and the redirect's target
    assert log.count("refused a URL from the archive") == len(HOSTILE) - 1 + 2
    # nothing was asked of the archive for a refused URL: not the rows, not the redirect's target
    asked = [p for p, _ in stand_in.replay_requests()]
    assert not any("evil.example" in p or "search?q" in p or "javascript" in p or "script" in p for p in asked)
    assert any(p.endswith(redirected) for p in asked)
