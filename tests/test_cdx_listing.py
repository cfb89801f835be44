"""Walking a CDX listing through all its pages (``cdx.CdxWalk``, ``cdx.list_captures``) against
the Wayback CDX server stand-in (tests/wayback_cdx.py), and the check every URL from an archive
passes before it stands for a page of a source (``scope.source_url_refusal``).

Indexes are generated (hypothesis): URLs whose keys hold ``,`` ``)`` ``!`` ``+`` and ``%``
escapes, so the resume keys the server prints hold ``%2C`` ``%29`` ``%21`` ``%2B`` ``%25`` and
``+``: a key encoded a second time, or decoded once too often, starts the next search elsewhere.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stenogram.crawler import cdx
from stenogram.crawler.scope import is_source_url, source_url_refusal
from stenogram.crawler.spiders.mid_archive import BACKFILL_PATH as LIFERAY_PATH
from wayback_cdx import WaybackStandIn, capture, inc_last_char, java_url_encode

PREFIX = "https://mid.ru/ru/foreign_policy/news/"
ENDPOINT = "http://127.0.0.1:9/cdx/search/cdx"  # never contacted: answers come from fetch()

segments = st.text(alphabet="abz09-_.!+,()~", min_size=1, max_size=8) | st.sampled_from(
    ["%D0%BF%D1%80", "a+b", "x%2By", "1!", "(c)", "%25", "-/asset_publisher/cKNonkJE02Bw/content/id/4813581"])
stamps = st.integers(19960101000000, 20291231235959).map(str).filter(
    lambda t: 1 <= int(t[4:6]) <= 12 and 1 <= int(t[6:8]) <= 28 and int(t[8:10]) < 24
    and int(t[10:12]) < 60 and int(t[12:14]) < 60)


@st.composite
def indexes(draw):
    """Captures under PREFIX (and a few outside it), unique per (URL key, timestamp)."""
    paths = draw(st.lists(st.lists(segments, min_size=1, max_size=3).map("/".join), min_size=1, max_size=12))
    lines = {}
    for path in paths:
        for stamp in draw(st.lists(stamps, min_size=1, max_size=4, unique=True)):
            line = capture(PREFIX + path, stamp, f"<p>{path} {stamp}</p>".encode())
            lines.setdefault((line.urlkey, line.timestamp), line)
    for outside in ("https://mid.ru/en/foreign_policy/news/1/", "https://mid.ru/ru/foreign_policy/newsletter/"):
        line = capture(outside, "20200101000000", b"x")
        lines[(line.urlkey, line.timestamp)] = line
    return {line: f"body {line.text}".encode() for line in lines.values()}


def in_prefix(stand_in: WaybackStandIn) -> list[str]:
    start, end = stand_in.search_range(PREFIX, "prefix")
    return [line.text for line in stand_in.lines if start <= line.text < end]


def listed(stand_in, limit, **kw) -> list[str]:
    return [" ".join((r.urlkey, r.timestamp, r.original)) for r in
            cdx.list_captures(ENDPOINT, PREFIX, limit=limit, fetch=stand_in.fetch, **kw)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexes(), st.integers(1, 7), st.sampled_from(["bang", "inc"]))
def test_every_capture_once_in_order_through_opaque_keys(index, limit, key_style):
    stand_in = WaybackStandIn(index, key_style=key_style, serve=False)
    expected = in_prefix(stand_in)
    got = listed(stand_in, limit)
    assert got == [" ".join(t.split(" ")[:3]) for t in expected]
    # one query per page, and the last page asked for once: full pages carry a key (the server
    # prints it whenever the page is full), so a listing of k*limit rows ends with an empty page
    queries = stand_in.cdx_requests()
    assert len(queries) == len(expected) // limit + 1
    assert len(set(queries)) == len(queries)
    # the keys reached the server as it printed them: each decodes to "<urlkey> <ts>!" (or the
    # timestamp plus one) of the last row of the page before
    rows = [t.split(" ") for t in expected]
    for n, key in enumerate(stand_in.keys_received, 1):
        urlkey, stamp = rows[n * limit - 1][:2]
        assert key == f"{urlkey} {stamp + '!' if key_style == 'bang' else inc_last_char(stamp)}"


def test_a_key_encoded_twice_starts_over_and_the_walk_stops_instead_of_looping():
    """What `stenogram backfill` did before: urlencode() on the key it was given. The server
    decodes once, gets ``ru%2Cmid%29...``, which sorts before the prefix: the first page again."""
    index = {capture(f"{PREFIX}{n}!/", f"2019010{n}000000", b"x"): b"x" for n in range(1, 8)}
    stand_in = WaybackStandIn(index, serve=False)
    walk = cdx.CdxWalk(ENDPOINT, PREFIX, limit=3)
    page = cdx.parse_cdx(stand_in.fetch(walk.query()))
    step = walk.advance(page)
    assert step.resume_key.startswith("ru%2Cmid%29%2Fru%2Fforeign_policy%2Fnews%2F") and "%21" in step.resume_key
    twice = walk.query().replace("&showResumeKey=true", "&showResumeKey=true&" + urlencode(
        {"resumeKey": step.resume_key}))
    again = cdx.parse_cdx(stand_in.fetch(twice))
    assert again.rows == page.rows  # the server started over
    with pytest.raises(cdx.ListingBroken) as stop:
        walk.advance(again, step.resume_key)
    assert stop.value.reason == "repeated_page"
    # sent as received, the next page follows
    following = cdx.parse_cdx(stand_in.fetch(walk.query(step.resume_key)))
    assert following.rows and min(r.timestamp for r in following.rows) > max(r.timestamp for r in page.rows)


def _json(rows, key=None):
    header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    data = [header] if rows or key is not None else []
    data += [[r.urlkey, r.timestamp, r.original, r.mimetype, r.status, r.digest, r.length] for r in rows]
    if key is not None:
        data += [[], [key]]
    return 200, [("Content-Type", "application/json")], json.dumps(data).encode()


def _broken(fault):
    """A stand-in whose answers after the first page are ``fault(params, answer, first_rows)``."""
    index = {capture(f"{PREFIX}{n}/", f"2019010{n}000000", b"x"): b"x" for n in range(1, 10)}
    stand_in = WaybackStandIn(index, serve=False)
    first = {}

    def hook(params, answer):
        page = cdx.parse_cdx(answer[2])
        if "resumeKey" not in dict(params):
            first["rows"] = page.rows
            return answer
        return fault(dict(params), answer, first["rows"])

    stand_in.cdx_hook = hook
    return stand_in


@pytest.mark.parametrize("fault, reason", [
    # a server that ignores the key: the first page again, with the same key or another
    (lambda params, answer, first: _json(first, params["resumeKey"]), "repeated_page"),
    (lambda params, answer, first: _json(first, "other%21"), "repeated_page"),
    # new rows, but the key it was sent back again: the next question would be this one
    (lambda params, answer, first: _json(cdx.parse_cdx(answer[2]).rows, java_url_encode(params["resumeKey"])),
     "not_advancing"),
    # nothing on the page, yet a key to go on with
    (lambda params, answer, first: _json([], "ru%2Cmid%29%2Fz+20190101000000%21"), "empty_page_with_key"),
    # a fresh key each time, but the rows go back (the last of the page before comes again)
    (lambda params, answer, first: _json(first[-1:] + cdx.parse_cdx(answer[2]).rows[:2],
                                         params["resumeKey"] + "x"), "not_advancing"),
])
def test_a_broken_listing_stops_once_with_its_reason(fault, reason):
    stand_in = _broken(fault)
    seen = []
    with pytest.raises(cdx.ListingBroken) as stop:
        for row in cdx.list_captures(ENDPOINT, PREFIX, limit=3, fetch=stand_in.fetch):
            seen.append(row)
    assert stop.value.reason == reason and reason in cdx.BROKEN_REASONS
    assert "\n" not in str(stop.value)
    assert len(seen) == 3  # the first page's rows, not the offending page's
    assert len(stand_in.cdx_requests()) == 2  # and no third question


def test_an_unreadable_server_raises_unavailable():
    stand_in = _broken(lambda params, answer, first: (503, [("Retry-After", "5")], b"busy"))
    with pytest.raises(cdx.CdxUnavailable, match="HTTP 503"):
        list(cdx.list_captures(ENDPOINT, PREFIX, limit=3, fetch=stand_in.fetch))
    with pytest.raises(cdx.CdxUnavailable):
        list(cdx.list_captures("http://127.0.0.1:9/cdx", PREFIX, limit=3,
                               fetch=lambda url: cdx.fetch_cdx(url, timeout=5)))


def test_pywb_form_full_page_asks_once_for_the_whole_listing():
    rows = [cdx.CdxRow(f"ru,mid)/ru/foreign_policy/news/{n}", f"2019010{n}000000", f"{PREFIX}{n}",
                       "text/html", "200", "D") for n in range(1, 6)]
    answers = []

    def fetch(url):
        query = dict(parse_qsl(urlsplit(url).query))
        answers.append(query)
        chosen = rows[:int(query["limit"])] if "limit" in query else rows
        return "\n".join(json.dumps({"urlkey": r.urlkey, "timestamp": r.timestamp, "url": r.original,
                                     "mime": r.mimetype, "status": r.status}) for r in chosen).encode()

    got = list(cdx.list_captures(ENDPOINT, PREFIX, limit=3, fetch=fetch))
    assert [r.original for r in got[3:]] == [r.original for r in rows]  # the whole listing, once
    assert len(answers) == 2 and "limit" not in answers[1]


def test_java_url_encoder_of_the_readme_example():
    """The stand-in's key is the README's: ``org%2Carchive%29%2F+19980109140106%21``."""
    assert java_url_encode("org,archive)/ 19980109140106!") == "org%2Carchive%29%2F+19980109140106%21"


# -- URLs from outside ------------------------------------------------------------------------

HOSTS = ("archive.mid.ru", "www.mid.ru", "mid.ru")
LIFERAY = "/ru/foreign_policy/news/-/asset_publisher/cKNonkJE02Bw/content/id/4813581"


@pytest.mark.parametrize("url, reason", [
    ("javascript:alert(1)//archive.mid.ru/-/asset_publisher/a/content/id/1", "scheme"),
    ("JavaScript:alert(1)//archive.mid.ru" + LIFERAY, "scheme"),
    ("data:text/html,<script>//archive.mid.ru" + LIFERAY, "characters"),
    ("data:text/html,x//archive.mid.ru" + LIFERAY, "scheme"),
    ("https://evil.example/?u=//archive.mid.ru" + LIFERAY, "host"),
    ("https://archive.mid.ru.evil.example" + LIFERAY, "host"),
    ("https://archive.mid.ru@evil.example" + LIFERAY, "host"),
    ("https://u@archive.mid.ru" + LIFERAY, "host"),
    ("https://archive.mid.ru/search?q=" + LIFERAY, "path"),
    ("https://archive.mid.ru/x#" + LIFERAY, "path"),
    ("https://archive.mid.ru" + LIFERAY + '"><script>', "characters"),
    ("https://archive.mid.ru" + LIFERAY + "\n", "characters"),
    ("https://archive.mid.ru:99999" + LIFERAY, "not_a_url"),
    ("", "not_a_url"),
    (None, "not_a_url"),
    ("https://archive.mid.ru" + LIFERAY, None),
    ("http://www.mid.ru:80" + LIFERAY + "?p_p_id=101_INSTANCE_cKNonkJE02Bw&_101_redirect=%2Fru", None),
    ("HTTPS://MID.RU" + LIFERAY, None),
])
def test_source_url_refusal(url, reason):
    assert source_url_refusal(url, HOSTS, LIFERAY_PATH) == reason
    assert is_source_url(url, HOSTS, LIFERAY_PATH) == (reason is None)


@settings(max_examples=300)
@given(st.sampled_from(["http", "https", "HTTP", "javascript", "data", "ftp", "file", "vbscript", ""]),
       st.sampled_from(["archive.mid.ru", "www.mid.ru", "evil.example", "mid.ru.evil.example", ""]),
       st.sampled_from([LIFERAY, "/en/press_service/minister_speeches/-/asset_publisher/7OvQR5KJWVmR/content/id/1",
                        "/ru/foreign_policy/news/", "/x"]),
       st.sampled_from(["", "?q=" + LIFERAY, "?a=1&b=%2F", "#" + LIFERAY]),
       st.sampled_from(["://", ":", ":///", ":/"]))
def test_only_http_urls_of_the_source_with_a_transcript_path_pass(scheme, host, path, query, sep):
    url = f"{scheme}{sep}{host}{path}{query}"
    parts = urlsplit(url)
    passes = (scheme.lower() in ("http", "https") and sep == "://" and host in HOSTS
              and re.search(LIFERAY_PATH, parts.path) is not None)
    assert is_source_url(url, HOSTS, LIFERAY_PATH) == passes, url


def test_the_stand_in_filters_as_field_regex_filter():
    """README: ``filter=!statuscode:200``; FieldRegexFilter: the regex matches the whole field,
    ``~`` tests containment; a line filtered out still ends the page it was read on."""
    index = {capture(f"{PREFIX}{n}/", f"2019010{n}000000", b"x", status=("200" if n % 2 else "404")): b"x"
             for n in range(1, 7)}
    stand_in = WaybackStandIn(index, serve=False)
    query = [("url", PREFIX), ("matchType", "prefix"), ("output", "json")]
    statuses = lambda extra: [r.status for r in cdx.parse_cdx(stand_in.cdx(query + extra)[2]).rows]  # noqa: E731
    assert statuses([("filter", "!statuscode:200")]) == ["404"] * 3
    assert statuses([("filter", "statuscode:20")]) == []  # whole-field match, not a prefix
    assert statuses([("filter", "~statuscode:20")]) == ["200"] * 3
    page = cdx.parse_cdx(stand_in.cdx(query + [("filter", "statuscode:200"), ("limit", "2"),
                                               ("showResumeKey", "true")])[2])
    assert [r.timestamp[:8] for r in page.rows] == ["20190101", "20190103"]
    assert page.resume_key == java_url_encode("ru,mid)/ru/foreign_policy/news/3 20190103000000!")
