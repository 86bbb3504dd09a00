#!/usr/bin/env bash
# mockprov over every transport: each vendor API (Gemini, legacy completions, Azure, Ollama too)
# x {HTTP/1.1, HTTP/2 over TLS, h2c} x {tab_close, reset}, driven by tests/mock_h2_client.py (its
# own wire code: python3-h2, raw sockets), and both ledger records read back with exact values: a stream reset is close_kind
# rst_stream with CANCEL's code 8 on that stream alone while its sibling on the same connection
# runs to its end; a dropped connection is an rst for every stream on it; HTTP/1.1's tab close
# is a fin of that tab's own connection.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tg_clear_env
TG=${TAILGATE_BIN:?}
if ! /usr/bin/python3 -c 'import h2' 2>/dev/null; then
    skip mock_h2_matrix "python3-h2 is missing (scripts/deps.sh h2 installs it)"
    exit 0
fi
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# start_mock NAME ARGS...: a mock on a free port, its port in $work/NAME.port
start_mock() {
    local name=$1
    shift
    "$TG" mock --port 0 --port-file "$work/$name.port" "$@" >"$work/$name.out" \
        2>"$work/$name.err" &
    pids+=($!)
    for _ in $(seq 1 400); do
        [ -s "$work/$name.port" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

if ! start_mock plain || ! start_mock tls --tls --ca-file "$work/ca.pem" ||
    ! start_mock h1only --no-h2 --tls --ca-file "$work/ca1.pem"; then
    fail mock_h2_should_start "$(cat "$work"/*.err)"
    exit 1
fi
plain=$(cat "$work/plain.port")
tls=$(cat "$work/tls.port")

for proto in h1 h2 h2c; do
    port=$plain ca=()
    [ "$proto" = h2 ] && port=$tls ca=("$work/ca.pem")
    want_proto=h2
    [ "$proto" = h1 ] && want_proto=http/1.1
    for api in chat responses messages gemini completions azure ollama; do
        for action in tab_close reset; do
            name="mock_${proto}_${api}_should_record_${action}"
            case "$proto/$action" in
            h1/tab_close) want_a="a: fin None $want_proto disconnect"
                want_b="b: None None $want_proto natural 40 40" ;;
            */tab_close) want_a="a: rst_stream 8 $want_proto disconnect"
                want_b="b: None None $want_proto natural 40 40" ;;
            */reset) want_a="a: rst None $want_proto disconnect"
                want_b="b: rst None $want_proto disconnect 0 0" ;;
            esac
            out=$(timeout 90 /usr/bin/python3 "$here/mock_h2_client.py" "$proto" "$port" "$api" \
                "$action" "$proto-$api-$action" "${ca[@]}" 2>&1)
            got_a=$(grep '^a: ' <<<"$out")
            got_b=$(grep '^b: ' <<<"$out")
            if [ "$action" = reset ]; then
                got_b=$(cut -d' ' -f1-5 <<<"$got_b")
                want_b=$(cut -d' ' -f1-5 <<<"$want_b")
            fi
            if [ "$got_a" = "$want_a" ] && [ "$got_b" = "$want_b" ]; then
                pass "$name"
            else
                fail "$name" "want '$want_a' / '$want_b', got: $(tr '\n' '|' <<<"$out")"
            fi
        done
    done
done
# goaway: the connection ends in order after the client's GOAWAY; both streams record it
for proto in h2 h2c; do
    port=$plain ca=()
    [ "$proto" = h2 ] && port=$tls ca=("$work/ca.pem")
    for api in chat responses messages gemini completions azure ollama; do
        name="mock_${proto}_${api}_should_record_goaway"
        out=$(timeout 90 /usr/bin/python3 "$here/mock_h2_client.py" "$proto" "$port" "$api" \
            goaway "$proto-$api-goaway" "${ca[@]}" 2>&1)
        got=$(grep -E '^(a|b): ' <<<"$out" | cut -d' ' -f1-5 | tr '\n' '|')
        if [ "$got" = "a: goaway 0 h2 disconnect|b: goaway 0 h2 disconnect|" ]; then
            pass "$name"
        else
            fail "$name" "got: $(tr '\n' '|' <<<"$out")"
        fi
    done
done

# flow control: under a 2,000-byte window never given back the stream stalls; written_tokens
# is exactly the token events that reached the client while generation runs to its end, and
# once the window is given back the rest arrives and written_tokens reaches 200
for api in chat responses messages gemini completions azure ollama; do
    name="mock_h2c_${api}_should_count_written_tokens_by_the_window"
    out=$(timeout 90 /usr/bin/python3 "$here/mock_h2_client.py" h2c "$plain" "$api" stall \
        "stall-$api" 2>&1)
    n=$(sed -n 's/^stalled tokens \([0-9]*\)$/\1/p' <<<"$out")
    want="stalled tokens $n|ledger active generated 200 written $n|unstalled tokens 200|"
    want+="ledger done generated 200 written 200|"
    if [ -n "$n" ] && [ "$n" -lt 200 ] && [ "$(tr '\n' '|' <<<"$out")" = "$want" ]; then
        pass "$name"
    else
        fail "$name" "got: $(tr '\n' '|' <<<"$out")"
    fi
done

# trailers: a vendor that tells a cancelled stream's count only in a trailer (vendor-a-post);
# over HTTP/2 the trailer is a HEADERS frame, and it carries what the ledger bills
name=mock_h2c_should_send_the_cancel_count_as_an_http2_trailer
out=$(timeout 90 /usr/bin/python3 "$here/mock_h2_client.py" h2c "$plain" responses trailer \
    trailer 2>&1)
n=$(sed -n 's/^cancel status 200 trailer \([0-9]*\)$/\1/p' <<<"$out")
want="cancel status 200 trailer $n|ledger cancel_api h2 usage_via trailer usage_reported $n "
want+="billed $n|"
if [ -n "$n" ] && [ "$n" -ge 3 ] && [ "$(tr '\n' '|' <<<"$out")" = "$want" ]; then
    pass "$name"
else
    fail "$name" "got: $(tr '\n' '|' <<<"$out")"
fi

# --no-h2: a client offering h2 and http/1.1 gets http/1.1, as from a vendor without HTTP/2
alpn=$(/usr/bin/python3 - "$(cat "$work/h1only.port")" "$work/ca1.pem" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["h2", "http/1.1"])
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                     server_hostname="127.0.0.1") as s:
    print(s.selected_alpn_protocol())
PY
)
if [ "$alpn" = http/1.1 ]; then
    pass mock_should_serve_http11_only_with_no_h2
else
    fail mock_should_serve_http11_only_with_no_h2 "ALPN chose '$alpn'"
fi
exit $status
