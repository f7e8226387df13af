#!/usr/bin/env bash
# `make demo`: roost's main job on the embedded default — validate a project, run it behind
# roost's own router, split traffic between two revisions, kill -9 the control plane under load
# without losing a request, and query the logs with SQL. Later capabilities extend this script.
set -euo pipefail
cd "$(dirname "$0")/.."
export COLUMNS=${COLUMNS:-120}
roost="$PWD/.venv/bin/roost"
py="$PWD/.venv/bin/python"
work=$(mktemp -d)
project="$work/hello"
cleanup() {
  "$roost" down --project "$project" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "roost --version"
"$roost" --version

step "validate the annotated example project (examples/shop/roost.yaml)"
"$roost" validate examples/shop/roost.yaml

step "a typo and a bad duration are reported with file:line:column and a hint (exit 2)"
sed -e '0,/^\( *\)replicas:/s//\1replcas:/' -e '0,/period: [0-9a-z]*/s//period: 5x/' \
  examples/shop/roost.yaml >"$work/broken.yaml"
set +e
"$roost" validate "$work/broken.yaml"
echo "exit code: $?"
set -e

step "roost up: agent (data plane) + control plane in the background, hello-r1 at 100%"
cp -r examples/hello "$project"
"$roost" up --project "$project"
url=$("$py" -c 'import json,sys,urllib.request as u; a=json.load(open(sys.argv[1]))["url"]; print(json.load(u.urlopen(a+"/api/v1/ps"))["services"]["hello"]["url"])' "$project/.roost/api.json")
echo "the router for service hello listens on $url"

step "start hello-r2 with another greeting (weight 0), then split 80/20"
"$roost" start hello --set-env HELLO_GREETING=bonjour --project "$project"
"$py" - "$project" <<'PY'
import json, sys, time, urllib.request as u
api = json.load(open(sys.argv[1] + "/.roost/api.json"))["url"]
for _ in range(150):
    revs = json.load(u.urlopen(api + "/api/v1/ps"))["services"]["hello"]["revisions"]
    if all(r["ready_replicas"] == r["desired_replicas"] for r in revs):
        break
    time.sleep(0.2)
PY
"$roost" weights hello hello-r1=80 hello-r2=20 --project "$project"

step "200 real requests through the router"
"$py" - "$url" <<'PY'
import collections, json, sys, urllib.request as u
seen = collections.Counter(json.load(u.urlopen(sys.argv[1] + "/shop"))["revision"] for _ in range(200))
print(dict(sorted(seen.items())))
PY
"$roost" ps --project "$project"

step "kill -9 the control plane while a client sends requests: the data plane keeps serving"
"$py" - "$url" "$project/.roost/api.json" <<'PY'
import json, os, signal, sys, threading, time, urllib.request as u
url, api_file = sys.argv[1], sys.argv[2]
ok = failed = 0
stop = threading.Event()
def load():
    global ok, failed
    while not stop.is_set():
        try:
            u.urlopen(url + "/load", timeout=5).read(); ok += 1
        except Exception:
            failed += 1
t = threading.Thread(target=load); t.start()
time.sleep(1)
pid = json.load(open(api_file))["pid"]
os.kill(pid, signal.SIGKILL)
print(f"killed the control plane (pid {pid}) with SIGKILL")
time.sleep(2)
stop.set(); t.join()
print(f"requests during the test: {ok} answered, {failed} failed")
os.unlink(api_file)
PY
"$roost" ps --project "$project"

step "roost up again: the new control plane adopts what runs (it waits for the old lease to expire)"
"$roost" up --project "$project"

step "SQL over every replica's log lines (DuckDB)"
"$roost" logs query "SELECT revision, count(*) AS requests FROM logs WHERE line LIKE 'INFO GET%' GROUP BY 1 ORDER BY 1" --project "$project"

step "the audit log"
"$roost" events --project "$project" --limit 8

step "roost down"
"$roost" down --project "$project"
echo
echo "demo finished: the project ran in a temporary folder, now removed."
