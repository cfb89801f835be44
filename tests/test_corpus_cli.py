"""The corpus commands end to end: WARCs written with warcio -> reprocess -> export/diff/serve."""
from __future__ import annotations

import csv
import html
import io
import json
import socket
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stenogram.corpus.cli import commands

SEEDS = Path(__file__).resolve().parents[1] / "stenogram" / "sample_site" / "content" / "seeds"


def cli() -> click.Group:
    group = click.Group("stenogram")
    for command in commands:
        group.add_command(command)
    return group


def bitrix_page(seed: dict, paragraphs=None, chrome: str = "") -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in (paragraphs or seed["paragraphs"]))
    return f"""<html><head><meta charset="utf-8"><title>{html.escape(seed['title'])}</title>
</head><body>{chrome}<div class="photo-content">
<h1 class="photo-content__title">{html.escape(seed['title'])}</h1>
<div class="photo-content__date">{seed['date']} {seed.get('time') or ''}</div>
<div class="text article-content">{body}</div></div></body></html>""".encode()


def write_warc(path: Path, responses: list[tuple[str, int, str, bytes, str]]) -> None:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True, warc_version="WARC/1.1")
        for url, status, ctype, body, date in responses:
            headers = StatusAndHeaders(f"{status} OK", [("Content-Type", ctype)],
                                       protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                            http_headers=headers,
                                            warc_headers_dict={"WARC-Date": date})
            writer.write_record(rec)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    seeds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.json"))]
    s3, s0 = seeds[3], seeds[0]
    url3 = "https://mid.ru/en/foreign_policy/news/1943000/"
    warcs = tmp / "warc"
    warcs.mkdir()
    write_warc(warcs / "crawl1.warc.gz", [
        (url3, 200, "text/html; charset=utf-8", bitrix_page(s3), "2024-04-12T16:00:00Z"),
        ("https://mid.ru/en/press_service/minister_speeches/1943000/", 200, "text/html",
         bitrix_page(s3), "2024-04-12T16:05:00Z"),
        ("https://mid.ru/en/foreign_policy/news/1900000/", 200, "text/html", bitrix_page(s0),
         "2024-04-12T16:10:00Z"),
        ("https://mid.ru/en/foreign_policy/news/", 200, "text/html",
         b"<html><body><ul class='announce announce_articles'><li class='announce__item'>"
         b"<a class='announce__link' href='/en/foreign_policy/news/1943000/'>Remarks</a></li>"
         b"</ul></body></html>", "2024-04-12T16:11:00Z"),
        ("https://mid.ru/en/foreign_policy/news/404/", 404, "text/html", b"not found",
         "2024-04-12T16:12:00Z"),
        ("https://mid.ru/upload/doc.pdf", 200, "application/pdf", b"%PDF-1.4", "2024-04-12T16:13:00Z"),
    ])
    edited = [p.replace("over 150 items", "over 160 items") for p in s3["paragraphs"]]
    write_warc(warcs / "crawl2.warc.gz", [
        (url3, 200, "text/html; charset=utf-8", bitrix_page(s3, edited), "2024-04-20T09:00:00Z"),
    ])
    db = tmp / "corpus.db"
    runner = CliRunner()
    first = runner.invoke(cli(), ["reprocess", "--db", str(db), "--workers", "2", str(warcs)])
    second = runner.invoke(cli(), ["reprocess", "--db", str(db), "--workers", "1", str(warcs)])
    return {"db": db, "tmp": tmp, "first": first, "second": second, "runner": runner}


def test_reprocess_builds_corpus_and_is_idempotent(built):
    import sqlite_utils

    assert built["first"].exit_code == 0, built["first"].output
    assert "7 captures read" in built["first"].output
    assert "2 not extracted" in built["first"].output
    assert "2 new documents" in built["first"].output
    db = sqlite_utils.Database(built["db"])
    assert db["documents"].count == 2
    assert db["captures"].count == 7
    assert db["captures"].count_where("document_id IS NULL") == 3  # listing, 404, pdf
    assert built["second"].exit_code == 0, built["second"].output
    assert "7 already in the corpus" in built["second"].output
    assert "0 new documents, 0 new versions" in built["second"].output
    assert db["captures"].count == 7 and db["versions"].count == 3


