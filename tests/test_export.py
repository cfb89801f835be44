"""stenogram export: --with-history, typed Parquet dates/times, and a Hugging Face folder that
``datasets.load_dataset`` opens."""
from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus.cli import export

LABELLED = Path(__file__).parent / "dedup" / "labelled.jsonl"


def _rows() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())}


def _capture(url, fetched_at, source="mid"):
    loc = WarcLocation(warc_file="stenogram-1.warc.gz", warc_offset=1234, warc_length=99,
                       warc_record_id=f"<urn:uuid:{uuid.uuid4()}>", payload_digest="sha1:A")
    return Capture(url=url, fetched_at=fetched_at, http_status=200, content_type="text/html",
                   body=b"", location=loc, source=source, crawl_id="crawl-1")


def _t(row, text=None):
    return {"title": row["title"], "date": row["date"], "language": row["language"],
            "source": row["source"], "text": text or row["text"], "is_transcript": True,
            "turns": [{"speaker": "Sergey Lavrov", "speaker_id": "lavrov", "text": "…"}],
            "participants": ["Sergey Lavrov"], "kind": "transcript", "extractor_version": "t"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    rows = _rows()
    path = tmp_path_factory.mktemp("export") / "corpus.db"
    with Corpus(path) as c:
        a, b = rows["seed-000/original"], rows["seed-003/original"]
        c.ingest(_capture(a["url"], "2022-03-05T12:00:00Z"), _t(a))
        c.ingest(_capture(a["url"], "2022-03-09T08:30:00Z"),
                 _t(a, a["text"].replace("30th anniversary", "thirtieth anniversary")))
        c.ingest(_capture(b["url"], "2024-04-12T16:00:00Z"), _t(b))
    return path


def run(*args):
    r = CliRunner().invoke(export, list(map(str, args)))
    return r


def test_jsonl_with_history_nests_versions_and_capture_details(db):
    r = run("--db", db, "--with-history")
    assert r.exit_code == 0, r.output
    docs = [json.loads(x) for x in r.output.splitlines()]
    edited = next(d for d in docs if d["n_versions"] == 2)
    assert [v["first_seen"] for v in edited["versions"]] == ["2022-03-05T12:00:00Z",
                                                           "2022-03-09T08:30:00Z"]
    assert "30th anniversary" in edited["versions"][0]["text"]
    assert "thirtieth anniversary" in edited["versions"][1]["text"]
    assert edited["canonical_version_id"] == edited["versions"][1]["id"]
    caps = edited["captures"]
    assert [c["version_id"] for c in caps] == [v["id"] for v in edited["versions"]]
    assert all(c["http_status"] == 200 and c["crawl_id"] == "crawl-1" for c in caps)
    plain = [json.loads(x) for x in run("--db", db).output.splitlines()]
    assert "versions" not in plain[0] and "version_id" not in plain[0]["captures"][0]


def test_csv_with_history_has_a_versions_column(db, tmp_path):
    out = tmp_path / "d.csv"
    assert run("--db", db, "--format", "csv", "--with-history", "-o", out).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted(len(json.loads(r["versions"])) for r in rows) == [1, 2]


def test_parquet_dates_and_times_are_typed(db, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "d.parquet"
    r = run("--db", db, "--format", "parquet", "--with-history", "-o", out)
    assert r.exit_code == 0, r.output
    table = pq.read_table(out)
    schema = table.schema
    assert schema.field("date").type == pa.date32()
    ts = pa.timestamp("us", tz="UTC")
    assert schema.field("first_seen").type == ts and schema.field("last_seen").type == ts
    assert schema.field("captures").type.value_type.field("fetched_at").type == ts
    versions = schema.field("versions").type.value_type
    assert versions.field("date").type == pa.date32() and versions.field("first_seen").type == ts
    rows = {r["id"]: r for r in table.to_pylist()}
    edited = next(r for r in rows.values() if r["n_versions"] == 2)
    assert edited["date"] == dt.date(2022, 3, 5)
    assert edited["last_seen"] == dt.datetime(2022, 3, 9, 8, 30, tzinfo=dt.timezone.utc)
    assert edited["captures"][0]["warc_offset"] == 1234


def test_hf_folder_layout_and_card(db, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "hf"
    r = run("--db", db, "--format", "hf", "--with-history", "-o", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README.md", "data/train-00000-of-00001.parquet"]
    assert pq.read_table(out / "data/train-00000-of-00001.parquet").num_rows == 2
    card = (out / "README.md").read_text(encoding="utf-8")
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "configs:\n- config_name: default\n" in front
    assert "path: data/train-00000-of-00001.parquet" in front
    assert "language:\n- en\n" in front and "size_categories:\n- n<1K" in front
    for field in ("`date`", "`captures`", "`versions`", "`canonical_version_id`"):
        assert field in body
    assert "2 documents, 3 versions, 3 captures" in body
    assert "WARC" in body and "stenogram export --format hf --with-history" in body
    # a second export into the same (now non-empty) folder is refused, nothing changed
    again = run("--db", db, "--format", "hf", "-o", out)
    assert again.exit_code != 0 and "not empty" in again.output
    assert run("--db", db, "--format", "hf").exit_code != 0  # needs -o
    empty = tmp_path / "empty"
    empty.mkdir()  # an existing empty folder is fine
    assert run("--db", db, "--format", "hf", "-o", empty).exit_code == 0
    assert (empty / "README.md").is_file() and not (tmp_path / "empty.part").exists()


def test_hf_folder_opens_with_datasets(db, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hf"
    assert run("--db", db, "--format", "hf", "--with-history", "-o", out).exit_code == 0
    ds = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 2
    assert ds.features["date"].dtype == "date32"
    assert {r["n_versions"] for r in ds} == {1, 2}
    edited = next(r for r in ds if r["n_versions"] == 2)
    assert len(edited["versions"]) == 2 and edited["date"] == dt.date(2022, 3, 5)
