#!/usr/bin/env bash
# `make install` into a temporary prefix from the already-built BUILD_DIR (nothing rebuilt, the
# checkout's ./tailgate untouched), then the installed tailgate used from another folder with
# only the prefix's bin on PATH first: the shipped suite found by name, the library listed, the
# environment settings, the installed refgw, the man pages, bash and zsh completion, and
# `make uninstall`. Prints PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-$root/build}
. tests/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
mkdir -p "$tmp/elsewhere" "$tmp/lib"
tg_clear_env

# a short scenario for the runs that check a setting, not the suite
tg_quick_scenario "$tmp/lib/quick.json"

stamp() { stat -c '%i %Y %s' "$1" 2>/dev/null || echo absent; }

# ---- install from BUILD_DIR: -o says its binaries are up to date, so make links nothing
before_checkout=$(stamp "$root/tailgate")
before_build=$(stamp "$build/tailgate")
if ! out=$(make -s -C "$root" install BUILD="$build" PREFIX="$prefix" -o "$build/tailgate" \
    -o "$build/refgw" 2>&1); then
    fail install_should_put_every_file_under_the_prefix "make install failed: $out"
    exit 1
fi
missing=""
want=(bin/tailgate libexec/tailgate/refgw share/bash-completion/completions/tailgate
    share/zsh/site-functions/_tailgate share/tailgate/examples/gateways/refgw-fixed.json
    share/tailgate/examples/gateways/nginx/abort-on.conf.in)
