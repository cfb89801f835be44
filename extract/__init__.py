"""HTML -> clean, structured transcript (title, date, place, language, text, speaker turns).

`extract_page(body, url=None, content_type=None) -> Transcript` is the package's API; the
per-source knowledge lives in profiles.toml.

The names below are resolved on first use (PEP 562), so importing a submodule such as
extract.cli does not load trafilatura: that keeps `stenogram extract --help` fast.
"""
from __future__ import annotations

import importlib

_LAZY = {"EXTRACTOR_VERSION": "stenogram.extract.page", "extract_page": "stenogram.extract.page", "settings_hash": "stenogram.extract.page",
         "Transcript": "stenogram.extract.transcript", "Turn": "stenogram.extract.transcript"}

__all__ = ["EXTRACTOR_VERSION", "Transcript", "Turn", "extract_page", "settings_hash"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
