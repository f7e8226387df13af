#!/usr/bin/env bash
# `make demo`: roost's main job on the embedded default (SQLite state, local API), end to end.
# Later capabilities (runtime, proxy, rollouts) extend this script; each step prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
roost=".venv/bin/roost"
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export COLUMNS=${COLUMNS:-110}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "roost --version"
$roost --version

step "validate the annotated example project (examples/shop/roost.yaml)"
$roost validate examples/shop/roost.yaml

step "a typo and a bad duration are reported with file:line:column and a hint (exit 2)"
cp examples/shop/roost.yaml "$work/roost.yaml"
sed -e '0,/^\( *\)replicas:/s//\1replcas:/' -e '0,/period: [0-9a-z]*/s//period: 5x/' \
  examples/shop/roost.yaml >"$work/broken.yaml"
set +e
$roost validate "$work/broken.yaml"
echo "exit code: $?"
set -e

step "start the API on a free port (state: SQLite in WAL mode under .roost/)"
$roost serve --project "$work" --port 0 >"$work/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [ -f "$work/.roost/api.json" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.out"; exit 1; }
  sleep 0.1
done
cat "$work/serve.out"
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/.roost/api.json")

step "GET $url/healthz"
python3 - "$url" <<'PY'
import json, sys, urllib.request
for path in ("/healthz", "/readyz"):
    with urllib.request.urlopen(sys.argv[1] + path, timeout=5) as r:
        print(path, r.status, json.load(r))
PY

step "roost status (finds the running API through .roost/api.json)"
$roost status --project "$work"

step "stop the API (SIGTERM): the audit log keeps the start and stop events"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
$roost events --project "$work" --limit 5 2>/dev/null || true
echo
echo "demo finished: state was kept in a temporary folder and removed."