for f in scenarios/*.json; do want+=("share/tailgate/$f"); done
for f in docs/man/*.1; do want+=("share/man/man1/$(basename "$f")"); done
for f in "${want[@]}"; do [ -s "$prefix/$f" ] || missing="$missing $f"; done
[ -x "$prefix/bin/tailgate" ] && [ -x "$prefix/libexec/tailgate/refgw" ] || missing="$missing (exec bits)"
nscen=$(ls scenarios/*.json | wc -l)
ninst=$(ls "$prefix"/share/tailgate/scenarios/*.json | wc -l)
nman=$(ls "$prefix"/share/man/man1/*.1 | wc -l)
junk=$(find "$prefix" -name node_modules -o -name '*.log' | head -n 1)
if [ -n "$missing" ] || [ "$nscen" != "$ninst" ] || [ "$nman" != 10 ] || [ -n "$junk" ]; then
    fail install_should_put_every_file_under_the_prefix \
        "missing:${missing:- none}; scenarios $ninst of $nscen; man pages $nman of 10; junk '$junk'"
else
    pass install_should_put_every_file_under_the_prefix
fi
if [ "$(stamp "$root/tailgate")" = "$before_checkout" ] &&
    [ "$(stamp "$build/tailgate")" = "$before_build" ] &&
    cmp -s "$build/tailgate" "$prefix/bin/tailgate"; then
    pass install_should_copy_the_build_and_leave_the_checkout_alone
else
    fail install_should_copy_the_build_and_leave_the_checkout_alone \
        "./tailgate $before_checkout -> $(stamp "$root/tailgate"), build $before_build -> $(stamp "$build/tailgate")"
fi

# ---- the installed program, from another folder
cd "$tmp/elsewhere"
export PATH="$prefix/bin:$PATH"
tg() { timeout -k 5 120 tailgate "$@"; }

tg run --direct ci --out run1 >run1.out 2>run1.err
rc=$?
files_ok=1
for f in results.json junit.xml summary.md index.html; do [ -s "run1/$f" ] || files_ok=0; done
check=$(/usr/bin/env python3 - "$prefix/share/tailgate/scenarios" <<'EOF' 2>&1
import json, sys
lib = sys.argv[1]
d = json.load(open("run1/results.json"))
want = [m.rsplit(".", 1)[0] for m in json.load(open(lib + "/ci.json"))["scenarios"]]
names = [s["name"] for s in d["scenarios"]]
files = sorted({s["file"].rsplit("/", 1)[0] for s in d["scenarios"]})
bad = []
if names != want:
    bad.append(f"scenarios {names}, wanted {want}")
if files != [lib]:
    bad.append(f"scenario files from {files}, wanted {lib}")
if d.get("suite") != "ci" or d.get("verdict") != "pass":
    bad.append(f"suite {d.get('suite')!r} verdict {d.get('verdict')!r}")
print("; ".join(bad) or "ok")
EOF
)
if [ "$rc" = 0 ] && [ "$files_ok" = 1 ] && [ "$check" = ok ]; then
    pass installed_run_should_find_the_shipped_suite_by_name_from_any_folder
else
    fail installed_run_should_find_the_shipped_suite_by_name_from_any_folder \
        "exit $rc, files $files_ok, $check; $(tail -n 2 run1.err)"
fi

listing=$(tg scenarios 2>&1)
rc=$?
first=$(echo "$listing" | head -n 1)
nci=$(/usr/bin/env python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["scenarios"]))' \
    "$prefix/share/tailgate/scenarios/ci.json" 2>/dev/null)
ci_line=$(echo "$listing" | grep -E "^  ci +suite of ${nci:-?} " | head -n 1)
lines=$(echo "$listing" | grep -c '^  ')
if [ "$rc" = 0 ] && [ "$first" = "$prefix/share/tailgate/scenarios (installed):" ] &&
    [ -n "$ci_line" ] && [ "$lines" = "$nscen" ]; then
    pass installed_scenarios_should_list_the_installed_library
else
    fail installed_scenarios_should_list_the_installed_library \
        "exit $rc, first line '$first', ci line '$ci_line', $lines entries of $nscen"
fi

# $TAILGATE_SCENARIOS first: its tab-close shadows the shipped one
sed 's/"description": "[^"]*"/"description": "the local one"/' \
    "$prefix/share/tailgate/scenarios/tab-close.json" >"$tmp/lib/tab-close.json"
listing=$(TAILGATE_SCENARIOS="$tmp/nowhere:$tmp/lib" tg scenarios 2>&1)
first=$(echo "$listing" | head -n 1)
shadowed=$(echo "$listing" | grep -cE '^  tab-close +scenario .*\(shadowed by an earlier folder\)$')
valid=$(TAILGATE_SCENARIOS="$tmp/lib" tg scenarios tab-close 2>&1)
if [ "$first" = "$tmp/lib (TAILGATE_SCENARIOS):" ] && [ "$shadowed" = 1 ] &&
    [[ $valid == "tab-close "*"the local one" ]]; then
    pass scenarios_should_look_in_TAILGATE_SCENARIOS_first
else
    fail scenarios_should_look_in_TAILGATE_SCENARIOS_first \
        "first line '$first', shadowed $shadowed, validated '$valid'"
fi

err=$(tg run --direct --out bad nosuch 2>&1 >/dev/null)
rc=$?
want="tailgate run: nosuch: no such file, and no shipped scenario or suite of that name (looked \
in the working folder, $prefix/share/tailgate/scenarios (installed))"
err2=$(tg run --direct --out bad cii 2>&1 >/dev/null)
if [ "$rc" = 2 ] && [ "$err" = "$want" ] && [ "$err2" = "${want//nosuch/cii}; did you mean 'ci'?" ]
then
    pass run_should_say_where_it_looked_for_a_name_it_cannot_find
else
    fail run_should_say_where_it_looked_for_a_name_it_cannot_find "exit $rc, said '$err' / '$err2'"
fi

# ---- settings from the environment: used, overridden by flags, bad values named
export TAILGATE_SCENARIOS=$tmp/lib
TAILGATE_OUT=envout TAILGATE_SEED=7 TAILGATE_GATEWAY=/nonexistent.json \
    tg run --direct quick >env.out 2>&1
rc=$?
seed=$(/usr/bin/env python3 -c 'import json; print(json.load(open("envout/results.json"))["seed"])' \
    2>&1)
TAILGATE_OUT=notused TAILGATE_SEED=7 tg run --direct --out flagout --seed 9 quick >flag.out 2>&1
rc2=$?
seed2=$(/usr/bin/env python3 -c 'import json; print(json.load(open("flagout/results.json"))["seed"])' \
    2>&1)
if [ "$rc" = 0 ] && [ "$seed" = 7 ] && [ "$rc2" = 0 ] && [ "$seed2" = 9 ] && [ ! -e notused ]; then
    pass run_should_take_settings_from_the_environment_and_flags_over_them
else
    fail run_should_take_settings_from_the_environment_and_flags_over_them \
        "env: exit $rc seed $seed; flags: exit $rc2 seed $seed2; $(tail -n 1 env.out)"
fi

bad=0
said=""
while IFS='|' read -r var val mode msg; do
    # shellcheck disable=SC2086
    out=$(env "$var=$val" timeout -k 5 30 tailgate run $mode --out badenv quick 2>&1)
    rc=$?
    if [ "$rc" != 2 ] || [ "$out" != "tailgate run: $msg; see 'tailgate run --help'" ]; then
        bad=1
        said="$said [$var=$val: exit $rc, '$out']"
    fi
done <<'EOF'
TAILGATE_SEED|-3|--direct|TAILGATE_SEED: expected an unsigned integer, got '-3'
TAILGATE_SEED|12x|--direct|TAILGATE_SEED: expected an unsigned integer, got '12x'
TAILGATE_MOCK_URL|ftp://127.0.0.1:1|--direct|TAILGATE_MOCK_URL: expected an http:// or https:// URL, got 'ftp://127.0.0.1:1'
TAILGATE_GATEWAY_URL|127.0.0.1:8080||TAILGATE_GATEWAY_URL: expected an http:// or https:// URL, got '127.0.0.1:8080'
EOF
out=$(TAILGATE_GATEWAY=g.json TAILGATE_GATEWAY_URL=http://127.0.0.1:9 tailgate run quick 2>&1)
rc=$?
if [ "$rc" != 2 ] || [[ $out != "tailgate run: TAILGATE_GATEWAY and TAILGATE_GATEWAY_URL are both set"* ]]; then
    bad=1
    said="$said [both gateways: exit $rc, '$out']"
fi
if [ "$bad" = 0 ] && [ ! -e badenv ]; then
    pass run_should_name_the_variable_of_a_bad_setting_and_exit_2
else
    fail run_should_name_the_variable_of_a_bad_setting_and_exit_2 "$said"
fi

# the installed refgw, through the shipped description that starts ${TAILGATE_REFGW}
tg run --gateway "$prefix/share/tailgate/examples/gateways/refgw-fixed.json" --out gw quick \
    >gw.out 2>&1
rc=$?
if [ "$rc" = 0 ] && [ -s gw/results.json ]; then
    pass installed_refgw_should_start_from_the_shipped_description
else
    fail installed_refgw_should_start_from_the_shipped_description "exit $rc: $(tail -n 2 gw.out)"
fi
unset TAILGATE_SCENARIOS

# ---- man pages: render without warnings, and name every option each command's --help names
if command -v groff >/dev/null 2>&1; then
    bad=""
    for page in "$prefix"/share/man/man1/*.1; do
        warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        text=$(groff -man -Tutf8 "$page" 2>/dev/null | sed 's/.\x08//g')
        [ -z "$warn" ] && [[ $text == *NAME* ]] || bad="$bad $(basename "$page"): ${warn:-no NAME}"
    done
    [ -z "$bad" ] && pass man_pages_should_render || fail man_pages_should_render "$bad"
else
    skip man_pages_should_render "groff not installed (apt-get install groff-base)"
fi
bad=""
while read -r page args; do
    # shellcheck disable=SC2086
    help=$(tailgate $args --help 2>&1)
    man=$(sed 's/\\-/-/g' "$prefix/share/man/man1/$page.1") # troff's \- is a plain -
    for opt in $(echo "$help" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        [[ $man == *"$opt"* ]] || bad="$bad $page:$opt"
    done
done <<'EOF'
tailgate
tailgate-run run
tailgate-scenarios scenarios
tailgate-mock mock
tailgate-profiles profiles
tailgate-chaos-proxy chaos proxy
tailgate-chaos-client chaos client
tailgate-report report
tailgate-compare compare
tailgate-merge merge
EOF
[ -z "$bad" ] && pass man_pages_should_name_every_option_of_the_help ||
    fail man_pages_should_name_every_option_of_the_help "not in the page:$bad"

# ---- completion: bash for real (the function, as readline calls it); zsh: it loads
comp=$(bash --norc --noprofile -c '
source "$1/share/bash-completion/completions/tailgate" || exit 1
t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _tailgate; echo "${COMPREPLY[*]}"; }
t tailgate r; t tailgate run --di; t tailgate run tab; t tailgate run c; t tailgate chaos c
t tailgate mock --profile vendor-a-p' _ "$prefix" 2>&1)
want=$'run report\n--direct\ntab-close\nci completions-tab-close control\nclient\nvendor-a-pre vendor-a-post'
if [ "$comp" = "$want" ]; then
    pass bash_completion_should_complete_commands_options_and_scenario_names
else
    fail bash_completion_should_complete_commands_options_and_scenario_names \
        "got $(echo "$comp" | tr '\n' '|'), wanted $(echo "$want" | tr '\n' '|')"
fi
if command -v zsh >/dev/null 2>&1; then
    zout=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -D &&
        print -r -- ${_comps[tailgate]}' _ "$prefix/share/zsh/site-functions" 2>&1)
    if zsh -n "$prefix/share/zsh/site-functions/_tailgate" && [ "$zout" = _tailgate ]; then
        pass zsh_completion_should_load_for_tailgate
    else
        fail zsh_completion_should_load_for_tailgate "compinit gave '$zout'"
    fi
else
    skip zsh_completion_should_load_for_tailgate "zsh not installed (apt-get install zsh)"
fi

# ---- DESTDIR staging, then uninstall removes every file install put there
cd "$root"
dest=$tmp/dest
if make -s install BUILD="$build" PREFIX=/usr/local DESTDIR="$dest" -o "$build/tailgate" \
    -o "$build/refgw" >"$tmp/destdir.out" 2>&1 && [ -x "$dest/usr/local/bin/tailgate" ] &&
    make -s uninstall PREFIX=/usr/local DESTDIR="$dest" >>"$tmp/destdir.out" 2>&1; then
    left=$(find "$dest" -type f | head -n 3)
    [ -z "$left" ] && pass uninstall_should_remove_every_file_install_put ||
        fail uninstall_should_remove_every_file_install_put "left: $left"
else
    fail uninstall_should_remove_every_file_install_put "$(tail -n 3 "$tmp/destdir.out")"
fi
exit $status
