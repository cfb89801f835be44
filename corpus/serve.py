"""`stenogram serve`: Datasette with the reader's pages, and pywb replaying the WARCs.

Why subprocesses: datasette and pywb each run their own server loop and bring their own
dependency trees (pywb lives in ``.venv-tools``, built by tools/setup-tools.sh); keeping them
in child processes keeps the library importable without them and lets ``serve`` stop them by
pid. Both bind loopback (127.0.0.0/8) unless told otherwise: an address beyond loopback needs
``public=True`` (``serve --public``), prints a warning and turns Datasette's arbitrary SQL off
(``exposure``; docs/security.md). Each child is its own process group, so SIGTERM or Ctrl-C to
``stenogram serve`` takes down every process it started, grandchildren included.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from stenogram.corpus.web import PLUGINS_DIR, STATIC_DIR, TEMPLATES_DIR

DEFAULT_PORT = 8765          # the sample site takes 8001-8004 when given --port 8001
VISIBLE_TABLES = ("documents", "versions", "captures")
COLLECTION = "corpus"


def table_names(db_path: str | Path) -> list[str]:
    from stenogram.corpus.access import open_readonly
    from stenogram.corpus.web.sql_guard import guard

    con = guard(open_readonly(db_path))
    try:
        return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        con.close()


class CorpusUnservable(ValueError):
    """A table of the corpus cannot even be described: Datasette would refuse to start."""


def unreadable_tables(db_path: str | Path) -> list[tuple[str, str]]:
    """``(table, SQLite's reason)`` for each table whose columns cannot be read.

    Why: Datasette checks every table with ``PRAGMA table_info`` when it opens a database
    (``datasette.utils.check_connection``) and exits on the first failure; a hand-written
    schema row can declare an FTS3 table with a tokenizer or a virtual table with a module this
    SQLite does not have. The same check here lets ``serve`` refuse such a file with one line
    naming the table, before it starts anything."""
    from stenogram.corpus.access import open_readonly
    from stenogram.corpus.web.sql_guard import guard

    con = guard(open_readonly(db_path))
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        bad = []
        for name in names:
            try:
                con.execute("SELECT * FROM pragma_table_info(?)", (name,)).fetchall()
            except sqlite3.Error as exc:
                bad.append((name, str(exc)))
        return bad
    finally:
        con.close()


def metadata(db_path: str | Path, replay_base: str | None = None) -> dict:
    """Datasette metadata: titles, facets, FTS, the internal tables hidden, the plugin's config."""
    name = Path(db_path).stem
    tables = {
        "documents": {
            "fts_table": "documents_fts", "fts_pk": "id",
            "sort_desc": "date",
            # Each default facet runs on every page load: these three read an index
            # (corpus.schema); sources and participants are JSON arrays after the full text
            # in each row, so faceting them reads the whole table (0.2+ s at 10k documents):
            # asked for only (?_facet_array=participants).
            "facets": ["language", "year", "kind"],
            "description": "One row per transcript; `text` is the canonical text (a snippet "
                           "here). Read one at /transcript/<id>. Facet by speaker: "
                           "?_facet_array=participants; by source: ?_facet_array=sources.",
        },
        # No default facets on the provenance tables: several rows per document (a capture per
        # re-check), so a facet on every page load is a GROUP BY over millions of rows (0.76 s
        # at 100k documents, bench/bench_serve.py); ?_facet=source still counts on request,
        # capped by facet_time_limit_ms.
        "captures": {"description": "Every fetch of every page, with its WARC location. "
                                    "Count by ?_facet=source, ?_facet=match, ?_facet=is_transcript."},
        "versions": {"description": "Every distinct text of every transcript (a snippet here). "
                                    "Count by ?_facet=source, ?_facet=is_official."},
    }
    try:
        names = table_names(db_path)
    except sqlite3.Error:
        names = []
    for table in names:
        if table not in VISIBLE_TABLES:
            tables[table] = {"hidden": True}
    return {
        "title": "stenogram corpus",
        "description": "Transcripts of Sergey Lavrov's statements and answers to media questions "
                       "(mid.ru and mirrors), deduplicated: one document per transcript, every "
                       "capture as provenance back to its WARC record, every text as a version.",
        "databases": {name: {"tables": tables}},
        "plugins": {"stenogram": {"replay_base": replay_base}},
    }


def write_metadata(db_path: str | Path, metadata_path: str | Path, replay_base: str | None = None) -> Path:
    path = Path(metadata_path)
    path.write_text(json.dumps(metadata(db_path, replay_base), indent=2), encoding="utf-8")
    return path


#: Datasette settings (0.65, ``datasette.app.SETTINGS``) that keep its table pages fast and
#: readable at 100k+ documents (issue 26, bench/bench_serve.py; docs/performance.md):
DATASETTE_SETTINGS = {
    # Suggested facets run a trial GROUP BY per column on every table page load: 1.9 s of the
    # documents page's 2.7 s at 100k. Facets asked for (metadata, ``?_facet=``) still work.
    "suggest_facets": "off",
    # A facet that takes longer is dropped from the page with a note, not waited for.
    "facet_time_limit_ms": "200",
    # Values shown per facet: the few largest say what is there; ``?_facet_size=`` shows more.
    "default_facet_size": "10",
    # Characters of a cell shown in an HTML table: a snippet of a text, not the text (the full
    # text is on the reading page and in the JSON). 2048 by default: 135,000 px for 47 rows.
    "truncate_cells_html": "120",
}


def datasette_command(db_path: str | Path, port: int, metadata_path: str | Path,
                      host: str = "127.0.0.1", allow_sql: bool = True) -> list[str]:
    """``allow_sql=False``: Datasette's ``default_allow_sql`` setting off (no ``?sql=``, no custom SQL
    on table pages); the reader's pages, tables, facets and JSON stay."""
    return [sys.executable, "-m", "datasette", "serve", str(db_path), "--host", host,
            "--port", str(port), "--metadata", str(metadata_path),
            "--plugins-dir", str(PLUGINS_DIR), "--template-dir", str(TEMPLATES_DIR),
            "--static", f"stenogram-static:{STATIC_DIR}",
            "--setting", "default_page_size", "50",
            *(arg for name, value in DATASETTE_SETTINGS.items() for arg in ("--setting", name, value)),
            "--setting", "default_allow_sql", "on" if allow_sql else "off"]


# ---------------------------------------------------------------- who can reach it
class ExposureRefused(ValueError):
    """An address beyond loopback without ``public``: nothing was started."""


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (127.0.0.0/8, ::1).

    ``0.0.0.0`` and ``::`` are every interface, so not loopback; a name is resolved
    (``localhost`` is loopback where /etc/hosts says so), and one that does not resolve is
    treated as beyond loopback."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                   for a in addresses)


def exposure(host: str, public: bool = False, sql: bool = True) -> tuple[bool, str | None]:
    """``(allow_sql, warning)`` for serving on ``host``; raises ``ExposureRefused`` for an
    address beyond loopback without ``public``.

    Why: Datasette answers arbitrary read-only SQL and pywb replays every WARC to whoever can
    reach the port; on loopback that is the reader's own machine, beyond it anyone on the
    network. So leaving loopback takes an explicit ``--public``, says so in a warning line,
    and arbitrary SQL is then always off (``sql=False`` turns it off on loopback too)."""
    if is_loopback(host):
        return sql, None
    if not public:
        raise ExposureRefused(
            f"{host} is not a loopback address: the corpus and the WARCs would be served to the "
            "network; pass --public to do that (arbitrary SQL is then off)")
    return False, (f"WARNING: serving on {host}, beyond loopback: anyone who can reach this "
                   "machine can read the corpus and replay the WARCs; arbitrary SQL is off")


def start(db_path: str | Path, port: int, metadata_path: str | Path) -> subprocess.Popen:
    """Datasette alone (no replay) in a child process, its output piped; the caller stops it."""
    write_metadata(db_path, metadata_path)
    return subprocess.Popen(datasette_command(db_path, port, metadata_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


# ---------------------------------------------------------------- pywb
def find_wayback(explicit: str | Path | None = None) -> Path | None:
    """pywb's ``wayback``: --pywb, else .venv-tools beside this checkout, else on PATH."""
    if explicit:
        path = Path(explicit)
        if path.is_dir():
            path = path / "wayback" if (path / "wayback").exists() else path / "bin" / "wayback"
        return path if path.exists() else None
    root = Path(__file__).resolve().parent.parent
    for candidate in (root / ".venv-tools" / "bin" / "wayback", Path(sys.prefix).parent / ".venv-tools" / "bin" / "wayback"):
        if candidate.exists():
            return candidate
    found = shutil.which("wayback")
    return Path(found) if found else None


def warc_files(warc_dir: Path) -> list[Path]:
    return sorted(p for pattern in ("*.warc.gz", "*.warc") for p in Path(warc_dir).glob(pattern))


def sibling_index(warc: Path) -> Path:
    name = warc.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return warc.with_name(name + ".cdxj")


def index_folder(home: Path, warc_dir: Path, echo=print) -> Path:
    """Where pywb finds the indexes: the WARC folder itself when every WARC has the .cdxj the
    writer keeps beside it (so files a running crawl adds are seen), else a folder in ``home``
    with links to those and indexes built here for the others (a folder of WARCs from
    elsewhere; the WARC folder is never written to)."""
    warcs = warc_files(warc_dir)
    missing = [w for w in warcs if not sibling_index(w).exists()]
    if not missing:
        return warc_dir
    from stenogram.archive.cdxj import index_warc

    folder = home / "indexes"
    folder.mkdir(parents=True, exist_ok=True)
    for warc in warcs:
        target = folder / sibling_index(warc).name
        if warc in missing:
            try:
                index_warc(warc, target)
            except Exception as exc:  # a damaged WARC: its pages will not replay, the rest will
                echo(f"cannot index {warc.name} for replay: {exc}")
        else:
            target.symlink_to(sibling_index(warc))
    echo(f"indexed {len(missing)} WARC file(s) without a .cdxj for replay")
    return folder


def write_pywb_config(home: Path, warc_dir: Path, echo=print) -> Path:
    """A pywb home whose one collection reads the crawl's WARCs in place (no copy) with the
    indexes ``index_folder`` chose."""
    home.mkdir(parents=True, exist_ok=True)
    warc_dir = Path(warc_dir).resolve()
    indexes = index_folder(home, warc_dir, echo)
    config = home / "config.yaml"
    config.write_text(
        "# written by stenogram serve\n"
        f"collections:\n  {COLLECTION}:\n"
        f"    index_paths: {json.dumps(str(indexes))}\n"
        f"    archive_paths: {json.dumps(str(warc_dir) + '/')}\n"
        "framed_replay: false\n"
        "enable_memento: true\n", encoding="utf-8")
    return config


def wayback_command(wayback: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    return [str(wayback), "-b", host, "-p", str(port)]


# ---------------------------------------------------------------- running both
def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(procs: list[subprocess.Popen], grace: float = 10) -> None:
    """SIGTERM each child's process group, then SIGKILL what is left after ``grace`` seconds."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP so cleanup runs as for Ctrl-C."""


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          warc_dir: str | Path | None = None, pywb: str | Path | None = None, replay: bool = True,
          workdir: str | Path | None = None, echo=print, public: bool = False,
          sql: bool = True) -> int:
    """Run datasette (and pywb over the WARCs) until a signal; return an exit code.

    ``public``/``sql``: see ``exposure`` (raises ``ExposureRefused`` before anything starts)."""
    import tempfile

    allow_sql, warning = exposure(host, public, sql)
    db_path = Path(db_path)
    bad = unreadable_tables(db_path)
    if bad:
        raise CorpusUnservable(
            f"{db_path}: table {bad[0][0]!r} cannot be read ({bad[0][1]})"
            + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
            + ": not a corpus this SQLite can serve")
    if warning:
        echo(warning)
    procs: list[subprocess.Popen] = []

    def on_signal(signum, _frame):
        raise Stop(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    tmp = tempfile.TemporaryDirectory(prefix="stenogram-serve-", dir=workdir)
    try:
        home = Path(tmp.name)
        replay_base = None
        warc_dir = Path(warc_dir) if warc_dir else db_path.resolve().parent / "warc"
        if replay:
            wayback = find_wayback(pywb)
            if wayback is None:
                echo("pywb's wayback not found (tools/setup-tools.sh builds .venv-tools; or --pywb PATH): "
                     "archived copies will not open")
            elif not warc_dir.is_dir():
                echo(f"no WARC folder at {warc_dir} (--warc DIR): archived copies will not open")
            else:
                write_pywb_config(home / "pywb", warc_dir, echo)
                pywb_port = free_port(host)
                log = open(home / "pywb" / "wayback.log", "wb")
                proc = subprocess.Popen(wayback_command(wayback, pywb_port, host), cwd=home / "pywb",
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                procs.append(proc)
                replay_base = f"http://{host}:{pywb_port}/{COLLECTION}"
        meta = write_metadata(db_path, home / "metadata.json", replay_base)
        app = subprocess.Popen(datasette_command(db_path, port, meta, host, allow_sql),
                               start_new_session=True)
        procs.append(app)
        if replay_base and not wait_http(replay_base.rsplit("/", 1)[0] + "/", procs[0], 60):
            echo(f"pywb did not start: {(home / 'pywb' / 'wayback.log').read_text(errors='replace')[-1500:]}")
        echo(f"serving {db_path} at http://{host}:{port}/ (Ctrl-C to stop)"
             + (f"; archived pages replayed by pywb at {replay_base}/" if replay_base else ""))
        return app.wait()
    except (KeyboardInterrupt, Stop):
        return 0
    finally:
        stop(procs)
        tmp.cleanup()
        for s, handler in old.items():
            signal.signal(s, handler)
