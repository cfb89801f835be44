"""Datasette plugin: every connection Datasette opens is guarded (``corpus.web.sql_guard``).

Datasette calls ``prepare_connection(conn, database, datasette)`` on each connection it makes
(its read connections in the thread pool, the write connection, the internal database), so no
query, whether ours, a table page's or a reader's ``?sql=``, runs on an unguarded connection.
"""
from __future__ import annotations

from datasette import hookimpl

from stenogram.corpus.web.sql_guard import guard


@hookimpl
def prepare_connection(conn):
    guard(conn)
