"""Normalisation, shingling, MinHash/LSH and the labelled near-duplicate set."""
from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import numpy as np
from hypothesis import given, settings, strategies as st

from stenogram.corpus import Corpus
from stenogram.corpus.dedup import (BANDS, band_keys, estimated_jaccard, signature_of_text, similarity)
from stenogram.corpus.normalize import normalise_text, shingles, text_hash
from stenogram.corpus.prepare import prepare_text
from stenogram.corpus.urls import url_key
from stenogram.archive.capture import Capture, WarcLocation

LABELLED = Path(__file__).parent / "dedup" / "labelled.jsonl"
TYPO = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2013": "-", "\u2014": "-"}


def make_capture(url, source="mid", fetched_at="2024-05-01T00:00:00Z") -> Capture:
    loc = WarcLocation("dedup.warc.gz", 0, 1000, f"<urn:uuid:{uuid.uuid4()}>", None)
    return Capture(url, fetched_at, 200, "text/html", b"", loc, source, "crawl-1")


def transcript(row: dict, **over) -> dict:
    d = {"title": row["title"], "date": row["date"], "language": row["language"],
         "source": row["source"], "kind": "transcript", "text": row["text"], "turns": [],
         "participants": [], "is_transcript": True, "reason": None, "extractor_version": "t"}
    d.update(over)
    return d


text_st = st.text(alphabet=st.sampled_from(list("abc xyzАБВ.,\n\t") + list(TYPO)), max_size=200)


@given(text_st)
def test_normalise_is_idempotent_and_folds_typography(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert not any(ch in once for ch in TYPO)
    assert "  " not in once and "\n" not in once and once == once.strip()


@given(text_st)
def test_typographic_variant_has_same_hash_and_shingles(text):
    straight = "".join(TYPO.get(ch, ch) for ch in text)
    assert text_hash(straight) == text_hash(text)
    assert shingles(straight) == shingles(text)


@given(st.lists(st.sampled_from(["lavrov", "minister", "talks", "moscow", "cis", "the", "of"]),
                min_size=0, max_size=40))
def test_shingles_are_word_5grams(tokens):
    text = " ".join(tokens)
    sh = shingles(text)
    if not tokens:
        assert sh == set()
    elif len(tokens) < 5:
        assert sh == {text}
    else:
        assert all(len(s.split()) == 5 for s in sh)
        assert sh == {" ".join(tokens[i:i + 5]) for i in range(len(tokens) - 4)}


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=4), st.floats(min_value=0.2, max_value=1.0))
def test_minhash_estimates_jaccard(seed_no, keep):
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]
    text = next(r["text"] for r in rows if r["id"] == f"seed-00{seed_no}/original")
    part = text[: int(len(text) * keep)]
    exact = similarity(shingles(text), shingles(part)).jaccard
    est = estimated_jaccard(signature_of_text(text), signature_of_text(part))
    assert abs(est - exact) < 0.2  # 128 permutations: standard error <= 0.045


def test_band_keys_are_stable_and_distinct_per_band():
    sig = signature_of_text("Foreign Minister Sergey Lavrov answers media questions in Minsk")
    keys = band_keys(sig)
    assert len(keys) == BANDS == len(set(keys))
    assert keys == band_keys(np.array(sig))
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_url_key_folds_mid_variants():
    a = url_key("https://mid.ru/en/foreign_policy/news/1975643/")
    assert a == url_key("http://www.mid.ru/en/foreign_policy/news/1975643")
    assert a == url_key("https://mid.ru/en/foreign_policy/news/1975643/?lang=ru")
    assert a != url_key("https://mid.ru/en/foreign_policy/news/1975644/")
    assert url_key("http://127.0.0.1:8001/a/") == "127.0.0.1:8001/a"


def test_labelled_set_pairwise_precision_recall(tmp_path, capsys):
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]
    corpus = Corpus(tmp_path / "labelled.db")
    doc_of = {}
    for i, r in enumerate(rows):
        res = corpus.ingest(make_capture(r["url"], source=r["source"],
                                         fetched_at=f"2024-05-01T00:{i // 60:02d}:{i % 60:02d}Z"),
                            transcript(r))
        doc_of[r["id"]] = res.document_id
    tp = fp = fn = 0
    for a, b in itertools.combinations(rows, 2):
        same_truth = a["group"] == b["group"]
        same_pred = doc_of[a["id"]] == doc_of[b["id"]]
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    with capsys.disabled():
        print(f"\nlabelled near-duplicate set: {len(rows)} texts, pairwise precision "
              f"{precision:.3f}, recall {recall:.3f} (tp={tp} fp={fp} fn={fn})")
    assert precision == 1.0 and recall == 1.0
    corpus.close()


