"""archive.reader: WARC records back to Captures, through damage, codings and revisits.

The WARCs here are made with warcio's own WARCWriter (the reference writer), so these tests
check the reader against what any WARC tool produces, not against our writer's quirks.
``make_sample_warc`` is shared with the WACZ, replay and interop tests.
"""
from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import brotli
import pytest
from hypothesis import given, settings, strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stenogram.archive.reader import (
    ContentDecodingError,
    ReadStats,
    decode_content,
    dechunk,
    expand_warc_paths,
    iter_captures,
    read_record_at,
)

EN_URL = "https://mid.ru/en/foreign_policy/news/1975643/"
RU_URL = "http://en.interaffairs.ru/lavrov/1234-lavrov-press-conference.html"
BR_URL = "https://mid.ru/en/press_service/minister_speeches/1927070/"
CHUNKED_URL = "https://www.globalsecurity.org/wmd/library/news/russia/2021/russia-210408-russia-mfa01.htm"
REDIRECT_URL = "https://mid.ru/en/foreign_policy/news/1975643"

EN_TEXT = "Foreign Minister Sergey Lavrov's remarks and answers to media questions, Minsk, April 12, 2024"
RU_TEXT = "Выступление и ответы на вопросы СМИ Министра иностранных дел России С.В.Лаврова, Москва, 12 апреля 2024 года"
BR_TEXT = "Sergey Lavrov: Thank you. Question: What about the talks?"
CHUNKED_TEXT = "The Ministry of Foreign Affairs of the Russian Federation 8 April 202114:32"


def html_page(title: str, text: str, charset: str = "utf-8") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head>'
        f'<body><div class="text article-content"><h1>{title}</h1><p>{text}</p></div></body></html>'
    )


