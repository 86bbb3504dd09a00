#!/usr/bin/env bash
# HTTP/2 benchmark of mockprov: the same 5,000 token streams as 5,000 HTTP/1.1 connections and
# multiplexed over 50 HTTP/2 connections, each in cleartext and over TLS, all driven by h2load
# (nghttp2-client), next to bench/floor.c driven by the same h2load in the same run. Prints the
# figures and the ratios against that floor. Not a test: it exits 0 unless a case fails outright
# (a stream lost, h2load or a server missing); a case that lost streams prints no ratios.
set -euo pipefail

cd "$(dirname "$0")/.."

FLOOR_BIN=${FLOOR_BIN:-build/bench/floor}
TAILGATE_BIN=${TAILGATE_BIN:-./tailgate}
H2LOAD=${H2LOAD:-h2load}
# H2BENCH_SMALL=1: 500 streams over 5 HTTP/2 connections, for a quick look
if [[ ${H2BENCH_SMALL:-0} == 1 ]]; then
    : "${H2BENCH_STREAMS:=500}" "${H2BENCH_H2_CONNS:=5}"
fi
H2BENCH_STREAMS=${H2BENCH_STREAMS:-5000}
H2BENCH_H2_CONNS=${H2BENCH_H2_CONNS:-50}
# the floor sends one token every 50 ms, so 20 tokens/s keeps every case on its schedule
H2BENCH_TPS=${H2BENCH_TPS:-20}
H2BENCH_LENGTH=${H2BENCH_LENGTH:-40}
# connections are opened evenly across the ramp (h2load --rate); 0 opens them all at once
H2BENCH_RAMP_MS=${H2BENCH_RAMP_MS:-2000}
H2BENCH_CASES=${H2BENCH_CASES:-"floor h1 h2c h1-tls h2-tls"}
H2BENCH_REPEAT=${H2BENCH_REPEAT:-1}
H2BENCH_TIMEOUT_S=${H2BENCH_TIMEOUT_S:-120}
BENCH_PIN=${BENCH_PIN:-1}

log() { printf '%s\n' "$*" >&2; }

N=$H2BENCH_STREAMS
C2=$H2BENCH_H2_CONNS
if ((N % C2 != 0)); then
    log "bench h2: H2BENCH_STREAMS ($N) must be a multiple of H2BENCH_H2_CONNS ($C2)"
    exit 2
fi
M2=$((N / C2))

if ! command -v "$H2LOAD" >/dev/null; then
    echo "bench h2: skipped, h2load not found (Debian nghttp2-client: scripts/deps.sh h2)"
    exit 0
fi
for t in curl python3; do
    command -v "$t" >/dev/null || { log "bench h2: $t not found"; exit 1; }
done

if [[ " $H2BENCH_CASES " == *" floor "* && ! -x $FLOOR_BIN ]]; then
    if [[ -f Makefile ]] && make -n "$FLOOR_BIN" >/dev/null 2>&1; then
        make -s "$FLOOR_BIN"
    fi
fi
if [[ ! -x $TAILGATE_BIN ]]; then
    log "bench h2: $TAILGATE_BIN not found"
    exit 1
fi

# One HTTP/1.1 connection per stream: h2load and the server each need N descriptors and some.
need=$((N + 256))
soft=$(ulimit -Sn)
if [[ $soft != unlimited ]] && ((soft < need)); then
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited ]] || ((hard >= need)); then
        ulimit -Sn "$need"
    else
        log "bench h2: needs $need open files, the hard limit is $hard"
        exit 1
    fi
fi

tmp=$(mktemp -d /tmp/tailgate-bench-h2.XXXXXX)
pids=()

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    local p
    for p in "${pids[@]+"${pids[@]}"}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]+"${pids[@]}"}"; do
        wait "$p" 2>/dev/null || true
    done
    if [[ ${H2BENCH_KEEP:-0} == 1 ]]; then
        log "bench h2: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Client on the first CPU, server on the last, as bench/run.sh does.
server_pin=()
client_pin=()
ncpu=$(nproc 2>/dev/null || echo 1)
if [[ $BENCH_PIN == 1 && $ncpu -ge 2 ]] && command -v taskset >/dev/null; then
    server_pin=(taskset -c "$((ncpu - 1))")
    client_pin=(taskset -c 0)
