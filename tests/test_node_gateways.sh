#!/usr/bin/env bash
# Runs the runner against the Node gateway example (examples/gateways/node-openai/, Express + the
# official openai SDK) in both forms on scenarios/tab-close.json and checks the verdicts: the naive
# form fails the tail_tokens gates with a long tail, the fixed form passes every gate.
# Prints PASS/FAIL lines. TAILGATE_BIN may point at the binary (default: ./tailgate).
set -u
cd "$(dirname "$0")/.."
bin=${TAILGATE_BIN:-$PWD/tailgate}
ex=examples/gateways/node-openai
status=0

if ! command -v node >/dev/null 2>&1; then
    echo "FAIL node_gateways_prerequisites node not found: run 'apt-get install -y nodejs npm'"
    exit 1
fi
if ! deps_err=$(timeout -k 5 300 bash "$ex/run.sh" 2>&1); then
    echo "FAIL node_gateways_deps $ex/run.sh failed: $(echo "$deps_err" | tail -n 1)"
    echo "$deps_err" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check RESULTS_JSON EXPECT(naive|fixed): prints "ok ..." or the reason the verdicts are wrong.
check() {
    timeout -k 5 30 node - "$1" "$2" <<'EOF'
const fs = require('fs');
const [file, expect] = process.argv.slice(2);
let s;
try {
  s = JSON.parse(fs.readFileSync(file, 'utf8')).scenarios[0];
} catch (e) {
  console.log(`cannot read ${file}: ${e.message}`);
  process.exit(0);
}
const gates = s.gates || [];
const show = (g) => `${g.metric} ${g.expr} observed ${g.observed} ${g.verdict}`;
const p95 = s.metrics && s.metrics.tail_tokens ? s.metrics.tail_tokens.p95 : null;
let why = null;
if (gates.length === 0) {
  why = 'no gates in results';
} else if (expect === 'naive') {
  const tail = gates.filter((g) => g.metric === 'tail_tokens');
  const held = tail.filter((g) => g.verdict !== 'fail');
  if (tail.length === 0) why = 'no tail_tokens gates';
  else if (held.length) why = `tail_tokens gate did not fail: ${held.map(show).join('; ')}`;
  else if (!(p95 > 100)) why = `tail_tokens p95 ${p95}, expected > 100`;
} else {
  const failed = gates.filter((g) => g.verdict !== 'pass');
  if (failed.length) {
    const lag = (s.requests_detail || []).filter((d) => d.close_kind !== undefined && d.action !== 'complete')
      .map((d) => `${d.correlation_id}:${d.close_kind}/${d.stop_reason}/lag=${d.close_lag_ms}`).join(' ');
    why = `gates not passing: ${failed.map(show).join('; ')} [${lag}]`;
  }
}
console.log(why ? why : `ok (tail p95 ${p95})`);
EOF
}

# attempt DESC EXPECT_RC EXPECT N: one run of tab-close; prints "ok ..." or why it is wrong.
attempt() {
    local desc=$1 want_rc=$2 expect=$3 out="$tmp/$3.$4" rc why
    timeout -k 5 120 "$bin" run --gateway "$desc" --out "$out" scenarios/tab-close.json \
        >"$out.log" 2>&1
    rc=$?
    why=$(check "$out/results.json" "$expect")
    if [ "$rc" -ne "$want_rc" ]; then
        why="exit status $rc, expected $want_rc: $why"
        sed 's/^/    /' "$out.log" | tail -n 5 >&2
        [ -f "$out/gateway.log" ] && sed 's/^/    gateway: /' "$out/gateway.log" | tail -n 10 >&2
    fi
    echo "$why"
}

# run NAME DESC EXPECT_RC EXPECT TRIES
run() {
    local name=$1 why n
    for n in $(seq 1 "$5"); do
        why=$(attempt "$2" "$3" "$4" "$n")
        case $why in ok*) echo "PASS $name"; return ;; esac
        [ "$n" -lt "$5" ] && echo "note: $name attempt $n: $why" >&2
    done
    echo "FAIL $name $why"
    status=1
}

# The naive gateway's tail is the whole answer (~190 tokens) on every run. The fixed one stops
# within a few tokens, but its gates (tail p95 <= 8 tokens = 80 ms at 100 tokens/s, close lag p99
# < 250 ms) are timing budgets a CPU-starved Node process can overrun on a busy shared machine;
# a broken abort fails all three attempts with a tail near 190.
run node_openai_naive_tab_close_fails "$ex/naive.json" 1 naive 1
run node_openai_fixed_tab_close_passes "$ex/fixed.json" 0 fixed 3
exit $status
