"""Datasette plugin: the reader's pages (search, transcript, history) and the coverage chart.

Loaded by ``--plugins-dir`` (``stenogram serve``); the queries live in ``corpus.web.views``.
Configuration (metadata ``plugins.stenogram``): ``replay_base``, the pywb collection URL the
"archived copy" links point at.
"""
from __future__ import annotations

import sqlite3

from datasette import hookimpl
from datasette.utils import sqlite_timelimit
from datasette.utils.asgi import NotFound, Response
from datasette.views.base import DatasetteError

from stenogram.corpus.web import views
from stenogram.corpus.web.links import web_url

PAGE_SIZE = 20
#: Our pages' SQL may run this many times Datasette's own ``sql_time_limit_ms``: a reading view
#: is a few indexed queries and the home page's coverage one scan of ``documents``, well inside
#: it, while a hostile corpus (``documents`` a view over an endless recursive CTE) is cut off
#: instead of holding a thread of Datasette's pool forever. ``execute_fn`` has no limit of its
#: own (Datasette applies ``sqlite_timelimit`` only in ``Database.execute``).
PAGE_TIME_LIMIT_FACTOR = 10


def _config(datasette) -> dict:
    return datasette.plugin_config("stenogram") or {}


def _db(datasette):
    return datasette.get_database()


async def _run(datasette, fn):
    """``fn(conn)`` on the corpus in Datasette's thread pool, under ``PAGE_TIME_LIMIT_FACTOR``
    times its SQL time limit; an SQLite error (a corpus that is not ours) is one clear message."""
    ms = datasette.setting("sql_time_limit_ms") * PAGE_TIME_LIMIT_FACTOR

    def limited(conn):
        with sqlite_timelimit(conn, ms):
            return fn(conn)

    try:
        return await _db(datasette).execute_fn(limited)
    except sqlite3.Error as exc:
        raise DatasetteError(f"This corpus could not be read for this page: {exc}",
                             title="Cannot read the corpus", status=500) from exc


async def _render(datasette, request, template: str, context: dict) -> Response:
    context = {"db_name": _db(datasette).name, "replay_base": _config(datasette).get("replay_base"), **context}
    return Response.html(await datasette.render_template(template, context, request=request))


async def search_page(datasette, request):
    q = (request.args.get("q") or "").strip()
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    results = []
    if q:
        results = await _run(datasette,
            lambda conn: views.search(conn, q, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE))
    more = len(results) > PAGE_SIZE
    return await _render(datasette, request, "stenogram_search.html", {
        "q": q, "results": results[:PAGE_SIZE], "page": page, "more": more, "page_size": PAGE_SIZE})


def _doc_id(request) -> int:
    try:
        return int(request.url_vars["id"])
    except (KeyError, ValueError):
        raise NotFound("no such transcript")


async def _document_page(datasette, request, view, template: str):
    """A page about one transcript: `view(conn, doc_id, replay_base)` gives its context."""
    doc_id = _doc_id(request)
    replay = _config(datasette).get("replay_base")
    doc = await _run(datasette, lambda conn: view(conn, doc_id, replay))
    if doc is None:
        raise NotFound(f"no transcript {doc_id}")
    return await _render(datasette, request, template, {"doc": doc})


async def transcript_page(datasette, request):
    return await _document_page(datasette, request, views.transcript, "stenogram_transcript.html")


async def history_page(datasette, request):
    return await _document_page(datasette, request, views.history, "stenogram_history.html")


@hookimpl
def register_routes():
    return [
        (r"^/-/search$", search_page),
        (r"^/transcript/(?P<id>\d+)$", transcript_page),
        (r"^/transcript/(?P<id>\d+)/history$", history_page),
    ]


@hookimpl
def extra_template_vars(template, datasette):
    if template != "index.html":
        return {}

    async def inner():
        db = _db(datasette)
        if "documents" not in await db.table_names():
            return {"coverage_svg": views.coverage_svg({"months": [], "series": {}}), "n_documents": 0,
                    "coverage_years": {"years": [], "undated": 0, "peak": 0}}
        data = await _run(datasette, views.coverage)
        years = await _run(datasette, views.coverage_years)
        n = (await db.execute("SELECT count(*) FROM documents")).first()[0]
        return {"coverage_svg": views.coverage_svg(data), "n_documents": n, "stenogram_db": db.name,
                "coverage_years": years}

    return inner


@hookimpl
def prepare_jinja2_environment(env):
    """``url|web_url`` in our templates (``_stenogram_links.html``): only http(s) URLs link."""
    env.filters["web_url"] = web_url


@hookimpl
def extra_css_urls(datasette):
    return ["/stenogram-static/stenogram.css"]  # `--static stenogram-static:corpus/web/static`


@hookimpl
def render_cell(row, value, column, table):
    """In the documents table the title links to the transcript's reading view (the id keeps
    Datasette's link to the raw row; document_id elsewhere links to that row as a foreign key)."""
    from markupsafe import Markup, escape

    if table != "documents" or column != "title" or value is None:
        return None
    try:
        doc_id = int(row["id"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return Markup(f'<a href="/transcript/{doc_id}">{escape(value)}</a>')
