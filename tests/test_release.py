"""stenogram release: a dataset folder that datasets/pandas open, that `sha256sum -c` verifies,
whose codebook follows the schema, and whose --snapshot gives the same bytes however the corpus
grew since."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from stenogram.archive.capture import Capture, WarcLocation
from stenogram.corpus import Corpus
from stenogram.corpus import release as release_module
from stenogram.corpus.cli import export, release

LABELLED = Path(__file__).parent / "dedup" / "labelled.jsonl"
TABLES = ("documents", "versions", "captures", "turns")


def _rows() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())}


_SERIAL = iter(range(1, 1_000_000))


def _capture(url, fetched_at, source="mid"):
    n = next(_SERIAL)
    loc = WarcLocation(warc_file=f"stenogram-{fetched_at[:10]}.warc.gz", warc_offset=1000 * n,
                       warc_length=900 + n, warc_record_id=f"<urn:uuid:{uuid.uuid4()}>",
                       payload_digest=f"sha1:{n:032d}")
    return Capture(url=url, fetched_at=fetched_at, http_status=200, content_type="text/html",
                   body=b"", location=loc, source=source, crawl_id=f"crawl-{fetched_at[:10]}")


def _t(row, text=None):
    paragraphs = (text or row["text"]).split("\n\n")
    return {"title": row["title"], "date": row["date"], "language": row["language"],
            "source": row["source"], "text": text or row["text"], "is_transcript": True,
            "turns": [{"speaker": "Sergey Lavrov" if i % 2 else "Question",
                       "speaker_id": "lavrov" if i % 2 else None, "speaker_source": "label",
                       "text": p}
                      for i, p in enumerate(paragraphs[:4])],
            "participants": ["Sergey Lavrov"], "kind": "transcript", "extractor_version": "t"}


ROWS = _rows()
A, B, C = ROWS["seed-000/original"], ROWS["seed-003/original"], ROWS["seed-004/original"]
EDITED_A = A["text"].replace("30th anniversary", "thirtieth anniversary")


def first_crawl(path: Path) -> Path:
    """Two transcripts fetched on 2022-03-05; a listing page too (not a transcript)."""
    with Corpus(path) as c:
        c.ingest(_capture(A["url"], "2022-03-05T12:00:00Z"), _t(A))
        c.ingest(_capture(B["url"], "2022-03-05T16:00:00Z"), _t(B))
        c.ingest(_capture("https://mid.ru/ru/press_service/", "2022-03-05T16:01:00Z"),
                 {"is_transcript": False, "reason": "listing"})
    return path


def later_crawl(path: Path) -> None:
    """After the snapshot day: A edited, B re-fetched unchanged, C new."""
    with Corpus(path) as c:
        c.ingest(_capture(A["url"], "2022-03-09T08:30:00Z"), _t(A, EDITED_A))
        c.ingest(_capture(B["url"], "2022-03-09T09:00:00Z"), _t(B))
        c.ingest(_capture(C["url"], "2022-03-10T10:00:00Z"), _t(C))


def run(*args):
    return CliRunner().invoke(release, list(map(str, args)))


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def corpus(tmp_path):
    return first_crawl(tmp_path / "corpus.db")


def test_release_folder_opens_with_datasets_and_pandas(corpus, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    pd = pytest.importorskip("pandas")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "releases" / "r1"
    r = run("--db", corpus, "--out", out)
    assert r.exit_code == 0, r.output
    assert "release 2022-03-05 written" in r.output
    assert files(out) == sorted(
        [".zenodo.json", "CHANGELOG.md", "CODEBOOK.md", "README.md", "SHA256SUMS",
         "datacite.json", "release.json"]
        + [f"data/{t}.{ext}" for t in TABLES for ext in ("jsonl", "parquet")])
    cache = str(tmp_path / "cache")
    docs = datasets.load_dataset("parquet", data_files=str(out / "data/documents.parquet"),
                                 split="train", cache_dir=cache)
    assert docs.num_rows == 2 and docs.features["date"].dtype == "date32"
    assert sorted(docs["title"]) == sorted([A["title"], B["title"]])
    turns = datasets.load_dataset("parquet", data_files=str(out / "data/turns.parquet"),
                                  split="train", cache_dir=cache)
    assert turns.num_rows == sum(len(d["turns"]) for d in docs)
    assert {t["speaker_id"] for t in turns} == {"lavrov", None}
    assert {t["speaker_source"] for t in turns} == {"label"}
    captures = pd.read_parquet(out / "data/captures.parquet")
    assert len(captures) == 3 and captures["is_transcript"].tolist() == [1, 1, 0]
    assert captures["warc_record_id"].str.startswith("<urn:uuid:").all()
    assert str(captures["fetched_at"].dtype) == "datetime64[us, UTC]"
    versions = pd.read_json(out / "data/versions.jsonl", lines=True)
    assert len(versions) == 2 and set(versions["document_id"]) == set(docs["id"])
    # the card's YAML header names one config per table, each opening its Parquet file
    card = (out / "README.md").read_text(encoding="utf-8")
    front = card.split("---\n")[1]
    for table in TABLES:
        assert f"- config_name: {table}\n" in front and f"path: data/{table}.parquet" in front
    by_config = datasets.load_dataset(str(out), "captures", split="train", cache_dir=cache)
    assert by_config.num_rows == 3


def test_sha256sums_verify_with_the_real_sha256sum(corpus, tmp_path):
    if not shutil.which("sha256sum"):
        pytest.skip("no sha256sum on this machine")
    out = tmp_path / "r"
    assert run("--db", corpus, "--out", out).exit_code == 0
    listed = [line.split("  ", 1)[1] for line in
              (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()]
    assert listed == [f for f in files(out) if f != "SHA256SUMS"]
    ok = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=out,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with open(out / "data/documents.jsonl", "a", encoding="utf-8") as fh:
        fh.write("\n")
    bad = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "data/documents.jsonl: FAILED" in bad.stdout


def test_a_snapshot_is_byte_identical_after_more_crawling(corpus, tmp_path):
    first = tmp_path / "one" / "2022-03-06"
    assert run("--db", corpus, "--out", first, "--snapshot", "2022-03-06").exit_code == 0
    later_crawl(corpus)
    again = tmp_path / "two" / "2022-03-06"
    r = run("--db", corpus, "--out", again, "--snapshot", "2022-03-06")
    assert r.exit_code == 0, r.output
    assert (again / "SHA256SUMS").read_bytes() == (first / "SHA256SUMS").read_bytes()
    assert files(again) == files(first)
    # ... and what the later crawl added is there without a snapshot
    now = tmp_path / "now"
    assert run("--db", corpus, "--out", now).exit_code == 0
    docs = {d["title"]: d for d in map(json.loads, (now / "data/documents.jsonl").open())}
    old = {d["title"]: d for d in map(json.loads, (first / "data/documents.jsonl").open())}
    assert len(docs) == 3 and len(old) == 2
    assert "thirtieth anniversary" in docs[A["title"]]["text"]
    assert "30th anniversary" in old[A["title"]]["text"]
    assert old[A["title"]]["n_versions"] == 1 and docs[A["title"]]["n_versions"] == 2
    assert old[B["title"]]["last_seen"] == "2022-03-05T16:00:00Z"
    assert docs[B["title"]]["last_seen"] == "2022-03-09T09:00:00Z"
    manifest = json.loads((now / "release.json").read_text(encoding="utf-8"))
    assert manifest["name"] == manifest["snapshot"] == "2022-03-10"


def test_changelog_against_the_previous_release_in_the_same_folder(corpus, tmp_path):
    parent = tmp_path / "releases"
    assert run("--db", corpus, "--out", parent / "a", "--snapshot", "2022-03-06").exit_code == 0
    later_crawl(corpus)
    r = run("--db", corpus, "--out", parent / "b", "--snapshot", "2022-03-31")
    assert r.exit_code == 0, r.output
    assert "since 2022-03-06: 1 added, 1 new versions, 0 removed" in r.output
    log = (parent / "b" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 2022-03-31 (snapshot 2022-03-31) since 2022-03-06" in log
    assert "1 document(s) added, 1 new version(s) of earlier documents, 0 document(s) removed" in log
    assert C["title"] in log.split("### Documents added")[1].split("###")[0]
    new_versions = log.split("### New versions")[1]
    assert A["title"] in new_versions and "2022-03-09T08:30:00Z" in new_versions
    first = (parent / "a" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "First release" in first
    # a corpus rebuilt without B's page: B is removed against the latest earlier release
    rebuilt = tmp_path / "rebuilt.db"
    with Corpus(rebuilt) as c:
        c.ingest(_capture(A["url"], "2022-03-05T12:00:00Z"), _t(A))
        c.ingest(_capture(C["url"], "2022-04-02T10:00:00Z"), _t(C))
    r = run("--db", rebuilt, "--out", parent / "c", "--snapshot", "2022-04-30")
    assert r.exit_code == 0, r.output
    log = (parent / "c" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "since 2022-03-31" in log and B["title"] in log.split("### Documents removed")[1]


def test_codebook_lists_every_schema_column(corpus, tmp_path):
    out = tmp_path / "r"
    assert run("--db", corpus, "--out", out).exit_code == 0
    codebook = (out / "CODEBOOK.md").read_text(encoding="utf-8")
    import pyarrow.parquet as pq

    for table, columns in release_module.schema_columns().items():
        section = codebook.split(f"\n## {table}\n")[1].split("\n## ")[0]
        names = [c for c, _ in columns]
        assert [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")] \
            == names
        assert pq.read_schema(out / f"data/{table}.parquet").names == names
    assert "`timestamp[us, tz=UTC]`" in codebook and "`date32[day]`" in codebook


def test_a_new_schema_column_without_a_description_stops_the_release(corpus, tmp_path,
                                                                      monkeypatch):
    from stenogram.corpus import schema

    real = schema.ensure_schema

    def with_new_column(db):
        version = real(db)
        db["versions"].add_column("reading_level", int)
        return version

    monkeypatch.setattr(schema, "ensure_schema", with_new_column)
    out = tmp_path / "r"
    r = run("--db", corpus, "--out", out)
    assert r.exit_code == 65 and "versions.reading_level" in r.output
    assert not out.exists() and not list(tmp_path.glob(".r*"))


def test_refuses_a_folder_that_is_not_empty(corpus, tmp_path):
    out = tmp_path / "r"
    assert run("--db", corpus, "--out", out).exit_code == 0
    before = (out / "SHA256SUMS").read_bytes()
    r = run("--db", corpus, "--out", out)
    assert r.exit_code == 73 and "not an empty folder" in r.output
    assert (out / "SHA256SUMS").read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("--db", corpus, "--out", empty).exit_code == 0
    assert (empty / "release.json").is_file() and not list(tmp_path.glob(".empty*"))


def test_zenodo_and_datacite_metadata(corpus, tmp_path):
    out = tmp_path / "r"
    assert run("--db", corpus, "--out", out, "--snapshot", "2022-03-06",
               "--creator", "Doe, Jane", "--creator", "Some Institute").exit_code == 0
    zenodo = json.loads((out / ".zenodo.json").read_text(encoding="utf-8"))
    assert zenodo["upload_type"] == "dataset" and zenodo["publication_date"] == "2022-03-06"
    assert zenodo["creators"] == [{"name": "Doe, Jane"}, {"name": "Some Institute"}]
    assert zenodo["version"] == "2022-03-06" and zenodo["language"] == "eng"
    assert zenodo["description"] and zenodo["title"].endswith("release 2022-03-06")
    assert zenodo["dates"] == [{"type": "Collected", "start": "2022-03-05", "end": "2022-03-05"}]
    datacite = json.loads((out / "datacite.json").read_text(encoding="utf-8"))
    for key in ("creators", "titles", "publisher", "publicationYear", "types"):
        assert datacite[key], key  # DataCite's mandatory properties
    assert datacite["types"]["resourceTypeGeneral"] == "Dataset"
    assert datacite["publicationYear"] == "2022"
    assert datacite["creators"] == [{"name": "Doe, Jane", "nameType": "Personal"},
                                    {"name": "Some Institute", "nameType": "Organizational"}]
    assert "2 documents" in datacite["sizes"] and "3 captures" in datacite["sizes"]


def test_hf_export_card_describes_only_the_fields_the_folder_has(corpus, tmp_path):
    """The plain export's card used to say `versions` lists the texts, a field it lacks."""
    import pyarrow.parquet as pq

    for history in (False, True):
        out = tmp_path / f"hf-{history}"
        args = ["--db", corpus, "--format", "hf", "-o", out] + (["--with-history"] if history
                                                               else [])
        assert CliRunner().invoke(export, list(map(str, args))).exit_code == 0
        card = (out / "README.md").read_text(encoding="utf-8")
        described = {line.split("`")[1] for line in card.splitlines() if line.startswith("| `")}
        columns = set(pq.read_schema(out / "data/train-00000-of-00001.parquet").names)
        assert described == columns
        provenance = card.split("## Provenance")[1].split("## How")[0]
        mentioned = set(re.findall(r"`([^`]+)`", provenance))
        assert mentioned <= columns | {"--with-history"}, mentioned - columns


