"""WarcWriter, live CDXJ, salvage and digest index, checked by reading the files back."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from warcio.archiveiterator import ArchiveIterator

from stenogram.archive.digests import DigestIndex, PayloadDigester, digest_of
from stenogram.archive.http_blocks import (
    ArchivedRequest,
    ArchivedResponse,
    request_head,
    request_target,
    response_head,
)
from stenogram.archive.salvage import complete_prefix_length, salvage_open_warc
from stenogram.archive.warc_writer import (
    DEFAULT_COMPRESSLEVEL,
    PROFILE_IDENTICAL_PAYLOAD,
    PROFILE_SERVER_NOT_MODIFIED,
    WarcWriter,
)

BIN = Path(sys.executable).parent
URL = "http://127.0.0.1:8000/en/press_service/minister_speeches/1927070/?lang=en&x=1"
HTML = ("<html><body><h1>Foreign Minister Sergey Lavrov’s answers to media questions</h1>"
        "<p>Question: ...</p><p>Sergey Lavrov: ...</p></body></html>").encode("utf-8")


def exchange(url=URL, body=HTML, status=200, headers=None, **kw):
    request = ArchivedRequest(url, headers=[(b"User-Agent", b"stenogram-test"),
                                            (b"Accept-Encoding", b"gzip, deflate, br")])
    if headers is None:
        headers = [(b"Content-Type", b"text/html; charset=UTF-8")]
    return request, ArchivedResponse(url, status, headers=headers, body=body,
                                     ip_address="127.0.0.1", **kw)


def records(path):
    """(rec_headers, http_headers, raw block bytes after the HTTP head) for each record."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            out.append((record.rec_headers, record.http_headers, record.content_stream().read()
                        if record.rec_type in ("warcinfo", "metadata") else
                        record.raw_stream.read()))
    return out


def raw_block(path, record_id: str) -> bytes:
    """The block of the record ``record_id`` exactly as stored (no parsing, no re-encoding)."""
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, no_record_parse=True):
            block = record.raw_stream.read()
            if record.rec_headers.get_header("WARC-Record-ID") == record_id:
                return block
    raise KeyError(record_id)


