"""Golden bytes of records, warcio's habit: fixed record ids and dates, and the exact bytes of
each record after decompression. Any change to how records are serialised shows here first.

The expected bytes were written by the hand-made serialiser that warcio's ``WARCWriter``
replaced (issue 16): the same bytes, record for record.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import subprocess
import sys
import zlib
from pathlib import Path

import stenogram.archive.warc_writer as warc_writer
from stenogram.archive.digests import FirstCapture
from stenogram.archive.http_blocks import ArchivedRequest, ArchivedResponse
from stenogram.archive.warc_writer import WarcWriter

URL = "http://127.0.0.1:8001/en/foreign_policy/news/1/"
DATE, LATER, LATEST = "2024-04-12T15:38:00Z", "2024-04-13T08:00:00.250000Z", "2024-04-14T08:00:00Z"
BODY = b"<p>Lavrov</p>"


def _fixed_record_ids(monkeypatch) -> None:
    ids = itertools.count(1)
    monkeypatch.setattr(warc_writer, "_new_record_id",
                        lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(ids):012d}>")


def members(path: Path) -> list[bytes]:
    """The decompressed gzip members of a WARC file, one by one."""
    data, out = path.read_bytes(), []
    while data:
        inflate = zlib.decompressobj(zlib.MAX_WBITS + 16)
        out.append(inflate.decompress(data))
        assert inflate.eof
        data = inflate.unused_data
    return out


def _warcio_check(path: Path) -> bool:
    warcio = Path(sys.executable).parent / "warcio"
    return subprocess.run([str(warcio), "check", str(path)], capture_output=True,
                          timeout=60).returncode == 0


GOLDEN_RECORDS = (
    "WARC/1.1\r\nWARC-Type: response\r\n"
    "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
    "WARC-Date: 2024-04-12T15:38:00Z\r\n"
    "WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n"
    "WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    "WARC-IP-Address: 127.0.0.1\r\n"
    "WARC-Payload-Digest: sha1:WWCFRV4U6VYYY5B4GH3U77NFYOJZXOXS\r\n"
    "WARC-Block-Digest: sha1:W6F3FYJQNZTJVHMOCNALFOWMTFPGY7AT\r\n"
    "Content-Type: application/http; msgtype=response\r\n"
    "Content-Length: 156\r\n\r\n"
    "HTTP/1.1 200 Fine \r\n"
    "Content-Type: text/html; charset=utf-8 \r\n"
    "X-Folded: a\r\n b\r\n"
    "X-Archive-Orig-Transfer-Encoding: chunked\r\n"
    "Content-Length: 13\r\n\r\n"
    "<p>Lavrov</p>\r\n\r\n"
    "WARC/1.1\r\nWARC-Type: request\r\n"
    "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000003>\r\n"
    "WARC-Date: 2024-04-12T15:38:00Z\r\n"
    "WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n"
    "WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    "WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
    "WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
    "WARC-Block-Digest: sha1:R5TIDZMK7MQONL7LOQTQZSTHI32YU6YW\r\n"
    "Content-Type: application/http; msgtype=request\r\n"
    "Content-Length: 112\r\n\r\n"
    "GET /en/foreign_policy/news/1/ HTTP/1.1\r\nConnection: close\r\n"
    "User-Agent: stenogram-test\r\nHost: 127.0.0.1:8001\r\n\r\n"
    "\r\n\r\n"
    "WARC/1.1\r\nWARC-Type: metadata\r\n"
    "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000004>\r\n"
    "WARC-Date: 2024-04-12T15:38:00Z\r\n"
    "WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n"
    "WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
    "WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
    "WARC-Block-Digest: sha1:L22QRZ64O42I7VK2P3J43GTZ25B7OW4K\r\n"
    "Content-Type: application/warc-fields\r\n"
    "Content-Length: 33\r\n\r\n"
    "x-stenogram-is-transcript: true\r\n"
    "\r\n\r\n"
).encode("latin-1")


def test_golden_bytes_of_an_exchange_and_its_metadata(tmp_path, monkeypatch):
    """The exact bytes of a response (status line and header values as received, a folded
    header, the chunked framing restated), its request (the head as sent) and a metadata
    record (the response's date, no payload digest). Any change to how records are serialised
    shows here first."""
    _fixed_record_ids(monkeypatch)
    url = "http://127.0.0.1:8001/en/foreign_policy/news/1/"
    w = WarcWriter(tmp_path, "golden", hostname="box", salvage=False)
    loc = w.write_exchange(
        ArchivedRequest(url, head="GET /en/foreign_policy/news/1/ HTTP/1.1\r\nConnection: close\r\n"
                                  "User-Agent: stenogram-test\r\nHost: 127.0.0.1:8001\r\n\r\n"),
        ArchivedResponse(url, 200, [("Content-Type", "text/html; charset=utf-8 "),
                                    ("X-Folded", "a\r\n b"), ("Transfer-Encoding", "chunked")],
                         b"<p>Lavrov</p>", status_line="HTTP/1.1 200 Fine ",
                         ip_address="127.0.0.1"),
        date="2024-04-12T15:38:00Z")
    w.write_metadata(loc.warc_record_id, url, {"x-stenogram-is-transcript": "true"})
    w.close()
    assert b"".join(members(tmp_path / loc.warc_file)[1:]) == GOLDEN_RECORDS
    assert "sha1:" + base64.b32encode(hashlib.sha1(b"<p>Lavrov</p>").digest()).decode() == \
        loc.payload_digest == "sha1:WWCFRV4U6VYYY5B4GH3U77NFYOJZXOXS"
    assert _warcio_check(tmp_path / loc.warc_file)


GOLDEN = [
    ('WARC/1.1\r\n'
     'WARC-Type: response\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n'
     'WARC-Date: 2024-04-12T15:38:00Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-IP-Address: 127.0.0.1\r\n'
     'WARC-Payload-Digest: sha1:WWCFRV4U6VYYY5B4GH3U77NFYOJZXOXS\r\n'
     'WARC-Block-Digest: sha1:HT2CYEMTSC7CMSZGPVWKH3TEZY2VL6F6\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 104\r\n'
     '\r\n'
     'HTTP/1.1 200 OK\r\n'
     'Content-Type: text/html; charset=utf-8\r\n'
     'ETag: "v1"\r\n'
     'Content-Length: 13\r\n'
     '\r\n'
     '<p>Lavrov</p>\r\n'
     '\r\n').encode("latin-1"),
    ('WARC/1.1\r\n'
     'WARC-Type: revisit\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000004>\r\n'
     'WARC-Date: 2024-04-13T08:00:00.250000Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest\r\n'
     'WARC-Refers-To: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n'
     'WARC-Refers-To-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Refers-To-Date: 2024-04-12T15:38:00Z\r\n'
     'WARC-Payload-Digest: sha1:WWCFRV4U6VYYY5B4GH3U77NFYOJZXOXS\r\n'
     'WARC-Block-Digest: sha1:FTRQJ6ORDJIALJ5QYMYTI5WLMRYM5ZNV\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 91\r\n'
     '\r\n'
     'HTTP/1.1 200 OK\r\n'
     'Content-Type: text/html; charset=utf-8\r\n'
     'ETag: "v1"\r\n'
     'Content-Length: 13\r\n'
     '\r\n'
     '\r\n'
     '\r\n').encode("latin-1"),
    ('WARC/1.1\r\n'
     'WARC-Type: revisit\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000006>\r\n'
     'WARC-Date: 2024-04-14T08:00:00Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified\r\n'
     'WARC-Refers-To: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n'
     'WARC-Refers-To-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Refers-To-Date: 2024-04-12T15:38:00Z\r\n'
     'WARC-Block-Digest: sha1:4K6KP6NYU2YB4W3KLFPFUK76EZAXZWVT\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 41\r\n'
     '\r\n'
     'HTTP/1.1 304 Not Modified\r\n'
     'ETag: "v1"\r\n'
     '\r\n'
     '\r\n'
     '\r\n').encode("latin-1"),
    ('WARC/1.1\r\n'
     'WARC-Type: revisit\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000008>\r\n'
     'WARC-Date: 2024-04-14T08:00:00Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified\r\n'
     'WARC-Block-Digest: sha1:4K6KP6NYU2YB4W3KLFPFUK76EZAXZWVT\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 41\r\n'
     '\r\n'
     'HTTP/1.1 304 Not Modified\r\n'
     'ETag: "v1"\r\n'
     '\r\n'
     '\r\n'
     '\r\n').encode("latin-1"),
    ('WARC/1.1\r\n'
     'WARC-Type: response\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000010>\r\n'
     'WARC-Date: 2024-04-12T15:38:00Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/gz\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-Payload-Digest: sha1:WD5UKCIJVSXG22JPKNSQH7RPGQ2CUZE5\r\n'
     'WARC-Block-Digest: sha1:X5QNQHSIPMFNDVG24FLTIOZUSHUAXVP3\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 99\r\n'
     '\r\n'
     'HTTP/1.1 200 OK\r\n'
     'Content-Encoding: gzip\r\n'
     'Content-Length: 36\r\n'
     '\r\n'
     "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03³)°óI,+Ê/³Ñ/°³ÁÉ\x01\x00\x17<ÛO'\x00\x00\x00\r\n"
     '\r\n').encode("latin-1"),
    ('WARC/1.1\r\n'
     'WARC-Type: response\r\n'
     'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000012>\r\n'
     'WARC-Date: 2024-04-12T15:38:00Z\r\n'
     'WARC-Target-URI: http://127.0.0.1:8001/en/foreign_policy/news/1/long\r\n'
     'WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n'
     'WARC-Truncated: length\r\n'
     'WARC-Payload-Digest: sha1:QP6WTTEYPAV3E7ILY4S3USH2EZB4UBGL\r\n'
     'WARC-Block-Digest: sha1:BSS2NXYS52FENABAMS26OVBF4KI5UAWV\r\n'
     'Content-Type: application/http; msgtype=response\r\n'
     'Content-Length: 103\r\n'
     '\r\n'
     'HTTP/1.1 200 OK\r\n'
     'Content-Length: 64\r\n'
     '\r\n'
     '<p>Lavrov</p><p>Lavrov</p><p>Lavrov</p><p>Lavrov</p><p>Lavrov</p\r\n'
     '\r\n').encode("latin-1"),
]


def test_golden_bytes_of_revisits_encoded_and_truncated_responses(tmp_path, monkeypatch):
    """An identical-payload revisit; a 304 as the WARC 1.1 ``server-not-modified`` revisit
    whose block is the 304's own head (``WARC-Refers-To-*`` naming the earlier 200, whose head
    and payload digest it does not copy); the same 304 with nothing to refer to; a
    gzip-encoded body stored as it came; a body cut at ``max_record_body``
    (``WARC-Truncated``)."""
    _fixed_record_ids(monkeypatch)
    w = WarcWriter(tmp_path, "golden", hostname="box", salvage=False, max_record_body=64)
    request = ArchivedRequest(URL, headers=[("User-Agent", "stenogram-test")])
    ok = [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"')]
    first = w.write_exchange(request, ArchivedResponse(URL, 200, ok, BODY, ip_address="127.0.0.1"),
                             date=DATE)
    capture = FirstCapture(URL, DATE, first.warc_record_id, first.warc_file, first.warc_offset,
                           first.payload_digest, first.warc_length)
    w.write_revisit(request, ArchivedResponse(URL, 200, ok, BODY), capture, date=LATER)
    not_modified = ArchivedResponse(URL, 304, [("ETag", '"v1"')], status_line="HTTP/1.1 304 Not Modified")
    w.write_revisit(request, not_modified, capture, date=LATEST)
    w.write_revisit(request, not_modified, None, date=LATEST)
    encoded = gzip.compress(BODY * 3, mtime=0)
    w.write_exchange(request, ArchivedResponse(URL + "gz", 200, [("Content-Encoding", "gzip")],
                                               encoded), date=DATE)
    w.write_exchange(request, ArchivedResponse(URL + "long", 200, [], BODY * 6), date=DATE)
    w.close()
    written = members(tmp_path / first.warc_file)  # one gzip member per record
    assert len(written) == 13  # warcinfo, 6 requests (their bytes: the test above), 6 more
    assert [m for m in written[1:] if b"WARC-Type: request" not in m] == GOLDEN
    assert _warcio_check(tmp_path / first.warc_file)
