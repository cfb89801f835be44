"""What SQL may call on a connection ``stenogram serve`` opens to a corpus: ``guard(conn)``.

Why: a corpus "may come from anyone", and Datasette runs SQL from any GET (any web page the
reader has open can send one to loopback). SQLite's FTS3 ships the SQL function
``fts3_tokenizer``: with one argument it returns the address of a tokenizer's C structure (a
library address: ASLR defeated), with two it replaces a tokenizer by an arbitrary pointer that
SQLite then calls on the next use of an FTS3 table (a crash at best). Debian builds SQLite with
``SQLITE_ENABLE_FTS3_TOKENIZER``; Python 3.11's ``sqlite3`` cannot call ``sqlite3_db_config``
(``setconfig`` is 3.12), and even with ``SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER`` off the
one-argument form still returns the pointer when the name is a bound parameter (SQLite's own
test/fts3atoken2.test). So the means here is an authorizer: SQLite asks it about every function
a statement calls while it compiles the statement (``SQLITE_FUNCTION``, with the function's
name as the third argument: ``sqlite3_set_authorizer``'s documentation), the SQL of the views
and triggers the statement pulls in included, and a ``SQLITE_DENY`` fails the whole statement
at prepare time ("not authorized"): the call never runs, whatever the arguments.

The same connections get a smaller ``SQLITE_LIMIT_LENGTH`` (``MAX_VALUE_BYTES``): SQLite's
default lets one GET of ``select length(randomblob(999999999))`` take a gigabyte per Datasette
thread, and a hostile corpus row of that size the same. Past the limit SQLite answers "string
or blob too big" (``sqlite3_limit``'s documentation), for a value built by SQL or read from a
row alike: an error for that query, not a server out of memory.

Datasette makes every connection through ``Database.connect`` and hands each one to the
``prepare_connection`` plugin hook (corpus/web/plugins/stenogram_sql_guard.py); its time limit
(``sqlite_timelimit``, a progress handler) is a separate callback and keeps working.
"""
from __future__ import annotations

import sqlite3

#: SQL functions no statement on a served corpus may call (lower case).
DENIED_FUNCTIONS = frozenset({"fts3_tokenizer"})
#: The largest string or blob a served query may build or read: a transcript is well under a
#: megabyte, a whole document row a few; 64 MiB leaves room for any real corpus.
MAX_VALUE_BYTES = 64 * 1024 * 1024


def _authorize(action: int, arg1, arg2, db_name, trigger_or_view) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def guard(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Deny ``DENIED_FUNCTIONS`` on ``conn`` (replaces any authorizer set before) and cap its
    values at ``MAX_VALUE_BYTES``; returns it."""
    conn.set_authorizer(_authorize)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    return conn
