"""The extractor's output record: one page -> one Transcript, as DESIGN.md fixes its fields.

A dataclass (not a dict) so every producer fills the same fields; `to_dict()` is what the
corpus stores and what `stenogram extract` prints.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Turn:
    """One speaker turn: the label as published, a normalised id, the turn's text, and where
    the speaker came from: "label" (the turn's own label in the text), "title" (the one
    principal speaker the page's title names, for the unlabelled opening) or None (no evidence:
    `speaker` and `speaker_id` are None too; extract/turns.py)."""

    speaker: str | None
    speaker_id: str | None
    text: str
    speaker_source: str | None = None


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
    # Which path produced the text: "profile" (the source's container selector), "fallback" (a
    # profile matched but its container missed or held too little: body chosen by text mass)
    # or "generic" (no profile); fallback_reason says why the profile's container was not used.
    extraction_path: str | None = None
    fallback_reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)
