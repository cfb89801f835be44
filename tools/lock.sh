#!/usr/bin/env bash
# Re-hash a lock after a pin changed: pip-compile --generate-hashes over the lock's own pins.
#   usage: tools/lock.sh [LOCK]   (default: requirements.lock; also tools/requirements-tools.txt)
# The pins are the input (edit a version in the lock, then run this); pip-compile (pip-tools,
# pinned below, in a throwaway venv) resolves them, fails if they do not fit together, and writes
# the sha256 of every file the index holds for each version. The lock's leading comment is kept.
set -euo pipefail
lock="$(realpath "${1:-requirements.lock}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check pip-tools==7.7.0
# Input: every name==version pin of the lock (its hash and comment lines dropped).
grep -E '^[A-Za-z0-9][A-Za-z0-9._-]*==' "$lock" | sed 's/ .*//' > "$work/requirements.in"
(cd "$work" && "$work/venv/bin/pip-compile" -q --generate-hashes --strip-extras --no-header \
    --no-emit-index-url --no-emit-find-links --annotation-style line -o out.txt requirements.in)
{ awk '/^#/ {print; next} {exit}' "$lock"; \
  sed 's/# via -r requirements.in, /# via /; s/# via -r requirements.in$/# direct/' "$work/out.txt"; } > "$work/new"
mv "$work/new" "$lock"
echo "lock.sh: $(grep -cE '^[A-Za-z0-9]' "$lock") pins re-hashed in $lock"
