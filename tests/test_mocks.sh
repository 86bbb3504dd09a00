#!/usr/bin/env bash
# Several mocks, one per provider a gateway routes to ({{MOCK_URL_<name>}}), end to end through
# `tailgate run` with refgw falling back from {{MOCK_URL_primary}} to {{MOCK_URL_fallback}}:
# the shipped providers suite's two scenarios, each against refgw fixed (passes) and naive or
# fixed with --fallback-ignores-cancel (fails), with the exact ledger values each must show at
# each provider; a provider's own model settings reaching only its mock; and the usage errors
# (a scenario naming a mock the gateway does not use, --mock-url with named mocks).
# Prints PASS/FAIL/SKIP lines. TAILGATE_BIN and REFGW_BIN may point at the binaries.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
tg_clear_env
bin=${TAILGATE_BIN:-$PWD/tailgate}
export TAILGATE_REFGW=${REFGW_BIN:-$PWD/build/refgw}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x "$TAILGATE_REFGW" ]; then
    skip mocks_tests "no refgw at $TAILGATE_REFGW (make builds it)"
    exit 0
fi
if ! "$TAILGATE_REFGW" --help 2>&1 | grep -q -- --fallback-upstream; then
    skip mocks_tests "refgw at $TAILGATE_REFGW has no --fallback-upstream"
    exit 0
fi

# gw NAME MODE [EXTRA...]: a refgw description falling back from primary to fallback
gw() {
    local name=$1 mode=$2
    shift 2
    local extra=""
    for a in "$@"; do extra="$extra, \"$a\""; done
    cat >"$tmp/gw-$name.json" <<JSON
{"name": "refgw-$name",
 "command": ["\${TAILGATE_REFGW}", "--mode", "$mode", "--listen", "127.0.0.1:{{PORT}}",
             "--upstream", "{{MOCK_URL_primary}}", "--fallback-upstream", "{{MOCK_URL_fallback}}"$extra],
 "url": "http://127.0.0.1:{{PORT}}", "ready": {"path": "/healthz", "timeout_ms": 10000},
 "style": "openai-chat"}
JSON
}
gw fixed fixed
gw naive naive
gw ignores fixed --fallback-ignores-cancel

# run NAME GATEWAY SCENARIO: exit code into rc_NAME, the run folder is $tmp/NAME
run() {
    timeout -k 5 120 "$bin" run --gateway "$tmp/gw-$2.json" --seed 3 --out "$tmp/$1" "$3" \
        >"$tmp/$1.out" 2>&1 </dev/null
    eval "rc_$1=$?"
}

# per NAME: "exit|verdict|requests|attempts|nobody|tail|generated at each mock|records" where a
# per-request list is its distinct values, and "records" counts ledger lines per mock and status
summary() {
    local rcv="rc_$1"
    "$py" - "$tmp/$1" "${!rcv}" <<'PY' 2>&1
import json, sys
d, rc = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/results.json"))
s = r["scenarios"][0]
qs = s["requests_detail"]
vals = lambda k: ",".join(str(int(v)) for v in sorted({q[k] for q in qs if q[k] is not None}))
recs = {}
for l in open(f"{d}/ledger.jsonl"):
    if l.strip():
        j = json.loads(l)
        key = f'{j.get("mock", "default")}:{j["status"]}'
        recs[key] = recs.get(key, 0) + 1
gen = {}
for l in open(f"{d}/ledger.jsonl"):
    if l.strip():
        j = json.loads(l)
        gen.setdefault(j.get("mock", "default"), set()).add(j["generated_tokens"])
print(f'{rc}|{s["verdict"]}|{s["requests"]}|att {vals("upstream_attempts")}|'
      f'nobody {vals("retries_for_nobody")}|'
      f'recs {" ".join(f"{k}={v}" for k, v in sorted(recs.items()))}')
print("tail", vals("tail_tokens"))
print("gen", " ".join(f"{k}={','.join(str(int(x)) for x in sorted(v))}" for k, v in sorted(gen.items())))
print("billed", vals("billed_output_tokens"))
PY
}

