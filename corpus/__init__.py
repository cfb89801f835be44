"""The SQLite corpus: one document per transcript, with every capture as provenance."""
from corpus.dedup import DedupSettings
from corpus.store import Corpus, IngestResult

__all__ = ["Corpus", "IngestResult", "DedupSettings"]