fi
hz=$(getconf CLK_TCK)

printf '{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}\n' \
    >"$tmp/body.json"
pacing=(-H "content-type: application/json" -H "x-tailgate-ttft-ms: 0" -H "x-tailgate-jitter: 0"
    -H "x-tailgate-tps: $H2BENCH_TPS" -H "x-tailgate-length: $H2BENCH_LENGTH")

# wait_for FILE REGEX: polls until a line of FILE matches; bounded to 10 s.
wait_for() {
    local f=$1 re=$2 i
    for ((i = 0; i < 200; i++)); do
        grep -qE "$re" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# stop PID: SIGTERM, then SIGKILL after 3 s.
stop() {
    local p=$1 i q keep=()
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${pids[@]}"; do
        [[ $q == "$p" ]] || keep+=("$q")
    done
    pids=("${keep[@]+"${keep[@]}"}")
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# busy jiffies of the whole machine (user+nice+system+irq+softirq+steal)
machine_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# scrape URL OUT: the mock's /metrics (or an empty file)
scrape() {
    curl -s --max-time 10 "${curl_tls[@]+"${curl_tls[@]}"}" "$1/metrics" >"$2" || : >"$2"
}

# run_case CASE REP: one fresh server, one h2load run; appends a key=value line to results.
run_case() {
    local kase=$1 rep=$2 url pid proto conns per tls=0 h2opts=() rate=() kind
    curl_tls=()
    case $kase in
    floor) kind=floor proto=h1 ;;
    h1) kind=mock proto=h1 ;;
    h2c) kind=mock proto=h2 ;;
    h1-tls) kind=mock proto=h1 tls=1 ;;
    h2-tls) kind=mock proto=h2 tls=1 ;;
    *) log "bench h2: unknown case $kase"; return 1 ;;
    esac
    if [[ $proto == h1 ]]; then
        conns=$N per=1
        h2opts=(--h1 -m 1)
    else
        conns=$C2 per=$M2
        h2opts=(-m "$M2")
        # over TLS offer h2 alone, so a server without it fails instead of falling back
        ((tls)) && h2opts+=(--npn-list=h2)
    fi
    if ((H2BENCH_RAMP_MS > 0)); then
        # h2load opens 'r' connections every 'rate-period': 100 ms periods across the ramp, or
        # one connection a period when there are fewer connections than 100 ms periods
        local periods=$(((H2BENCH_RAMP_MS + 99) / 100)) r
        if ((conns >= periods)); then
            r=$(((conns + periods - 1) / periods))
            rate=(--rate="$r" --rate-period=100ms)
        elif ((conns > 1)); then
            # the last connection opens when the 100 ms batches' last one does
            rate=(--rate=1 --rate-period="$(((H2BENCH_RAMP_MS - 100) / (conns - 1)))ms")
        fi
    fi

    local out=$tmp/$kase.$rep
    rm -f "$tmp/port"
    if [[ $kind == floor ]]; then
        "${server_pin[@]+"${server_pin[@]}"}" "$FLOOR_BIN" >"$out.srv" 2>"$out.err" &
        pid=$!
        pids+=("$pid")
        wait_for "$out.srv" '^http://[0-9.]+:[0-9]+$' || { log "bench h2: floor did not start"; return 1; }
        url=$(head -n 1 "$out.srv")
    else
        local tlsargs=()
        ((tls)) && tlsargs=(--tls --ca-file "$tmp/ca.pem")
        "${server_pin[@]+"${server_pin[@]}"}" "$TAILGATE_BIN" mock --port 0 --port-file "$tmp/port" \
            --ledger-max $((N + 100)) "${tlsargs[@]+"${tlsargs[@]}"}" >"$out.srv" 2>"$out.err" &
        pid=$!
        pids+=("$pid")
        wait_for "$tmp/port" '^[0-9]+' || { log "bench h2: tailgate mock did not start"; return 1; }
        local port
        port=$(tr -d '[:space:]' <"$tmp/port")
        if ((tls)); then
            url="https://127.0.0.1:$port"
            # the admin API and /metrics answer over HTTP/1.1 only
            curl_tls=(--http1.1 --cacert "$tmp/ca.pem")
        else
            url="http://127.0.0.1:$port"
        fi
        scrape "$url" "$out.m0"
    fi
    log "bench h2: $kase (run $rep): $N streams over $conns connections, $url"

    local rss0 t0 b0 t1 b1 rc=0 ctimes
    rss0=$(status_kib "$pid" VmRSS)
    t0=$(cpu_ticks "$pid")
    b0=$(machine_busy)
    local TIMEFORMAT='%R %U %S'
    { time timeout "$H2BENCH_TIMEOUT_S" "${client_pin[@]+"${client_pin[@]}"}" "$H2LOAD" -t 1 \
        -n "$N" -c "$conns" "${h2opts[@]}" "${rate[@]+"${rate[@]}"}" -d "$tmp/body.json" \
        "${pacing[@]}" --log-file="$out.log" "$url/v1/chat/completions" \
        >"$out.h2load" 2>&1; } 2>"$out.time" || rc=$?
    t1=$(cpu_ticks "$pid")
    b1=$(machine_busy)
    local hwm rss1
    hwm=$(status_kib "$pid" VmHWM)
    rss1=$(status_kib "$pid" VmRSS)
    ctimes=$(tail -n 1 "$out.time")

    local served="-"
    if [[ $kind == mock ]]; then
        # the mock ends a stream's ledger record just after its last bytes; wait for the last
        local i
        for ((i = 0; i < 100; i++)); do
            scrape "$url" "$out.m1"
            grep -qE '^tailgate_mock_active_generations 0$' "$out.m1" && break
            sleep 0.1
        done
        curl -s --max-time 30 "${curl_tls[@]+"${curl_tls[@]}"}" "$url/_tailgate/ledger" \
            >"$out.ledger" || : >"$out.ledger"
        stop "$pid"
    else
        stop "$pid"
        served=$(grep -oE 'done=[0-9]+' "$out.err" | head -n 1 | cut -d= -f2)
    fi
    grep -E '^(finished|requests:|status codes|Application protocol)|[Ee]rror|negotiated' \
        "$out.h2load" | sort | uniq -c | sed -E 's/^ +1 /    /; s/^ +([0-9]+) /    (x\1) /' >&2
    ((rc == 0)) || log "bench h2: h2load exited $rc"

    python3 - "$kase" "$kind" "$proto" "$tls" "$N" "$conns" "$per" "$H2BENCH_LENGTH" \
        "$H2BENCH_TPS" "$rc" "$out" "$hz" "$((t1 - t0))" "$((b1 - b0))" "$rss0" "$rss1" "$hwm" \
        "$ctimes" "${served:--}" >>"$tmp/results" <<'PY'
