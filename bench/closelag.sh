#!/usr/bin/env bash
# The harness's own close lag: `tailgate run --direct` (users straight to the mock) with both
# legs through the chaos proxies (--via-proxies) beside the same run with no proxy in the path,
# in the same run of this script. The difference is what tailgate's proxies add to every
# close-lag figure; the ratio is proxied / direct.
set -u
cd "$(dirname "$0")/.."
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/closes.json" <<'JSON'
{"name": "closes", "profile": "vendor-b-post",
 "model": {"ttft_ms": 0, "tps": 50, "jitter": 0, "length": 200, "stop_lag_tokens": 0},
 "traffic": {"requests": 200, "concurrency": 8},
 "users": [{"action": "tab_close", "weight": 1, "after_tokens": [3, 12]},
           {"action": "reset", "weight": 1, "after_tokens": [3, 12]}],
 "settle_ms": 2000,
 "gates": {"close_lag_ms": ["p(99)<250"]}}
JSON
for mode in direct proxied; do
    extra=()
    [ "$mode" = proxied ] && extra=(--via-proxies)
    if ! "$TAILGATE_BIN" run --direct "${extra[@]}" --out "$out/$mode" "$out/closes.json" \
        >/dev/null 2>"$out/$mode.log"; then
        echo "bench closelag: the $mode run failed:"; cat "$out/$mode.log"; exit 1
    fi
done
python3 - "$out/direct/results.json" "$out/proxied/results.json" <<'PY'
import json, sys
def lag(path):
    s = json.load(open(path))["scenarios"][0]
    return s["metrics"]["close_lag_ms"], s["metrics"]["tail_tokens"]
(d, dt), (p, pt) = lag(sys.argv[1]), lag(sys.argv[2])
print("| harness close lag, 200 closes (FIN and RST) | p50 ms | p99 ms | max ms | tail max |")
print("|---|---:|---:|---:|---:|")
print(f"| no proxy in the path | {d['p50']:.3f} | {d['p99']:.3f} | {d['max']:.3f} | {dt['max']:.0f} |")
print(f"| both legs through the proxies | {p['p50']:.3f} | {p['p99']:.3f} | {p['max']:.3f} | {pt['max']:.0f} |")
r50 = p['p50'] / d['p50'] if d['p50'] else float('nan')
r99 = p['p99'] / d['p99'] if d['p99'] else float('nan')
print(f"| **proxied / direct** | **x{r50:.2f}** | **x{r99:.2f}** | | |")
print()
print(f"the proxies add {p['p50'] - d['p50']:+.3f} ms at p50 and {p['p99'] - d['p99']:+.3f} ms at p99 to every close lag they carry")
PY
