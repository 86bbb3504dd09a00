#!/usr/bin/env bash
# The shipped suite catches the cancellation bugs real gateways shipped, and passes the gateway
# that has none of them: `tailgate run` with refgw's shipped descriptions against the old
# tab-close scenario and the new ones, verdict by verdict from results.json.
#   refgw-fixed                  passes all five (its 5 s deadline passes gateway-deadline)
#   refgw-watch-after-first-byte passes tab-close, fails the four that leave before an answer
#                                (a long time to first token, a model thinking) or hold a
#                                silent upstream
#   refgw-ignore-nonstream-cancel passes tab-close, abandon-before-first-token and
#                                thinking-then-abandon (streams), fails non-streaming-timeout
#                                and gateway-deadline
# Prints PASS/FAIL lines. TAILGATE_BIN and REFGW_BIN may point at the binaries.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
tg_clear_env
bin=${TAILGATE_BIN:-$PWD/tailgate}
export TAILGATE_REFGW=${REFGW_BIN:-$PWD/build/refgw}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scenarios=(tab-close.json non-streaming-timeout.json abandon-before-first-token.json
    gateway-deadline.json thinking-then-abandon.json)

# check GATEWAY VERDICT... : one verdict per scenario above, in order
check() {
    local gw=$1
    shift
    local want="$*" name="suite_should_judge_${gw//-/_}"
    timeout -k 5 240 "$bin" run --gateway "examples/gateways/$gw.json" --out "$tmp/$gw" \
        "${scenarios[@]/#/scenarios/}" >"$tmp/$gw.out" 2>&1 </dev/null
    local got
    got=$(/usr/bin/python3 - "$tmp/$gw/results.json" "${scenarios[@]}" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
by = {s["name"]: s["verdict"] for s in r["scenarios"]}
print(" ".join(by.get(n[:-5], "missing") for n in sys.argv[2:]))
PY
)
    if [ "$got" = "$want" ]; then
        pass "$name"
    else
        fail "$name" "want '$want', got '$got'; $(tail -n 3 "$tmp/$gw.out" | tr '\n' ' ')"
    fi
}

check refgw-fixed pass pass pass pass pass
check refgw-watch-after-first-byte pass fail fail fail fail
check refgw-ignore-nonstream-cancel pass fail pass fail pass
exit $status
