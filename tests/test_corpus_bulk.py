"""Bulk loads: the new-document fast path, the deferred full-text index, batched commits, and a
reprocess killed with ``kill -9`` in the middle of all three.

Why these tests: the fast paths skip work that ``Corpus._refresh_document`` and the FTS triggers
would otherwise do row by row, so each is checked against the slow path it replaces; and a bulk
load leaves the database in an unusual state (FTS triggers dropped) that a crash must not make
permanent.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from stenogram.corpus import Corpus
from stenogram.corpus import reprocess as reprocess_module
from test_corpus import ingest_row, make_capture, rows, transcript
from conftest import VENV_BIN
from test_corpus_cli import SEEDS, bitrix_page, write_warc

ROOT = Path(__file__).resolve().parents[1]


def _row(row_id: str) -> dict:
    return next(r for r in rows() if r["id"] == row_id)


def _documents(c: Corpus) -> list[tuple]:
    return c.conn.execute("SELECT * FROM documents ORDER BY id").fetchall()


def _fts_ok(c: Corpus) -> None:
    """FTS5's own check of the index against the documents table (raises if they differ)."""
    c.conn.execute("INSERT INTO documents_fts (documents_fts, rank) VALUES ('integrity-check', 1)")


def _search(c: Corpus, query: str) -> list[int]:
    return [r[0] for r in c.conn.execute(
        "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? ORDER BY rowid", (query,))]


def test_new_document_row_is_what_refresh_would_derive(tmp_path):
    """``_insert_document`` writes the final row at once; re-deriving it must change nothing."""
    with Corpus(tmp_path / "c.db") as c:
        for i, row in enumerate(rows()[:30]):  # officials, mirrors, Russian, with and without dates
            ingest_row(c, row, offset=i)
        before = _documents(c)
        with c.transaction():
            for (doc_id, *_rest) in before:
                c._refresh_document(doc_id)
        assert _documents(c) == before
        _fts_ok(c)


def test_deferred_fts_is_rebuilt_and_triggers_come_back(tmp_path):
    with Corpus(tmp_path / "c.db") as c:
        ingest_row(c, rows()[0])
        triggers = c.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                  "ORDER BY name").fetchall()
        assert c.defer_fts() and c.fts_deferred
        assert not c.defer_fts()  # already deferred
        later = [r for r in rows() if r["language"] == "en" and r["id"].endswith("/original")][-1]
        r = ingest_row(c, later)
        word = later["text"].split()[3].strip(".,:;\"'")
        assert r.document_id not in _search(c, f'"{word}"')  # not indexed row by row
        assert c.resume_fts() and not c.fts_deferred
        assert r.document_id in _search(c, f'"{word}"')
        _fts_ok(c)
        assert c.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                              "ORDER BY name").fetchall() == triggers
        # and the triggers work again: an edit of the canonical text is indexed at once
        c.conn.execute("UPDATE documents SET text = 'zanzibarian walrus' WHERE id = ?",
                       (r.document_id,))
        assert _search(c, "zanzibarian") == [r.document_id]
        _fts_ok(c)


def test_abandoned_deferral_is_completed_on_open_but_a_live_one_is_left_alone(tmp_path):
    db = tmp_path / "c.db"
    owner = Corpus(db)
    ingest_row(owner, _row("seed-000/original"))
    assert owner.defer_fts()
    ingest_row(owner, _row("seed-004/original"))
    with Corpus(db) as other:  # the owner still holds the bulk lock: hands off
        assert other.fts_deferred
    owner.close()  # as a killed process would: deferred, lock released
    with Corpus(db) as reopened:
        assert not reopened.fts_deferred
        _fts_ok(reopened)
        assert len(_search(reopened, "Lavrov")) == reopened.stats()["documents"] == 2


def _synthetic_transcripts(n: int, seed: int = 3) -> list[tuple[str, int, str, bytes, str]]:
    """``n`` distinct Bitrix transcript pages of random words from the seeds' vocabulary."""
    seeds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.json"))]
    vocab = " ".join(p for s in seeds for p in s["paragraphs"]).split()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paras = ["Sergey Lavrov: " + " ".join(rng.choices(vocab, k=60)),
                 "Question: " + " ".join(rng.choices(vocab, k=25)),
                 "Sergey Lavrov: " + " ".join(rng.choices(vocab, k=90))]
        page = bitrix_page({**seeds[3], "title": f"Sergey Lavrov's remarks, meeting no. {i:04d}"},
                           paras)
        out.append((f"https://mid.ru/en/foreign_policy/news/{3_000_000 + i}/", 200,
                    "text/html; charset=utf-8", page, f"2024-04-12T16:{i // 60 % 60:02}:{i % 60:02}Z"))
    return out