import json, re, statistics, sys

(kase, kind, proto, tls, n, conns, per, length, tps, rc, out, hz, ticks, busy, rss0, rss1, hwm,
 ctimes, served) = sys.argv[1:]
n, conns, length, hz, ticks, busy = int(n), int(conns), int(length), int(hz), int(ticks), int(busy)
r = {"case": kase, "kind": kind, "proto": proto, "tls": tls, "streams": n, "conns": conns,
     "per_conn": per, "length": length, "tps": tps}
problems = []
text = open(out + ".h2load", errors="replace").read()
m = re.search(r"finished in ([0-9.]+)(ms|s)", text)
wall = float(m.group(1)) / (1000.0 if m and m.group(2) == "ms" else 1.0) if m else 0.0
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
              r"(\d+) errored, (\d+) timeout", text)
succeeded = int(m.group(4)) if m else 0
if int(rc) == 124:
    problems.append("h2load timed out (H2BENCH_TIMEOUT_S)")
elif int(rc) != 0:
    problems.append(f"h2load exit {rc}")
if succeeded != n:
    problems.append(f"h2load: {succeeded} of {n} streams succeeded")
m = re.search(r"Application protocol: (\S+)", text)
alpn = m.group(1) if m else "?"
want = ("h2" if tls == "1" else "h2c") if proto == "h2" else "http/1.1"
if alpn != want:
    problems.append(f"protocol {alpn}, wanted {want}")
# --log-file: start (us), status, duration (us) per request
durs = []
try:
    for line in open(out + ".log"):
        f = line.split()
        if len(f) >= 3 and f[1].startswith("2"):
            durs.append(int(f[2]) / 1e6)