@pytest.mark.network
def test_a_release_of_a_real_crawl_points_at_the_warc_records(tmp_path):
    """Every capture's WARC file, offset and record id lead to the response it names."""
    from warcio.archiveiterator import ArchiveIterator

    from stenogram.sample_site.server import SampleSite

    from conftest import stenogram_cmd
    from test_operations_support import crawl_args

    data = tmp_path / "data"
    with SampleSite(port=0, size=4, seed=5) as site:
        crawl = stenogram_cmd(*crawl_args(site, data, "mid", "globalsecurity"), timeout=300)
    assert crawl.returncode == 0, (crawl.stdout + crawl.stderr)[-3000:]
    out = tmp_path / "releases" / "first"
    made = stenogram_cmd("release", "--db", str(data / "corpus.db"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    captures = [json.loads(line) for line in (out / "data/captures.jsonl").open(encoding="utf-8")]
    documents = (out / "data/documents.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(documents) >= 4 and sum(c["is_transcript"] == 1 for c in captures) >= 4
    for c in captures:
        with open(data / "warc" / c["warc_file"], "rb") as fh:
            fh.seek(c["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == c["warc_record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == c["url"]
            assert record.rec_type in ("response", "revisit")
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_snapshot_before_any_capture_or_an_empty_corpus_is_refused(corpus, tmp_path):
    r = run("--db", corpus, "--out", tmp_path / "r", "--snapshot", "2022-03-04")
    assert r.exit_code == 65 and "nothing was captured up to 2022-03-04" in r.output
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r*"))
    empty = tmp_path / "empty.db"
    with Corpus(empty):
        pass
    r = run("--db", empty, "--out", tmp_path / "e")
    assert r.exit_code == 65 and "no captures to release" in r.output
    bad = run("--db", corpus, "--out", tmp_path / "b", "--snapshot", "March 2022")
    assert bad.exit_code == 2 and "--snapshot" in bad.output


def test_verify_sums_agrees_with_sha256sum(tmp_path):
    """verify_sums (what the demo prints) says what `sha256sum -c` says, before and after tampering."""
    from stenogram.corpus.release import verify_sums, write_sums

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text('{"id": 1}\n')
    (tmp_path / "README.md").write_text("card\n")
    write_sums(tmp_path)
    assert verify_sums(tmp_path) == (2, [])
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path).returncode == 0
    (tmp_path / "data" / "a.jsonl").write_text('{"id": 2}\n')
    (tmp_path / "README.md").unlink()
    assert verify_sums(tmp_path) == (2, ["README.md", "data/a.jsonl"])
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path,
                          capture_output=True).returncode != 0