# --- users leave while the gateway waits out the first provider's retry-after (1 s)
run leave_fixed fixed scenarios/fallback-after-leave.json
run leave_naive naive scenarios/fallback-after-leave.json
run leave_ignores ignores scenarios/fallback-after-leave.json
got=$(summary leave_fixed)
want="0|pass|8|att 1|nobody 0|recs primary:429=8
tail 0
gen primary=0
billed 0"
[ "$got" = "$want" ] && pass fixed_gateway_should_not_fall_back_for_a_user_who_left ||
    fail fixed_gateway_should_not_fall_back_for_a_user_who_left "$got; $(tail -n 3 "$tmp/leave_fixed.out")"
# the fallback starts after the wait, for nobody, and is read to its natural end: every one of
# its 40 tokens is generated after the user left, and billed
want="1|fail|8|att 2|nobody 1|recs fallback:200=8 primary:429=8
tail 40
gen fallback=40 primary=0
billed 40"
got=$(summary leave_naive)
[ "$got" = "$want" ] && pass naive_gateway_should_pay_a_fallback_for_nobody ||
    fail naive_gateway_should_pay_a_fallback_for_nobody "$got; $(tail -n 3 "$tmp/leave_naive.out")"
got=$(summary leave_ignores)
[ "$got" = "$want" ] && pass fallback_ignoring_cancel_should_pay_for_nobody_too ||
    fail fallback_ignoring_cancel_should_pay_for_nobody_too "$got; $(tail -n 3 "$tmp/leave_ignores.out")"

# --- the tail of a fallback's answer is counted at the fallback
run close_fixed fixed scenarios/fallback-tab-close.json
run close_naive naive scenarios/fallback-tab-close.json
got=$(summary close_fixed | head -1)
want="0|pass|16|att 2|nobody 0|recs fallback:200=16 primary:429=16"
[ "$got" = "$want" ] && pass fixed_gateway_should_pass_a_tab_close_during_the_fallback ||
    fail fixed_gateway_should_pass_a_tab_close_during_the_fallback "$got; $(tail -n 3 "$tmp/close_fixed.out")"
# naive: the fallback reads all 200 tokens whoever left, so each request generated and was
# billed 200 there and nothing at the first provider; its tail is most of them
got=$(summary close_naive | sed -n '1p;3,4p')
want="1|fail|16|att 2|nobody 0|recs fallback:200=16 primary:429=16
gen fallback=200 primary=0
billed 200"
tmin=$(summary close_naive | sed -n 2p | cut -d' ' -f2 | cut -d, -f1)
if [ "$got" = "$want" ] && [ "${tmin:-0}" -ge 150 ]; then
    pass naive_gateway_should_show_the_fallbacks_tail
else
    fail naive_gateway_should_show_the_fallbacks_tail "$got; min tail ${tmin:-?}"
fi
# every provider's mock kept its own log
if [ -s "$tmp/close_fixed/mock-primary.log" ] || [ -f "$tmp/close_fixed/mock-primary.log" ]; then
    [ -f "$tmp/close_fixed/mock-fallback.log" ] && [ -f "$tmp/close_fixed/mock.log" ] &&
        pass run_should_start_one_mock_per_named_provider ||
        fail run_should_start_one_mock_per_named_provider "$(ls "$tmp/close_fixed")"
else
    fail run_should_start_one_mock_per_named_provider "$(ls "$tmp/close_fixed")"
fi

# --- a provider's model reaches its mock alone: the fallback answers 12 tokens, the default 30
cat >"$tmp/own.json" <<'JSON'
{"name": "own", "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 10, "tps": 400, "jitter": 0, "length": 30},
 "mocks": {"primary": {"fault": "status=529"}, "fallback": {"model": {"length": 12}}},
 "traffic": {"requests": 4, "concurrency": 4},
 "users": [{"action": "complete"}], "settle_ms": 1000,
 "gates": {"delivered_tokens": ["min>=12", "max<=12"], "retries_for_nobody": ["max<=0"]}}
JSON
run own fixed "$tmp/own.json"
got=$(summary own | sed -n '1p;3p')
want="0|pass|4|att 2|nobody 0|recs fallback:200=4 primary:529=4
gen fallback=12 primary=0"
[ "$got" = "$want" ] && pass a_providers_model_should_reach_its_mock_alone ||
    fail a_providers_model_should_reach_its_mock_alone "$got; $(tail -n 3 "$tmp/own.out")"

