#!/usr/bin/env bash
# Runs the fuzz targets of tests/fuzz/ and prints one PASS/FAIL/SKIP line each, then
# "N passed, N failed, N skipped".
#   run.sh fuzz           every libFuzzer target for FUZZ_SECONDS (default 60): `make fuzz`
#   run.sh short [BUILD]  every target for FUZZ_SHORT_SECONDS (default 3) from its seeds alone,
#                         then each BUILD's replay drivers ($BUILD/fuzz/replay_NAME, no libFuzzer)
#                         over the committed corpora: what `make test` runs
# A finding (crash, leak, UBSan report, timeout, out of memory) fails the target; its input goes
# to build-fuzz/crashes/NAME/ and the end of its log is shown. FUZZ_JOBS targets run at once.
set -u
cd "$(dirname "$0")/../.."
mode=${1:-short}
[ $# -gt 0 ] && shift
fb=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-2}
case "$mode" in
fuzz) secs=${FUZZ_SECONDS:-60} ;;
short) secs=${FUZZ_SHORT_SECONDS:-3} ;;
*)
    echo "usage: run.sh fuzz | run.sh short [BUILD...]" >&2
    exit 2
    ;;
esac
names=$(for f in tests/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; echo "${n%.c}"; done)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
skip=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target: libFuzzer with a writable corpus first (new inputs land there, never in the
# committed seeds) and the seeds second. Its log and findings start in this run's own folder
# (another run may share build-fuzz/); findings are then copied to build-fuzz/crashes/NAME/.
# Writes NAME.line (the result); `make fuzz` keeps the log in build-fuzz/logs/.
run_one() {
    local name=$1 corpus=$2 log="$work/$1.log" art="$work/crashes/$1" dict=() rc units rate found
    mkdir -p "$corpus" "$art" "$fb/crashes/$name"
    [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
    timeout -k 5 $((secs + 120)) "$fb/fuzz_$name" -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
        "$corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=""
    for f in "$art"/*; do
        [ -f "$f" ] || continue
        cp "$f" "$fb/crashes/$name/" && found="$found $fb/crashes/$name/${f##*/}"
    done
    if [ "$mode" = fuzz ]; then
        mkdir -p "$fb/logs" && cp "$log" "$fb/logs/$name.log"
    fi
    local size
    size=$(find "$corpus" "tests/fuzz/corpus/$name" -type f | wc -l)
    if [ "$rc" -eq 0 ] && [ -n "$units" ] && [ -z "$found" ]; then
        echo "PASS fuzz_${name}_should_survive_${units}_inputs ($rate/s, ${secs}s, corpus $size)" \
            >"$work/$name.line"
    else
        {
            echo "FAIL fuzz_${name}_should_survive_${secs}s_of_inputs" \
                "(exit $rc${found:+, kept$found})"
            grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|    #[0-9]+ .* in .*\.c:[0-9])' "$log" |
                head -30 | sed 's/^/    /'
        } >"$work/$name.line"
    fi
}

if [ -f "$fb/.unavailable" ]; then
    reason=$(head -1 "$fb/.unavailable")
    for n in $names; do
        echo "SKIP fuzz_${n}_libfuzzer: $reason"
        skip=$((skip + 1))
    done
else
    running=0
    for n in $names; do
        if [ ! -x "$fb/fuzz_$n" ]; then
            echo "SKIP fuzz_${n}_libfuzzer: $fb/fuzz_$n not built (make fuzz-bins)" >"$work/$n.line"
            continue
        fi
        if [ "$mode" = fuzz ]; then
            run_one "$n" "$fb/corpus/$n" &
        else
            run_one "$n" "$work/corpus/$n" &
        fi
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
            wait -n
            running=$((running - 1))
        fi
    done
    wait
    for n in $names; do
        cat "$work/$n.line"
        case $(head -c 4 "$work/$n.line") in
        PASS) pass=$((pass + 1)) ;;
        FAIL) fail=$((fail + 1)) ;;
        *) skip=$((skip + 1)) ;;
        esac
    done
fi

# the same harnesses without libFuzzer, as $(CC) built them, over the committed corpora
for build in "$@"; do
    for n in $names; do
        r="$build/fuzz/replay_$n"
        if [ ! -x "$r" ]; then
            echo "SKIP fuzz_${n}_replay ($build): $r not built (make test-bins)"
            skip=$((skip + 1))
            continue
        fi
        if out=$(timeout -k 5 120 "$r" "tests/fuzz/corpus/$n" 2>"$work/replay.err"); then
            count=$(echo "$out" | sed -n 's/^replayed \([0-9]*\) inputs$/\1/p')
            echo "PASS fuzz_${n}_replay_should_survive_${count}_corpus_inputs ($build)"
            pass=$((pass + 1))
        else
            echo "FAIL fuzz_${n}_replay_should_survive_the_corpus ($build)"
            tail -30 "$work/replay.err" | sed 's/^/    /'
            fail=$((fail + 1))
        fi
    done
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