def test_diff_command_shows_the_silent_edit(built):
    import sqlite_utils

    db = sqlite_utils.Database(built["db"])
    doc_id = next(db.query("SELECT document_id FROM versions GROUP BY document_id "
                           "HAVING count(*) = 2"))["document_id"]
    r = built["runner"].invoke(cli(), ["diff", "--db", str(built["db"]), str(doc_id)])
    assert r.exit_code == 0
    assert "over [-150-]{+160+} items" in r.output
    missing = built["runner"].invoke(cli(), ["diff", "--db", str(built["db"]), "999"])
    assert missing.exit_code != 0 and "no document 999" in missing.output


def test_export_jsonl_has_provenance_and_stable_types(built):
    r = built["runner"].invoke(cli(), ["export", "--db", str(built["db"]), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in r.output.splitlines()]
    assert len(records) == 2
    for rec in records:
        assert isinstance(rec["participants"], list) and isinstance(rec["turns"], list)
        assert all(set(c) >= {"url", "fetched_at", "warc_file", "warc_offset", "warc_record_id"}
                   for c in rec["captures"])
        assert all(isinstance(c["warc_offset"], int) for c in rec["captures"])
    minsk = next(r for r in records if "Minsk" in r["title"])
    assert len(minsk["captures"]) == 3
    assert {Path(c["warc_file"]).name for c in minsk["captures"]} == {"crawl1.warc.gz",
                                                                    "crawl2.warc.gz"}
    assert "over 160 items" in minsk["text"]  # latest official version is canonical
    types = {k: {type(rec[k]).__name__ for rec in records if rec[k] is not None}
             for k in records[0]}
    assert all(len(t) <= 1 for t in types.values()), types


def test_export_where_csv_and_parquet(built, tmp_path):
    out = tmp_path / "docs.csv"
    r = built["runner"].invoke(cli(), ["export", "--db", str(built["db"]), "--format", "csv",
                                       "--where", "date = :d", "-p", "d", "2024-04-12",
                                       "-o", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 1 and len(json.loads(rows[0]["captures"])) == 3
    bad = built["runner"].invoke(cli(), ["export", "--db", str(built["db"]), "--where", "nope("])
    assert bad.exit_code != 0 and "Error" in bad.output
    pq = pytest.importorskip("pyarrow.parquet")
    pout = tmp_path / "docs.parquet"
    r = built["runner"].invoke(cli(), ["export", "--db", str(built["db"]), "--format", "parquet",
                                       "-o", str(pout)])
    assert r.exit_code == 0, r.output
    table = pq.read_table(pout)
    assert table.num_rows == 2 and "captures" in table.column_names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, deadline: float) -> bytes:
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read()
        except OSError as exc:
            last = exc
            time.sleep(0.3)
    raise AssertionError(f"datasette did not answer {url}: {last}")


def test_serve_datasette_documents_and_search(built, tmp_path):
    pytest.importorskip("datasette")
    from stenogram.corpus import serve

    port = _free_port()
    proc = serve.start(built["db"], port, tmp_path / "metadata.json")
    try:
        base = f"http://127.0.0.1:{port}/corpus"
        deadline = time.monotonic() + 30
        page = _get(f"{base}/documents", deadline).decode()
        assert "One row per transcript" in page and "Minsk" in page
        found = json.loads(_get(f"{base}/documents.json?_search=Lebedev&_shape=array",
                                deadline))
        assert len(found) == 1 and "Lebedev" in found[0]["text"]
        facets = json.loads(_get(f"{base}/documents.json?_facet=language", deadline))
        assert facets["facet_results"]["language"]["results"][0]["value"] == "en"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
