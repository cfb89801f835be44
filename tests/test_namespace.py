"""The installed project is one import namespace: stenogram.crawler, .archive, .extract, .corpus.

The top-level folders keep the design's layout, but `pip install` maps them under `stenogram`
(pyproject's package-dir), so nothing generic named `crawler` or `corpus` reaches site-packages.
A dotted path still spelled the old way (a settings key, a lazy import) would import a second
copy of a module from the checkout and work only there; this walks every module from a folder
outside the checkout and checks that none of the old top-level names got imported.
"""
import subprocess
import sys

WALK = """
import pkgutil, sys, stenogram
names = [m.name for m in pkgutil.walk_packages(stenogram.__path__, "stenogram.")]
import stenogram.crawler, stenogram.archive, stenogram.extract, stenogram.corpus
for pkg in (stenogram.crawler, stenogram.archive, stenogram.extract, stenogram.corpus):
    names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    if ".sample_site.content" not in name:
        __import__(name)
from scrapy.utils.project import get_project_settings
from stenogram.crawler import settings
for key in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES"):
    for path in getattr(settings, key, {}):
        assert path.split(".")[0] in {"stenogram", "scrapy"}, path
        __import__(path.rsplit(".", 1)[0])
old = sorted(n for n in sys.modules if n.split(".")[0] in {"crawler", "archive", "extract", "corpus"})
print(len(names), old)
"""


def test_every_module_imports_under_stenogram_only(tmp_path):
    done = subprocess.run([sys.executable, "-c", WALK], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, old = done.stdout.split(" ", 1)
    assert int(count) > 40  # every module of the five packages was walked
    assert old.strip() == "[]"
