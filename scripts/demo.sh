#!/usr/bin/env bash
# The main job on the bundled default: the shipped `ci` suite against the reference gateway in
# its naive form and its fixed form, then a verdict table and where the reports are.
set -u
cd "$(dirname "$0")/.."
out="runs/demo-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "tailgate demo: the ci suite against refgw naive and refgw fixed (about a minute)"
echo
rc_naive=0 rc_fixed=0
./tailgate run --gateway examples/gateways/refgw-naive.json --out "$out/naive" scenarios/ci.json || rc_naive=$?
echo
./tailgate run --gateway examples/gateways/refgw-fixed.json --out "$out/fixed" scenarios/ci.json || rc_fixed=$?
for rc in "$rc_naive" "$rc_fixed"; do
    if [ "$rc" -ge 2 ]; then
        echo "demo: the run could not complete (exit $rc); see $out" >&2
        exit "$rc"
    fi
done
echo
node_or_python=""
command -v python3 >/dev/null 2>&1 && node_or_python=python3
if [ -n "$node_or_python" ]; then
    python3 - "$out/naive/results.json" "$out/fixed/results.json" <<'PY'
import json, sys
naive, fixed = (json.load(open(p)) for p in sys.argv[1:3])
def p95(s): 
    v = s["metrics"]["tail_tokens"]["p95"]
    return "-" if v is None else f"{v:.0f}"
print(f"{'scenario':<22} {'refgw naive':<20} {'refgw fixed':<20}")
print(f"{'':<22} {'verdict  tail p95':<20} {'verdict  tail p95':<20}")
for a, b in zip(naive["scenarios"], fixed["scenarios"]):
    print(f"{a['name']:<22} {a['verdict'].upper():<8} {p95(a):>9}   {b['verdict'].upper():<8} {p95(b):>9}")
print()
print(f"naive: {naive['verdict'].upper()}   fixed: {fixed['verdict'].upper()}")
PY
fi
echo
echo "billing-change replay: the vendor starts billing cancelled streams mid-run; two ways to meter"
./tailgate run --gateway examples/gateways/refgw-fixed.json --out "$out/meter-usage" \
    scenarios/billing-change-replay.json >/dev/null 2>&1
./tailgate run --gateway examples/gateways/refgw-fixed-count.json --out "$out/meter-count" \
    scenarios/billing-change-replay.json >/dev/null 2>&1
if [ -n "$node_or_python" ]; then
    python3 - "$out/meter-usage/results.json" "$out/meter-count/results.json" <<'PY'
import json, sys
def pct(v): return "-" if v is None else f"{v:+.1f}%"
print(f"{'gateway metering':<38} {'before the switch':>18} {'after the switch':>17}")
for path, label in zip(sys.argv[1:3], ["trusts the usage chunk", "counts the tokens it forwarded"]):
    b = json.load(open(path))["scenarios"][0].get("billing", {})
    print(f"{label:<38} {pct(b.get('variance_before_switch_pct')):>18} {pct(b.get('variance_after_switch_pct')):>17}")
print("(invoice minus metering, as a share of the invoice: 0 means the books close)")
PY
fi
echo
echo "reports: $out/naive/index.html and $out/fixed/index.html (charts, results.json, junit.xml, summary.md)"
echo "         $out/meter-usage/index.html and $out/meter-count/index.html (billing over time)"
# the demo shows the gate doing its job: naive must fail, fixed must pass
[ "$rc_naive" -eq 1 ] && [ "$rc_fixed" -eq 0 ]
