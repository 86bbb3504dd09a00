#!/usr/bin/env bash
# Times the whole `ci` suite against refgw fixed and sets it beside the sum of the scenarios'
# own traffic time (first send to last client record): the difference is the harness's
# overhead (starting processes, settling, reading ledgers, writing reports). Goal: under 60 s.
set -u
cd "$(dirname "$0")/.."
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
"$TAILGATE_BIN" run --gateway examples/gateways/refgw-fixed.json --out "$out/run" scenarios/ci.json \
    >/dev/null 2>"$out/log"
rc=$?
end=$(date +%s.%N)
if [ "$rc" -ge 2 ]; then
    echo "bench ci: the run failed (exit $rc):"; cat "$out/log"; exit 1
fi
python3 - "$out/run/results.json" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
traffic = sum(s["traffic_s"] for s in r["scenarios"])
settle = sum(s["duration_s"] - s["traffic_s"] for s in r["scenarios"])
print("| ci suite vs refgw fixed | seconds |")
print("|---|---:|")
print(f"| wall time of `tailgate run` | {wall:.1f} |")
print(f"| sum of the scenarios' traffic time | {traffic:.1f} |")
print(f"| settling, ledgers and reports | {settle:.1f} |")
print(f"| start-up and shutdown | {wall - traffic - settle:.1f} |")
print(f"| overhead ratio (wall / traffic) | {wall / traffic:.2f} |")
print()
print(f"goal: ci suite under 60 s: {'met' if wall < 60 else 'MISSED'} ({wall:.1f} s); verdict {r['verdict']}")
PY
