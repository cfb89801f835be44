"""The per-document CPU work of an ingest, done before (and apart from) the SQLite transaction.

Why a step of its own: normalising, hashing, shingling and MinHashing a transcript costs several
times the CPU of its SQLite writes (``bench/bench_corpus.py``). Done inside ``Corpus.ingest`` it serialises
on the single writer; done here it runs wherever the text is: in ``reprocess``'s worker
processes next to extraction (``prepare_transcripts`` on a chunk), so the writer only looks up
and inserts. ``Corpus.ingest`` still prepares by itself when it is given no ``Prepared`` (the
live crawl pipeline calls ``ingest(capture, transcript_dict)``), so both paths share this code
and store exactly the same values.

A ``Prepared`` is plain data (it pickles cheaply between processes) and is only valid for the
text it was made from; ``Corpus.ingest`` checks ``text_hash`` against nothing else, so callers
must pass the pair they prepared together.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stenogram.corpus import dedup
from stenogram.corpus.normalize import (hash_normalised, normalise_text, shingle_bytes_of_words,
                              words_of_normalised)


@dataclass(frozen=True)
class Prepared:
    """What the writer needs of one transcript text (see module docstring)."""

    text_hash: str  # sha256 of the normalised text: the exact-duplicate key
    n_chars: int  # length of the normalised text (longest-version rule)
    signature: bytes  # dedup.signature_to_blob of the MinHash signature
    band_keys: tuple[int, ...]  # dedup.band_keys: one LSH key per band


def is_ingestible(transcript: dict | None) -> bool:
    """True when ``Corpus.ingest`` attaches ``transcript`` to a document (so it needs preparing)."""
    return bool(transcript and transcript.get("is_transcript")
                and (transcript.get("text") or "").strip())


def prepare_texts(texts: Iterable[str]) -> list[Prepared]:
    """``Prepared`` for each text, with the MinHash signatures computed in one datasketch bulk."""
    hashes, lengths, shingle_sets = [], [], []
    for text in texts:
        normalised = normalise_text(text)
        hashes.append(hash_normalised(normalised))
        lengths.append(len(normalised))
        shingle_sets.append(shingle_bytes_of_words(words_of_normalised(normalised)))
    sigs = dedup.signatures_of_encoded_shingle_sets(shingle_sets)
    keys = dedup.band_keys_of_signatures(sigs)
    return [Prepared(h, n, dedup.signature_to_blob(sig), tuple(k))
            for h, n, sig, k in zip(hashes, lengths, sigs, keys)]


def prepare_text(text: str) -> Prepared:
    return prepare_texts([text])[0]


def prepare_transcripts(transcripts: Iterable[dict | None]) -> list[Prepared | None]:
    """``Prepared`` for each ingestible transcript, None for the others (same order)."""
    transcripts = list(transcripts)
    todo = [i for i, t in enumerate(transcripts) if is_ingestible(t)]
    out: list[Prepared | None] = [None] * len(transcripts)
    for i, p in zip(todo, prepare_texts(transcripts[i]["text"] for i in todo)):
        out[i] = p
    return out
