"""Datasette plugin: the reader's pages (search, transcript, history) and the coverage chart.

Loaded by ``--plugins-dir`` (``stenogram serve``); the queries live in ``corpus.web.views``.
Configuration (metadata ``plugins.stenogram``): ``replay_base``, the pywb collection URL the
"archived copy" links point at.
"""
from __future__ import annotations

import re
import sqlite3

from datasette import hookimpl
from datasette.utils import sqlite_timelimit
from datasette.utils.asgi import NotFound, Response
from datasette.views.base import DatasetteError

from stenogram.corpus.coverage import n_documents
from stenogram.corpus.web import views
from stenogram.corpus.web.links import web_url

PAGE_SIZE = 20
STEMMED_TABLE = "documents_stemmed_fts"
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


def _search_args(request) -> tuple[str, dict, int]:
    """(words, the filters given by ``FILTER_NAMES``, page) of a request."""
    from stenogram.corpus.search import FILTER_NAMES

    q = (request.args.get("q") or "").strip()
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    args = {name: (request.args.get(name) or "").strip() for name in FILTER_NAMES}
    return q, {k: v for k, v in args.items() if v}, page


async def _search(datasette, request, counts: bool = True):
    """The one search (``corpus.search.run``) for the page and its JSON twin."""
    from stenogram.corpus.search import Filters, Results, run

    q, args, page = _search_args(request)
    try:
        filters = Filters.from_args(args)
    except ValueError as exc:
        return q, args, page, None, str(exc)
    results = Results(0, [], None)
    if q or args:
        results = await _run(datasette, lambda conn: run(
            conn, q, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, counts=counts))
    return q, args, page, results, None


async def search_page(datasette, request):
    from urllib.parse import urlencode

    q, args, page, results, error = await _search(datasette, request)
    hits = results.hits if results else []
    total = results.total if results else 0
    base = {"q": q, **args} if q else dict(args)

    def link(**change) -> str:
        return "?" + urlencode({k: v for k, v in {**base, **change}.items() if v})

    months = []
    if results and results.counts:
        peak = max(results.counts["month"].values(), default=0)
        months = [{"month": m, "n": n, "pct": round(100 * n / peak) if peak else 0,
                   "href": link(**{"from": m, "to": m, "page": ""})}
                  for m, n in results.counts["month"].items() if m != "undated"]
    return await _render(datasette, request, "stenogram_search.html", {
        "q": q, "filters": args, "error": error, "results": hits, "total": total, "page": page,
        "more": page * PAGE_SIZE < total, "page_size": PAGE_SIZE,
        "counts": results.counts if results else None, "months": months,
        "prev_href": link(page=str(page - 1)), "next_href": link(page=str(page + 1)),
        "json_href": "/-/search.json" + link(), "searched": bool(q or args)})


async def search_json(datasette, request):
    """``/-/search.json``: the page's search, same parameters, as JSON (``Results.as_json``
    plus the query, filters, page and page size)."""
    q, args, page, results, error = await _search(datasette, request)
    if error:
        return Response.json({"ok": False, "error": error}, status=400)
    body = {"ok": True, "q": q, "filters": args, "page": page, "page_size": PAGE_SIZE,
            **(results.as_json() if results else {"total": 0, "hits": [], "counts": None})}
    return Response.json(body, default=str)


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
        (r"^/-/search\.json$", search_json),
        (r"^/transcript/(?P<id>\d+)$", transcript_page),
        (r"^/transcript/(?P<id>\d+)/history$", history_page),
    ]


_TABLE_SEARCH_RE = re.compile(r"^/(?P<db>[^/]+)/documents(?P<ext>\.\w+)?$")


def table_search_rewrite(path: str, query_string: bytes, stemmed: bool):
    """Datasette's own search on ``documents`` (``?_search=``), given the analysis of
    ``/-/search``: ``("redirect", url)`` for the HTML table (to ``/-/search``, with filters,
    snippets and totals), ``("rewrite", query_string)`` for its JSON/CSV (the words as
    ``corpus.search.parse_query`` stems them, matched raw in ``documents_stemmed_fts`` through
    Datasette's ``_fts_table``/``_fts_pk``/``_searchmode=raw`` arguments, datasette/filters.py),
    or None to leave the request alone (another table, no search, a corpus without the index).
    Why: Datasette's search used the unstemmed index, so "Лавровым" found 0 there and 9 here."""
    from urllib.parse import parse_qsl, urlencode

    from stenogram.corpus.search import STEMMED_FTS, parse_query

    m = _TABLE_SEARCH_RE.match(path)
    if not m:
        return None
    args = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if not any(k.startswith("_search") and k != "_searchmode" and v.strip() for k, v in args):
        return None
    if m.group("ext") is None:
        words = " ".join(v for k, v in args if k.startswith("_search") and k != "_searchmode")
        return "redirect", "/-/search?" + urlencode({"q": words.strip()})
    if not stemmed:
        return None
    out = [(k, v) for k, v in args if k not in ("_searchmode", "_fts_table", "_fts_pk")]
    out = [(k, parse_query(v) if k.startswith("_search") else v) for k, v in out]
    out += [("_searchmode", "raw"), ("_fts_table", STEMMED_FTS), ("_fts_pk", "id")]
    return "rewrite", urlencode(out).encode("latin-1")


@hookimpl
def asgi_wrapper(datasette):
    """Send Datasette's ``_search`` on ``documents`` through ``/-/search``'s analysis
    (``table_search_rewrite``)."""
    from urllib.parse import unquote

    def wrap(app):
        async def inner(scope, receive, send):
            if scope.get("type") == "http" and b"_search" in scope.get("query_string", b""):
                path = unquote(scope.get("path", ""))
                m = _TABLE_SEARCH_RE.match(path)
                stemmed = False
                if m:
                    try:
                        db = datasette.get_database(m.group("db"))
                        stemmed = STEMMED_TABLE in await db.table_names()
                    except KeyError:
                        m = None
                change = m and table_search_rewrite(path, scope["query_string"], stemmed)
                if change and change[0] == "redirect":
                    await send({"type": "http.response.start", "status": 302,
                                "headers": [(b"location", change[1].encode("latin-1")),
                                            (b"content-type", b"text/plain")]})
                    await send({"type": "http.response.body", "body": b""})
                    return
                if change:
                    scope = dict(scope, query_string=change[1])
            await app(scope, receive, send)

        return inner

    return wrap


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
        n = await _run(datasette, n_documents)
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