except OSError:
    pass
durs.sort()
def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else -1
ct = ctimes.split()
client_cpu = float(ct[1]) + float(ct[2]) if len(ct) == 3 else 0.0
# the machine's busy time was read around the whole h2load process: same window
window = float(ct[0]) if len(ct) == 3 else wall
server_cpu = ticks / hz
others = max(0.0, busy / hz - server_cpu - client_cpu)
r.update(wall_s=round(wall, 3), server_cpu_s=round(server_cpu, 2),
         client_cpu_s=round(client_cpu, 2),
         others_cpu_pct=round(100 * others / window, 1) if window > 0 else -1,
         hwm_kib=int(hwm or 0), rss0_kib=int(rss0 or 0), rss1_kib=int(rss1 or 0),
         req_p50_s=round(pct(durs, 0.5), 3), req_p99_s=round(pct(durs, 0.99), 3),
         req_ideal_s=round((length - 1) / float(tps), 3))

def metrics(path):
    vals = {}
    try:
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            k, _, v = line.rpartition(" ")
            try:
                vals[k] = float(v)
            except ValueError:
                return {}
    except OSError:
        pass
    return vals

if kind == "floor":
    tokens = int(served) * length if served not in ("", "-") else 0
    if served in ("", "-") or int(served) != n:
        problems.append(f"floor: {served} of {n} streams done")
    r.update(gen_tokens=tokens, written_tokens=tokens, h2_streams="-")
else:
    m0, m1 = metrics(out + ".m0"), metrics(out + ".m1")
    d = lambda k: m1.get(k, 0.0) - m0.get(k, 0.0)
    gen = int(d("tailgate_mock_tokens_generated_total"))
    reqs = int(d('tailgate_mock_requests_total{api="chat"}'))
    closes = int(sum(v - m0.get(k, 0.0) for k, v in m1.items()
                     if k.startswith("tailgate_mock_peer_closes_total")))
    if not m1:
        problems.append("no /metrics after the run")
    if reqs != n:
        problems.append(f"mock accepted {reqs} of {n} requests")
    if gen != n * length:
        problems.append(f"mock generated {gen} of {n * length} tokens")
    if closes:
        problems.append(f"mock saw {closes} peer closes")
    if m1.get("tailgate_mock_active_generations", 0) != 0:
        problems.append("generations still active")
    h2s = "-"
    fam = [k for k in m1 if k.startswith("tailgate_mock_h2_streams_total")]
    if fam:
        h2s = int(sum(m1[k] - m0.get(k, 0.0) for k in fam))
        if h2s != (n if proto == "h2" else 0):
            problems.append(f"tailgate_mock_h2_streams_total moved by {h2s}")
    elif proto == "h2":
        h2s = "n/a"
    written = 0
    try:
        led = json.load(open(out + ".ledger"))
        recs = led.get("records", [])
        lp = "h2" if proto == "h2" else "http/1.1"
        bad = [x for x in recs if x.get("written_tokens") != length or x.get("state") != "done"
               or x.get("stop_reason") != "natural" or x.get("close_kind") is not None
               or x.get("protocol", lp) != lp]
        written = sum(int(x.get("written_tokens") or 0) for x in recs)
        if len(recs) != n or led.get("dropped", 0):
            problems.append(f"ledger holds {len(recs)} of {n} records")
        if bad:
            x = bad[0]
            problems.append(f"ledger: {len(bad)} records not served to the end (e.g. written "
                            f"{x.get('written_tokens')} protocol {x.get('protocol')} "
                            f"stop {x.get('stop_reason')} close {x.get('close_kind')})")
    except (OSError, ValueError) as e:
        problems.append(f"no ledger ({e})")
    r.update(gen_tokens=gen, written_tokens=written, h2_streams=h2s)
r["tok_per_s"] = round(r["written_tokens"] / wall) if wall > 0 and not problems else -1
r["complete"] = 0 if problems else 1
r["problems"] = "; ".join(problems)
print(json.dumps(r))
PY
}

failed=0
for ((rep = 1; rep <= H2BENCH_REPEAT; rep++)); do
    for kase in $H2BENCH_CASES; do
        run_case "$kase" "$rep" || failed=1
    done
