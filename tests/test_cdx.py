"""The CDX answer parser, replay URLs and the capture ledger of ``stenogram backfill``.

Answers are generated (hypothesis) in both shapes the servers use: the Wayback Machine's JSON
array (header row; an empty row and the resume key after a full page) and pywb's JSON lines,
with the field names each server uses; both must read back as the same rows.
"""
from __future__ import annotations

import datetime
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stenogram.crawler import cdx

timestamps = st.datetimes(min_value=datetime.datetime(1996, 1, 1),
                          max_value=datetime.datetime(2030, 12, 31)).map(
    lambda d: d.strftime("%Y%m%d%H%M%S"))
paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/.?=&%", min_size=0, max_size=40)
rows = st.builds(
    lambda host, path, ts, mime, status, digest, length: cdx.CdxRow(
        urlkey=f"{host},example)/{path}".lower(), timestamp=ts, original=f"https://{host}.example/{path}",
        mimetype=mime, status=status, digest=digest, length=length),
    st.sampled_from(["mid", "www.mid", "archive.mid", "en.interaffairs"]), paths, timestamps,
    st.sampled_from(["text/html", "text/html; charset=windows-1251", "application/pdf", "warc/revisit"]),
    st.sampled_from(["200", "301", "404", "-"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=32, max_size=32),
    st.integers(0, 10**7).map(str))


def wayback_answer(items, resume_key=None, field_order=None) -> bytes:
    fields = field_order or ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    ours = {"original": "original", "mimetype": "mimetype", "statuscode": "status"}
    data = [fields] + [[getattr(r, ours.get(f, f)) for f in fields] for r in items]
    if resume_key is not None:
        data += [[], [resume_key]]
    return json.dumps(data).encode()


def pywb_answer(items) -> bytes:
    lines = [json.dumps({"urlkey": r.urlkey, "timestamp": r.timestamp, "url": r.original,
                         "mime": r.mimetype, "status": r.status, "digest": r.digest,
                         "length": r.length, "filename": "x.warc.gz", "source": "coll"})
             for r in items]
    return "\n".join(lines).encode()


@settings(max_examples=200)
@given(st.lists(rows, max_size=30), st.one_of(st.none(), st.text(min_size=1, max_size=40)),
       st.randoms(use_true_random=False))
def test_both_shapes_read_back_as_the_same_rows(items, resume_key, rnd):
    fields = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    rnd.shuffle(fields)  # the Wayback server answers in the order `fl=` asked for
    page = cdx.parse_cdx(wayback_answer(items, resume_key, fields))
    assert page.rows == items
    assert page.resume_key == resume_key
    page = cdx.parse_cdx(pywb_answer(items))
    assert page.rows == items and page.resume_key is None


def test_empty_and_malformed_answers():
    assert cdx.parse_cdx(b"").rows == []
    assert cdx.parse_cdx(b"[]").rows == []
    assert cdx.parse_cdx(b"\n").shape == "empty"
    for bad in (b"<html>blocked</html>", b"[[1, 2", b'{"urlkey": ', b"[1, 2]", b"ru,mid)/ 2019 x"):
        with pytest.raises(cdx.CdxError):
            cdx.parse_cdx(bad)
    # rows without a usable timestamp or URL are dropped, not fatal
    page = cdx.parse_cdx(json.dumps([["timestamp", "original"], ["x", "https://a/"], ["2019", ""],
                                     ["2019", "https://a/"]]).encode())
    assert [(r.timestamp, r.original) for r in page.rows] == [("20190000000000", "https://a/")]


@given(rows)
def test_wanted_is_status_200_html_or_a_revisit(row):
    revisit = row.mimetype == "warc/revisit" and row.status in ("200", "-")
    assert cdx.wanted(row) == (revisit or (row.status == "200" and row.mimetype.startswith("text/html")))


@given(timestamps, st.sampled_from(["https://mid.ru/en/foreign_policy/news/5001234/",
                                    "http://www.mid.ru/brp_4.nsf/0/ABCDEF0123456789ABCDEF0123456789",
                                    "http://127.0.0.1:8002/a?b=1&c=/d"]),
       st.sampled_from(["https://web.archive.org/web", "http://127.0.0.1:9/coll/"]))
def test_replay_urls_round_trip(ts, original, archive):
    url = cdx.replay_url(archive, ts, original)
    assert url.startswith(archive.rstrip("/") + "/") and "id_/" in url
    assert cdx.split_replay_url(url) == (ts, original)
    assert cdx.iso_timestamp(cdx.timestamp_iso(ts)) == ts


def test_query_urls_and_endpoints():
    assert cdx.cdx_endpoint("https://web.archive.org/web") == cdx.WAYBACK_CDX
    assert cdx.cdx_endpoint("http://127.0.0.1:8080/coll/") == "http://127.0.0.1:8080/coll/cdx"
    key = "ru%2Cmid%29%2Fen%2Fforeign_policy%2Fnews%2F5001234+20190301120000%21"
    q = cdx.cdx_query(cdx.WAYBACK_CDX, "https://mid.ru/en/", limit=1000, resume_key=key,
                      from_ts="2004", to_ts="2015")
    assert "matchType=prefix" in q and "output=json" in q and "showResumeKey=true" in q
    assert "filter=" not in q  # revisits (warc/revisit, status -) must be listed: wanted() decides
    assert q.endswith("&resumeKey=" + key)  # byte for byte as the server printed it
    assert "from=2004" in q and "to=2015" in q
    assert "limit" not in cdx.cdx_query(cdx.WAYBACK_CDX, "https://mid.ru/en/", limit=None)
    # a key no server encoded (space, &, #, non-ASCII) still reaches the server as one value
    assert cdx.resume_param("a b&c#d\u00e9") == "a%20b%26c%23d%C3%A9"
    assert cdx.normalise_bound("2012-03-01", "from") == "20120301"
    with pytest.raises(ValueError, match="--to"):
        cdx.normalise_bound("last year", "to")


def test_memento_headers():
    assert cdx.memento_iso("Fri, 12 Apr 2024 15:38:00 GMT") == "2024-04-12T15:38:00Z"
    assert cdx.memento_iso(b"garbage") is None and cdx.memento_iso(None) is None
    link = ('<https://mid.ru/en/x/>; rel="original", <http://a/coll/https://mid.ru/en/x/>; '
            'rel="timegate", <http://a/coll/2024id_/https://mid.ru/en/x/>; rel="memento"')
    assert cdx.link_original(link) == "https://mid.ru/en/x/"
    assert cdx.link_original('<https://a/>; rel="first memento"') is None


def test_needs_unpaged():
    row = cdx.CdxRow("k", "20190101000000", "https://a/", "text/html", "200", "D")
    assert cdx.needs_unpaged(cdx.CdxPage([row] * 3, None, "pywb"), 3)
    assert not cdx.needs_unpaged(cdx.CdxPage([row] * 3, "next", "wayback"), 3)
    assert not cdx.needs_unpaged(cdx.CdxPage([row] * 2, None, "pywb"), 3)
    assert not cdx.needs_unpaged(cdx.CdxPage([row] * 3, None, "pywb"), None)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("XYZ"), timestamps), min_size=1,
                max_size=40, unique_by=lambda t: (t[0], t[2])), st.integers(0, 2**32))
