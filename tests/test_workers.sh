#!/usr/bin/env bash
# tailgate run --workers: a scenario's users in forked client processes. With the same seed, 3
# workers give the run of 1 (the request count, each user's index, action and delivered tokens,
# the verdict per gate and overall), directly and through refgw; --workers composes with
# --shard (shard 1/2 in 2 workers runs exactly the users i % 2 == 1); a worker killed mid-run
# makes the scenario not judged (exit 3), and so does a SIGINT, after which no worker is left;
# a network_drop scenario runs in-process and says so;
# bad --workers values exit 2 and write nothing.
# Prints PASS/FAIL/SKIP lines. TAILGATE_BIN and REFGW_BIN may point at the binaries.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
tg_clear_env TAILGATE_TEST_WORKER_ABORT
bin=${TAILGATE_BIN:-$PWD/tailgate}
export TAILGATE_REFGW=${REFGW_BIN:-$PWD/build/refgw}
py=/usr/bin/python3
tmp=$(mktemp -d)
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# 12 users, two in three closing the tab after 5 to 15 tokens of a 60-token answer: each user's
# delivered tokens are its plan's (K, or all 60), and one gate no run can hold fails, so the
# verdicts compared are not all alike
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

# verdicts DIR: "workers|requests|overall/scenario|gate verdicts|index:action:delivered ..."
verdicts() {
    "$py" - "$1/results.json" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
gates = ",".join(f'{g["metric"]} {g["expr"]} {g["verdict"]}' for g in s["gates"])
users = " ".join(f'{i}:{a}:{d}' for i, a, d in sorted(
    (int(q["correlation_id"].rsplit("-", 1)[1]), q["action"], q["delivered_tokens"])
    for q in s["requests_detail"]))
print(f'{s.get("workers")}|{s["requests"]}|{r["verdict"]}/{s["verdict"]}|{gates}|{users}')
PY
}

# same_as_one_worker NAME MODE...: the run with --workers 3 is the run with --workers 1
same_as_one_worker() {
    local name=$1 w rc1 rc3
    shift
    for w in 1 3; do
        timeout -k 5 120 "$bin" run "$@" --seed 7 --workers "$w" --out "$tmp/$name$w" \
            "$tmp/leave.json" >"$tmp/$name$w.out" 2>&1 </dev/null
        eval "rc$w=$?"
    done
    local one three
    one=$(verdicts "$tmp/${name}1")
    three=$(verdicts "$tmp/${name}3")
    case "$one" in
    "1|12|fail/fail|"*"tail_tokens p(95)<=8 pass"*"delivered_tokens max>=1000 fail"*) ;;
    *)
        fail "${name}_one_worker_should_judge_as_expected" "rc $rc1: $one; $(tail -n 2 "$tmp/${name}1.out")"
        return
        ;;
    esac
    if [ "3|${one#1|}" = "$three" ] && [ "$rc1" = "$rc3" ]; then
        pass "${name}_three_workers_should_give_the_one_worker_run"
    else
        fail "${name}_three_workers_should_give_the_one_worker_run" \
            "1 worker (rc $rc1) '$one', 3 workers (rc $rc3) '$three'; $(tail -n 2 "$tmp/${name}3.out")"
    fi
}

same_as_one_worker direct --direct
if [ -x "$TAILGATE_REFGW" ]; then
    same_as_one_worker refgw --gateway examples/gateways/refgw-fixed.json
else
    skip refgw_three_workers_should_give_the_one_worker_run "no refgw at $TAILGATE_REFGW (make builds it)"
fi

# --shard 1/2 with 2 workers: the shard's users, i % 2 == 1, each once, against a shared mock
"$bin" mock --port 0 --port-file "$tmp/mock.port" >"$tmp/mock.log" 2>&1 &
mock_pid=$!
mock_url=
for _ in $(seq 500); do
    [ -s "$tmp/mock.port" ] && mock_url="http://127.0.0.1:$(cat "$tmp/mock.port")" && break
    kill -0 "$mock_pid" 2>/dev/null || break
    sleep 0.01
done
if [ -z "$mock_url" ]; then
    fail workers_should_compose_with_shard "the mock did not start: $(tail -n 3 "$tmp/mock.log")"
else
    timeout -k 5 120 "$bin" run --direct --seed 7 --shard 1/2 --workers 2 --mock-url "$mock_url" \
        --out "$tmp/shard" "$tmp/leave.json" >"$tmp/shard.out" 2>&1 </dev/null
    rc=$?
    got=$("$py" - "$tmp/shard/results.json" "$tmp/direct1/results.json" <<'PY' 2>&1
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
whole = json.load(open(sys.argv[2]))["scenarios"][0]
def users(sc):
    return sorted((int(q["correlation_id"].rsplit("-", 1)[1]), q["action"], q["delivered_tokens"])
                  for q in sc["requests_detail"])
mine = users(s)
print(s.get("workers"), [u[0] for u in mine], mine == [u for u in users(whole) if u[0] % 2 == 1])
PY
)
    if [ "$got" = "2 [1, 3, 5, 7, 9, 11] True" ] && [ "$rc" = 1 ]; then
        pass workers_should_compose_with_shard
    else
        fail workers_should_compose_with_shard "rc $rc: $got; $(tail -n 2 "$tmp/shard.out")"
    fi