# --- usage errors, exit 2, before anything starts
sed 's/"fallback": {"model"/"secondary": {"model"/' "$tmp/own.json" >"$tmp/typo.json"
run typo fixed "$tmp/typo.json"
msg=$(tail -n 1 "$tmp/typo.out")
want="tailgate run: $tmp/typo.json:3: mocks.secondary: the gateway description uses no {{MOCK_URL_secondary}} (its named mocks: primary, fallback)"
[ "$rc_typo" = 2 ] && [ "$msg" = "$want" ] && pass a_scenario_naming_an_unused_mock_should_be_a_usage_error ||
    fail a_scenario_naming_an_unused_mock_should_be_a_usage_error "rc $rc_typo: $msg"
timeout -k 5 60 "$bin" run --gateway "$tmp/gw-fixed.json" --mock-url nosuch=http://127.0.0.1:9 \
    --out "$tmp/remote" "$tmp/own.json" >"$tmp/remote.out" 2>&1 </dev/null
rc=$?
msg=$(tail -n 1 "$tmp/remote.out")
[ "$rc" = 2 ] && [ "$msg" = "tailgate run: --mock-url nosuch=...: the gateway description uses no {{MOCK_URL_nosuch}}" ] &&
    pass a_mock_url_for_an_unused_name_should_be_a_usage_error ||
    fail a_mock_url_for_an_unused_name_should_be_a_usage_error "rc $rc: $msg"

# --- shards share every provider's mock (--mock-url NAME=URL): two shards of
# fallback-after-leave against three running mocks, merged, judge as the unsharded run did
mock_pids=()
start_mock() { # name: sets url_NAME
    rm -f "$tmp/$1.port"
    "$bin" mock --port 0 --port-file "$tmp/$1.port" >"$tmp/$1.mocklog" 2>&1 &
    mock_pids+=($!)
    for _ in $(seq 500); do
        [ -s "$tmp/$1.port" ] && break
        sleep 0.01
    done
    eval "url_$1=http://127.0.0.1:$(cat "$tmp/$1.port" 2>/dev/null)"
}
trap 'kill "${mock_pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
start_mock default
start_mock primary
start_mock fallback
spids=()
for i in 0 1; do
    timeout -k 5 120 "$bin" run --gateway "$tmp/gw-naive.json" --seed 3 --shard "$i/2" \
        --mock-url "$url_default" --mock-url "primary=$url_primary" \
        --mock-url "fallback=$url_fallback" --out "$tmp/shard$i" \
        scenarios/fallback-after-leave.json >"$tmp/shard$i.out" 2>&1 </dev/null &
    spids+=($!)
done
for p in "${spids[@]}"; do wait "$p"; done
timeout -k 5 60 "$bin" merge "$tmp/shard0" "$tmp/shard1" --out "$tmp/merged" \
    >"$tmp/merged.out" 2>&1 </dev/null
rc_merged=$?
got=$("$py" - "$tmp" <<'PY' 2>&1
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/merged/results.json"))["scenarios"][0]
qs = s["requests_detail"]
vals = lambda k: ",".join(str(int(v)) for v in sorted({q[k] for q in qs if q[k] is not None}))
own = []
for i in range(2):
    mocks = sorted({json.loads(l).get("mock", "default") + ":" + json.loads(l)["correlation_id"][:5]
                    for l in open(f"{d}/shard{i}/ledger.jsonl") if l.strip()})
    own.append(",".join(mocks))
print(f'{s["verdict"]}|{s["requests"]}|att {vals("upstream_attempts")}|nobody {vals("retries_for_nobody")}|'
      f'tail {vals("tail_tokens")}|{" ".join(own)}')
PY
)
want="fail|8|att 2|nobody 1|tail 40|fallback:s0of2,primary:s0of2 fallback:s1of2,primary:s1of2"
[ "$rc_merged" = 1 ] && [ "$got" = "$want" ] && pass shards_should_share_every_providers_mock ||
    fail shards_should_share_every_providers_mock "rc $rc_merged: $got; $(tail -n 2 "$tmp/shard0.out")"