def test_ledger_claims_the_earliest_capture_per_url_and_digest_whatever_the_reruns(tmp_path_factory, listing,
                                                                                   seed):
    """Listed in CDX order (URL key, time), claimed once; then relisted from random points, as
    a rerun after a kill does: the same captures stand for each (URL, digest)."""
    listing = sorted(listing, key=lambda t: (t[0], t[2]))
    items = [cdx.CdxRow(u, ts, f"https://x/{u}", "text/html", "200", d) for u, d, ts in listing]
    db = tmp_path_factory.mktemp("ledger") / "state.db"
    ledger = cdx.CaptureLedger(db)
    claimed = {r for r in items if ledger.claim("A", r, "mid")}
    expected = {}
    for r in items:
        expected.setdefault((r.urlkey, r.digest), r)
    assert claimed == set(expected.values())
    rng = random.Random(seed)
    for _ in range(3):
        start = rng.randrange(len(items))
        again = {r for r in items[start:] if ledger.claim("A", r, "mid")}
        assert again == {r for r in items[start:] if r in claimed}
    assert ledger.count("A") == len(expected)
    ledger.close()


def test_duration_text():
    assert cdx.duration_text(10, 5.0) == "50 s"
    assert cdx.duration_text(1000, 5.0) == "83 min"
    assert cdx.duration_text(10_000, 5.0) == "13.9 h"
    assert cdx.duration_text(100_000, 5.0) == "5.8 days"
