"""Near-duplicate detection: MinHash/LSH to find candidates, real shingle sets to decide.

Why two stages: LSH is a cheap, lossy *candidate* generator; merging two documents is
irreversible for users, so every candidate is verified on the actual word-5-gram sets.

* Signatures: datasketch 2.0 ``MinHash`` (128 permutations, seed 1, scheme ``affine32``) over
  the word 5-grams of ``normalize``, computed in bulk (``MinHash.bulk``) in the *prepare* step
  (``corpus.prepare``), i.e. in the worker processes of ``reprocess``. Shingles are hashed with
  ``zlib.crc32`` (datasketch's ``hashfunc`` hook) instead of its default sha1: affine32 pre-mixes
  every input hash with the MurmurHash3 finalizer, so on the labelled pairs of ``tests/dedup``
  the estimate is as close to exact Jaccard as with sha1, and the bulk MinHash is several times
  faster (``bench/bench_corpus.py``). ``tests/test_corpus_dedup.py`` checks the estimate against
  exact Jaccard. Signatures are stored as 512-byte blobs (``lsh_signatures``);
  ``minhash_of_signature`` turns one back into a ``LeanMinHash``.
* LSH: 32 bands x 4 rows, not FineWeb's 14 x 8: mirrors with added chrome or a cut ending have a
  low Jaccard, and a pair at Jaccard 0.5 becomes a candidate with probability 1 - (1 - 0.5^4)^32
  = 0.87 under 32 x 4 but 0.05 under 14 x 8; false candidates cost one verification each. Each band becomes one signed 64-bit key
  (``band_keys``: a 64-bit mix of the band number and its four values) stored in SQLite
  (``lsh_bands``), so the index persists and grows with the corpus instead of being rebuilt.
* Event blocking: documents with the same date and language are also candidates (Lavrov gives a
  handful of transcripts per day), so a mirror whose Jaccard is too low for LSH to catch
  (lots of leftover chrome) is still compared when its date is known.
* Pre-filter: a candidate's stored signature against the text's (``min_estimated_jaccard``);
  only candidates that could pass are verified.
* Verification (``DedupSettings``), on real shingle sets:
    containment = |A & B| / min(|A|, |B|)  >= min_containment   (default 0.75)
    jaccard     = |A & B| / |A | B|        >= min_jaccard       (default 0.20)
  plus language equality and dates at most ``max_date_gap_days`` (default 3) apart when both
  are known. Chosen from the curve printed by ``bench/dedup_curve.py`` on ``tests/dedup``
  (50 texts, 140 true pairs, 1085 false pairs): every true mirror pair has containment >= 0.898
  and Jaccard >= 0.370 (the lowest: a mirror cut to 60% of its length); the hard negatives are
  either another news conference with the same ministers (identical opening and closing
  paragraphs, same date): containment <= 0.575 though Jaccard up to 0.389, or a short news item
  quoting one paragraph: containment up to 0.903 but Jaccard <= 0.094. Each threshold sits near
  the middle of its gap (0.575..0.898 and 0.094..0.370), so neither test alone decides.
  Precision and recall on the set: 1.000 / 1.000.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date as Date

import numpy as np
from datasketch import LeanMinHash, MinHash

from stenogram.corpus.normalize import shingles

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch 2.0's default: collision-free permutations, uint32 values
BANDS = 32
ROWS = 4
assert BANDS * ROWS == NUM_PERM


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds for merging a candidate into an existing document (see module docstring)."""

    min_containment: float = 0.75
    min_jaccard: float = 0.20
    max_date_gap_days: int = 3
    max_candidates: int = 50
    #: A candidate whose stored MinHash signature agrees with the text's on fewer than this
    #: share of the 128 values is not verified (its shingles are never built): the estimate is
    #: Binomial(128, J), so a pair at the verification threshold (J = min_jaccard = 0.20) shows
    #: 6 agreements or fewer with probability 6.4e-7, the lowest true mirror pair of tests/dedup
    #: (J = 0.37) with 5e-18. Unrelated transcripts of one date, most of the event-blocking
    #: candidates, agree on about none; verifying each from its text was most of the writer's
    #: CPU on dated corpora (bench_corpus.py --per-day).
    min_estimated_jaccard: float = 0.05


@dataclass(frozen=True)
class Similarity:
    containment: float
    jaccard: float

    def passes(self, settings: DedupSettings) -> bool:
        return (
            self.containment >= settings.min_containment and self.jaccard >= settings.min_jaccard
        )


