#!/usr/bin/env bash
# The newest-Scrapy lane (non-blocking in .ci/run): stenogram's compat tests and the download
# handler's crawl tests against the newest Scrapy on PyPI, everything else as locked.
#
# Why: stenogram borrows private Scrapy/Twisted names (stenogram/compat.py). A Scrapy release
# that drops or changes one is said here, naming it, before the lock is bumped.
#
# How: a throwaway venv that sees the project venv's packages (installed from requirements.lock
# by `make install`) behind its own, into which pip installs the newest Scrapy (and only what
# that release needs beyond the lock). The venv is removed on exit; the lane is bounded by
# LANE_TIMEOUT seconds (default 240). SCRAPY_SPEC (default: scrapy, the newest) tries another
# release, e.g. SCRAPY_SPEC='scrapy==2.17.0'.
set -euo pipefail
cd "$(dirname "$0")/.."
project_python=.venv/bin/python
[[ -x $project_python ]] || { echo "newest-scrapy: run make install first" >&2; exit 2; }
limit=${LANE_TIMEOUT:-240}
lane=$(mktemp -d "${TMPDIR:-/tmp}/stenogram-newest-scrapy.XXXXXX")
trap 'rm -rf "$lane"' EXIT

"$project_python" -m venv "$lane"
project_site=$("$project_python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
lane_site=$("$lane/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
# addsitedir (not a bare path) so the project's own .pth files, its editable install too, apply
echo "import site; site.addsitedir('$project_site')" > "$lane_site/stenogram-lock.pth"

timeout "$limit" "$lane/bin/python" -m pip install -q --disable-pip-version-check \
    --upgrade --upgrade-strategy only-if-needed "${SCRAPY_SPEC:-scrapy}"
"$lane/bin/python" -c 'import scrapy, twisted; print(f"newest-scrapy lane: Scrapy {scrapy.__version__}, Twisted {twisted.__version__}")'
timeout "$limit" "$lane/bin/python" -m pytest -q -p no:cacheprovider -n 0 \
    tests/test_compat.py tests/test_download_handler.py
