"""archive.wacz and the `index`/`wacz` commands: the package layout the WACZ spec asks for."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stenogram.archive.cli import cdxj_path_for, commands, rebuild_cdxj
from stenogram.archive.wacz import build_wacz, html_title
from test_reader import EN_URL, RU_TEXT, RU_URL, make_sample_warc


def cli_group() -> click.Group:
    group = click.Group("stenogram")
    for command in commands:
        group.add_command(command)
    return group


@pytest.fixture
def warc_dir(tmp_path):
    d = tmp_path / "warc"
    d.mkdir()
    make_sample_warc(d / "crawl-00000-1234~host.warc.gz")
    make_sample_warc(d / "crawl-00001.warc", gzip_records=False)
    return d


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_package(path: Path) -> dict:
    """Everything a WACZ 1.1.1 reader relies on; returns the parsed datapackage."""
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        package = json.loads(z.read("datapackage.json"))
        assert package["wacz_version"] == "1.1.1" and package["profile"] == "data-package"
        digest = json.loads(z.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json", "hash": sha256(z.read("datapackage.json"))}
        listed = {r["path"]: r for r in package["resources"]}
        assert len({r["name"] for r in package["resources"]}) == len(listed)
        assert set(listed) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
        for name, res in listed.items():
            data = z.read(name)
            assert res["hash"] == sha256(data) and res["bytes"] == len(data)
            assert re.fullmatch(r"[-a-z0-9._]+", res["name"])  # frictionless' name rule
        for name, info in infos.items():
            if name.startswith("archive/") or name == "indexes/index.cdx.gz":
                assert info.compress_type == zipfile.ZIP_STORED, name
        # the secondary index points at gzip blocks of CDXJ lines, sorted by SURT key
        idx = z.read("indexes/index.idx").decode().splitlines()
        assert idx[0].startswith("!meta 0 ") and json.loads(idx[0][8:])["filename"] == "index.cdx.gz"
        cdx = z.read("indexes/index.cdx.gz")
        lines = []
        for entry in idx[1:]:
            pos = json.loads(entry.split(" ", 2)[2])
            lines += gzip.decompress(cdx[pos["offset"]:pos["offset"] + pos["length"]]).decode().splitlines()
        assert lines == sorted(lines) and lines
        for line in lines:
            fields = json.loads(line.split(" ", 2)[2])
            assert "archive/" + fields["filename"] in infos
        package["_cdx"] = lines
        package["_pages"] = [json.loads(l) for l in z.read("pages/pages.jsonl").decode().splitlines()]
    return package


def test_wacz_from_warcs_without_db(warc_dir, tmp_path):
    out = tmp_path / "c.wacz"
    summary = build_wacz([warc_dir], out, title="Lavrov transcripts")
    package = check_package(out)
    assert package["title"] == "Lavrov transcripts"
    assert summary.warcs == ["crawl-00000-1234~host.warc.gz", "crawl-00001.warc"]
    header, *pages = package["_pages"]
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages"
    # every HTML 200 response and revisit; the 301 is not a page; the second file holds the
    # same captures (same url and date), which are listed once
    assert len(pages) == 5 == summary.pages and summary.pages_dropped == 5
    assert {p["url"] for p in pages} >= {EN_URL, RU_URL}
    ru = next(p for p in pages if p["url"] == RU_URL)
    assert ru["title"] == "Лавров" and ru["ts"] == "2024-04-12T15:39:00Z"
    assert len({p["id"] for p in pages}) == len(pages)
    assert not out.with_name("c.wacz.part").exists()
    # each WARC's bytes are in the zip unchanged
    with zipfile.ZipFile(out) as z:
        assert (z.read("archive/crawl-00000-1234~host.warc.gz")
                == (warc_dir / "crawl-00000-1234~host.warc.gz").read_bytes())


def test_pages_with_text_and_dropped_pages(warc_dir, tmp_path):
    pages = [
        {"url": RU_URL, "ts": "20240412153900", "title": "Лавров", "text": RU_TEXT},
        {"url": "https://mid.ru/not/archived/", "ts": "2024-04-12T00:00:00Z", "title": "x", "text": "y"},
    ]
    summary = build_wacz([warc_dir / "crawl-00000-1234~host.warc.gz"], tmp_path / "p.wacz", pages=pages)
    assert (summary.pages, summary.pages_dropped) == (1, 1)
    header, page = check_package(tmp_path / "p.wacz")["_pages"]
    assert header["hasText"] is True
    assert page["text"] == RU_TEXT and page["ts"] == "2024-04-12T15:39:00Z"


def test_duplicate_names_and_empty_input_are_refused(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        make_sample_warc(tmp_path / sub / "same.warc.gz")
    with pytest.raises(ValueError, match="unique"):
        build_wacz([tmp_path / "a", tmp_path / "b"], tmp_path / "x.wacz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no WARC"):
        build_wacz([tmp_path / "empty"], tmp_path / "x.wacz")
    assert not (tmp_path / "x.wacz").exists() and not (tmp_path / "x.wacz.part").exists()


def make_corpus_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT, text TEXT);
        CREATE TABLE captures (id INTEGER PRIMARY KEY, url TEXT, fetched_at TEXT, document_id INTEGER);
    """)
    conn.execute("INSERT INTO documents VALUES (1, 'Remarks by Sergey Lavrov', 'Sergey Lavrov: Thank you.')")
    conn.executemany("INSERT INTO captures (url, fetched_at, document_id) VALUES (?, ?, ?)", [
        (EN_URL, "2024-04-12T15:38:00Z", 1),
        (EN_URL, "2024-05-01T10:00:00Z", 1),
        (RU_URL, "2024-04-12T15:39:00Z", None),  # not a transcript: no page
    ])
    conn.commit()
    conn.close()