def similarity(a: set[str], b: set[str]) -> Similarity:
    """Containment (overlap / smaller set) and Jaccard of two shingle sets."""
    if not a or not b:
        return Similarity(0.0, 0.0)
    overlap = len(a & b)
    return Similarity(overlap / min(len(a), len(b)), overlap / (len(a) + len(b) - overlap))


def _minhash_kwargs() -> dict:
    """One definition of the MinHash family: every stored signature must come from it."""
    return {"num_perm": NUM_PERM, "seed": SEED, "scheme": SCHEME, "hashfunc": zlib.crc32}


def signatures_of_shingle_sets(shingle_sets: Iterable[Iterable[str]]) -> list[np.ndarray]:
    """MinHash signatures (``NUM_PERM`` uint32 values each) of many shingle sets at once.

    ``MinHash.bulk`` builds the permutations once and copies them per set, which is what makes
    datasketch usable on the ingest path (see module docstring for the figures).
    """
    return signatures_of_encoded_shingle_sets(
        [[s.encode("utf-8") for s in shingles] for shingles in shingle_sets])


def signatures_of_encoded_shingle_sets(shingle_sets: Iterable[Iterable[bytes]]) -> list[np.ndarray]:
    """``signatures_of_shingle_sets`` for shingles already UTF-8 encoded (the ingest path)."""
    return [m.hashvalues for m in MinHash.bulk(shingle_sets, **_minhash_kwargs())]


def signature_of_text(text: str) -> np.ndarray:
    """The MinHash signature of ``text`` (``NUM_PERM`` uint32 values)."""
    return signatures_of_shingle_sets([shingles(text)])[0]


def minhash_of_signature(sig: np.ndarray) -> LeanMinHash:
    """A datasketch ``LeanMinHash`` for a stored signature (for ``jaccard`` or datasketch's LSH)."""
    return LeanMinHash(seed=SEED, hashvalues=np.asarray(sig, dtype=np.uint32), scheme=SCHEME)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.mean(np.asarray(sig_a) == np.asarray(sig_b)))


def estimated_jaccards(blob: bytes, blobs: Sequence[bytes]) -> np.ndarray:
    """The estimated Jaccard of one stored signature (``signature_to_blob``) with each of
    ``blobs``, in one numpy comparison."""
    if not blobs:
        return np.zeros(0)
    mine = np.frombuffer(blob, dtype="<u4")
    theirs = np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), NUM_PERM)
    return (theirs == mine).mean(axis=1)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array: a bijection that scatters every input bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# One distinct 64-bit salt per band, so equal values in two bands never give the same key.
_BAND_SALTS = _mix64(np.arange(1, BANDS + 1, dtype=np.uint64))


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (band number mixed in, so bands never collide)."""
    return band_keys_of_signatures([sig])[0]


def band_keys_of_signatures(sigs: Sequence[np.ndarray]) -> list[list[int]]:
    """``band_keys`` of many signatures in one numpy pass (the prepare step's batch).

    A band's four 32-bit values are packed into two 64-bit words ``lo``, ``hi`` and keyed as
    ``mix(mix(lo ^ salt) ^ hi)``: ``mix`` is a bijection, so two bands differing only in ``hi``
    never share a key, and other collisions have odds of 2^-64 per pair, as with the 8-byte
    blake2b digest this replaced (LSH_VERSION 3), which cost a Python-level hash call per band
    (~75 us per document; this: a few us per document in a batch).
    """
    if not len(sigs):
        return []
    v = np.asarray(sigs, dtype=np.uint64).reshape(len(sigs), BANDS, ROWS)
    lo = v[:, :, 0] | (v[:, :, 1] << np.uint64(32))
    hi = v[:, :, 2] | (v[:, :, 3] << np.uint64(32))
    return _mix64(_mix64(lo ^ _BAND_SALTS) ^ hi).view(np.int64).tolist()


def signature_to_blob(sig: np.ndarray) -> bytes:
    """``NUM_PERM`` little-endian uint32 values (512 bytes)."""
    return np.asarray(sig, dtype="<u4").tobytes()


def signature_from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


def _parse_date(value: str | None) -> Date | None:
    if not value:
        return None
    try:
        return Date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def compatible(
    language_a: str | None,
    date_a: str | None,
    language_b: str | None,
    date_b: str | None,
    settings: DedupSettings,
) -> bool:
    """Language equal and dates close, each checked only when both sides know it."""
    if language_a and language_b and language_a.lower() != language_b.lower():
        return False
    da, db = _parse_date(date_a), _parse_date(date_b)
    if da and db and abs((da - db).days) > settings.max_date_gap_days:
        return False
    return True