def test_lsh_alone_finds_mirrors_when_dates_are_unknown(tmp_path):
    """Without dates the event blocking is off: only the persisted LSH bands give candidates.

    The truncated mirror (Jaccard ~0.45 to the original) is left out: 32x4 bands make it a
    candidate with probability 1-(1-0.45**4)**32 ~ 0.74 only; with a date it is found by the
    event blocking (see test_labelled_set_pairwise_precision_recall).
    """
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]
    wanted = [r for r in rows if r["group"] in ("seed-001", "seed-004")
              and r["variant"] != "truncated-end"]
    with Corpus(tmp_path / "lsh.db") as corpus:
        docs = {}
        for r in wanted:
            res = corpus.ingest(make_capture(r["url"], source=r["source"]),
                                transcript(r, date=None))
            docs.setdefault(r["group"], set()).add(res.document_id)
        assert all(len(ids) == 1 for ids in docs.values())
        assert len(set.union(*docs.values())) == 2
        assert corpus.stats()["near_duplicate_captures"] >= 4


def test_signature_is_datasketch_minhash_of_the_shingles():
    """The stored signature is exactly datasketch's MinHash (the reference implementation)."""
    import zlib

    from datasketch import MinHash

    from stenogram.corpus.dedup import NUM_PERM, SCHEME, SEED, minhash_of_signature

    text = next(json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines())["text"]
    ref = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=zlib.crc32)
    ref.update_batch([s.encode("utf-8") for s in shingles(text)])
    assert np.array_equal(signature_of_text(text), ref.hashvalues)
    assert minhash_of_signature(signature_of_text(text)).jaccard(ref) == 1.0


def test_prepared_ingest_equals_plain_ingest(tmp_path):
    """reprocess's path (prepared in a worker) stores what the live pipeline's path stores."""
    from stenogram.corpus.prepare import prepare_transcripts

    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]
    caps = [make_capture(r["url"], source=r["source"]) for r in rows]
    ts = [transcript(r) for r in rows]
    dumps = []
    for name, prepared in (("plain", [None] * len(rows)), ("prepared", prepare_transcripts(ts))):
        with Corpus(tmp_path / f"{name}.db") as corpus:
            with corpus.transaction():
                for cap, t, p in zip(caps, ts, prepared):
                    corpus.ingest(cap, t, p)
            dumps.append({t: list(corpus.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2"))
                          for t in ("documents", "versions", "lsh_bands", "lsh_bands_middle",
                                    "lsh_signatures")})
    assert dumps[0] == dumps[1]


def test_index_of_an_older_minhash_is_rebuilt_on_open(tmp_path):
    rows = {r["id"]: r for r in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())}
    with Corpus(tmp_path / "old.db") as c:
        a = c.ingest(make_capture(rows["seed-000/original"]["url"]),
                     transcript(rows["seed-000/original"], date=None))
        c.conn.execute("UPDATE lsh_bands SET key = key + 1")  # as if made by another MinHash
        c.bands.merge()  # (else its keys are only in memory)
        c.conn.execute("PRAGMA user_version = 1")
    with Corpus(tmp_path / "old.db") as c:
        mirror = rows["seed-000/extra-chrome"]
        b = c.ingest(make_capture(mirror["url"], source=mirror["source"]),
                     transcript(mirror, date=None))
    assert b.document_id == a.document_id and b.match.startswith("near-duplicate")