def test_wacz_command_with_db(warc_dir, tmp_path):
    db = tmp_path / "corpus.db"
    make_corpus_db(db)
    out = tmp_path / "cli.wacz"
    result = CliRunner().invoke(cli_group(), ["wacz", "--db", str(db), "-o", str(out),
                                              "--title", "t", str(warc_dir)])
    assert result.exit_code == 0, result.output
    assert "2 pages" in result.output
    _, *pages = check_package(out)["_pages"]
    assert [(p["url"], p["ts"], p["title"]) for p in pages] == [
        (EN_URL, "2024-04-12T15:38:00Z", "Remarks by Sergey Lavrov"),
        (EN_URL, "2024-05-01T10:00:00Z", "Remarks by Sergey Lavrov"),
    ]
    assert all(p["text"] == "Sergey Lavrov: Thank you." for p in pages)


def test_wacz_command_errors_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli_group(), ["wacz", "-o", str(tmp_path / "x.wacz"), str(tmp_path / "empty")])
    assert result.exit_code != 0 and "no WARC" in result.output


def test_index_command_writes_sorted_cdxj_beside_each_warc(warc_dir):
    result = CliRunner().invoke(cli_group(), ["index", str(warc_dir)])
    assert result.exit_code == 0, result.output
    for name, index_name in (("crawl-00000-1234~host", "crawl-00000-1234~host.cdxj"),
                             ("crawl-00001", "crawl-00001.warc.cdxj")):
        lines = (warc_dir / index_name).read_text().splitlines()
        assert lines == sorted(lines)
        # request, warcinfo and warc-fields metadata records are not indexed
        assert len(lines) == 6
        for line in lines:
            key, ts, js = line.split(" ", 2)
            fields = json.loads(js)
            assert fields["filename"] == name + (".warc" if name.endswith("1") else ".warc.gz")
            assert len(ts) == 14 and key.startswith(("com,", "org,", "ru,"))
    # idempotent
    before = (warc_dir / "crawl-00001.warc.cdxj").read_bytes()
    rebuild_cdxj(warc_dir / "crawl-00001.warc")
    assert (warc_dir / "crawl-00001.warc.cdxj").read_bytes() == before


def test_cdxj_name_matches_the_live_index_name():
    assert cdxj_path_for(Path("/d/stenogram-2024-00001.warc.gz")) == Path("/d/stenogram-2024-00001.cdxj")
    assert cdxj_path_for(Path("x.warc")) == Path("x.warc.cdxj")  # never x.warc.gz's index


def test_html_title_decodes_declared_charset():
    body = "<html><head><title>\n Лавров  С.В. </title>".encode("cp1251")
    assert html_title(body, "windows-1251") == "Лавров С.В."
    assert html_title(b"<p>no title</p>") is None
