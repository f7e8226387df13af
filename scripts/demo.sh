#!/usr/bin/env bash
# `make demo`: roost's main job on the embedded default, in two parts.
# Part 1 — validate a project, run it behind roost's own router, split traffic between two
# revisions, kill -9 the control plane under load without losing a request, query the logs.
# Part 2 — progressive rollouts: a canary that passes and is promoted, one with an injected
# regression that is rolled back automatically (traffic first), a rollback refused because of
# a schema migration; the timeline, and an HTML report in demo-output/.
# Part 3 — supply chain: build a service whose artifact carries a vulnerable transitive
# dependency, scan it offline with dependency paths, see production refuse it, waive it.
set -euo pipefail
cd "$(dirname "$0")/.."
export COLUMNS=${COLUMNS:-120}
roost="$PWD/.venv/bin/roost"
py="$PWD/.venv/bin/python"
work=$(mktemp -d)
project="$work/hello"
canary="$work/canary"
vuln="$work/vulnerable"
out="${ROOST_DEMO_OUT:-$PWD/demo-output}"
load_pid=""
cleanup() {
  if [ -n "$load_pid" ]; then kill "$load_pid" 2>/dev/null || true; fi
  "$roost" down --project "$project" >/dev/null 2>&1 || true
  "$roost" down --project "$canary" >/dev/null 2>&1 || true
  "$roost" down --project "$vuln" >/dev/null 2>&1 || true
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
url=$("$py" scripts/demo_api.py "$project" /api/v1/ps services.hello.url)
echo "the router for service hello listens on $url"

step "roost doctor: the agent's heartbeat, the control-plane leader, recent events"
"$roost" doctor --project "$project"

step "start hello-r2 with another greeting (weight 0), then split 80/20"
"$roost" start hello --set-env HELLO_GREETING=bonjour --project "$project"
"$py" - "$project" <<'PY'
import sys, time
from pathlib import Path
sys.path.insert(0, "scripts")
from demo_api import get
for _ in range(150):
    revs = get(Path(sys.argv[1]), "/api/v1/ps")["services"]["hello"]["revisions"]
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

printf '\n\033[1m##### part 2: progressive rollouts with automatic, traffic-first, state-aware rollback\033[0m\n'
step "roost up: examples/canary, its first release web-r1 (runs on schema 1 and creates it)"
cp -r examples/canary "$canary"
"$roost" up --project "$canary" >/dev/null
curl=$("$py" scripts/demo_api.py "$canary" /api/v1/ps services.web.url)
grep -A14 '^    rollout:' "$canary/roost.yaml"

step "background traffic: ~150 requests/s through the router at $curl"
mkdir -p "$out"
rm -f "$out/load.jsonl"
"$py" scripts/demo_load.py "$curl" "$out/load.jsonl" &
load_pid=$!
sleep 3

step "deploy v2 (new config, migrates the schema to 2): canary steps with analysis, then promoted"
sed -i -e 's/requires: ">=1,<2"/requires: ">=1,<3"/' -e 's/migrates_to: 1/migrates_to: 2/' \
  -e 's/content: "v1"/content: "v2"/' "$canary/roost.yaml"
"$roost" deploy web --project "$canary" --as alice

step "deploy v3 with an injected regression (30% errors): detected, traffic back first, then scaled down"
sed -i -e 's/requires: ">=1,<3"/requires: ">=2,<3"/' -e 's/content: "v2"/content: "v3"/' "$canary/roost.yaml"
set +e
"$roost" deploy web --project "$canary" --as alice --set-env HELLO_FAIL_RATE=0.3
echo "exit code: $?"
set -e

step "roll back to v1? refused: v2 migrated the schema to 2 and v1 only runs on schema 1"
set +e
"$roost" rollback web --project "$canary" --as bob
echo "exit code: $?"
set -e

step "what a rollback from web-r2 to web-r1 would restore: code, config and secrets together"
"$roost" release diff web-r1 web-r2 --project "$canary"

step "the history, and the aborted rollout's timeline (fault began / detected / traffic reverted)"
"$roost" history web --project "$canary"
"$roost" rollout status web --project "$canary"

step "the HTML report: traffic split and error ratio per revision over time"
kill "$load_pid"
wait "$load_pid" || true
load_pid=""
"$py" scripts/demo_report.py --project "$canary" --service web --load "$out/load.jsonl" \
  --out "$out/report.html"

step "roost down"
"$roost" down --project "$canary"

printf '\n\033[1m##### part 3: SBOM, offline vulnerability scan with dependency paths, release gate\033[0m\n'
step "examples/vulnerable: boto3 and requests pull in urllib3 1.26.4; production has scan.fail_on: high"
cp -r examples/vulnerable "$vuln"
git -C "$vuln" init -q -b main
printf '.roost/\n' >"$vuln/.gitignore"
git -C "$vuln" add -A
git -C "$vuln" -c user.name=demo -c user.email=demo@example.com commit -q -m v1
grep -A3 'dependencies' "$vuln/pyproject.toml"
"$roost" up --project "$vuln" >/dev/null   # web-r1 from the working tree, in dev

step "import OSV advisories (offline; roost vulndb sync downloads them when a network is there)"
"$roost" vulndb import tests/scan/data/osv --project "$vuln"

step "roost build web: packs the artifact, cuts a release (web-r2), scans it"
"$roost" build web --project "$vuln" | tee "$work/build.txt"
release=$(sed -n 's/.*release \([^ ]*\) (oci:.*/\1/p' "$work/build.txt" | head -1)

step "roost scan: each finding with every dependency path and the smallest upgrade that removes it"
"$roost" scan web --project "$vuln"

step "deploying it to production is refused, naming the finding, its path and the fix (exit 1)"
set +e
"$roost" deploy web --release "$release" --env production --project "$vuln" --as alice --detach
echo "exit code: $?"
set -e

step "a waiver with a reason and an expiry date: the deploy goes ahead"
cat >>"$vuln/roost.yaml" <<'YAML'
scan:
  ignore:
    - id: CVE-2021-33503
      package: urllib3
      reason: urllib3 only talks to our own endpoints
      expires: 2099-12-31
YAML
"$roost" deploy web --release "$release" --env production --project "$vuln" --as alice --detach

step "roost down"
"$roost" down --project "$vuln"
echo
echo "demo finished: the projects ran in a temporary folder, now removed; the report is in $out/."
