"""HTML -> clean, structured transcript (title, date, place, language, text, speaker turns).

`extract_page(body, url=None, content_type=None) -> Transcript` is the package's API; the
per-source knowledge lives in profiles.toml.
"""
from extract.page import EXTRACTOR_VERSION, extract_page, settings_hash
from extract.transcript import Transcript, Turn

__all__ = ["EXTRACTOR_VERSION", "Transcript", "Turn", "extract_page", "settings_hash"]
