#!/usr/bin/env bash
# A sharded run against one shared mock, end to end: one unsharded run of a scenario (its own
# mock), then three shards of it at once (processes) against a mock the test starts, each with
# its own refgw fixed, then `tailgate merge`. The merged run has the same request count, the same
# users (index and action), the same verdict per gate and overall as the unsharded run; each
# shard read back only its own ledger records. Two shards of different scenarios at the same
# moment on one mock each get their own scenario's profile. A shard that could not judge, or a
# missing one, makes the merge not judged; bad arguments are usage errors (exit 2).
# Prints PASS/FAIL/SKIP lines. TAILGATE_BIN and REFGW_BIN may point at the binaries.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
tg_clear_env
bin=${TAILGATE_BIN:-$PWD/tailgate}
export TAILGATE_REFGW=${REFGW_BIN:-$PWD/build/refgw}
py=/usr/bin/python3
tmp=$(mktemp -d)
mock_pid=
pids=()
cleanup() {
    for p in "${pids[@]}" $mock_pid; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ ! -x "$TAILGATE_REFGW" ]; then
    skip shard_tests "no refgw at $TAILGATE_REFGW (make builds it)"
    exit 0
fi

# 12 users, two in three closing the tab after 5 to 15 tokens of a 60-token answer; the gates
# refgw fixed holds pass, and one no run can hold fails, so the verdicts compared are not all
# alike
cat >"$tmp/leave.json" <<'JSON'
{"name": "leave", "description": "Users close the tab mid-answer.",
 "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 20, "tps": 100, "jitter": 0, "length": 60},
 "traffic": {"requests": 12, "concurrency": 6},
 "users": [{"action": "tab_close", "weight": 2, "after_tokens": [5, 15]},
           {"action": "complete", "weight": 1}],
 "settle_ms": 2000,
 "gates": {"tail_tokens": ["p(95)<=8", "max<=32"], "upstream_attempts": ["max<=1"],
           "rid_propagated": ["rate>=1"], "delivered_tokens": ["max>=1000"]}}
JSON
gw=examples/gateways/refgw-fixed.json

# start_mock: a mock on a free port; sets mock_url (empty when it did not start)
start_mock() {
    rm -f "$tmp/mock.port"
    "$bin" mock --port 0 --port-file "$tmp/mock.port" >"$tmp/mock.log" 2>&1 &
    mock_pid=$!
    mock_url=
    for _ in $(seq 500); do
        if [ -s "$tmp/mock.port" ]; then
            mock_url="http://127.0.0.1:$(cat "$tmp/mock.port")"
            return
        fi
        kill -0 "$mock_pid" 2>/dev/null || return
        sleep 0.01
    done
}

# verdicts DIR: "requests|overall|metric expr verdict,...|index:action ..." from results.json
verdicts() {
    "$py" - "$1/results.json" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
gates = ",".join(f'{g["metric"]} {g["expr"]} {g["verdict"]}' for g in s["gates"])
users = " ".join(sorted(f'{q["correlation_id"].rsplit("-", 1)[1]}:{q["action"]}'
                        for q in s["requests_detail"]))
print(f'{s["requests"]}|{r["verdict"]}/{s["verdict"]}|{gates}|{users}')
PY
}

timeout -k 5 120 "$bin" run --gateway "$gw" --seed 7 --out "$tmp/whole" "$tmp/leave.json" \
    >"$tmp/whole.out" 2>&1 </dev/null
whole_rc=$?

start_mock
if [ -z "$mock_url" ]; then
    fail shard_mock_should_start "$(tail -n 3 "$tmp/mock.log")"
    exit 1
fi
for i in 0 1 2; do
    timeout -k 5 120 "$bin" run --gateway "$gw" --seed 7 --shard "$i/3" --mock-url "$mock_url" \
        --out "$tmp/s$i" "$tmp/leave.json" >"$tmp/s$i.out" 2>&1 </dev/null &
    pids+=($!)
done
shard_rcs=""
for p in "${pids[@]}"; do
    wait "$p"
    shard_rcs="$shard_rcs $?"
done
pids=()
timeout -k 5 60 "$bin" merge "$tmp/s0" "$tmp/s1" "$tmp/s2" --out "$tmp/merged" \
    >"$tmp/merge.out" 2>&1 </dev/null
merge_rc=$?

want=$(verdicts "$tmp/whole")
got=$(verdicts "$tmp/merged")
case "$want" in
"12|fail/fail|"*"tail_tokens p(95)<=8 pass"*"delivered_tokens max>=1000 fail"*) ;;
*) fail unsharded_run_should_judge_as_expected "rc $whole_rc: $want; $(tail -n 2 "$tmp/whole.out")" ;;
esac
if [ "$got" = "$want" ] && [ "$merge_rc" = "$whole_rc" ]; then
    pass merge_should_give_the_unsharded_runs_requests_and_verdicts
