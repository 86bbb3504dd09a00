#!/usr/bin/env bash
# The run's outputs CI consumes, on a passing, a failing and three exit-3 runs (`--direct`
# against a small copy of scenarios/control.json): junit.xml valid against Apache Ant's
# JUnit.xsd and the Jenkins xUnit plugin's junit-10.xsd (tests/schema/, xmllint), with exact
# tests/failures/errors/skipped counts that match its testcases; results.json valid against
# docs/results.schema.json (Debian's python3 with jsonschema, every object closed so an
# undescribed field fails) and read back by `tailgate report`, an unknown schema_version major
# refused; summary.md on every exit, its first line red or green. Prints PASS/FAIL/SKIP lines.
# TAILGATE_BIN may point at the binary (default: ./tailgate).
set -u
cd "$(dirname "$0")/.."
bin=${TAILGATE_BIN:-$PWD/tailgate}
py=/usr/bin/python3
. tests/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

have_xmllint=1
command -v xmllint >/dev/null 2>&1 || have_xmllint=0
have_jsonschema=1
"$py" -c 'import jsonschema' >/dev/null 2>&1 || have_jsonschema=0

# a free loopback port nobody listens on (bound, then released)
closed_port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# scenario files: control with 4 users (passes against --direct), and "impossible", whose
# upstream_attempts gate no run can meet (an attempt count is at least 1)
"$py" - "$tmp" <<'EOF'
import json, sys
d = json.load(open("scenarios/control.json"))
d["name"] = "small"
d["traffic"] = {"requests": 4, "concurrency": 4}
d["settle_ms"] = 500
json.dump(d, open(sys.argv[1] + "/small.json", "w"))
d["name"] = "impossible"
d["gates"] = {"upstream_attempts": ["max<1"], "ptdr": ["value<=1.05"]}
json.dump(d, open(sys.argv[1] + "/impossible.json", "w"))
EOF

# run NAME EXPECTED_RC ARGS...: one run into $tmp/NAME, its stderr kept
run() {
    local name=$1 want=$2
    shift 2
    timeout -k 5 120 "$bin" run --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "outputs_should_exit_${want}_for_$name" "exit $rc: $(tail -n 2 "$tmp/$name.err")"
        return 1
    fi
    pass "outputs_should_exit_${want}_for_$name"
}

# counts NAME "TESTS FAILURES ERRORS SKIPPED": the testsuites' attributes add up to these, and
# each testsuite's attributes are what its testcases hold
counts() {
    local got
    got=$("$py" - "$tmp/$1/junit.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
tot = [0, 0, 0, 0]
for ts in root.iter("testsuite"):
    cases = ts.findall("testcase")
    held = [len(cases)] + [sum(1 for c in cases if c.find(k) is not None)
                           for k in ("failure", "error", "skipped")]
    said = [int(ts.get(k)) for k in ("tests", "failures", "errors", "skipped")]
    if held != said:
        print(f"testsuite {ts.get('name')} says {said} but holds {held}")
        sys.exit(0)
    tot = [a + b for a, b in zip(tot, said)]
print(*tot)
EOF
)
    if [ "$got" = "$2" ]; then
        pass "junit_should_count_exactly_for_$1"
    else
        fail "junit_should_count_exactly_for_$1" "tests failures errors skipped: want $2, got '$got'"
    fi
}

validate_xml() {
    if [ "$have_xmllint" = 0 ]; then
        echo "SKIP junit_should_match_both_schemas_for_$1: xmllint not found (scripts/deps.sh tools installs libxml2-utils)"
        return
    fi
    local xsd out ok=1
    for xsd in tests/schema/JUnit.xsd tests/schema/junit-10.xsd; do
        if ! out=$(xmllint --noout --schema "$xsd" "$tmp/$1/junit.xml" 2>&1); then
            fail "junit_should_match_both_schemas_for_$1" "$xsd: $(echo "$out" | head -n 3)"
            ok=0
        fi
    done
    [ "$ok" = 1 ] && pass "junit_should_match_both_schemas_for_$1"
}

validate_json() {
    if [ "$have_jsonschema" = 0 ]; then
        echo "SKIP results_should_match_the_schema_for_$1: $py has no jsonschema (scripts/deps.sh tools installs python3-jsonschema)"
        return
    fi
    local out
    if out=$("$py" - docs/results.schema.json "$tmp/$1/results.json" 2>&1 <<'EOF'
import copy, json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
def closed(o):
    # the published schema lets a consumer read a newer 1.x; the test wants every field described
    if isinstance(o, dict):
        if o.get("type") == "object" and "properties" in o and "additionalProperties" not in o:
            o["additionalProperties"] = False
        for v in o.values():
            closed(v)
    elif isinstance(o, list):
        for v in o:
            closed(v)
strict = copy.deepcopy(schema)
closed(strict)
doc = json.load(open(sys.argv[2]))
errs = list(jsonschema.Draft202012Validator(strict).iter_errors(doc))
for e in errs[:5]:
    print("/".join(map(str, e.absolute_path)) + ": " + e.message[:200])
sys.exit(1 if errs else 0)
EOF
); then
        pass "results_should_match_the_schema_for_$1"
    else
        fail "results_should_match_the_schema_for_$1" "$out"
    fi
}

# jget NAME EXPR: a Python expression over results.json as 'r'
jget() {
    "$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$tmp/$1/results.json" "$2" 2>&1
}