def warcio_check(path):
    return subprocess.run([str(BIN / "warcio"), "check", str(path)], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def writer(tmp_path):
    w = WarcWriter(tmp_path, "test", warcinfo={"operator": "tests", "robots": "obey"},
                   digest_index=DigestIndex.in_directory(tmp_path), hostname="box")
    yield w
    w.close()


def test_gzip_body_stored_encoded_with_verifiable_digests(writer, tmp_path):
    body = gzip.compress(HTML)
    req, resp = exchange(body=body, headers=[
        (b"Content-Type", b"text/html; charset=UTF-8"), (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"BITRIX_SM_GUEST_ID=1; path=/"), (b"Set-Cookie", b"PHPSESSID=abc"),
        (b"Transfer-Encoding", b"chunked")])
    loc = writer.write_exchange(req, resp)
    writer.close()
    path = tmp_path / loc.warc_file
    assert path.exists() and not (tmp_path / (loc.warc_file + ".open")).exists()
    recs = records(path)
    types = [r[0].get_header("WARC-Type") for r in recs]
    assert types == ["warcinfo", "response", "request"]
    rec, http, payload = recs[1]
    assert payload == body  # still gzip-encoded
    assert gzip.decompress(payload) == HTML
    assert http.get_header("Content-Encoding") == "gzip"
    assert [v for k, v in http.headers if k == "Set-Cookie"] == [
        "BITRIX_SM_GUEST_ID=1; path=/", "PHPSESSID=abc"]
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert http.get_header("Content-Length") == str(len(body))
    assert http.protocol == "HTTP/1.1" and http.statusline == "200 OK"
    assert rec.get_header("WARC-Payload-Digest") == digest_of(body) == loc.payload_digest
    head = http.to_str().encode("latin-1") + b"\r\n"
    assert rec.get_header("WARC-Block-Digest") == digest_of(head, body)
    assert rec.get_header("WARC-IP-Address") == "127.0.0.1"
    # request record: linked, full target with query, Host added
    req_rec, req_http, _ = recs[2]
    assert req_rec.get_header("WARC-Concurrent-To") == loc.warc_record_id
    assert req_http.protocol == "GET"
    assert req_http.statusline == request_target(URL) + " HTTP/1.1"
    assert "?lang=en&x=1" in req_http.statusline
    assert req_http.get_header("Host") == "127.0.0.1:8000"
    assert warcio_check(path).returncode == 0
    # location points at the response record
    with open(path, "rb") as fh:
        fh.seek(loc.warc_offset)
        chunk = fh.read(loc.warc_length)
    rec = next(iter(ArchiveIterator(io.BytesIO(chunk))))
    assert rec.rec_headers.get_header("WARC-Record-ID") == loc.warc_record_id


def test_content_length_rewritten_and_original_kept(writer, tmp_path):
    req, resp = exchange(headers=[(b"Content-Type", b"text/html"), (b"Content-Length", b"99999")])
    loc = writer.write_exchange(req, resp)
    writer.close()
    http = records(tmp_path / loc.warc_file)[1][1]
    assert http.get_header("Content-Length") == str(len(HTML))
    assert http.get_header("X-Archive-Orig-Content-Length") == "99999"


def test_non_ascii_header_bytes_kept_verbatim(writer, tmp_path):
    raw = "attachment; filename=\"Лавров.pdf\"".encode("utf-8")
    req, resp = exchange(headers=[(b"Content-Disposition", raw)])
    loc = writer.write_exchange(req, resp)
    writer.close()
    data = gzip.open(tmp_path / loc.warc_file).read()
    assert b"Content-Disposition: " + raw + b"\r\n" in data
    assert warcio_check(tmp_path / loc.warc_file).returncode == 0


def test_truncation_markers(tmp_path):
    w = WarcWriter(tmp_path, "t", max_record_body=1000, hostname="box")
    big = os.urandom(5000)
    cut = w.write_exchange(*exchange(url="http://127.0.0.1:8000/big", body=big))
    short = w.write_exchange(*exchange(url="http://127.0.0.1:8000/short", disconnected=True))
    w.close()
    recs = {r[0].get_header("WARC-Record-ID"): r for r in records(tmp_path / cut.warc_file)}
    rec, http, payload = recs[cut.warc_record_id]
    assert rec.get_header("WARC-Truncated") == "length"
    assert payload == big[:1000] and http.get_header("Content-Length") == "1000"
    assert recs[short.warc_record_id][0].get_header("WARC-Truncated") == "disconnect"
    assert warcio_check(tmp_path / cut.warc_file).returncode == 0


def test_revisits_and_sha256(tmp_path):
    index = DigestIndex.in_directory(tmp_path)
    w = WarcWriter(tmp_path, "t", digest="sha256", digest_index=index, hostname="box")
    first = w.write_exchange(*exchange())
    assert first.payload_digest.startswith("sha256:")
    prior = index.lookup(w.payload_digest(HTML))
    assert prior.record_id == first.warc_record_id and prior.length == first.warc_length
    rev = w.write_revisit(*exchange(url=URL + "&again=1"), prior)
    nm = w.write_revisit(*exchange(status=304, body=b"", headers=[(b"ETag", b'"e1"  ')]),
                         index.latest_for_uri(URL))
    gone = w.write_revisit(*exchange(url=URL + "&unknown=1", status=304, body=b""))
    w.close()
    recs = {r[0].get_header("WARC-Record-ID"): r for r in records(tmp_path / first.warc_file)}
    rrec, rhttp, rpayload = recs[rev.warc_record_id]
    assert rrec.get_header("WARC-Type") == "revisit" and rpayload == b""
    assert rrec.get_header("WARC-Profile") == PROFILE_IDENTICAL_PAYLOAD
    assert rrec.get_header("WARC-Refers-To") == first.warc_record_id
    assert rrec.get_header("WARC-Refers-To-Target-URI") == URL
    assert rrec.get_header("WARC-Payload-Digest") == first.payload_digest
    assert rhttp.get_statuscode() == "200"
    # a 304 of a known capture: a server-not-modified revisit whose block is the 304's own
    # head byte for byte (never the earlier 200's), naming that capture, with no payload digest
    # and no metadata record beside it
    nrec, nhttp, npayload = recs[nm.warc_record_id]
    assert nrec.get_header("WARC-Profile") == PROFILE_SERVER_NOT_MODIFIED
    assert nrec.get_header("WARC-Refers-To") == first.warc_record_id
    assert nrec.get_header("WARC-Refers-To-Target-URI") == URL
    assert nrec.get_header("WARC-Refers-To-Date") == recs[first.warc_record_id][0].get_header(
        "WARC-Date")
    assert nrec.get_header("WARC-Payload-Digest") is None and npayload == b""
    assert nhttp.statusline == "304 Not Modified"
    assert raw_block(tmp_path / first.warc_file, nm.warc_record_id) == (
        b'HTTP/1.1 304 Not Modified\r\nETag: "e1"  \r\n\r\n')
    assert not [r for r in recs.values() if r[0].get_header("WARC-Concurrent-To") == nm.warc_record_id
                and r[0].get_header("WARC-Type") == "metadata"]
    # a 304 with nothing known to refer to: the same record, without WARC-Refers-To-*
    grec, ghttp, _ = recs[gone.warc_record_id]
    assert grec.get_header("WARC-Profile") == PROFILE_SERVER_NOT_MODIFIED
    assert grec.get_header("WARC-Refers-To") is None and ghttp.statusline == "304 Not Modified"
    for record_id, (rec, _, _) in recs.items():  # over the block as stored, byte for byte
        block = raw_block(tmp_path / first.warc_file, record_id)
        assert rec.get_header("WARC-Block-Digest") == digest_of(block, algorithm="sha256")
    assert warcio_check(tmp_path / first.warc_file).returncode == 0


def test_metadata_record(writer, tmp_path):
    loc = writer.write_exchange(*exchange())
    meta = writer.write_metadata(loc.warc_record_id, URL, {
        "outlink": ["http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b"],
        "interstitial": "no"})
    writer.close()
    rec, _, payload = [r for r in records(tmp_path / loc.warc_file)
                       if r[0].get_header("WARC-Record-ID") == meta.warc_record_id][0]
    assert rec.get_header("WARC-Concurrent-To") == loc.warc_record_id
    assert rec.get_header("Content-Type") == "application/warc-fields"
    assert payload.count(b"outlink: ") == 2 and b"interstitial: no\r\n" in payload
    # one capture event: the response's WARC-Date; a warc-fields block has no payload digest
    response = [r for r, _, _ in records(tmp_path / loc.warc_file)
                if r.get_header("WARC-Record-ID") == loc.warc_record_id][0]
    assert rec.get_header("WARC-Date") == response.get_header("WARC-Date")
    assert rec.get_header("WARC-Payload-Digest") is None and meta.payload_digest is None
    assert rec.get_header("WARC-Block-Digest") == digest_of(payload)


def test_metadata_date_of_an_earlier_capture_and_of_an_unknown_one(tmp_path):
    w = WarcWriter(tmp_path, "m", hostname="box")
    first = w.write_exchange(*exchange(), date="2024-04-12T15:38:00.123456Z")
    for i in range(3):
        w.write_exchange(*exchange(url=f"{URL}?n={i}"))
    meta = w.write_metadata(first.warc_record_id, URL, {"k": "v"})
    given = w.write_metadata(first.warc_record_id, URL, {"k": "v"}, date="2024-04-12T15:38:01Z")
    unknown = w.write_metadata("<urn:uuid:00000000-0000-4000-8000-000000000000>", URL, {"k": "v"})
    w.close()
    dates = {r.get_header("WARC-Record-ID"): r.get_header("WARC-Date")
             for r, _, _ in records(tmp_path / first.warc_file)}
    assert dates[meta.warc_record_id] == "2024-04-12T15:38:00.123456Z"
    assert dates[given.warc_record_id] == "2024-04-12T15:38:01Z"
    assert dates[unknown.warc_record_id] > "2024-04-13"  # now


def test_warcinfo_and_names(writer, tmp_path):
    loc = writer.write_exchange(*exchange())
    open_name = writer.current_file + ".open"
    assert (tmp_path / open_name).exists()
    assert (tmp_path / (open_name[: -len(".warc.gz.open")] + ".cdxj.open")).exists()
    writer.close()
    name = loc.warc_file
    prefix, ts, serial, rest = name.split("-", 3)
    assert prefix == "test" and len(ts) == 17 and ts.isdigit() and serial == "00000"
    assert rest == f"{os.getpid()}~box.warc.gz"
    info, _, payload = records(tmp_path / name)[0]
    assert info.get_header("WARC-Type") == "warcinfo"
    assert info.get_header("WARC-Filename") == name
    assert b"operator: tests\r\n" in payload and b"software: stenogram/" in payload
    assert (tmp_path / (name[: -len(".warc.gz")] + ".cdxj")).exists()


def test_rotation_by_size_keeps_pairs_together(tmp_path):
    w = WarcWriter(tmp_path, "rot", max_size=3000, hostname="box")
    locs = [w.write_exchange(*exchange(url=f"http://127.0.0.1:8000/p{i}", body=os.urandom(1200)))
            for i in range(8)]
    w.close()
    files = sorted(p.name for p in tmp_path.glob("*.warc.gz"))
    assert len(files) >= 3 and files == sorted(set(l.warc_file for l in locs))
    assert [f.split("-")[2] for f in files] == [f"{i:05d}" for i in range(len(files))]
    for f in files:
        recs = records(tmp_path / f)
        assert recs[0][0].get_header("WARC-Type") == "warcinfo"
        ids = {r[0].get_header("WARC-Record-ID") for r in recs}
        for rec, _, _ in recs:
            if rec.get_header("WARC-Type") == "request":
                assert rec.get_header("WARC-Concurrent-To") in ids
        assert os.path.getsize(tmp_path / f) < 3000 + 2000


def test_live_cdxj_equals_cdxj_indexer(tmp_path):
    index = DigestIndex.in_directory(tmp_path)
    w = WarcWriter(tmp_path, "cdx", digest_index=index, hostname="box")
    loc = w.write_exchange(*exchange())
    w.write_exchange(*exchange(url="http://127.0.0.1:8000/missing", status=404, body=b"nope",
                               headers=[(b"Content-Type", b"text/plain")]))
    w.write_exchange(*exchange(url="http://127.0.0.1:8000/r", status=301, body=b"",
                               headers=[(b"Location", b"/en/")]))
    w.write_revisit(*exchange(url=URL + "#2"), index.lookup(loc.payload_digest))
    w.write_metadata(loc.warc_record_id, URL, {"outlink": "http://127.0.0.1:8000/"})
    w.write_exchange(*exchange(url="http://127.0.0.1:8000/a", status=404, body=b"no"))
    w.close()
    warc = tmp_path / loc.warc_file
    live_path = tmp_path / (loc.warc_file[: -len(".warc.gz")] + ".cdxj")
    live = live_path.read_bytes()
    # sorted on close (pywb binary-searches it), byte for byte what cdxj-indexer --sort and
    # `stenogram index` write
    out = subprocess.run([str(BIN / "cdxj-indexer"), "--sort", str(warc)], capture_output=True,
                         timeout=60, check=True).stdout
    assert live == out
    assert live.splitlines() == sorted(live.splitlines()) and len(live.splitlines()) == 5
    assert b":8000)/a " in live.splitlines()[0]  # written last, sorts first
    from stenogram.archive.cli import rebuild_cdxj

    assert rebuild_cdxj(warc) == live_path and live_path.read_bytes() == live
    assert not list(tmp_path.glob("*.open")) and not list(tmp_path.glob("*.tmp"))


@pytest.fixture(scope="module")
def sample_open_warc(tmp_path_factory):
    """A closed WARC with a varied record mix, and the byte offsets where records end."""
    d = tmp_path_factory.mktemp("salvage-src")
    w = WarcWriter(d, "cut", max_record_body=4000, hostname="box")
    w.write_exchange(*exchange(body=gzip.compress(HTML, mtime=0)))
    w.write_exchange(*exchange(url="http://127.0.0.1:8000/big", body=os.urandom(6000)))
    loc = w.write_exchange(*exchange(url="http://127.0.0.1:8000/x?q=1", status=404, body=b"no"))
    w.write_metadata(loc.warc_record_id, loc.warc_file, {"k": "v"})
    w.close()
    path = Path(w.files_written[0])
    ends = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            it.read_to_end(record)
            ends.append(it.get_record_offset() + it.get_record_length())
    return path.read_bytes(), ends


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_salvage_any_cut_point(sample_open_warc, tmp_path_factory, data):
    blob, ends = sample_open_warc
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)), label="cut")
    junk = data.draw(st.sampled_from([b"", b"\x00" * 17, b"\x1f\x8b\x08garbage"]), label="junk")
    d = tmp_path_factory.mktemp("salvage")
    open_path = d / "cut-20240101000000000-00000-1~box.warc.gz.open"
    open_path.write_bytes(blob[:cut] + junk)
    (d / "cut-20240101000000000-00000-1~box.cdxj.open").write_text("stale line\n")
    written = blob[:cut] + junk
    # A record is complete when its bytes are all there. Junk can complete a cut record:
    # zero bytes after a cut in the last two bytes of a small member restore exactly its
    # ISIZE field's high bytes, which are zero below 64 KiB.
    complete = [e for e in ends if written[:e] == blob[:e]]
    expected_end = max(complete, default=0)
    expected_records = len(complete)
    assert complete_prefix_length(open_path) == (expected_end, expected_records)
    result = salvage_open_warc(open_path)
    assert not open_path.exists()
    if expected_records == 0:
        assert result.path is None
        return
    final = Path(result.path)
    assert final.read_bytes() == blob[:expected_end]
    assert result.records_kept == expected_records
    assert warcio_check(final).returncode == 0
    indexed = subprocess.run([str(BIN / "cdxj-indexer"), "--sort", str(final)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    cdxj = d / "cut-20240101000000000-00000-1~box.cdxj"
    assert cdxj.read_text() == indexed  # sorted, as the live index of a closed file
    assert not (d / "cut-20240101000000000-00000-1~box.cdxj.open").exists()


def test_writer_start_salvages_leftovers_and_digest_index(sample_open_warc, tmp_path):
    blob, ends = sample_open_warc
    name = "cut-20240101000000000-00000-1~box.warc.gz"
    (tmp_path / (name + ".open")).write_bytes(blob[: ends[5] + 10])
    index = DigestIndex.in_directory(tmp_path)
    index.rebuild([])
    w = WarcWriter(tmp_path, "next", digest_index=index, hostname="box")
    assert [Path(r.path).name for r in w.salvaged] == [name] and w.salvaged[0].records_kept == 6
    w.close()
    assert index.rebuild(tmp_path.glob("*.warc.gz")) == 2  # the two untruncated responses
    first = index.lookup(digest_of(gzip.compress(HTML, mtime=0)))
    assert first.warc_file == name and first.uri == URL
    found = index.latest_for_uri(URL)
    assert found is not None and found.warc_file == name
    assert index.lookup(found.digest).offset == found.offset
    # the 404 is salvaged and indexed too, but is nothing a 304 re-check could refer to
    assert index.latest_for_uri("http://127.0.0.1:8000/x?q=1") is None


def test_a_304_refers_to_the_latest_whole_200_not_to_a_503_since(tmp_path):
    """A 503 (or an empty answer) written after the page is not what a later 304 vouches for:
    the re-check's revisit names the last whole 2xx, pending or committed."""
    index = DigestIndex.in_directory(tmp_path)
    w = WarcWriter(tmp_path, "t", digest_index=index, hostname="box")
    page = w.write_exchange(*exchange())
    w.write_exchange(*exchange(status=503, body=b"<h1>busy</h1>"))
    w.write_exchange(*exchange(status=200, body=b""))
    assert index.latest_for_uri(URL).record_id == page.warc_record_id  # pending
    index.flush()
    assert index.latest_for_uri(URL).record_id == page.warc_record_id  # committed
    nm = w.write_revisit(*exchange(status=304, body=b""), index.latest_for_uri(URL))
    w.close()
    recs = {r[0].get_header("WARC-Record-ID"): r for r in records(tmp_path / page.warc_file)}
    assert recs[nm.warc_record_id][0].get_header("WARC-Refers-To") == page.warc_record_id
    index.close()


def test_live_file_is_not_salvaged(writer, tmp_path):
    writer.write_exchange(*exchange())
    open_path = tmp_path / (writer.current_file + ".open")
    assert salvage_open_warc(open_path) is None
    assert open_path.exists()


@pytest.mark.parametrize("level", [0, 1, 2, 6, 9, -1])
def test_compresslevel_and_gzip_header_xfl(tmp_path, level):
    """Each record is a gzip member of its own whose XFL byte is the one zlib's gzip writer
    sets for the level; the level changes only the compressed bytes."""
    w = WarcWriter(tmp_path, "lvl", hostname="box", compresslevel=level)
    loc = w.write_exchange(*exchange(body=HTML * 50))
    w.write_exchange(*exchange(url=URL + "&gz=1", body=gzip.compress(HTML, mtime=0), headers=[
        (b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")]))
    w.close()
    blob = (tmp_path / loc.warc_file).read_bytes()
    zlib_xfl = zlib.compressobj(level, zlib.DEFLATED, 31).flush()[8:9]
    members = 0
    while blob:
        assert blob[:3] == b"\x1f\x8b\x08" and blob[8:9] == zlib_xfl
        inflate = zlib.decompressobj(31)
        inflate.decompress(blob)
        assert inflate.eof
        blob, members = inflate.unused_data, members + 1
    assert members == 5  # warcinfo, response, request, response, request
    assert [r[2] for r in records(tmp_path / loc.warc_file)][1] == HTML * 50
    assert warcio_check(tmp_path / loc.warc_file).returncode == 0


def test_default_compresslevel_is_zlibs():
    assert WarcWriter.__init__.__kwdefaults__["compresslevel"] == 6 == DEFAULT_COMPRESSLEVEL


def test_digests_are_base32_of_hashlib():
    for data in (b"", HTML, os.urandom(5000)):
        for algorithm in ("sha1", "sha256"):
            raw = hashlib.new(algorithm, data).digest()
            expected = f"{algorithm}:{base64.b32encode(raw).decode()}"
            assert digest_of(data[:7], data[7:], algorithm=algorithm) == expected
            assert str(PayloadDigester(algorithm).update(data)) == expected
    with pytest.raises(ValueError):
        digest_of(b"", algorithm="md5")
    with pytest.raises(ValueError):
        PayloadDigester("md5")


@pytest.mark.parametrize("headers", [
    [(b"Content-Type", b"text/html"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")],
    {b"Content-Type": [b"text/html"], b"Set-Cookie": [b"a=1", b"b=2"], "X-Str": "v"},
    [("Content-Disposition", "attachment; filename=\"Лавров.pdf\"".encode("utf-8")),
     ("Transfer-Encoding", "chunked"), ("Content-Length", "12")],
    [],
])
def test_http_head_blocks_are_warcio_serialisation(headers):
    """The head blocks are joined here; warcio's ``to_str`` says what they must be."""
    request = ArchivedRequest(URL + "#frag", method="post", headers=headers, body=b"x=1")
    response = ArchivedResponse(URL, 200, headers=headers, body=b"<html></html>")
    for head in (request_head(request), response_head(response, 13),
                 response_head(ArchivedResponse(URL, 304, headers=headers), 0, method="HEAD")):
        head.compute_headers_buffer()
        assert head.headers_buff == head.to_str().encode("latin-1") + b"\r\n"
        assert all(type(n) is str and type(v) is str for n, v in head.headers)
    assert request_head(request).statusline == request_target(URL) + " HTTP/1.1"
    assert ("Host", "127.0.0.1:8000") in request_head(request).headers


# ------------------------------------------------------------------ header bytes, round trip
_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VCHAR = st.characters(codec="latin-1", categories=("L", "N", "P", "S"), exclude_characters="\x7f")
_name = st.text(_TCHAR, min_size=1, max_size=12).filter(
    lambda n: n.lower() not in ("content-length", "transfer-encoding"))
_ows = st.text(" \t", max_size=3)
_word = st.text(_VCHAR, min_size=1, max_size=12)
_value = st.builds(lambda lead, words, trail: lead + " ".join(words) + trail,
                   _ows, st.lists(_word, max_size=4), _ows)


@st.composite
def _response_heads(draw):
    """A response head as a server might write it: odd phrases, trailing and leading whitespace
    in values, empty values, folded (obs-fold) continuation lines, any name case."""
    code = draw(st.integers(200, 599).filter(lambda c: c not in (204, 304)))
    reason = draw(st.none() | st.builds(lambda r, t: r + t, st.text(_VCHAR | st.just(" "), max_size=20), _ows))
    lines = [f"HTTP/1.1 {code}" + ("" if reason is None else f" {reason}")]
    body = draw(st.binary(max_size=20))
    headers = draw(st.lists(st.tuples(_name, _value, st.lists(_value.filter(str.strip), max_size=2)),
                            max_size=6))
    at = draw(st.integers(0, len(headers)))
    for i, (name, value, folds) in enumerate(headers):
        if i == at:
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"{name}: {value}" + "".join(f"\r\n {fold}" for fold in folds))
    if at == len(headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body


@settings(max_examples=200, deadline=None)
@given(_response_heads())
def test_response_head_bytes_round_trip(case):
    """What Twisted's parser reads off the wire (crawler.download_handler) is written to the
    WARC record byte for byte: no value stripped, no fold joined, the status line as sent."""
    from twisted.internet.testing import StringTransport
    from twisted.web._newclient import Request
    from twisted.web.http_headers import Headers

    from stenogram.crawler.archiving import WarcArchiver
    from stenogram.crawler.download_handler import _TX_ATTR, WireRecordingParser

    head, body = case
    parser = WireRecordingParser(Request(b"GET", b"/", Headers({b"host": [b"x"]}), None),
                                 lambda rest: None)
    parser.makeConnection(StringTransport())
    parser.dataReceived(head + body)
    wire = getattr(parser.response, _TX_ATTR)

    from types import SimpleNamespace

    archived = WarcArchiver.archived_response(
        SimpleNamespace(url=URL, status=wire["status"], headers={}, body=body, flags=[],
                        ip_address=None, protocol="HTTP/1.1"),
        SimpleNamespace(meta={"wire": wire}))
    block = response_head(archived, len(body))
    block.compute_headers_buffer()
    assert block.headers_buff == head
    # and warcio reads the same status and headers back from it
    from warcio.statusandheaders import StatusAndHeadersParser

    parsed = StatusAndHeadersParser(["HTTP/1.1"], verify=False).parse(io.BytesIO(block.headers_buff))
    assert parsed.get_statuscode() == str(wire["status"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_name, st.builds(lambda w, t: " ".join(w) + t, st.lists(_word, max_size=3), _ows)),
                max_size=6),
       st.sampled_from([b"GET", b"POST", b"HEAD"]), st.booleans())
def test_request_head_bytes_round_trip(headers, method, persistent):
    """The request head Twisted writes (request line, Host, Connection, every header line with
    its value unstripped) is the request record's head, byte for byte."""
    from twisted.internet.testing import StringTransport
    from twisted.web._newclient import Request
    from twisted.web.http_headers import Headers

    from stenogram.crawler.download_handler import _TX_REQUEST_ATTR, _record_request_head

    tx_headers = Headers({b"Host": [b"127.0.0.1:8000"]})
    for name, value in headers:
        if name.lower() != "host":
            tx_headers.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
    request = Request(method, b"/en/a?b=1", tx_headers, None, persistent=persistent)
    _record_request_head(request)
    transport = StringTransport()
    request.writeTo(transport)
    sent = getattr(request, _TX_REQUEST_ATTR)
    assert transport.value() == sent
    block = request_head(ArchivedRequest(URL, head=sent.decode("latin-1")))
    block.compute_headers_buffer()
    assert block.headers_buff == sent