done
[[ -s $tmp/results ]] || { log "bench h2: no results"; exit 1; }

python3 - "$tmp/results" "$ncpu" <<'PY' || failed=1
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ncpu = sys.argv[2]
cases, by = [], {}
for r in rows:
    if r["case"] not in by:
        cases.append(r["case"])
    by.setdefault(r["case"], []).append(r)

def med(rs, k):
    v = [r[k] for r in rs if isinstance(r[k], (int, float)) and r[k] >= 0]
    return statistics.median(v) if v else -1

agg = {}
for c in cases:
    rs = by[c]
    a = dict(rs[0])
    for k in ("wall_s", "server_cpu_s", "client_cpu_s", "others_cpu_pct", "hwm_kib", "rss0_kib",
              "req_p50_s", "req_p99_s", "tok_per_s"):
        a[k] = med(rs, k)
    a["runs"] = len(rs)
    a["complete"] = all(r["complete"] for r in rs)
    a["problems"] = " | ".join(r["problems"] for r in rs if r["problems"])
    agg[c] = a

first = next(iter(agg.values()))
label = {"floor": "floor (bench/floor.c)", "h1": "mock HTTP/1.1", "h2c": "mock h2c",
         "h1-tls": "mock HTTP/1.1 + TLS", "h2-tls": "mock h2 + TLS"}
print()
print(f"mockprov over HTTP/2: {first['streams']} streams of {first['length']} tokens at "
      f"{first['tps']} tokens/s (ideal stream {first['req_ideal_s']} s), h2load on CPU 0, "
      f"the server on the last of {ncpu}; median of {first['runs']} run(s)")
print()
print("| case | connections x streams | served | wall s | server CPU s | peak RSS MiB | "
      "KiB/stream | tok/s | stream p50 s | stream p99 s | h2 streams | client CPU s | "
      "others CPU % |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in cases:
    a = agg[c]
    kib = (a["hwm_kib"] - a["rss0_kib"]) / a["streams"] if a["hwm_kib"] > 0 else -1
    print(f"| {label.get(c, c)} | {a['conns']} x {a['per_conn']} | "
          f"{'all' if a['complete'] else 'LOST'} | {a['wall_s']:.2f} | {a['server_cpu_s']:.2f} | "
          f"{a['hwm_kib'] / 1024:.1f} | {kib:.2f} | {a['tok_per_s'] if a['complete'] else '-'} | "
          f"{a['req_p50_s']:.3f} | {a['req_p99_s']:.3f} | {a['h2_streams']} | "
          f"{a['client_cpu_s']:.2f} | {a['others_cpu_pct']:.1f} |")

def ratio(c, base, k):
    a, b = agg.get(c), agg.get(base)
    if not a or not b or not a["complete"] or not b["complete"] or b[k] <= 0 or a[k] < 0:
        return "-"
    return f"{a[k] / b[k]:.2f}"

print()
for base, name in (("floor", "the floor"), ("h1", "mock HTTP/1.1 cleartext")):
    if base not in agg:
        continue
    if not agg[base]["complete"]:
        print(f"Ratios against {name}: none, its run lost streams")
        print()
        continue
    print(f"Ratios against {name} (1.00 = the same; lower is cheaper, for tok/s higher is more):")
    print()
    print("| case | wall | server CPU | peak RSS | tok/s | stream p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in cases:
        if c == base:
            continue
        if not agg[c]["complete"]:
            print(f"| {label.get(c, c)} | lost streams: no ratio | | | | |")
            continue
        print(f"| {label.get(c, c)} | {ratio(c, base, 'wall_s')} | "
              f"{ratio(c, base, 'server_cpu_s')} | {ratio(c, base, 'hwm_kib')} | "
              f"{ratio(c, base, 'tok_per_s')} | {ratio(c, base, 'req_p99_s')} |")
    print()

bad = False
for c in cases:
    a = agg[c]
    if not a["complete"]:
        bad = True
        print(f"- {label.get(c, c)}: streams lost, so no ratio: {a['problems']}")
    if a["others_cpu_pct"] > 10:
        print(f"- {label.get(c, c)}: other processes used {a['others_cpu_pct']:.0f}% of a core "
              "during the run; the row is suspect")
sys.exit(3 if bad else 0)
PY

exit "$failed"
