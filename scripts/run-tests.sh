#!/usr/bin/env bash
# Runs every test binary of each build folder given, then the real-client tests once (the npm
# SDKs against the mock, a Toxiproxy client against the chaos proxy, the conformance suite against
# real gateways), and ends with the line "N passed, N failed, N skipped". A binary that dies or
# times out without its lines counts as one failure; a SKIP line (a package that cannot be
# installed) counts as neither passed nor failed.
# MEMCHECK=1 runs the unit binaries and the spawned mock under valgrind; a test case whose
# assertions are about timing then ends with a SKIP line saying which (tests/check.h).
set -u
cd "$(dirname "$0")/.."
pass=0
fail=0
skip=0
per_test_timeout=${TEST_TIMEOUT:-180}
if [ "${MEMCHECK:-0}" = 1 ]; then
    per_test_timeout=${TEST_TIMEOUT:-600} # valgrind: everything 20 to 50 times slower
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # label, output file, exit code
    local label=$1 out=$2 rc=$3 p f s
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    s=$(grep -c '^SKIP ' "$out")
    sed -E "s#^(PASS|FAIL|SKIP) #\\1 [$label] #" "$out" | grep -E "^(PASS|FAIL|SKIP) "
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL [$label] exited with status $rc"
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
    skip=$((skip + s))
}

for build in "$@"; do
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        wrap=()
        if [ "${MEMCHECK:-0}" = 1 ]; then
            wrap=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite)
            export TAILGATE_WRAP="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite"
        fi
        TAILGATE_BIN="$build/tailgate" REFGW_BIN="$build/refgw" timeout -k 5 "$per_test_timeout" "${wrap[@]}" "$t" >"$log" 2>"$log.err"
        rc=$?
        count "$build/$name" "$log" "$rc"
        [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
        rm -f "$log.err"
    done
done

if [ -f tests/conformance/run.sh ] && [ "${SKIP_CONFORMANCE:-0}" != 1 ]; then
    TAILGATE_BIN="$PWD/$1/tailgate" REFGW_BIN="$PWD/$1/refgw" timeout -k 5 400 \
        bash tests/conformance/run.sh >"$log" 2>"$log.err"
    rc=$?
    count "conformance" "$log" "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
fi

if [ -f tests/sdk/run.sh ] && [ "${SKIP_SDK:-0}" != 1 ]; then
    TAILGATE_BIN="$PWD/$1/tailgate" timeout -k 5 300 bash tests/sdk/run.sh >"$log" 2>"$log.err"
    rc=$?
    count "sdk" "$log" "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
fi

if [ -f tests/test_node_gateways.sh ] && [ "${SKIP_SDK:-0}" != 1 ]; then
    TAILGATE_BIN="$PWD/$1/tailgate" timeout -k 5 400 bash tests/test_node_gateways.sh >"$log" 2>"$log.err"
    rc=$?
    count "node-gateways" "$log" "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
fi

if [ -f tests/toxiproxy/run.sh ] && [ "${SKIP_SDK:-0}" != 1 ]; then
    TAILGATE_BIN="$PWD/$1/tailgate" timeout -k 5 300 bash tests/toxiproxy/run.sh >"$log" 2>"$log.err"
    rc=$?
    count "toxiproxy" "$log" "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
fi

# the shell tests (tests/test_*.sh: installing, the CI recipes, the output formats against their
# schemas and checkers), once, against the first build folder
for t in tests/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    [ "$name" = test_node_gateways ] && continue # above, with the SDK tests
    TAILGATE_BIN="$PWD/$1/tailgate" REFGW_BIN="$PWD/$1/refgw" BUILD_DIR="$PWD/$1" \
        timeout -k 5 "$per_test_timeout" bash "$t" >"$log" 2>"$log.err" </dev/null
    rc=$?
    count "$name" "$log" "$rc"
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
done

if [ -f tests/fuzz/run.sh ] && [ "${SKIP_FUZZ:-0}" != 1 ]; then
    # once too: a short libFuzzer run of every parser's target (tests/fuzz/), then each build
    # folder's replay of the committed corpora
    timeout -k 5 600 bash tests/fuzz/run.sh short "$@" >"$log" 2>"$log.err"
    rc=$?
    count "fuzz" "$log" "$rc"
    grep -E '^    ' "$log" | head -60
    [ "$rc" -ne 0 ] && sed 's/^/    /' "$log.err" | tail -40
    rm -f "$log.err"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
