#!/usr/bin/env bash
# The conformance suite: checks tailgate's verdicts against an independent referee on real
# gateways (nginx, HAProxy, Caddy from Debian's packages, and refgw). For each gateway
# description in examples/gateways/ and each action (tab_close, reset), the referee
# (referee_upstream.py + referee_client.py, Python stdlib, no code shared with tailgate) measures
# R requests one at a time (20 ms a token from 30 ms in, 100 tokens, the action after 10), then
# `tailgate run` measures the same timing through the same gateway (tab-close.json, reset.json
# here). compare.py compares the medians: tail within 1 token, close lag within 5 ms. Prints
# PASS/FAIL lines, SKIP for a gateway whose package cannot be installed, and writes a markdown
# table to $CONFORMANCE_OUT/conformance.md.
# The HTTP/2 cases (gateways/nginx-h2.json, gateways/caddy-h2.json: HTTP/2 over TLS on the
# client leg, with a throwaway certificate made here with openssl, HTTP/1.1 to the upstream)
# are measured by referee_h2client.py (python3-h2) and by tailgate on h2-tab-close.json (users
# sharing a connection), h2-tab-close-alone.json (each stream alone on its connection) and
# h2-reset.json.
# TAILGATE_BIN and REFGW_BIN may point at the binaries (default: ./tailgate, build/refgw);
# CONFORMANCE_CASES (names, space-separated) runs only those cases.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/tests/conformance
bin=${TAILGATE_BIN:-$root/tailgate}
refgw=${REFGW_BIN:-$(dirname "$bin")/refgw}
[ -x "$refgw" ] || refgw=$root/build/refgw
out=${CONFORMANCE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tailgate-conformance.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
actions=(tab_close reset)
status=0
child=

# Stops the one child running now (referee or tailgate); each stops its own gateway and upstream.
cleanup() {
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_bounded SECONDS CMD...: runs CMD under timeout in the background so the trap can stop it.
run_bounded() {
    local limit=$1
    shift
    timeout -k 5 "$limit" "$@" &
    child=$!
    wait "$child"
    local rc=$?
    child=
    return $rc
}

t_start=$(date +%s.%N)
if ! command -v python3 >/dev/null 2>&1; then
    for a in "${actions[@]}"; do
        echo "SKIP conformance_$a: python3 not found (scripts/deps.sh conformance)"
    done
    exit 0
fi
# installs nginx-light, haproxy and caddy when root; otherwise says what is missing
deps_note=$(bash scripts/deps.sh conformance 2>&1 >/dev/null | tail -n 1)

# the refgw descriptions name build/refgw: point them at the binary under test
mkdir -p "$out/descriptions"
for m in naive fixed; do
    python3 - "$root/examples/gateways/refgw-$m.json" "$refgw" \
        "$out/descriptions/refgw-$m.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["command"][0] = sys.argv[2]
json.dump(d, open(sys.argv[3], "w"), indent=1)
EOF
done

cases=(
    "nginx:examples/gateways/nginx.json"
    "nginx-ignore-abort:examples/gateways/nginx-ignore-abort.json"
    "haproxy:examples/gateways/haproxy.json"
    "haproxy-abortonclose:examples/gateways/haproxy-abortonclose.json"
    "haproxy-http-no-delay:examples/gateways/haproxy-http-no-delay.json"
    "caddy:examples/gateways/caddy.json"
    "caddy-flush:examples/gateways/caddy-flush.json"
    "refgw-naive:$out/descriptions/refgw-naive.json"
    "refgw-fixed:$out/descriptions/refgw-fixed.json"
)
rows=$out/rows.md
notes=$out/notes.md
: >"$rows"
: >"$notes"

# CONFORMANCE_CASES="nginx caddy-h2 ...": only those cases (default: all)
wanted() {
    [ -z "${CONFORMANCE_CASES:-}" ] || [[ " $CONFORMANCE_CASES " == *" $1 "* ]]
}

# measure NAME DESC: the referee and tailgate on one gateway, up to max_attempts times, with
# refpy (the referee's interpreter), labels (the checks), scenarios (tailgate's scenario files)
# and compare_args (compare.py's extra arguments) as the caller set them.
measure() {
    local name=$1 desc=$2 dir attempt rc crc
    # A gateway's own close timing varies from run to run (HAProxy's default mode by several
    # ms, and in two modes about 6 ms apart that one run can sit in for all its requests), and
    # the two sides are measured one after the other: a case that disagrees is measured again,
    # both sides, up to twice more. A real difference disagrees every time.
    local max_attempts=3
    for attempt in $(seq "$max_attempts"); do
        dir=$out/$name
        [ "$attempt" -gt 1 ] && dir=$out/$name.attempt$attempt
        rm -rf "$dir"
        mkdir -p "$dir"
        run_bounded 120 "$refpy" "$here/referee_run.py" --gateway "$desc" --out "$dir/referee" \
            --requests 5 --after-tokens 10 --tokens 100 --interval-ms 20 --ttft-ms 30 \
            >"$dir/referee.json" 2>"$dir/referee.err"
        run_bounded 120 "$bin" run --gateway "$desc" --out "$dir/tailgate" \
            "${scenarios[@]}" >"$dir/tailgate.log" 2>&1
        rc=$?
        if [ "$rc" -gt 1 ]; then
            echo "tailgate run on $name exited with status $rc:" >&2
            sed 's/^/    /' "$dir/tailgate.log" | tail -n 5 >&2
        fi
        : >"$dir/rows.md"
        : >"$dir/notes.md"
        python3 "$here/compare.py" --case "$name" --referee "$dir/referee.json" \
            --results "$dir/tailgate/results.json" --rows "$dir/rows.md" \
            --notes "$dir/notes.md" --actions "$(IFS=,; echo "${labels[*]}")" \
            "${compare_args[@]}" >"$dir/verdict.txt"
        crc=$?
        if [ "$crc" -eq 0 ] || [ "$attempt" -eq "$max_attempts" ]; then
            cat "$dir/verdict.txt"
            if [ "$attempt" -gt 1 ]; then
                sed "s/| \([a-z*]*agree[*]*\) |\$/| \1 (measurement $attempt) |/" "$dir/rows.md" \
                    >>"$rows"
            else
                cat "$dir/rows.md" >>"$rows"
            fi
            cat "$dir/notes.md" >>"$notes"
            [ "$crc" -eq 0 ] || status=1
            break
        fi
        sed "s/^FAIL /note: $name attempt $attempt disagreed, measuring again: /" "$dir/verdict.txt" \
            | grep '^note:' >&2
    done
}

# skip NAME REASON: every check of the case is SKIP, with a table row saying why
skip() {
    local l
    for l in "${labels[@]}"; do
        echo "SKIP conformance_${1//-/_}_${l}_should_agree_with_referee: $2"
        echo "| $1 | $l | - | - | - | - | skipped: $2 |" >>"$rows"
    done
}

refpy=python3
labels=("${actions[@]}")
scenarios=("$here/tab-close.json" "$here/reset.json")
compare_args=()
for c in "${cases[@]}"; do
    name=${c%%:*}
    desc=${c#*:}
    wanted "$name" || continue
    prog=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["command"][0])' "$desc")
    if ! command -v "$prog" >/dev/null 2>&1; then
        skip "$name" "$prog not installed${deps_note:+ ($deps_note)}"
        continue
    fi
    measure "$name" "$desc"
done

# HTTP/2 over TLS on the client leg. tab_close is measured twice on tailgate's side: users
# sharing a connection, and each stream alone on its connection, where the closed tab's
# RST_STREAM is the only frame the connection carries (a client that held it back until the
# connection's next frame would never send it).
h2_cases=(
    "nginx-h2:$here/gateways/nginx-h2.json"
    "caddy-h2:$here/gateways/caddy-h2.json"
)
labels=(tab_close tab_close_alone reset)
scenarios=("$here/h2-tab-close.json" "$here/h2-tab-close-alone.json" "$here/h2-reset.json")
compare_args=(--check "tab_close=tab_close@conformance-h2-tab-close"
    --check "tab_close_alone=tab_close@conformance-h2-tab-close-alone"
    --check "reset=reset@conformance-h2-reset")
h2_skip=
refpy=
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import h2, ssl' >/dev/null 2>&1; then
        refpy=$py
        break
    fi
done
if [ -z "$refpy" ]; then
    h2_skip="python3-h2 not installed${deps_note:+ ($deps_note)}"
elif ! command -v openssl >/dev/null 2>&1; then
    h2_skip="openssl not installed${deps_note:+ ($deps_note)}"
else
    # the throwaway CA and a certificate for 127.0.0.1 and localhost signed by it, valid 2 days
    export CONFORMANCE_TLS_DIR=$out/tls
    mkdir -p "$CONFORMANCE_TLS_DIR"
    (
        cd "$CONFORMANCE_TLS_DIR" &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout ca.key -out ca.pem -days 2 -subj /CN=tailgate-conformance-ca \
                -addext basicConstraints=critical,CA:TRUE \
                -addext keyUsage=critical,keyCertSign,cRLSign &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
            printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
                'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
                'extendedKeyUsage=serverAuth' 'subjectKeyIdentifier=hash' \
                'authorityKeyIdentifier=keyid,issuer' >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                -out server.pem -days 2 -extfile server.ext
    ) >"$out/tls.log" 2>&1 || h2_skip="openssl could not make the test certificate ($out/tls.log)"
fi
for c in "${h2_cases[@]}"; do
    name=${c%%:*}
    desc=${c#*:}
    wanted "$name" || continue
    prog=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["command"][0])' "$desc")
    if [ -n "$h2_skip" ]; then
        skip "$name" "$h2_skip"
    elif ! command -v "$prog" >/dev/null 2>&1; then
        skip "$name" "$prog not installed${deps_note:+ ($deps_note)}"
    else
        measure "$name" "$desc"
    fi
done

wall=$(python3 -c "import sys; print('%.0f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
    "$t_start" "$(date +%s.%N)")
{
    echo "Medians of 5 requests per case, one at a time; 20 ms a token from 30 ms in, 100"
    echo "tokens, the action after 10 tokens. Tail: tokens the model generated after the user's"
    echo "action. Close lag: the action -> the model saw its connection close (or the end of a"
    echo "stream read to the end). Agreement: tail within 1 token, close lag within 5 ms; a"
    echo "case that disagrees is measured again, both sides, up to twice more; the last verdict counts."
    echo "The -h2 cases: HTTP/2 over TLS on the client leg, HTTP/1.1 to the model; tailgate's"
    echo "tab_close with two users sharing a connection (10 requests), tab_close_alone with each"
    echo "stream alone on its connection (3 requests), reset one at a time."
    echo "Suite wall time: ${wall} s."
    echo
    printf '| case | action | referee tail | tailgate tail | referee close lag |'
    printf ' tailgate close lag | verdict |\n'
    echo "|---|---|---|---|---|---|---|"
    cat "$rows"
    if [ -s "$notes" ]; then
        echo
        cat "$notes"
    fi
} >"$out/conformance.md"
echo "conformance: table in $out/conformance.md (${wall} s)" >&2
exit $status