fi

# a worker killed after its first record: the scenario is not judged, the run exits 3
TAILGATE_TEST_WORKER_ABORT=1 timeout -k 5 120 "$bin" run --direct --seed 7 --workers 3 \
    --out "$tmp/killed" "$tmp/leave.json" >"$tmp/killed.out" 2>&1 </dev/null
rc=$?
got=$("$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["scenarios"][0]
print(r["verdict"], s["verdict"], s.get("error"))' "$tmp/killed/results.json" 2>&1)
case "$rc|$got" in
"3|error error client worker 1 (pid "*") was killed by signal 9"*)
    pass killed_worker_should_make_the_scenario_not_judged ;;
*) fail killed_worker_should_make_the_scenario_not_judged "rc $rc: $got; $(tail -n 2 "$tmp/killed.out")" ;;
esac

# SIGINT while the workers run: the runner kills them by PID and the scenario is not judged
sed 's/"leave"/"slow"/; s/"tps": 100/"tps": 2/' "$tmp/leave.json" >"$tmp/slow.json"
timeout -k 5 120 "$bin" run --direct --seed 7 --workers 2 --out "$tmp/int" "$tmp/slow.json" \
    >"$tmp/int.out" 2>&1 </dev/null &
timeout_pid=$!
# the run is timeout's child; the workers are the run's children that run its own program (the
# mock is 'tailgate mock')
children() { ps --ppid "$1" -o pid=,args= 2>/dev/null | grep -v " mock " | awk '{print $1}'; }
run_pid= wpids=
for _ in $(seq 1000); do
    [ -z "$run_pid" ] && run_pid=$(children "$timeout_pid")
    [ -n "$run_pid" ] && wpids=$(children "$run_pid")
    [ "$(echo "$wpids" | grep -c .)" = 2 ] && break
    kill -0 "$timeout_pid" 2>/dev/null || break
    sleep 0.01
done
[ -n "$run_pid" ] && kill -INT "$run_pid"
wait "$timeout_pid"
rc=$?
alive=""
for p in $wpids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
got=$("$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["scenarios"][0]
print(r["verdict"], s["verdict"], s.get("error"))' "$tmp/int/results.json" 2>&1)
case "$rc|$(echo "$wpids" | grep -c .)|$alive|$got" in
"3|2||error error interrupted"*) pass interrupt_should_kill_the_workers_and_not_judge ;;
*) fail interrupt_should_kill_the_workers_and_not_judge "rc $rc, workers '$wpids', alive '$alive': $got; $(tail -n 2 "$tmp/int.out")" ;;
esac

# network_drop calls the runner's own proxy: one in-process client, said in the results
sed 's/"leave"/"drop"/; s/"tab_close", "weight": 2, "after_tokens": \[5, 15\]/"network_drop", "weight": 2, "after_tokens": [5, 15], "give_up_ms": 300/' \
    "$tmp/leave.json" >"$tmp/drop.json"
timeout -k 5 120 "$bin" run --direct --seed 7 --workers 2 --out "$tmp/drop" "$tmp/drop.json" \
    >"$tmp/drop.out" 2>&1 </dev/null
rc=$?
got=$("$py" -c 'import json,sys; s=json.load(open(sys.argv[1]))["scenarios"][0]
print(s.get("workers"), s.get("workers_note"), s["requests"])' "$tmp/drop/results.json" 2>&1)
if [ "$got" = "1 workers: 1 (network_drop needs the in-process proxy) 12" ] &&
    grep -q "drop: workers: 1 (network_drop needs the in-process proxy)" "$tmp/drop.out"; then
    pass network_drop_should_run_in_process_and_say_so
else
    fail network_drop_should_run_in_process_and_say_so "rc $rc: $got; $(tail -n 2 "$tmp/drop.out")"
fi

# usage errors: exit 2, one line naming --workers, no run folder
bad=""
for v in 0 -1 abc 3x "" 257; do
    "$bin" run --direct --workers "$v" --out "$tmp/bad" "$tmp/leave.json" >"$tmp/bad.out" 2>&1 </dev/null
    rc=$?
    if [ "$rc" != 2 ] || ! grep -q -- "--workers" "$tmp/bad.out" || [ -e "$tmp/bad" ]; then
        bad="$bad '$v': rc $rc $(head -n 1 "$tmp/bad.out");"
    fi
done
[ -z "$bad" ] && pass bad_workers_should_be_usage_errors || fail bad_workers_should_be_usage_errors "$bad"

exit $status
