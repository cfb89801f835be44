#!/usr/bin/env bash
# Build .venv-tools: pywb (wb-manager, wayback), py-wacz (wacz validate), warcio, cdxj-indexer,
# pinned in tools/requirements-tools.txt. Idempotent: does nothing when the venv already holds
# exactly these pins (a stamp file records the hash of the requirements it was built from).
#   usage: tools/setup-tools.sh [VENV_DIR]      (default: .venv-tools beside tools/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="${1:-$root/.venv-tools}"
req="$here/requirements-tools.txt"
python="${PYTHON:-python3}"
stamp="$venv/.tools-stamp"
want="$(sha256sum "$req" | cut -d' ' -f1)"

# One builder at a time: `make test` runs test files in two processes, and two of them may need
# the tools at once (two pip installs into one venv broke each other: a pywb test was skipped).
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/wayback" && -x "$venv/bin/wacz" ]]; then
    exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$req"
for tool in wayback wb-manager wacz warcio cdxj-indexer; do
    [[ -x "$venv/bin/$tool" ]] || { echo "setup-tools: $tool missing after install" >&2; exit 1; }
done
echo "$want" > "$stamp"
echo "tools venv ready: $venv"
