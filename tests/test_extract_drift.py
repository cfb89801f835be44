"""Template drift: which extraction path read each page is kept (corpus, WARC metadata), the
crawl report warns per source when too many pages needed the fallback or were refused, and
`stenogram crawl --fail-on-drift` exits 3 so cron can alert.
"""
from __future__ import annotations

import random
import re
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import mutate  # noqa: E402

from stenogram.archive.capture import Capture, WarcLocation  # noqa: E402
from stenogram.corpus import Corpus  # noqa: E402
from stenogram.extract import extract_page  # noqa: E402
from stenogram.report import DriftLine, drift_figures, drift_lines_text  # noqa: E402


def _capture(url: str, source: str, body: bytes, crawl_id: str = "crawl-1") -> Capture:
    loc = WarcLocation(warc_file="stenogram-20240412-00000.warc.gz", warc_offset=0, warc_length=1,
                       warc_record_id=f"<urn:uuid:{uuid.uuid4()}>", payload_digest="sha1:AAAA")
    return Capture(url=url, fetched_at="2024-04-12T15:38:00Z", http_status=200,
                   content_type="text/html", body=body, location=loc, source=source, crawl_id=crawl_id)


def _ingest(corpus: Corpus, url: str, source: str, body: bytes, content_type: str | None = None):
    t = extract_page(body, url=url, content_type=content_type).to_dict()
    corpus.ingest(_capture(url, source, body), t)
    return t


def test_corpus_records_the_path_and_the_report_flags_the_drifting_source(tmp_path):
    db = tmp_path / "corpus.db"
    bases = mutate.base_pages(size=12, seed=5)
    mids = [b for b in bases if b.truth.source == "mid"][:6]
    others = [b for b in bases if b.truth.source == "interaffairs"][:4]
    assert len(mids) >= 4 and len(others) >= 3
    with Corpus(db) as corpus:
        for b in mids:  # mid redesigned: no class survives
            m = mutate.mutate(b, ["remove_ids_and_classes"], random.Random(1))
            t = _ingest(corpus, m.url, "mid", m.body, m.content_type)
            assert t["is_transcript"] and t["extraction_path"] == "fallback"
        for b in others:
            t = _ingest(corpus, b.truth.url, "interaffairs", b.body, b.content_type)
            assert t["extraction_path"] == "profile"
        # a refused article page (a stub) and a refused listing (not an article URL)
        stub = b"<html><body><div>Loading...</div></body></html>"
        _ingest(corpus, "https://mid.ru/en/foreign_policy/news/1999999/", "mid", stub)
        _ingest(corpus, "https://mid.ru/en/foreign_policy/news/", "mid", stub)
    con = sqlite3.connect(db)
    paths = dict(con.execute("select extraction_path, count(*) from captures where is_transcript = 1 "
                             "group by 1").fetchall())
    assert paths["fallback"] == len(mids) and paths["profile"] == len(others)
    reasons = [r[0] for r in con.execute("select fallback_reason from captures where extraction_path = 'fallback'")]
    assert any("matched nothing" in (r or "") for r in reasons)
    con.close()

    lines = {line.source: line for line in drift_figures(db)}
    assert lines["mid"].fallback == len(mids) and lines["mid"].refused == 1  # the listing is no sign
    assert lines["interaffairs"].share == 0.0
    text = "\n".join(drift_lines_text(list(lines.values())))
    assert re.search(r"WARNING template drift: mid: 100% of \d+ transcript pages .*markup may have changed", text)
    assert "drift: interaffairs" not in text
    assert drift_figures(db, crawl_id="another-crawl") == []


def test_alarm_threshold_and_minimum():
    assert DriftLine("mid", transcripts=10, fallback=2).alarm(0.2) is None  # 20% is not above 20%
    assert DriftLine("mid", transcripts=10, fallback=3).alarm(0.2)
    assert DriftLine("mid", transcripts=2, fallback=2).alarm(0.2) is None  # too few pages to tell
    assert DriftLine("mid", transcripts=4, refused=1).share == 0.2


