#!/usr/bin/env bash
# A mock that falls behind: started with --debug-tick-burn-ms (every pass of its token timers
# burns that much CPU, so it is late by construction, whatever the machine), `tailgate run`
# marks the scenario not judged (exit 3, verdict error, the reason naming the mock's lag in
# results.json, junit.xml and summary.md), never pass; the same run on an ordinary mock is
# judged. The burning mock's ledger shows no burst: tokens of one stream generated in one pass
# (gaps under 1 ms, where passes are at least the burn apart) number exactly --max-burst.
# Nothing here is timed: the counts follow from the burn. Prints PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/.."
bin=${TAILGATE_BIN:-$PWD/tailgate}
py=/usr/bin/python3
. tests/lib.sh
tg_clear_env

if [ ! -x "$py" ]; then
    skip overload_should_mark_the_run_not_judged "python3 is missing (it reads results.json)"
    exit 0
fi

tmp=$(mktemp -d)
mocks=()
cleanup() {
    for p in "${mocks[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# four users read a 40-token answer at 100 tokens/s to the end; its gate holds
cat >"$tmp/paced.json" <<'JSON'
{"name": "paced", "description": "Four users read a 40-token answer to the end.",
 "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 20, "tps": 100, "jitter": 0.1, "length": 40},
 "traffic": {"requests": 4, "concurrency": 4},
 "users": [{"action": "complete", "weight": 1}], "settle_ms": 500,
 "gates": {"delivered_tokens": ["min>=40"]}}
JSON

# start_mock NAME ARGS...: a mock on a free port; sets url
start_mock() {
    local name=$1
    shift
    "$bin" mock --port 0 --port-file "$tmp/$name.port" "$@" >"$tmp/$name.log" 2>&1 &
    mocks+=($!)
    for _ in $(seq 500); do
        [ -s "$tmp/$name.port" ] && break
        kill -0 "${mocks[-1]}" 2>/dev/null || break
        sleep 0.01
    done
    url="http://127.0.0.1:$(cat "$tmp/$name.port" 2>/dev/null)"
}

# longest_burst URL: the longest run of one stream's tokens closer than 1 ms to each other in
# the mock's ledger, and health's burst_max
longest_burst() {
    "$py" - "$1" <<'EOF'
import json, sys, urllib.request
base = sys.argv[1]
led = json.load(urllib.request.urlopen(base + "/_tailgate/ledger"))
longest = 0
for r in led["records"]:
    t = r["token_t_ns"]
    run = 1 if t else 0
    longest = max(longest, run)
    for a, b in zip(t, t[1:]):
        run = run + 1 if b - a < 1_000_000 else 1
        longest = max(longest, run)
h = json.load(urllib.request.urlopen(base + "/_tailgate/health"))
print(longest, h["token_lag"]["burst_max"], len(led["records"]))
EOF
}

# --- an overloaded mock: not judged ------------------------------------------------------------
start_mock burn --debug-tick-burn-ms 200
timeout -k 5 120 "$bin" run --direct --mock-url "$url" --out "$tmp/burn" "$tmp/paced.json" \
    >"$tmp/burn.out" 2>"$tmp/burn.err"
rc=$?
if [ "$rc" -eq 3 ]; then
    pass overload_should_exit_3_when_the_mock_fell_behind
else
    fail overload_should_exit_3_when_the_mock_fell_behind "exit $rc: $(tail -n 2 "$tmp/burn.err")"
fi
got=$("$py" - "$tmp/burn/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
ok = (r["verdict"] == "error" and s["verdict"] == "error"
      and s.get("error", "").startswith("mockprov fell behind: token lag p99 ")
      and "> --max-mock-lag-ms 50 " in s["error"]
      and "the mock, not the gateway, was the bottleneck" in s["error"]
      and s["mock_lag_p99_ms"] > 50 and 0 < s["mock_late_share"] <= 1)
print("ok" if ok else "verdict %s, scenario %s" % (r["verdict"], json.dumps(
    {k: s.get(k) for k in ("verdict", "error", "mock_lag_p99_ms", "mock_late_share")})))
EOF
)
if [ "$got" = ok ]; then
    pass overload_should_name_the_mocks_lag_in_results_json
else
    fail overload_should_name_the_mocks_lag_in_results_json "$got"
fi
if grep -q '<skipped message="not judged: mockprov fell behind: token lag p99 ' \
    "$tmp/burn/junit.xml" 2>/dev/null &&
    grep -q 'mockprov fell behind' "$tmp/burn/summary.md" 2>/dev/null &&
    ! grep -q 'PASS' "$tmp/burn/summary.md"; then
    pass overload_should_say_not_judged_in_junit_and_the_summary
else
    fail overload_should_say_not_judged_in_junit_and_the_summary \
        "junit: $(grep -o '<skipped[^>]*>' "$tmp/burn/junit.xml" 2>/dev/null | head -1)"
fi

# the burning mock's ledger: in every pass a late stream sends exactly --max-burst (2) tokens
read -r longest burst_max nrec <<<"$(longest_burst "$url")"
if [ "${nrec:-0}" -eq 4 ] && [ "${longest:-0}" -eq 2 ] && [ "${burst_max:-0}" -eq 2 ]; then
    pass overload_should_send_at_most_max_burst_tokens_in_a_row
else
    fail overload_should_send_at_most_max_burst_tokens_in_a_row \
        "records ${nrec:-?}, longest run ${longest:-?}, burst_max ${burst_max:-?} (want 4, 2, 2)"
fi

# --max-burst 1: one token per pass; and --max-mock-lag-ms off judges the run anyway
start_mock burn1 --debug-tick-burn-ms 100 --max-burst 1
timeout -k 5 120 "$bin" run --direct --mock-url "$url" --max-mock-lag-ms off \
    --out "$tmp/burn1" "$tmp/paced.json" >"$tmp/burn1.out" 2>"$tmp/burn1.err"
rc=$?
if [ "$rc" -eq 0 ]; then
    pass overload_should_judge_a_late_mock_with_max_mock_lag_off
else
    fail overload_should_judge_a_late_mock_with_max_mock_lag_off \
        "exit $rc: $(tail -n 2 "$tmp/burn1.err")"
fi
read -r longest burst_max nrec <<<"$(longest_burst "$url")"
if [ "${nrec:-0}" -eq 4 ] && [ "${longest:-0}" -eq 1 ] && [ "${burst_max:-0}" -eq 1 ]; then
    pass overload_should_send_one_token_per_pass_with_max_burst_1
else
    fail overload_should_send_one_token_per_pass_with_max_burst_1 \
        "records ${nrec:-?}, longest run ${longest:-?}, burst_max ${burst_max:-?} (want 4, 1, 1)"
fi

# --- a quick loop, slow streams: at 200 tokens/s a stream is due every 5 ms, but a pass of the
# timers comes at least 30 ms after the last and sends at most --max-burst (2) tokens of it, so
# the mock keeps at most 2 tokens per 30 ms, a third of the asked rate, by construction; behind
# its slid timetables it lags only about one pass. The rate says it was the bottleneck.
cat >"$tmp/fast.json" <<'JSON'
{"name": "fast", "description": "Four users read a 60-token answer at 200 tokens/s.",
 "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 20, "tps": 200, "jitter": 0, "length": 60},
 "traffic": {"requests": 4, "concurrency": 4},
 "users": [{"action": "complete", "weight": 1}], "settle_ms": 500,
 "gates": {"delivered_tokens": ["min>=60"]}}
JSON
start_mock slow --debug-tick-burn-ms 30
timeout -k 5 120 "$bin" run --direct --mock-url "$url" --out "$tmp/slow" "$tmp/fast.json" \
    >"$tmp/slow.out" 2>"$tmp/slow.err"
rc=$?
got=$("$py" - "$tmp/slow/results.json" <<'EOF' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenarios"][0]
ok = (r["verdict"] == "error" and s["verdict"] == "error"
      and s.get("error", "").startswith("mockprov fell behind: ")
      and 0 < s["mock_rate_share"] < 0.5)
print("ok" if ok else json.dumps({k: s.get(k) for k in
      ("verdict", "error", "mock_lag_p99_ms", "mock_rate_share")}))
EOF
)
if [ "$rc" -eq 3 ] && [ "$got" = ok ]; then
    pass overload_should_not_judge_a_mock_that_kept_a_third_of_the_rate
else
    fail overload_should_not_judge_a_mock_that_kept_a_third_of_the_rate \
        "exit $rc, $got: $(tail -n 2 "$tmp/slow.err")"
fi

# --- an ordinary mock (the run starts its own): the same run is judged -------------------------
timeout -k 5 120 "$bin" run --direct --out "$tmp/plain" "$tmp/paced.json" \
    >"$tmp/plain.out" 2>"$tmp/plain.err"
rc=$?
got=$("$py" - "$tmp/plain/results.json" <<'EOF' 2>&1
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
ok = (s["verdict"] in ("pass", "fail") and isinstance(s["mock_lag_p99_ms"], (int, float))
      and 0.9 <= s["mock_rate_share"] <= 1)
print("ok" if ok else json.dumps({k: s.get(k) for k in
      ("verdict", "error", "mock_lag_p99_ms", "mock_rate_share")}))
EOF
)
if { [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; } && [ "$got" = ok ]; then
    pass overload_should_judge_the_same_run_on_an_ordinary_mock
else
    fail overload_should_judge_the_same_run_on_an_ordinary_mock \
        "exit $rc, $got: $(tail -n 2 "$tmp/plain.err")"
fi

# --- the mock's options: usage errors exit 2 ---------------------------------------------------
for bad in "--max-burst 0" "--max-burst 1025" "--max-burst x" "--debug-tick-burn-ms -1"; do
    # shellcheck disable=SC2086
    "$bin" mock --port 0 $bad >/dev/null 2>"$tmp/bad.err"
    rc=$?
    name=$(echo "${bad#--}" | tr -c 'a-z0-9\n' '_')
    if [ "$rc" -eq 2 ] && grep -q -- "${bad%% *}" "$tmp/bad.err"; then
        pass "mock_should_refuse_${name}"
    else
        fail "mock_should_refuse_${name}" "exit $rc: $(head -n 1 "$tmp/bad.err")"
    fi
done
"$bin" run --direct --max-mock-lag-ms 0 "$tmp/paced.json" >/dev/null 2>"$tmp/bad.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q -- "--max-mock-lag-ms" "$tmp/bad.err"; then
    pass run_should_refuse_a_max_mock_lag_of_0
else
    fail run_should_refuse_a_max_mock_lag_of_0 "exit $rc: $(head -n 1 "$tmp/bad.err")"
fi
exit $status