else
    fail merge_should_give_the_unsharded_runs_requests_and_verdicts \
        "unsharded (rc $whole_rc) '$want', merged (rc $merge_rc) '$got'; shards rc$shard_rcs; $(tail -n 2 "$tmp/merge.out")"
fi

# each shard's share: request i when i % 3 == I, and only its own ledger records
got=$("$py" - "$tmp" <<'PY' 2>&1
import json, sys
out = []
for i in range(3):
    d = f"{sys.argv[1]}/s{i}"
    r = json.load(open(f"{d}/results.json"))
    idx = sorted(int(q["correlation_id"].rsplit("-", 1)[1])
                 for q in r["scenarios"][0]["requests_detail"])
    cids = {json.loads(l)["correlation_id"] for l in open(f"{d}/ledger.jsonl") if l.strip()}
    own = all(c.startswith(f"s{i}of3:") for c in cids) and len(cids) == len(idx)
    out.append(f"{idx == list(range(i, 12, 3))}/{own}")
print(" ".join(out))
PY
)
[ "$got" = "True/True True/True True/True" ] && pass shards_should_run_their_share_and_read_their_own_ledger ||
    fail shards_should_run_their_share_and_read_their_own_ledger "$got"

# one shard of one: its merge recomputes exactly what the run computed (every distribution,
# scalar and gate), so the merge joins and judges as the runner does
timeout -k 5 120 "$bin" run --gateway "$gw" --seed 7 --shard 0/1 --mock-url "$mock_url" \
    --out "$tmp/one" "$tmp/leave.json" >"$tmp/one.out" 2>&1 </dev/null
timeout -k 5 60 "$bin" merge "$tmp/one" --out "$tmp/one-merged" >"$tmp/one-merged.out" 2>&1 </dev/null
got=$("$py" - "$tmp/one/results.json" "$tmp/one-merged/results.json" <<'PY' 2>&1
import json, sys
a, b = (json.load(open(p))["scenarios"][0] for p in sys.argv[1:])
keys = ("requests", "metrics", "scalars", "gates", "verdict", "end_reasons", "errors")
diff = [k for k in keys if a[k] != b[k]]
print("same" if not diff else f"differ in {diff}: {[(a[k], b[k]) for k in diff][:1]}")
PY
)
[ "$got" = same ] && pass merge_of_one_shard_should_compute_what_the_run_computed ||
    fail merge_of_one_shard_should_compute_what_the_run_computed "$got"

# two shards of different scenarios at the same moment on one mock: each its own profile
sed 's/"leave"/"other"/; s/vendor-b-post/runaway/; s/"length": 60/"length": 90/' \
    "$tmp/leave.json" >"$tmp/other.json"
timeout -k 5 120 "$bin" run --gateway "$gw" --shard 0/2 --mock-url "$mock_url" --out "$tmp/a" \
    "$tmp/leave.json" >"$tmp/a.out" 2>&1 </dev/null &
pids+=($!)
timeout -k 5 120 "$bin" run --gateway "$gw" --shard 1/2 --mock-url "$mock_url" --out "$tmp/b" \
    "$tmp/other.json" >"$tmp/b.out" 2>&1 </dev/null &
pids+=($!)
wait "${pids[@]}"
pids=()
got=$("$py" - "$tmp" <<'PY' 2>&1
import json, sys
out = []
for d in ("a", "b"):
    recs = [json.loads(l) for l in open(f"{sys.argv[1]}/{d}/ledger.jsonl") if l.strip()]
    out.append(",".join(sorted({f'{r["profile"]}:{r["natural_length"]}' for r in recs})))
print(" ".join(out))
PY
)
[ "$got" = "vendor-b-post:60 runaway:90" ] && pass concurrent_shards_should_each_get_their_scenarios_settings ||
    fail concurrent_shards_should_each_get_their_scenarios_settings "$got"

# not judged: a shard whose mock was unreachable, or a shard left out
timeout -k 5 60 "$bin" run --gateway "$gw" --seed 7 --shard 1/3 --mock-url http://127.0.0.1:1 \
    --out "$tmp/dead" "$tmp/leave.json" >"$tmp/dead.out" 2>&1 </dev/null
dead_rc=$?
not_judged() { # name, merge arguments...
    local name=$1
    shift
    timeout -k 5 60 "$bin" merge "$@" >"$tmp/$name.out" 2>&1 </dev/null
    local rc=$? v
    v=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' \
        "$tmp/$name/results.json" 2>&1)
    if [ "$rc" = 3 ] && [ "$v" = error ] && grep -q "not judged" "$tmp/$name.out"; then
        pass "$name"
    else
        fail "$name" "rc $rc, verdict '$v'; $(tail -n 2 "$tmp/$name.out")"
    fi
}
[ "$dead_rc" = 3 ] || fail shard_with_no_mock_should_exit_3 "rc $dead_rc"
not_judged merge_should_not_judge_when_a_shard_could_not "$tmp/s0" "$tmp/dead" "$tmp/s2" \
    --out "$tmp/merge_should_not_judge_when_a_shard_could_not"