@pytest.fixture(scope="module")
def many_warcs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bulk")
    pages = _synthetic_transcripts(600)
    for k in range(3):
        write_warc(d / f"part-{k}.warc.gz", pages[k * 200:(k + 1) * 200])
    return d


def _reprocess_cmd(db: Path, warcs: Path, *extra: str) -> list[str]:
    return [str(VENV_BIN / "stenogram"), "reprocess", "--db", str(db), "--workers", "1",
            "--chunk-size", "4", "--no-progress", *extra, str(warcs)]


def _snapshot(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {
            "documents": sorted(conn.execute("SELECT title, text, canonical_url, n_captures "
                                             "FROM documents")),
            "captures": sorted(conn.execute("SELECT warc_record_id, url, match FROM captures")),
            "indexed": conn.execute("SELECT count(*) FROM documents_fts WHERE documents_fts "
                                    "MATCH 'Lavrov'").fetchone()[0],
        }
    finally:
        conn.close()


def test_reprocess_auto_defers_fts_for_a_bulk_load(many_warcs, tmp_path, monkeypatch):
    monkeypatch.setattr(reprocess_module, "BULK_MIN_DOCUMENTS", 100)
    from stenogram.archive.reader import iter_captures

    warcs = sorted(str(p) for p in many_warcs.glob("*.warc.gz"))
    with Corpus(tmp_path / "c.db") as c:
        summary = reprocess_module.reprocess(c, iter_captures(warcs), workers=1, commit_every=50)
        assert summary.new_documents == 600 and summary.fts_rebuilt
        assert not c.fts_deferred
        _fts_ok(c)
        assert len(_search(c, "Lavrov")) == 600
        # a second, small update of a big corpus keeps indexing row by row
        extra = tmp_path / "extra.warc.gz"
        write_warc(extra, _synthetic_transcripts(605)[600:])
        summary = reprocess_module.reprocess(c, iter_captures([str(extra)]), workers=1)
        assert summary.new_documents == 5 and not summary.fts_rebuilt
        assert len(_search(c, "Lavrov")) == 605


def test_reprocess_killed_mid_bulk_load_is_consistent_and_the_rerun_completes(many_warcs,
                                                                              tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reference = tmp_path / "reference.db"
    subprocess.run(_reprocess_cmd(reference, many_warcs), check=True, env=env, cwd=ROOT,
                   capture_output=True, timeout=300)

    db = tmp_path / "killed.db"
    proc = subprocess.Popen(_reprocess_cmd(db, many_warcs, "--defer-fts", "--commit-every", "20"),
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        committed = 0
        while time.monotonic() < deadline and proc.poll() is None and committed < 150:
            time.sleep(0.2)
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    committed = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet, or locked for a moment
                pass
        assert proc.poll() is None, "reprocess finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    conn = sqlite3.connect(db)
    left = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    deferred = conn.execute("SELECT count(*) FROM corpus_meta WHERE key = 'fts_deferred'"
                            ).fetchone()[0]
    conn.close()
    assert 150 <= left < 600 and deferred == 1  # killed mid-load, with FTS off
    partial = _snapshot(db)  # consistent as it stands: integrity and foreign keys hold
    assert len(partial["captures"]) == left  # every committed document has its capture

    rerun = subprocess.run(_reprocess_cmd(db, many_warcs), env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{left} already in the corpus" in rerun.stdout
    assert _snapshot(db) == _snapshot(reference)
    assert _snapshot(db)["indexed"] == 600
    with Corpus(db) as c:
        assert not c.fts_deferred
        _fts_ok(c)


def test_reprocess_runs_extraction_on_a_callers_executor(many_warcs, tmp_path):
    """The seam where extraction runs: any ``submit``/``result`` executor (here threads, as a
    cluster client would be) builds the same corpus as this process, and stays the caller's."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from itertools import islice

    from stenogram.archive.reader import iter_captures

    def extractor(captures):
        ran_in.add(threading.current_thread().name)
        return reprocess_module.extract_chunk(captures)

    warc = [str(sorted(many_warcs.glob("*.warc.gz"))[0])]
    built, ran_in = [], set()
    with ThreadPoolExecutor(2, thread_name_prefix="caller") as executor:
        for kwargs in ({"workers": 1}, {"workers": 2, "executor": executor}):
            with Corpus(tmp_path / f"{len(built)}.db") as c:
                summary = reprocess_module.reprocess(c, islice(iter_captures(warc), 40),
                                                     chunk_size=3, extractor=extractor, **kwargs)
                assert summary.new_documents == 40
                built.append(c.conn.execute("SELECT url, match FROM captures").fetchall())
            threads, ran_in = ran_in, set()
            assert threads and all(t.startswith("caller") == ("executor" in kwargs) for t in threads)
        assert executor.submit(len, "open").result() == 4  # not shut down by reprocess
    assert built[0] == built[1]