def test_band_index_levels_merge_without_changing_a_match(tmp_path, monkeypatch):
    """The LSH levels are one index: merging them early and often (every 2 versions into the
    middle level, the middle one into the largest from 8) attaches every capture as with no
    merge at all, and every version's band keys end up stored once."""
    from stenogram.corpus import band_index
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]

    def stored(corpus):
        return sorted(corpus.conn.execute(" UNION ALL ".join(
            f"SELECT key, version_id FROM {t}" for t in band_index.LSH_BAND_TABLES)))

    def build(name):
        with Corpus(tmp_path / f"{name}.db") as corpus:
            with corpus.transaction():
                for r in rows:
                    corpus.ingest(make_capture(r["url"], source=r["source"]),
                                  transcript(r, date=None))
            levels = {t: corpus.db[t].count for t in band_index.LSH_BAND_TABLES}
            matches = list(corpus.conn.execute(
                "SELECT url, document_id, version_id, match FROM captures ORDER BY id"))
            corpus.bands.merge()  # whatever is still in memory
            expected = sorted((k, vid) for vid, text in corpus.conn.execute(
                "SELECT id, text FROM versions") for k in set(prepare_text(text).band_keys))
            return levels, matches, stored(corpus), expected

    unmerged = build("unmerged")
    assert sum(unmerged[0].values()) == 0  # all in memory
    monkeypatch.setattr(band_index, "LSH_MERGE_ROWS", 2 * BANDS)
    merged = build("merged")
    assert merged[0]["lsh_bands"] > 0
    assert merged[1] == unmerged[1]
    assert any(m.startswith("near-duplicate") for *_, m in merged[1])
    assert merged[2] == unmerged[2] == merged[3]


def _seed_pair(name="seed-000/original", mirror="seed-000/extra-chrome"):
    rows = {r["id"]: r for r in map(json.loads, LABELLED.read_text(encoding="utf-8").splitlines())}
    return rows[name], rows[mirror]


def test_band_index_forgets_the_keys_of_a_rolled_back_ingest(tmp_path):
    """The memory mirror of the small LSH levels must not outlive a rollback: a mirror of a
    rolled-back original finds nothing to join and becomes a new document."""
    original, mirror = _seed_pair()
    with Corpus(tmp_path / "c.db") as corpus:
        try:
            with corpus.transaction():
                corpus.ingest(make_capture(original["url"]), transcript(original, date=None))
                raise RuntimeError("the batch fails after the ingest")
        except RuntimeError:
            pass
        assert corpus.bands.candidates(prepare_text(original["text"]).band_keys, 10) == []
        res = corpus.ingest(make_capture(mirror["url"], source=mirror["source"]),
                            transcript(mirror, date=None))
        assert res.match == "new"
        assert corpus.db["versions"].count == 1


def test_band_index_sees_what_another_connection_committed(tmp_path):
    """Two writers on one corpus (a crawl and a reprocess): the one that loaded its mirror
    first still finds the other's new document as a near-duplicate candidate."""
    original, mirror = _seed_pair()
    with Corpus(tmp_path / "c.db") as reader, Corpus(tmp_path / "c.db") as writer:
        other = reader.ingest(make_capture("https://example.org/unrelated"),
                              transcript(_seed_pair("seed-001/original")[0], date=None))
        first = writer.ingest(make_capture(original["url"]), transcript(original, date=None))
        res = reader.ingest(make_capture(mirror["url"], source=mirror["source"]),
                            transcript(mirror, date=None))
        assert res.document_id == first.document_id != other.document_id
        assert res.match.startswith("near-duplicate")


def test_unmerged_band_keys_survive_a_restart(tmp_path):
    """The newest versions' band keys live in memory until a merge; a new process (after a
    crash or a clean exit) recomputes them from the stored signatures and still finds the
    original of a mirror."""
    original, mirror = _seed_pair()
    with Corpus(tmp_path / "c.db") as corpus:
        first = corpus.ingest(make_capture(original["url"]), transcript(original, date=None))
        assert corpus.db["lsh_bands_middle"].count == corpus.db["lsh_bands"].count == 0
    with Corpus(tmp_path / "c.db") as corpus:
        res = corpus.ingest(make_capture(mirror["url"], source=mirror["source"]),
                            transcript(mirror, date=None))
    assert res.document_id == first.document_id and res.match.startswith("near-duplicate")


