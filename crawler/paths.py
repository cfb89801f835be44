"""Where a crawl writes: one place that knows the defaults under ``STENOGRAM_DATA``.

The archiver, the corpus pipeline, the crawl state and the runner's report all need the same
answer; each setting can point one of them elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPaths:
    warc_dir: Path  # WARC_DIR, default <data>/warc
    db: Path  # STENOGRAM_DB, default <data>/corpus.db
    state_db: Path  # STENOGRAM_STATE_DB, default <data>/state.db


def data_paths(settings) -> DataPaths:
    data = Path(settings.get("STENOGRAM_DATA"))
    return DataPaths(
        warc_dir=Path(settings.get("WARC_DIR") or data / "warc"),
        db=Path(settings.get("STENOGRAM_DB") or data / "corpus.db"),
        state_db=Path(settings.get("STENOGRAM_STATE_DB") or data / "state.db"),
    )
