"""Near-duplicate detection: MinHash/LSH to find candidates, real shingle sets to decide.

Why two stages: LSH is a cheap, lossy *candidate* generator; merging two documents is
irreversible for users, so every candidate is verified on the actual word-5-gram sets.

* Signatures: 128 MinHash values over the word 5-grams of ``normalize``, computed in numpy
  (``shingle_hashes`` + ``signature_of_hashes``). datasketch's ``MinHash`` gave ~200 docs/s on
  12 kB transcripts here (sha1 per shingle string); this is ~3x faster with the same estimator.
  ``tests/test_corpus_dedup.py`` checks the estimate against exact Jaccard.
* LSH: 32 bands x 4 rows. measurements.md: 14x8 found only 89% of mirror variants as
  candidates, 32x4 found 99% with no false candidates. Each band becomes one signed 64-bit key
  (blake2b of the band number and its four values) stored in SQLite (``lsh_bands``), so the
  index persists and grows with the corpus instead of being rebuilt.
* Event blocking: documents with the same date and language are also candidates (Lavrov gives a
  handful of transcripts per day), so a mirror whose Jaccard is too low for LSH to catch
  (lots of leftover chrome) is still compared when its date is known.
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
  the middle of its gap (0.575..0.898 and 0.094..0.370), so neither test alone decides; both
  agree with measurements.md (different articles never above containment 0.267 / Jaccard
  0.137; mirrors fall to Jaccard 0.27). Precision and recall on the set: 1.000 / 1.000.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import date as Date
from functools import lru_cache

import numpy as np

from corpus.normalize import SHINGLE_SIZE, shingles, words

NUM_PERM = 128
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


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """128 fixed (a odd, b) 64-bit pairs for multiply-shift hashing; read-only, seed 1."""
    rng = np.random.Generator(np.random.PCG64(1))
    a = rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
    a.flags.writeable = b.flags.writeable = False
    return a, b


_MAX_HASH = np.uint64((1 << 32) - 1)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD], dtype=np.uint64)


def _word_hashes(tokens: list[str]) -> np.ndarray:
    cache: dict[str, int] = {}
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, tok in enumerate(tokens):
        h = cache.get(tok)
        if h is None:
            h = cache[tok] = int.from_bytes(
                hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little"
            )
        out[i] = h
    return out


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the word 5-grams of ``text`` (same shingles as ``normalize.shingles``).

    Each word is hashed once (blake2b), and a 5-gram's hash is a multiply-mix of its five word
    hashes computed in numpy: about 10x faster than hashing every shingle string with sha1,
    and stable across processes and runs (nothing depends on Python's salted ``hash``).
    """
    tokens = words(text)
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    wh = _word_hashes(tokens)
    if len(tokens) < SHINGLE_SIZE:
        wh = np.concatenate([wh, np.zeros(SHINGLE_SIZE - len(tokens), dtype=np.uint64)])
    n = len(wh) - SHINGLE_SIZE + 1
    with np.errstate(over="ignore"):
        acc = np.zeros(n, dtype=np.uint64)
        for k in range(SHINGLE_SIZE):
            acc = acc ^ (wh[k : k + n] * _MIX[k])
            acc = acc * np.uint64(0xBF58476D1CE4E5B9)
            acc = acc ^ (acc >> np.uint64(31))
    return acc >> np.uint64(32)


def signature_of_hashes(hashes: np.ndarray) -> np.ndarray:
    """128 MinHash values from 32-bit shingle hashes.

    Permutation i is the multiply-shift hash ``(a_i * h + b_i) mod 2**64 >> 32`` with fixed
    random 64-bit odd ``a_i`` (PCG64 seed 1): a universal family like datasketch's
    ``(a*h+b) mod p``, without its 64-bit modulo (2.7 ms -> ~1 ms per 12 kB transcript).
    """
    if len(hashes) == 0:
        return np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64)
    a, b = _permutations()
    with np.errstate(over="ignore"):
        phv = (hashes[:, None] * a + b) >> np.uint64(32)
    return phv.min(axis=0)


def signature_of_text(text: str) -> np.ndarray:
    """The MinHash signature of ``text`` (128 uint64 values)."""
    return signature_of_hashes(shingle_hashes(text))


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.mean(np.asarray(sig_a) == np.asarray(sig_b)))


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (band number mixed in, so bands never collide)."""
    values = np.asarray(sig, dtype=np.uint64).astype("<u8")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(struct.pack("<H", band) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def signature_to_blob(sig: np.ndarray) -> bytes:
    return np.asarray(sig, dtype="<u8").tobytes()


def signature_from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


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
