"""The SQLite corpus: one document per transcript, with every capture as provenance.

The names below are resolved on first use (PEP 562): corpus.dedup pulls in datasketch and
scipy (~0.3 s), which commands that never touch the corpus should not pay for.
"""
from __future__ import annotations

import importlib

_LAZY = {"Corpus": "stenogram.corpus.store", "IngestResult": "stenogram.corpus.store", "DedupSettings": "stenogram.corpus.dedup"}

__all__ = ["Corpus", "IngestResult", "DedupSettings"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
