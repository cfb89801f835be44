"""stenogram: an archiving crawler for diplomatic transcripts."""

__version__ = "0.1.0"
