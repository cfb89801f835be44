"""The SQLite corpus: one document per transcript, with every capture as provenance."""
