"""The reader's web view of the corpus: Datasette plugin, templates and static files.

Datasette stays the engine (tables, facets, JSON API, SQL); this package adds the pages a
reader needs: search, a reading view per transcript, its history with highlighted edits, the
archived page replayed by pywb, and a coverage chart. ``views`` holds the queries and HTML
helpers (plain functions of a sqlite3 connection, tested without a server); ``plugins/``
is what Datasette loads with ``--plugins-dir``.
"""
from pathlib import Path

HERE = Path(__file__).parent
PLUGINS_DIR = HERE / "plugins"
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
