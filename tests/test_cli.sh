#!/usr/bin/env bash
# The command line as its users' other tools have it: -h and --help on every command and
# subcommand print its usage on stdout and exit 0; --version says what VERSION says; a usage
# error is one line on stderr pointing at --help, exit 2; under a pseudo-terminal the live line
# is drawn, but not with CI set; an empty figure on the per-scenario line reads '–', never nan
# or inf. Prints PASS/FAIL/SKIP lines. TAILGATE_BIN and REFGW_BIN may point at the binaries.
set -u
cd "$(dirname "$0")/.."
bin=${TAILGATE_BIN:-$PWD/tailgate}
refgw=${REFGW_BIN:-$PWD/build/refgw}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $1"; }
fail() {
    echo "FAIL $1"
    shift
    for l in "$@"; do echo "  $l" >&2; done
}

# run_cmd ARGS...: runs the binary with ARGS; sets rc, out and err (the file contents)
run_cmd() {
    "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

commands=("run" "scenarios" "mock" "profiles" "chaos" "chaos proxy" "chaos client" "report"
          "compare" "version")

# ---- help ----------------------------------------------------------------------------------
bad=()
for cmd in "" "${commands[@]}"; do
    for flag in -h --help; do
        # shellcheck disable=SC2086 # "chaos proxy" is two words on purpose
        run_cmd "$bin" $cmd $flag
        if [ "$rc" -ne 0 ] || [ -n "$err" ] || ! grep -q '^usage:' "$tmp/out"; then
            bad+=("tailgate $cmd $flag: exit $rc, stderr '$err', stdout '${out:0:60}'")
        fi
    done
done
for flag in -h --help; do
    run_cmd "$refgw" $flag
    if [ "$rc" -ne 0 ] || [ -n "$err" ] || ! grep -q '^usage:' "$tmp/out"; then
        bad+=("refgw $flag: exit $rc, stderr '$err'")
    fi
done
run_cmd "$bin" help chaos proxy
if [ "$rc" -ne 0 ] || ! grep -q '^usage: tailgate chaos proxy' "$tmp/out"; then
    bad+=("tailgate help chaos proxy: exit $rc, stdout '${out:0:60}'")
fi
if [ ${#bad[@]} -eq 0 ]; then
    pass cli_should_print_usage_on_stdout_and_exit_0_for_h_and_help
else
    fail cli_should_print_usage_on_stdout_and_exit_0_for_h_and_help "${bad[@]}"
fi

# ---- version -------------------------------------------------------------------------------
want_version=$(cat VERSION)
bad=()
for args in "--version" "version"; do
    run_cmd "$bin" $args
    if [ "$rc" -ne 0 ] || [ -n "$err" ] ||
        ! [[ $out =~ ^tailgate\ ${want_version//./\\.}\ \(revision\ [0-9a-z]+(-dirty)?\)$ ]]; then
        bad+=("tailgate $args: exit $rc, '$out'")
    fi
done
run_cmd "$refgw" --version
if [ "$rc" -ne 0 ] || ! [[ $out =~ ^refgw\ ${want_version//./\\.}\ \(revision\ .+\)$ ]]; then
    bad+=("refgw --version: exit $rc, '$out'")
fi
if [ ${#bad[@]} -eq 0 ]; then
    pass cli_should_print_the_version_from_the_VERSION_file
else
    fail cli_should_print_the_version_from_the_VERSION_file "${bad[@]}"
fi

# ---- usage errors --------------------------------------------------------------------------
# usage_error LABEL ARGS...: exit 2, nothing on stdout, one line on stderr that names --help
bad=()
usage_error() {
    local label=$1
    shift
    run_cmd "$@"
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -ne 2 ] || [ -n "$out" ] || [ "$lines" -ne 1 ] || ! grep -q -- '--help' "$tmp/err"
    then
        bad+=("$label: exit $rc, $lines stderr lines: '$err'")
    fi
}
for cmd in "" "${commands[@]}"; do
    [ "$cmd" = scenarios ] && continue # its own case below
    # shellcheck disable=SC2086
    usage_error "tailgate $cmd --no-such-option" "$bin" $cmd --no-such-option
    # shellcheck disable=SC2086
    usage_error "tailgate $cmd -Z" "$bin" $cmd -Z
done
# an option missing its value, one per command that takes values
usage_error "run --out" "$bin" run --direct --out
usage_error "mock --port" "$bin" mock --port
usage_error "chaos proxy --listen" "$bin" chaos proxy --listen
usage_error "chaos client --url" "$bin" chaos client --url
usage_error "report --floor" "$bin" report --floor
usage_error "compare --out" "$bin" compare a b --out
# a missing or extra argument, a bad value
usage_error "run without a scenario" "$bin" run --direct
usage_error "run without a mode" "$bin" run scenarios/control.json
usage_error "run --seed x" "$bin" run --direct --seed x scenarios/control.json
usage_error "report without a folder" "$bin" report
usage_error "compare with one folder" "$bin" compare a
usage_error "profiles extra" "$bin" profiles extra
usage_error "chaos without a subcommand" "$bin" chaos
usage_error "chaos nosuch" "$bin" chaos nosuch
usage_error "chaos client without --url" "$bin" chaos client
usage_error "mock --port 70000" "$bin" mock --port 70000
usage_error "no command" "$bin"
usage_error "refgw --mode" "$refgw" --mode
usage_error "refgw --no-such-option" "$refgw" --no-such-option
if [ ${#bad[@]} -eq 0 ]; then
    pass cli_should_exit_2_with_one_line_naming_help_on_a_usage_error
else
    fail cli_should_exit_2_with_one_line_naming_help_on_a_usage_error "${bad[@]}"
fi

# cli/scenarios.c has a case of its own, so that one command's gap names itself
bad=()
usage_error "tailgate scenarios --no-such-option" "$bin" scenarios --no-such-option
usage_error "tailgate scenarios -Z" "$bin" scenarios -Z
usage_error "tailgate scenarios --names x" "$bin" scenarios --names x
if [ ${#bad[@]} -eq 0 ]; then
    pass cli_should_exit_2_with_one_line_naming_help_on_a_scenarios_usage_error
else
    fail cli_should_exit_2_with_one_line_naming_help_on_a_scenarios_usage_error "${bad[@]}"
fi

run_cmd "$bin" nosuchcommand
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "unknown command 'nosuchcommand'" "$tmp/err"
then
    pass cli_should_exit_2_on_an_unknown_command
else
    fail cli_should_exit_2_on_an_unknown_command "exit $rc, stderr '$err'"
fi

# ---- the live line under a pseudo-terminal -------------------------------------------------
# 2 users who read to the end: nothing is aborted, so tail and close lag have no figure
cat >"$tmp/tiny.json" <<'EOF'
{"name":"tiny","profile":"vendor-b-post",
 "model":{"ttft_ms":0,"tps":200,"jitter":0,"length":10},
 "traffic":{"requests":2,"concurrency":2},
 "users":[{"action":"complete"}],
 "settle_ms":2000,
 "gates":{"upstream_attempts":["max<=1"]}}
EOF

# in_pty OUT ENV... -- CMD...: runs CMD on a pseudo-terminal (stdout and stderr both), with the
# environment changes given, and writes what the terminal showed to OUT; returns CMD's status
in_pty() {
    local out=$1
    shift
    python3 - "$out" "$@" <<'PY'
import os, pty, sys
out, args = sys.argv[1], sys.argv[2:]
sep = args.index("--")
env = dict(os.environ)
for kv in args[:sep]:
    if "=" in kv:
        k, _, v = kv.partition("=")
        env[k] = v
    else:
        env.pop(kv, None)  # NAME alone: unset it
cmd = args[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(cmd[0], cmd, env)
seen = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    seen += chunk
_, st = os.waitpid(pid, 0)
open(out, "wb").write(seen)
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP cli_should_draw_the_live_line_on_a_terminal: python3 not found (for its pty module)"
    echo "SKIP cli_should_not_draw_the_live_line_under_ci: python3 not found (for its pty module)"
    echo "SKIP cli_should_print_an_en_dash_for_an_empty_figure: python3 not found"
    exit 0
fi

# has_ticker FILE: the live line's "\r ESC [K" is in FILE
has_ticker() { grep -q $'\r\033\[K' "$1"; }

# CI=false is no CI (nor is an empty CI)
in_pty "$tmp/tty.txt" CI=false TERM=xterm NO_COLOR -- "$bin" run --direct --out "$tmp/run-tty" \
    "$tmp/tiny.json"
rc=$?
if [ "$rc" -eq 0 ] && has_ticker "$tmp/tty.txt" &&
    grep -q $'tiny: 2/2 users done, 0 aborted, 0 retries' "$tmp/tty.txt"; then
    pass cli_should_draw_the_live_line_on_a_terminal
else
    fail cli_should_draw_the_live_line_on_a_terminal "exit $rc: $(tr '\r\033' '~^' <"$tmp/tty.txt" | head -c 600)"
fi

bad=()
for ci in true 1; do
    in_pty "$tmp/ci.txt" CI=$ci TERM=xterm -- "$bin" run --direct --out "$tmp/run-ci" \
        "$tmp/tiny.json"
    rc=$?
    if [ "$rc" -ne 0 ] || has_ticker "$tmp/ci.txt" || grep -q $'\033' "$tmp/ci.txt" ||
        ! grep -q '^tiny  *PASS ' "$tmp/ci.txt"; then
        bad+=("CI=$ci: exit $rc: $(tr '\r\033' '~^' <"$tmp/ci.txt" | head -c 400)")
    fi
done
in_pty "$tmp/dumb.txt" CI TERM=dumb -- "$bin" run --direct --out "$tmp/run-dumb" "$tmp/tiny.json"
rc=$?
if [ "$rc" -ne 0 ] || has_ticker "$tmp/dumb.txt"; then
    bad+=("TERM=dumb: exit $rc: $(tr '\r\033' '~^' <"$tmp/dumb.txt" | head -c 400)")
fi
if [ ${#bad[@]} -eq 0 ]; then
    pass cli_should_not_draw_the_live_line_under_ci
else
    fail cli_should_not_draw_the_live_line_under_ci "${bad[@]}"
fi

# NO_COLOR: no escape sequence but the ticker's; without it the verdict word is coloured
in_pty "$tmp/nc.txt" CI NO_COLOR=1 TERM=xterm -- "$bin" run --direct --out "$tmp/run-nc" \
    "$tmp/tiny.json"
nc_rc=$?
in_pty "$tmp/col.txt" CI NO_COLOR TERM=xterm -- "$bin" run --direct --out "$tmp/run-col" \
    "$tmp/tiny.json"
col_rc=$?
if [ "$nc_rc" -eq 0 ] && [ "$col_rc" -eq 0 ] &&
    [ "$(sed $'s/\r\033\\[K//g' "$tmp/nc.txt" | grep -c $'\033')" -eq 0 ] &&
    grep -q $'\033\\[32mPASS\033\\[0m' "$tmp/col.txt"; then
    pass cli_should_colour_only_without_no_color
else
    fail cli_should_colour_only_without_no_color "NO_COLOR=1 exit $nc_rc: $(tr '\r\033' '~^' <"$tmp/nc.txt" | head -c 300)" \
        "colour exit $col_rc: $(tr '\r\033' '~^' <"$tmp/col.txt" | head -c 300)"
fi

# the per-scenario line (from the CI run: plain): no abort means no tail or close lag figure
line=$(grep '^tiny  *PASS ' "$tmp/ci.txt" | tr -d '\r')
if [[ $line == *"tail p95 –  close lag p99 – ms"* ]] && ! grep -qiE 'nan|inf' <<<"$line"; then
    pass cli_should_print_an_en_dash_for_an_empty_figure
else
    fail cli_should_print_an_en_dash_for_an_empty_figure "line: '$line'"
fi