def chunk(data: bytes, size: int = 37) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size])
                   for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def write_exchange(writer, url, status, headers, payload, date):
    """A request + response pair, like a crawler writes."""
    req = writer.create_warc_record(
        url, "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [("Host", url.split("/")[2])],
                                      is_http_request=True),
        warc_headers_dict={"WARC-Date": date},
    )
    resp = writer.create_warc_record(
        url, "response",
        payload=io.BytesIO(payload),
        length=len(payload),
        http_headers=StatusAndHeaders(f"{status}", headers, protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_record(req)
    writer.write_record(resp)
    return resp


def make_sample_warc(path: Path, gzip_records: bool = True) -> dict:
    """A small crawl: gzip, windows-1251, brotli and chunked pages, a redirect, a revisit,
    metadata. Returns what was written, for assertions."""
    en_html = html_page("Remarks, Minsk", EN_TEXT).encode("utf-8")
    ru_html = html_page("Лавров", RU_TEXT, charset="windows-1251").encode("cp1251")
    br_html = html_page("Answers", BR_TEXT).encode("utf-8")
    ch_html = html_page("MFA", CHUNKED_TEXT).encode("utf-8")
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gzip_records, warc_version="1.1")
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test", "format": "WARC File Format 1.1"}))
        write_exchange(w, REDIRECT_URL, "301 Moved Permanently",
                       [("Location", EN_URL), ("Content-Length", "0")], b"",
                       "2024-04-12T15:37:59Z")
        en = write_exchange(w, EN_URL, "200 OK",
                            [("Content-Type", "text/html; charset=UTF-8"), ("Content-Encoding", "gzip")],
                            gzip.compress(en_html), "2024-04-12T15:38:00Z")
        write_exchange(w, RU_URL, "200 OK",
                       [("Content-Type", "text/html; charset=windows-1251")],
                       ru_html, "2024-04-12T15:39:00Z")
        write_exchange(w, BR_URL, "200 OK",
                       [("Content-Type", "text/html"), ("Content-Encoding", "br")],
                       brotli.compress(br_html), "2024-04-12T15:40:00Z")
        write_exchange(w, CHUNKED_URL, "200 OK",
                       [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"),
                        ("Content-Encoding", "gzip")],
                       chunk(gzip.compress(ch_html)), "2024-04-12T15:41:00Z")
        revisit = w.create_revisit_record(
            EN_URL, digest=en.rec_headers.get_header("WARC-Payload-Digest"),
            refers_to_uri=EN_URL, refers_to_date="2024-04-12T15:38:00Z",
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=UTF-8"),
                                                     ("Content-Encoding", "gzip")], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-05-01T10:00:00Z",
                               "WARC-Refers-To": en.rec_headers.get_header("WARC-Record-ID")},
        )
        w.write_record(revisit)
        w.write_record(w.create_warc_record(
            EN_URL, "metadata", payload=io.BytesIO(b"outlink: " + RU_URL.encode()),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": "2024-04-12T15:38:01Z"}))
    return {
        "en_html": en_html, "ru_html": ru_html, "br_html": br_html, "ch_html": ch_html,
        "en_id": en.rec_headers.get_header("WARC-Record-ID"),
        "revisit_id": revisit.rec_headers.get_header("WARC-Record-ID"),
    }


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "crawl-00000.warc.gz"
    info = make_sample_warc(path)
    return path, info


def by_url_date(captures):
    return {(c.url, c.fetched_at): c for c in captures}


def test_reads_every_response_decoded(sample):
    path, info = sample
    stats = ReadStats()
    caps = by_url_date(iter_captures([path], stats))
    assert caps[(EN_URL, "2024-04-12T15:38:00Z")].body == info["en_html"]
    ru = caps[(RU_URL, "2024-04-12T15:39:00Z")]
    assert ru.body == info["ru_html"]
    assert RU_TEXT in ru.body.decode("cp1251")
    assert ru.content_type == "text/html; charset=windows-1251"
    assert caps[(BR_URL, "2024-04-12T15:40:00Z")].body == info["br_html"]
    assert caps[(CHUNKED_URL, "2024-04-12T15:41:00Z")].body == info["ch_html"]
    redirect = caps[(REDIRECT_URL, "2024-04-12T15:37:59Z")]
    assert redirect.http_status == 301 and redirect.headers["location"] == EN_URL
    assert stats.captures == 6 and stats.skipped_total == 0
    # warcinfo + 5 request/response pairs + revisit + metadata
    assert stats.records == 1 + 10 + 1 + 1
    assert stats.revisits_resolved == 1


def test_revisit_gets_the_original_body_and_its_own_location(sample):
    path, info = sample
    rev = by_url_date(iter_captures(path))[(EN_URL, "2024-05-01T10:00:00Z")]
    assert rev.body == info["en_html"]
    assert rev.http_status == 200
    assert rev.location.warc_record_id == info["revisit_id"]


def test_location_reads_back_the_same_record(sample):
    path, info = sample
    for cap in iter_captures([path.parent]):
        loc = cap.location
        assert loc.warc_file == path.name
        rec = read_record_at(path.parent / loc.warc_file, loc.warc_offset)
        assert rec.record_id == loc.warc_record_id
        assert rec.target_uri == cap.url
        assert rec.length == loc.warc_length
        assert rec.digest_problems == []
        if rec.rec_type == "response":
            assert rec.decoded_body() == cap.body
    # the record after the first one starts exactly where the first one ends
    first = read_record_at(path, 0)
    assert first.rec_type == "warcinfo"
    assert read_record_at(path, first.length).rec_type == "request"


def test_uncompressed_warc_reads_the_same(tmp_path):
    gz, plain = tmp_path / "a.warc.gz", tmp_path / "b.warc"
    make_sample_warc(gz)
    make_sample_warc(plain, gzip_records=False)
    a = sorted((c.url, c.fetched_at, c.body) for c in iter_captures([gz]))
    b = sorted((c.url, c.fetched_at, c.body) for c in iter_captures([plain]))
    assert a == b and len(a) == 6


def test_directories_expand_sorted_and_ignore_other_files(tmp_path):
    for name in ("b.warc.gz", "a.warc", "c.cdxj", "d.warc.gz.open"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in expand_warc_paths([tmp_path])] == ["a.warc", "b.warc.gz"]
    with pytest.raises(FileNotFoundError):
        expand_warc_paths([tmp_path / "missing.warc.gz"])


def test_revisit_before_its_original_resolves_across_files(tmp_path):
    """The revisit is in the first file, the original in the second: still resolved, at the end."""
    make_sample_warc(tmp_path / "b.warc.gz")
    caps = [c for c in iter_captures([tmp_path / "b.warc.gz"]) if c.url == EN_URL and c.http_status == 200]
    original = caps[0]
    with open(tmp_path / "a.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        w.write_record(w.create_revisit_record(
            EN_URL, digest=original.location.payload_digest, refers_to_uri=EN_URL,
            refers_to_date=original.fetched_at,
            http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"}))
    stats = ReadStats()
    got = by_url_date(iter_captures([tmp_path], stats))
    rev = got[(EN_URL, "2024-06-01T00:00:00Z")]
    assert rev.body == original.body and rev.http_status == 304  # what happened; the text is the original's
    assert rev.location.warc_file == "a.warc.gz"
    assert stats.revisits_resolved == 2


def test_truncated_records_and_revisits_of_them_say_so(tmp_path):
    """Another tool's WARC: a response cut at its length limit, and a revisit of it. Both
    captures carry the cut (``location.truncated``), so neither becomes corpus text."""
    page = f"<html><body><p>{EN_TEXT}</p></body></html>".encode()
    with open(tmp_path / "cut.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        resp = w.create_warc_record(
            EN_URL, "response", payload=io.BytesIO(page[:40]), length=40,
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html"),
                                                     ("Content-Length", "40")], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-04-12T15:38:00Z", "WARC-Truncated": "length"})
        w.write_record(resp)
        w.write_record(w.create_revisit_record(
            EN_URL, digest=resp.rec_headers.get_header("WARC-Payload-Digest"),
            refers_to_uri=EN_URL, refers_to_date="2024-04-12T15:38:00Z",
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                          protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"}))
    caps = list(iter_captures([tmp_path / "cut.warc.gz"]))
    assert [(c.fetched_at, c.location.truncated) for c in caps] == [
        ("2024-04-12T15:38:00Z", "length"), ("2024-06-01T00:00:00Z", "length")]
    from stenogram.corpus.reprocess import not_extractable_reason

    assert {not_extractable_reason(c) for c in caps} == {"truncated record (WARC-Truncated: length)"}


def test_unresolvable_revisit_is_counted(tmp_path):
    with open(tmp_path / "x.warc.gz", "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        w.write_record(w.create_revisit_record(
            EN_URL, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", refers_to_uri=EN_URL,
            refers_to_date="2020-01-01T00:00:00Z",
            warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z"}))
    stats = ReadStats()
    assert list(iter_captures(tmp_path / "x.warc.gz", stats)) == []
    assert stats.skipped["revisit-unresolved"] == 1


def _member_offsets(path: Path) -> list[tuple[int, int, str]]:
    """(offset, length, "type:uri") of every record, by warcio's own iterator."""
    from warcio.archiveiterator import ArchiveIterator
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            label = f"{rec.rec_type}:{rec.rec_headers.get_header('WARC-Target-URI') or ''}"
            out.append((it.get_record_offset(), it.get_record_length(), label))
    return out


def test_corrupt_gzip_member_is_skipped_and_reading_resumes(sample):
    path, info = sample
    records = _member_offsets(path)
    ru_off, ru_len, _ = next(r for r in records if r[2] == f"response:{RU_URL}")
    data = bytearray(path.read_bytes())
    mid = ru_off + ru_len // 2
    data[mid:mid + 16] = b"\x00" * 16  # smash the deflate stream inside the windows-1251 response
    path.write_bytes(bytes(data))
    stats = ReadStats()
    urls = [c.url for c in iter_captures([path], stats)]
    assert RU_URL not in urls
    assert BR_URL in urls and CHUNKED_URL in urls  # records after the damage are still read
    assert urls.count(EN_URL) == 2
    assert stats.skipped_total >= 1
    assert set(stats.skipped) <= {"corrupt", "digest-mismatch", "truncated"}


def test_garbage_between_records_is_skipped(tmp_path):
    path = tmp_path / "g.warc.gz"
    make_sample_warc(path)
    records = _member_offsets(path)
    br_off = next(r[0] for r in records if r[2] == f"request:{BR_URL}")
    data = path.read_bytes()
    path.write_bytes(data[:br_off] + b"this is not gzip at all\r\n" * 20 + data[br_off:])
    stats = ReadStats()
    urls = [c.url for c in iter_captures([path], stats)]
    assert BR_URL in urls and CHUNKED_URL in urls
    assert stats.skipped["corrupt"] >= 1


def test_truncated_file_keeps_complete_records(sample):
    path, info = sample
    records = _member_offsets(path)
    br_off, br_len, _ = next(r for r in records if r[2] == f"response:{BR_URL}")
    path.write_bytes(path.read_bytes()[: br_off + br_len - 30])
    stats = ReadStats()
    urls = [c.url for c in iter_captures([path], stats)]
    assert BR_URL not in urls and CHUNKED_URL not in urls
    assert RU_URL in urls and EN_URL in urls
    assert stats.skipped_total == 1


def test_truncated_plain_warc(tmp_path):
    path = tmp_path / "p.warc"
    info = make_sample_warc(path, gzip_records=False)
    data = path.read_bytes()
    cut = data.index(brotli.compress(info["br_html"])) + 10  # inside the brotli response payload
    path.write_bytes(data[:cut])
    stats = ReadStats()
    urls = [c.url for c in iter_captures([path], stats)]
    assert stats.skipped["truncated"] == 1
    assert RU_URL in urls and BR_URL not in urls


def test_bad_content_encoding_is_a_counted_skip(tmp_path):
    path = tmp_path / "bad.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        write_exchange(w, EN_URL, "200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                       b"<html>not gzipped at all</html>", "2024-04-12T15:38:00Z")
        write_exchange(w, RU_URL, "200 OK", [("Content-Type", "text/html")], b"<p>ok</p>",
                       "2024-04-12T15:39:00Z")
    stats = ReadStats()
    assert [c.url for c in iter_captures(path, stats)] == [RU_URL]
    assert stats.skipped["bad-content-encoding"] == 1


# ---------------------------------------------------------------- codecs (property tests)

@given(st.binary(max_size=4000), st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, br"]))
@settings(max_examples=60, deadline=None)
def test_decode_content_inverts_encoding(data, coding):
    encoded = data
    for c in [c.strip() for c in coding.split(",")]:
        if c == "gzip":
            encoded = gzip.compress(encoded)
        elif c == "deflate":
            encoded = zlib.compress(encoded)
        elif c == "br":
            encoded = brotli.compress(encoded)
    assert decode_content(encoded, coding) == data


@given(st.binary(max_size=2000))
@settings(max_examples=40, deadline=None)
def test_raw_deflate_and_multi_member_gzip(data):
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_content(raw.compress(data) + raw.flush(), "deflate") == data
    assert decode_content(gzip.compress(data) + gzip.compress(data), "gzip") == data + data


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=500))
@settings(max_examples=60, deadline=None)
def test_dechunk_inverts_chunking(data, size):
    assert dechunk(chunk(data, size)) == data


def test_truncated_gzip_and_unknown_coding_raise():
    with pytest.raises(ContentDecodingError):
        decode_content(gzip.compress(b"x" * 1000)[:-12], "gzip")
    with pytest.raises(ContentDecodingError, match="compress"):
        decode_content(b"abc", "compress")