def test_an_old_corpus_gains_the_columns_and_keeps_its_rows(tmp_path):
    db = tmp_path / "old.db"
    with Corpus(db) as corpus:
        base = mutate.base_pages(size=0)[0]
        _ingest(corpus, base.truth.url, base.truth.source, base.body, base.content_type)
    con = sqlite3.connect(db)  # make it look like a corpus written before this change
    con.execute("alter table captures drop column extraction_path")
    con.execute("alter table captures drop column fallback_reason")
    con.commit()
    assert drift_figures(db) == []  # the report copes with an old corpus too
    con.close()
    with Corpus(db) as corpus:
        base = mutate.base_pages(size=0)[1]
        _ingest(corpus, base.truth.url, base.truth.source, base.body, base.content_type)
    con = sqlite3.connect(db)
    rows = con.execute("select extraction_path from captures order by id").fetchall()
    assert rows == [(None,), ("profile",)]


def test_warc_metadata_record_names_the_path():
    from stenogram.crawler.pipelines import CorpusPipeline

    written = {}

    class Archiver:
        def write_metadata(self, location, url, fields):
            written.update(fields)

    pipeline = CorpusPipeline.__new__(CorpusPipeline)
    pipeline.archiver = Archiver()
    base = mutate.base_pages(size=0)[0]
    m = mutate.mutate(base, ["rename_classes"], random.Random(2))
    record = extract_page(m.body, url=m.url, content_type=m.content_type).to_dict()
    pipeline._annotate_warc(object(), m.url, record, None)
    assert written["x-stenogram-extraction-path"].startswith("fallback (profile container")
    record = extract_page(base.body, url=base.truth.url, content_type=base.content_type).to_dict()
    pipeline._annotate_warc(object(), base.truth.url, record, None)
    assert written["x-stenogram-extraction-path"] == "profile"


class Redesign:
    """A sample-site fault hook: every article page of `source` served with new class names
    (listings keep theirs, so the spider still finds the articles)."""

    def __init__(self, source: str):
        self.source, self.site = source, None

    def intercept(self, request):
        if request.source != self.source or self.site.catalog.lookup(request.source, request.path) is None:
            return False
        response = self.site.renderers[request.source].handle(request)
        response.body = re.sub(rb'class="([^"]*)"', lambda m: b'class="v2-' + m.group(1).replace(b" ", b"_") + b'"',
                               response.body)
        return response


@pytest.mark.network
def test_crawl_of_a_redesigned_source_warns_and_fail_on_drift_exits_3(tmp_path):
    from stenogram.sample_site.server import SampleSite

    from conftest import stenogram_cmd
    from test_operations_support import crawl_args

    faults = Redesign("mid")
    with SampleSite(port=0, size=8, seed=3, faults=faults) as site:
        faults.site = site
        args = crawl_args(site, tmp_path / "data", "mid", "interaffairs")
        proc = stenogram_cmd(*args[:1], "--fail-on-drift", *args[1:], timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out[-3000:]
    assert re.search(r"WARNING template drift: mid: 100% of \d+ transcript pages", out), out[-3000:]
    assert "markup may have changed" in out and "drift: interaffairs" not in out
    con = sqlite3.connect(tmp_path / "data" / "corpus.db")
    paths = dict(con.execute("select source, group_concat(distinct extraction_path) from captures "
                             "where is_transcript = 1 group by source").fetchall())
    # on 127.0.0.1 no URL names the source: with its fingerprint gone the page reads as generic
    assert paths["mid"] in ("fallback", "generic") and paths["interaffairs"] == "profile"
    # `stenogram reprocess` of the same WARCs into a new corpus reports the same figures
    rebuilt = stenogram_cmd("reprocess", "--db", str(tmp_path / "rebuilt.db"), "-j", "1",
                            str(tmp_path / "data" / "warc"), timeout=240)
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:] + rebuilt.stderr[-2000:]
    assert re.search(r"WARNING template drift: mid: 100% of \d+ transcript pages", rebuilt.stdout), rebuilt.stdout
    assert re.search(r"Extraction: interaffairs: \d+ by profile, 0 by fallback", rebuilt.stdout)