check_summary() {
    local name=$1 head=$2 f="$tmp/$1/summary.md"
    if [ ! -f "$f" ]; then
        fail "summary_should_be_written_for_$name" "no summary.md"
        return
    fi
    local first
    first=$(head -n 1 "$f")
    if [[ "$first" != "### $head"* ]]; then
        fail "summary_should_say_red_or_green_first_for_$name" "first line: $first"
    elif grep -qiE '\bnan\b|\binf\b|clock offset' "$f"; then
        fail "summary_should_say_red_or_green_first_for_$name" "nan, inf or the clock offset in it"
    else
        pass "summary_should_say_red_or_green_first_for_$name"
    fi
}

check_all() {
    local name=$1
    for f in results.json junit.xml summary.md; do
        [ -f "$tmp/$name/$f" ] || fail "outputs_should_be_written_for_$name" "no $f"
    done
    validate_xml "$name"
    validate_json "$name"
}

# 1. passing: 4 gates, all pass
if run pass 0 --direct "$tmp/small.json"; then
    check_all pass
    counts pass "4 0 0 0"
    check_summary pass "🟢 PASS"
    v=$(jget pass 'r["schema_version"], r["verdict"]')
    [ "$v" = "('1.2.0', 'pass')" ] && pass results_should_carry_schema_version_for_pass ||
        fail results_should_carry_schema_version_for_pass "$v"
fi

# 2. failing: small passes (4 gates), impossible fails one of its 2 gates
if run fail 1 --direct "$tmp/small.json" "$tmp/impossible.json"; then
    check_all fail
    counts fail "6 1 0 0"
    check_summary fail "🔴 FAIL"
    msg=$("$py" -c 'import sys, xml.etree.ElementTree as ET
f = ET.parse(sys.argv[1]).getroot().find(".//failure")
print(f.get("type"), "|", f.get("message"))' "$tmp/fail/junit.xml")
    [ "$msg" = "gate | upstream_attempts max<1: observed 1 vs threshold 1" ] &&
        pass junit_should_say_observed_vs_threshold ||
        fail junit_should_say_observed_vs_threshold "$msg"
fi

# 3. exit 3, the mock unreachable: both scenarios did not run (skipped), one environment error
if run nomock 3 --direct --mock-url "http://127.0.0.1:$closed_port" "$tmp/small.json" \
    "$tmp/impossible.json"; then
    check_all nomock
    counts nomock "3 0 1 2"
    check_summary nomock "🔴 ERROR"
    v=$(jget nomock 'r["verdict"], r["error_kind"], r["not_run"]')
    [ "$v" = "('error', 'environment', ['small', 'impossible'])" ] &&
        pass results_should_name_the_environment_failure || fail results_should_name_the_environment_failure "$v"
fi

# 4. exit 3, a gateway command that exits at once: its log exists and is named
if run gwexits 3 --gateway-url "http://127.0.0.1:$closed_port" --gateway-cmd "exit 7" \
    "$tmp/small.json"; then
    check_all gwexits
    counts gwexits "2 0 1 1"
    check_summary gwexits "🔴 ERROR"
    grep -q "exited before it was ready (see $tmp/gwexits/gateway.log)" "$tmp/gwexits.err" &&
        [ -f "$tmp/gwexits/gateway.log" ] && pass gateway_exit_should_name_its_log ||
        fail gateway_exit_should_name_its_log "$(tail -n 1 "$tmp/gwexits.err")"
fi

# 5. exit 3, --gateway-url with nothing listening and no command: tailgate started nothing, so
# it writes no gateway.log and names none (the readiness wait is 10 s)
if run gwclosed 3 --gateway-url "http://127.0.0.1:$closed_port" "$tmp/small.json"; then
    check_all gwclosed
    counts gwclosed "2 0 1 1"
    if grep -q "gateway.log" "$tmp/gwclosed.err" "$tmp/gwclosed/summary.md" "$tmp/gwclosed/junit.xml"; then
        fail gateway_url_should_name_no_log "a gateway.log is named: $(tail -n 1 "$tmp/gwclosed.err")"
    elif [ -e "$tmp/gwclosed/gateway.log" ]; then
        fail gateway_url_should_name_no_log "a gateway.log was written"
    else
        pass gateway_url_should_name_no_log
    fi
fi

# results.json read back: the current schema_version is read, an unknown major refused by name
if [ -f "$tmp/pass/results.json" ]; then
    if timeout -k 5 60 "$bin" report "$tmp/pass" >/dev/null 2>"$tmp/report.err"; then
        pass report_should_read_the_current_schema_version
    else
        fail report_should_read_the_current_schema_version "$(tail -n 1 "$tmp/report.err")"
    fi
    mkdir -p "$tmp/future"
    sed 's/"schema_version":[[:space:]]*"1\.[0-9]*\.[0-9]*"/"schema_version": "2.0.0"/' "$tmp/pass/results.json" \
        >"$tmp/future/results.json"
    timeout -k 5 60 "$bin" report "$tmp/future" >/dev/null 2>"$tmp/future.err"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -q "schema_version '2.0.0'.*major 1" "$tmp/future.err"; then
        pass report_should_refuse_an_unknown_major
    else
        fail report_should_refuse_an_unknown_major "exit $rc: $(tail -n 1 "$tmp/future.err")"
    fi
fi

exit $status