def test_schema_3_recent_band_table_is_folded_into_the_middle_level(tmp_path):
    """A corpus written by schema 3 kept its newest band keys in ``lsh_bands_recent``: opening
    it moves them into ``lsh_bands_middle`` once and marks them merged."""
    import sqlite3
    original, mirror = _seed_pair()
    with Corpus(tmp_path / "c.db") as corpus:
        first = corpus.ingest(make_capture(original["url"]), transcript(original, date=None))
    keys = prepare_text(original["text"]).band_keys
    conn = sqlite3.connect(tmp_path / "c.db")
    with conn:
        conn.execute("CREATE TABLE lsh_bands_recent (key INTEGER NOT NULL, version_id INTEGER "
                     "NOT NULL, PRIMARY KEY (key, version_id)) WITHOUT ROWID")
        conn.executemany("INSERT INTO lsh_bands_recent VALUES (?, ?)",
                         [(k, first.version_id) for k in keys])
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    with Corpus(tmp_path / "c.db") as corpus:
        assert "lsh_bands_recent" not in corpus.db.table_names()
        assert sorted(corpus.conn.execute("SELECT key FROM lsh_bands_middle")) == \
            sorted((k,) for k in set(keys))
        res = corpus.ingest(make_capture(mirror["url"], source=mirror["source"]),
                            transcript(mirror, date=None))
    assert res.document_id == first.document_id and res.match.startswith("near-duplicate")


@settings(max_examples=50, deadline=None)
@given(keys=st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=3000, unique=True),
       capacity=st.integers(0, 5000))
def test_key_filter_never_misses_an_added_key(keys, capacity):
    from stenogram.corpus.band_index import KeyFilter
    f = KeyFilter(capacity)
    f.add(np.array(keys[::2], dtype=np.int64))
    f.add(keys[1::2])
    assert f.maybe(np.array(keys, dtype=np.int64)).all()
    assert f.count == len(keys)


def test_key_filter_false_positives_at_capacity():
    """At its capacity the filter lets ~1% of absent keys through (the SQL probes it saves)."""
    from stenogram.corpus.band_index import KeyFilter
    rng = np.random.default_rng(5)
    f = KeyFilter(100_000)
    f.add(rng.integers(-2**63, 2**63 - 1, size=f.capacity, dtype=np.int64))
    absent = rng.integers(-2**63, 2**63 - 1, size=200_000, dtype=np.int64)
    rate = f.maybe(absent).mean()
    print(f"key filter: {f.capacity} keys in {len(f.words) * 8} bytes, false positives {rate:.4f}")
    assert rate < 0.02


def test_largest_level_filter_is_rebuilt_on_open(tmp_path, monkeypatch):
    """A new process builds the largest level's filter from the table: every stored version is
    still found under its own band keys."""
    from stenogram.corpus import band_index
    monkeypatch.setattr(band_index, "LSH_MERGE_ROWS", 2 * BANDS)
    rows = [json.loads(x) for x in LABELLED.read_text(encoding="utf-8").splitlines()]
    with Corpus(tmp_path / "c.db") as corpus:
        for r in rows:
            corpus.ingest(make_capture(r["url"], source=r["source"]), transcript(r, date=None))
    with Corpus(tmp_path / "c.db") as corpus:
        assert corpus.db["lsh_bands"].count > 0
        in_largest = {v for (v,) in corpus.conn.execute("SELECT DISTINCT version_id FROM lsh_bands")}
        for vid, text in corpus.conn.execute("SELECT id, text FROM versions"):
            if vid in in_largest:
                assert vid in corpus.bands.candidates(prepare_text(text).band_keys, 100)


def test_same_date_candidates_are_screened_by_their_stored_signatures(tmp_path, monkeypatch):
    """The labelled set's originals all given one date: each is a same-date candidate of every
    later one. Unrelated transcripts are dropped on their stored signatures (shingles are built
    for the new text and the candidates that could pass only), and the verdicts are unchanged:
    every seed's mirrors still join it."""
    from stenogram.corpus import store

    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    built = []
    monkeypatch.setattr(store, "shingles", lambda text: built.append(text) or shingles(text))
    with Corpus(tmp_path / "c.db") as corpus:
        results = {}
        for r in rows:
            built.clear()
            results[r["id"]] = corpus.ingest(make_capture(r["url"], r["source"]),
                                              transcript(r, date="2024-05-01", language="en"))
            if results[r["id"]].match in ("new", "exact") and r["group"].startswith("seed"):
                # a new document among up to 49 same-date ones: at most the hard negatives that
                # share its ministers' opening are verified, never all of them
                assert len(built) <= 4, (r["id"], len(built))
        groups = {}
        for r in rows:
            groups.setdefault(r["group"], set()).add(results[r["id"]].document_id)
        assert all(len(ids) == 1 for g, ids in groups.items() if g.startswith("seed")), groups