# --- refgw's fallback flags: a bad one is a usage error, one line, exit 2
check_usage() { # name, want, args...
    local name=$1 want=$2
    shift 2
    local out
    out=$("$TAILGATE_REFGW" --mode fixed --upstream http://127.0.0.1:9 "$@" 2>&1 </dev/null)
    local rc=$?
    [ "$rc" = 2 ] && [ "$out" = "$want" ] && pass "$name" || fail "$name" "rc $rc: $out"
}
check_usage refgw_should_refuse_a_bad_fallback_status_list \
    "refgw: --fallback-on: expected a comma-separated list of HTTP statuses 400..599 (at most 16), got '429,abc'" \
    --fallback-upstream http://127.0.0.1:9 --fallback-on 429,abc
check_usage refgw_should_refuse_a_fallback_setting_without_a_fallback \
    "refgw: --fallback-on, --fallback-max-wait-ms and --fallback-ignores-cancel need --fallback-upstream" \
    --fallback-on 429
check_usage refgw_should_refuse_a_malformed_fallback_url \
    "refgw: --fallback-upstream: expected http[s]://HOST:PORT, got 'ftp://x'" \
    --fallback-upstream ftp://x
check_usage refgw_should_refuse_a_negative_fallback_wait \
    "refgw: --fallback-max-wait-ms: expected 0..3600000, got '-1'" \
    --fallback-upstream http://127.0.0.1:9 --fallback-max-wait-ms -1

# --- a status outside --fallback-on reaches the client as it is: no fallback
cat >"$tmp/gw-only503.json" <<JSON
{"name": "refgw-only503",
 "command": ["\${TAILGATE_REFGW}", "--mode", "fixed", "--listen", "127.0.0.1:{{PORT}}",
             "--upstream", "{{MOCK_URL_primary}}", "--fallback-upstream", "{{MOCK_URL_fallback}}",
             "--fallback-on", "503"],
 "url": "http://127.0.0.1:{{PORT}}", "ready": {"path": "/healthz", "timeout_ms": 10000},
 "style": "openai-chat"}
JSON
sed 's/"status=529"/"status=429"/' "$tmp/own.json" >"$tmp/own429.json"
run only503 only503 "$tmp/own429.json"
got=$(summary only503 | head -1)
want="1|fail|4|att 1|nobody 0|recs primary:429=4"
[ "$got" = "$want" ] && pass a_status_outside_the_fallback_set_should_reach_the_client ||
    fail a_status_outside_the_fallback_set_should_reach_the_client "$got"
sed 's/"status=529"/"status=503"/' "$tmp/own.json" >"$tmp/own503.json"
run with503 only503 "$tmp/own503.json"
got=$(summary with503 | head -1)
want="0|pass|4|att 2|nobody 0|recs fallback:200=4 primary:503=4"
[ "$got" = "$want" ] && pass a_503_in_the_fallback_set_should_fall_back ||
    fail a_503_in_the_fallback_set_should_fall_back "$got"
# --- Anthropic's overloaded 529 on /v1/messages falls back as OpenAI's 429 does
sed 's/"style": "openai-chat"/"style": "anthropic"/' "$tmp/gw-fixed.json" >"$tmp/gw-anthropic.json"
sed 's/"api": "openai-chat"/"api": "anthropic"/' "$tmp/own.json" >"$tmp/own-anthropic.json"
run anthropic anthropic "$tmp/own-anthropic.json"
got=$(summary anthropic | sed -n '1p;3p')
want="0|pass|4|att 2|nobody 0|recs fallback:200=4 primary:529=4
gen fallback=12 primary=0"
[ "$got" = "$want" ] && pass an_anthropic_529_should_fall_back_on_the_messages_route ||
    fail an_anthropic_529_should_fall_back_on_the_messages_route "$got; $(tail -n 3 "$tmp/anthropic.out")"

# --- a 500 is not in the default set: the client gets refgw's 502, no fallback is sent
sed 's/"status=529"/"status=500"/' "$tmp/own.json" >"$tmp/own500.json"
run with500 fixed "$tmp/own500.json"
got=$(summary with500 | head -1)
want="1|fail|4|att 1|nobody 0|recs primary:500=4"
[ "$got" = "$want" ] && pass a_500_should_not_fall_back_under_the_default_set ||
    fail a_500_should_not_fall_back_under_the_default_set "$got"
exit $status
