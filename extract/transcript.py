"""The extractor's output record: one page -> one Transcript, as DESIGN.md fixes its fields.

A dataclass (not a dict) so every producer fills the same fields; `to_dict()` is what the
corpus stores and what `stenogram extract` prints.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Turn:
    """One speaker turn: the label as published, a normalised id, and the turn's text."""

    speaker: str
    speaker_id: str
    text: str


@dataclass
class Transcript:
    title: str | None = None
    date: str | None = None
    time: str | None = None
    place: str | None = None
    language: str | None = None
    source: str | None = None
    doc_number: str | None = None
    kind: str | None = None
    text: str = ""
    paragraphs: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    is_transcript: bool = False
    reason: str | None = None
    extractor_version: str = ""
    settings_hash: str = ""
    translation_urls: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