not_judged merge_should_not_judge_when_a_shard_is_missing "$tmp/s0" "$tmp/s2" \
    --out "$tmp/merge_should_not_judge_when_a_shard_is_missing"
cp -r "$tmp/s1" "$tmp/torn"
echo '{"scenario": "leave", "correlation_id": ' >>"$tmp/torn/client.jsonl"
not_judged merge_should_not_judge_a_torn_record "$tmp/s0" "$tmp/torn" "$tmp/s2" \
    --out "$tmp/merge_should_not_judge_a_torn_record"

# a mock with an admin token (one reached across hosts): the shard sends TAILGATE_MOCK_TOKEN
kill "$mock_pid" 2>/dev/null
wait "$mock_pid" 2>/dev/null
rm -f "$tmp/mock.port"
"$bin" mock --port 0 --port-file "$tmp/mock.port" --admin-token sekrit >"$tmp/mock2.log" 2>&1 &
mock_pid=$!
for _ in $(seq 500); do [ -s "$tmp/mock.port" ] && break; sleep 0.01; done
tok_url="http://127.0.0.1:$(cat "$tmp/mock.port" 2>/dev/null)"
timeout -k 5 60 "$bin" run --gateway "$gw" --shard 0/1 --mock-url "$tok_url" --out "$tmp/notok" \
    "$tmp/leave.json" >"$tmp/notok.out" 2>&1 </dev/null
notok_rc=$?
TAILGATE_MOCK_TOKEN=sekrit timeout -k 5 60 "$bin" run --gateway "$gw" --shard 0/1 \
    --mock-url "$tok_url" --out "$tmp/tok" "$tmp/leave.json" >"$tmp/tok.out" 2>&1 </dev/null
tok_rc=$?
got=$(verdicts "$tmp/tok" | cut -d'|' -f1,2)
[ "$notok_rc" = 3 ] && [ "$tok_rc" = 1 ] && [ "$got" = "12|fail/fail" ] &&
    pass shard_should_send_the_mocks_admin_token ||
    fail shard_should_send_the_mocks_admin_token "without rc $notok_rc, with rc $tok_rc ($got)"

# usage errors: exit 2 and one line saying what is wrong
usage() { # name, pattern, command...
    local name=$1 pat=$2
    shift 2
    timeout -k 5 30 "$@" >"$tmp/u.out" 2>"$tmp/u.err" </dev/null
    local rc=$?
    if [ "$rc" = 2 ] && grep -q -- "$pat" "$tmp/u.err"; then
        pass "$name"
    else
        fail "$name" "rc $rc: $(head -c 300 "$tmp/u.err")"
    fi
}
run=("$bin" run --gateway "$gw" --out "$tmp/u" --mock-url "$mock_url")
usage run_should_refuse_a_shard_past_the_count "must be below N" "${run[@]}" --shard 3/3 "$tmp/leave.json"
usage run_should_refuse_zero_shards "N must be 1 to" "${run[@]}" --shard 0/0 "$tmp/leave.json"
usage run_should_refuse_a_shard_that_is_not_i_of_n "expected I/N" "${run[@]}" --shard two "$tmp/leave.json"
usage run_should_refuse_a_negative_shard "expected I/N" "${run[@]}" --shard -1/3 "$tmp/leave.json"
usage run_should_refuse_a_shard_without_a_shared_mock "needs the mock the shards share" \
    "$bin" run --gateway "$gw" --shard 0/3 "$tmp/leave.json"
usage merge_should_refuse_a_missing_folder "not a folder" "$bin" merge "$tmp/nowhere" --out "$tmp/m1"
usage merge_should_refuse_a_run_that_is_not_a_shard "not a shard's" "$bin" merge "$tmp/whole" --out "$tmp/m2"
usage merge_should_refuse_a_shard_given_twice "are both shard 0/3" "$bin" merge "$tmp/s0" "$tmp/s0" --out "$tmp/m3"
usage merge_should_refuse_shards_of_different_runs "shards of different runs" \
    "$bin" merge "$tmp/s0" "$tmp/a" --out "$tmp/m4"
usage merge_should_want_a_folder "name the shard run folders" "$bin" merge
for m in m1 m2 m3 m4; do
    [ -e "$tmp/$m" ] && fail merge_usage_errors_should_write_nothing "$m exists"
done
exit $status
