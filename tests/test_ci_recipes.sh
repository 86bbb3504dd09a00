#!/usr/bin/env bash
# The CI recipes as written: action.yml's steps run in order the way a GitHub runner runs a
# composite action (its `if:` conditions, ${{ }} expressions, GITHUB_OUTPUT, GITHUB_PATH,
# GITHUB_STEP_SUMMARY; `uses:` steps are checked, not run), against the built tailgate; the
# GitLab example's script with its variables; the Dockerfile built where a container engine
# works. Prints PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-$root/build}
py=/usr/bin/python3
. tests/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tg_clear_env GITHUB_ACTIONS
mkdir -p "$tmp/lib" "$tmp/bin"
ln -s "$build/tailgate" "$tmp/bin/tailgate"
# short scenarios: one whose gate holds, one whose gate cannot
tg_quick_scenario "$tmp/lib/quick.json"
sed 's/"quick"/"strict"/; s/min>=20/min>=21/' "$tmp/lib/quick.json" >"$tmp/lib/strict.json"

have_yaml=1
"$py" -c 'import yaml' 2>/dev/null || have_yaml=0

# ---- the action: emulate.py ACTION WORKDIR INPUTS_JSON -> a JSON report of every step
cat >"$tmp/emulate.py" <<'EOF'
import json, os, re, subprocess, sys, yaml

action_file, work, given = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
action = yaml.safe_load(open(action_file))
inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
unknown = sorted(set(given) - set(inputs))
if unknown:
    sys.exit(f"inputs the action does not declare: {unknown}")
inputs.update(given)
runner_temp = os.path.join(work, "runner-temp")
os.makedirs(runner_temp, exist_ok=True)
files = {n: os.path.join(work, n.lower()) for n in
         ("GITHUB_OUTPUT_DIR", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV")}
for n in ("GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV"):
    open(files[n], "w").close()
steps_out, report, failed = {}, [], False
ctx = {"runner.temp": runner_temp, "github.action_path": os.path.dirname(os.path.abspath(action_file)),
       "github.workspace": work}

def value(name):
    if name.startswith("inputs."):
        if name[7:] not in inputs:
            raise SystemExit(f"expression names an undeclared input: {name}")
        return inputs[name[7:]]
    m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", name)
    if m:
        return steps_out.get(m[1], {}).get(m[2], "")
    if name in ctx:
        return ctx[name]
    raise SystemExit(f"expression names something this emulator does not know: {name}")

def evaluate(expr):
    # GitHub's expression subset the action uses: literals, context names, == != && || ! ( )
    tokens = re.findall(r"'(?:[^']|'')*'|always\(\)|success\(\)|failure\(\)|[\w.-]+|==|!=|&&|\|\||!|\(|\)", expr)
    if "".join(tokens).replace(" ", "") != expr.replace(" ", ""):
        raise SystemExit(f"cannot read expression: {expr}")
    out = []
    for t in tokens:
        if t.startswith("'"):
            out.append(repr(t[1:-1].replace("''", "'")))
        elif t == "always()":
            out.append("True")
        elif t == "success()":
            out.append(str(not failed))
        elif t == "failure()":
            out.append(str(failed))
        elif t in ("true", "false"):
            out.append(str(t == "true"))
        elif t in ("==", "!=", "(", ")"):
            out.append(t)
        elif t == "&&":
            out.append(" and ")
        elif t == "||":
            out.append(" or ")
        elif t == "!":
            out.append(" not ")
        else:
            out.append(repr(value(t)))
    return eval("".join(out), {"__builtins__": {}})

def subst(text):
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: str(evaluate(m[1])), str(text))

def read_kv(path):
    out, lines = {}, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"([^=<]+)<<(.+)$", line)
        if m:
            j = lines.index(m[2], i + 1)
            out[m[1]] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        i += 1
    return out

path_prefix = []
extra_env = {}
for n, step in enumerate(action["runs"]["steps"]):
    cond = step.get("if", "success()")
    cond = re.sub(r"^\$\{\{\s*(.*?)\s*\}\}$", r"\1", str(cond))
    # GitHub: a condition without a status function gets success() && in front
    if not re.search(r"always\(\)|success\(\)|failure\(\)|cancelled\(\)", cond):
        cond = f"success() && ({cond})"
    entry = {"name": step.get("name", f"step {n}"), "id": step.get("id")}
    if not evaluate(cond):
        entry["ran"] = False
        report.append(entry)
        continue
    entry["ran"] = True
    if "uses" in step:
        entry["uses"] = step["uses"]
        entry["with"] = {k: subst(v) for k, v in step.get("with", {}).items()}
        report.append(entry)
        continue
    out_file = os.path.join(work, f"output-{n}")
    open(out_file, "w").close()
    env = dict(os.environ)
    env.update(extra_env)
    env.update({"GITHUB_OUTPUT": out_file, "GITHUB_STEP_SUMMARY": files["GITHUB_STEP_SUMMARY"],
                "GITHUB_PATH": files["GITHUB_PATH"], "GITHUB_ENV": files["GITHUB_ENV"],
                "GITHUB_ACTION_PATH": ctx["github.action_path"], "RUNNER_TEMP": runner_temp,
                "CI": "true", "GITHUB_ACTIONS": "true"})
    env["PATH"] = ":".join(path_prefix + [env["PATH"]])
    for k, v in step.get("env", {}).items():
        env[k] = subst(v)
    if step.get("shell") != "bash":
        raise SystemExit(f"step '{entry['name']}': a composite run step needs shell: bash")
    script = os.path.join(work, f"step-{n}.sh")
    open(script, "w").write(subst(step["run"]))
    cwd = subst(step.get("working-directory", work))
    # GitHub's bash: bash --noprofile --norc -eo pipefail {0}
    p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd=cwd,
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    entry["rc"] = p.returncode
    entry["stderr"] = p.stderr[-2000:]
    if step.get("id"):
        steps_out[step["id"]] = read_kv(out_file)
    path_prefix = [l for l in open(files["GITHUB_PATH"]).read().splitlines() if l][::-1] + []
    extra_env = read_kv(files["GITHUB_ENV"])
    if p.returncode != 0:
        failed = True
    report.append(entry)

outputs = {k: subst(v.get("value", "")) for k, v in action.get("outputs", {}).items()}
json.dump({"steps": report, "failed": failed, "outputs": outputs,
           "summary": open(files["GITHUB_STEP_SUMMARY"]).read()}, sys.stdout)
EOF

# check.py REPORT OUT_DIR WANT_RC: "ok" or what is wrong
cat >"$tmp/check.py" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
out, want = sys.argv[2], int(sys.argv[3])
bad = []
byname = {s["name"]: s for s in r["steps"]}
ran = [s["name"] for s in r["steps"] if s["ran"]]
run = next((s for s in r["steps"] if s.get("id") == "run"), None)
if run is None or not run["ran"] or run.get("rc") != want:
    bad.append(f"run step: {run and run.get('rc')} (wanted exit {want}) {run and run.get('stderr', '')[-300:]}")
if r["outputs"].get("exit-code") != str(want):
    bad.append(f"exit-code output {r['outputs'].get('exit-code')!r}")
if r["outputs"].get("out") != os.path.realpath(out):
    bad.append(f"out output {r['outputs'].get('out')!r}, wanted {os.path.realpath(out)!r}")
if r["failed"] != (want != 0):
    bad.append(f"job failed={r['failed']}")
try:
    summary = open(os.path.join(out, "summary.md")).read()
except OSError as e:
    summary = None
    bad.append(f"no summary.md: {e}")
if summary is not None and r["summary"] != summary:
    bad.append(f"job summary is not summary.md: {r['summary'][:200]!r}")
ups = [s for s in r["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
if len(ups) != 1 or not ups[0]["ran"] or ups[0]["with"].get("path") != out or \
        not os.path.isfile(os.path.join(ups[0]["with"]["path"], "results.json")):
    bad.append(f"upload step: {ups}")
junit = [s for s in r["steps"] if s.get("uses", "").startswith("mikepenz/action-junit-report@")]
if len(junit) != 1 or not junit[0]["ran"] or \
        not os.path.isfile(junit[0]["with"].get("report_paths", "")):
    bad.append(f"junit step: {junit}")
skipped = [s["name"] for s in r["steps"] if not s["ran"]]
if skipped != ["Install tailgate's build dependencies", "Build and install tailgate"]:
    bad.append(f"skipped steps {skipped}")
print("; ".join(bad) or "ok")
EOF

if [ "$have_yaml" = 0 ]; then
    for t in action_should_run_its_steps_as_written action_should_keep_a_failing_exit_code_and_still_report \
        gitlab_example_should_run_its_script_and_keep_junit; do
        skip "$t" "$py has no yaml module (scripts/deps.sh tools installs python3-yaml)"
    done
else
    # every run block is valid bash, the install steps too (they need apt-get and a build: not run)
    bad=""
    while IFS= read -r -d '' block; do
        printf '%s' "$block" | bash -n 2>"$tmp/syntax" || bad="$bad $(head -n 1 "$tmp/syntax")"
    done < <("$py" -c '
import sys, yaml
for s in yaml.safe_load(open(sys.argv[1]))["runs"]["steps"]:
    if "run" in s:
        sys.stdout.write(s["run"] + "\0")' action.yml)
    [ -n "$bad" ] && fail action_steps_should_be_valid_bash "$bad" || pass action_steps_should_be_valid_bash

    work=$tmp/gh-pass
    mkdir -p "$work"
    (cd "$work" && PATH="$tmp/bin:$PATH" timeout -k 5 120 "$py" "$tmp/emulate.py" "$root/action.yml" \
        "$work" "{\"install\": \"false\", \"direct\": \"true\", \"scenarios\": \"quick\",
        \"scenario-folders\": \"$tmp/lib\", \"out\": \"$work/run\", \"seed\": \"5\"}") \
        >"$tmp/pass.json" 2>"$tmp/pass.err"
    res=$("$py" "$tmp/check.py" "$tmp/pass.json" "$work/run" 0 2>&1)
    seed=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"])' \
        "$work/run/results.json" 2>&1)
    if [ "$res" = ok ] && [ "$seed" = 5 ]; then
        pass action_should_run_its_steps_as_written
    else
        fail action_should_run_its_steps_as_written "$res; seed $seed; $(tail -n 3 "$tmp/pass.err")"
    fi

    work=$tmp/gh-fail
    mkdir -p "$work"
    (cd "$work" && PATH="$tmp/bin:$PATH" timeout -k 5 120 "$py" "$tmp/emulate.py" "$root/action.yml" \
        "$work" "{\"install\": \"false\", \"direct\": \"true\", \"scenarios\": \"quick strict\",
        \"scenario-folders\": \"$tmp/lib\", \"out\": \"$work/run\"}") \
        >"$tmp/fail.json" 2>"$tmp/fail.err"
    res=$("$py" "$tmp/check.py" "$tmp/fail.json" "$work/run" 1 2>&1)
    if [ "$res" = ok ]; then
        pass action_should_keep_a_failing_exit_code_and_still_report
    else
        fail action_should_keep_a_failing_exit_code_and_still_report "$res; $(tail -n 3 "$tmp/fail.err")"
    fi

    # GitLab: the job's script with its variables, the gateway pointed at the checkout's refgw
    # description and the suite at the short scenario; junit and artifacts where the run writes
    work=$tmp/gitlab
    mkdir -p "$work"
    "$py" - examples/ci/gitlab-ci.yml "$work/job.sh" "$root/examples/gateways/refgw-fixed.json" \
        >"$tmp/gitlab.check" 2>&1 <<'EOF'
import shlex, sys, yaml
job = yaml.safe_load(open(sys.argv[1]))["tailgate"]
v = dict(job["variables"])
v.update({"TAILGATE_GATEWAY": sys.argv[3], "TAILGATE_SUITE": "quick"})
bad = []
art = job["artifacts"]
if art.get("when") != "always":
    bad.append(f"artifacts.when {art.get('when')!r}")
if art.get("reports", {}).get("junit") != v["TAILGATE_OUT"] + "/junit.xml":
    bad.append(f"reports.junit {art.get('reports')!r}")
if v["TAILGATE_OUT"] + "/" not in art.get("paths", []):
    bad.append(f"paths {art.get('paths')!r}")
if job["image"].get("entrypoint") != [""]:
    bad.append("image.entrypoint must be [''] (the image's entrypoint is tailgate)")
with open(sys.argv[2], "w") as f:
    f.write("set -eo pipefail\n")
    for k, val in v.items():
        f.write(f"export {k}={shlex.quote(str(val))}\n")
    f.write("\n".join(job["script"]) + "\n")
print("; ".join(bad) or "ok")
EOF
    (cd "$work" && PATH="$tmp/bin:$PATH" TAILGATE_SCENARIOS="$tmp/lib" CI=true timeout -k 5 120 \
        bash "$work/job.sh" >"$work/job.out" 2>&1)
    rc=$?
    check=$(cat "$tmp/gitlab.check")
    if [ "$check" = ok ] && [ "$rc" = 0 ] && [ -s "$work/tailgate-run/junit.xml" ]; then
        pass gitlab_example_should_run_its_script_and_keep_junit
    else
        fail gitlab_example_should_run_its_script_and_keep_junit \
            "$check; exit $rc; $(tail -n 2 "$work/job.out")"
    fi
fi

# ---- the container recipe: its packages exist in bookworm, the runtime stage has the library
# of every shared object the binaries need, and it builds where an engine answers
pkgs=$(sed -n '/^FROM .* AS build/,/^FROM /p' Dockerfile | grep -oE '(zlib1g-dev|lib[a-z0-9.+-]+|build-essential|pkg-config)' | sort -u)
runtime=$(sed -n '/^FROM debian:bookworm-slim$/,$p' Dockerfile |
    sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\' '\n' | grep -vE '^(-|&&|apt-get|install|rm|$)' |
    grep -vE '^/var' | sort -u)
if [ "$(. /etc/os-release 2>/dev/null && echo "$VERSION_CODENAME")" = bookworm ] &&
    apt-cache show libc6 >/dev/null 2>&1; then
    bad=""
    # one apt-cache call and one dpkg call: each takes seconds on a loaded machine
    # shellcheck disable=SC2086
    known=$(apt-cache show --no-all-versions $pkgs $runtime 2>/dev/null | sed -n 's/^Package: //p')
    for p in $pkgs $runtime; do echo "$known" | grep -qx "$p" || bad="$bad $p(not in bookworm)"; done
    # the sanitizer runtimes of an ASan build folder are not the image's: it builds plain
    needed=$(readelf -d "$build/tailgate" "$build/refgw" 2>/dev/null |
        sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -vE '^lib(a|ub|l|t)san\.' | sort -u)
    # each library as ldd found it and under /usr (Debian lists some in /lib, some in /usr/lib)
    paths=$(ldd "$build/tailgate" "$build/refgw" 2>/dev/null | awk -v want="$(echo $needed)" '
        BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
        $2 == "=>" && ($1 in need) { p = $3; print p; sub("^/lib/", "/usr/lib/", p); print p }' |
        sort -u)
    # shellcheck disable=SC2086
    owned=$(dpkg -S $paths 2>/dev/null | sed -n 's/^\([^:]*\):[^:]*: \(.*\)$/\1 \2/p')
    for lib in $needed; do
        o=$(echo "$owned" | awk -v l="$lib" '{ n = split($2, p, "/"); if (p[n] == l) { print $1; exit } }')
        if [ -z "$o" ]; then
            bad="$bad $lib(no package owns it)"
        elif [ "$o" != libc6 ] && ! echo "$runtime" | grep -qx "$o"; then
            bad="$bad $lib($o not in the runtime stage)"
        fi
    done
    [ -z "$bad" ] && pass container_recipe_should_name_bookworm_packages_for_every_library ||
        fail container_recipe_should_name_bookworm_packages_for_every_library "$bad"
else
    skip container_recipe_should_name_bookworm_packages_for_every_library \
        "not a Debian bookworm host with apt lists (apt-get update)"
fi
engine_err=$(timeout -k 5 20 docker info 2>&1 >/dev/null)
if command -v docker >/dev/null 2>&1 && timeout -k 5 20 docker info >/dev/null 2>&1; then
    tag=tailgate-test:$$
    if timeout -k 5 900 docker build -q -t "$tag" . >"$tmp/docker.out" 2>&1 &&
        ver=$(timeout -k 5 60 docker run --rm "$tag" scenarios --names 2>&1) &&
        [[ $ver == *ci* ]] && [ "$(docker run --rm --entrypoint id "$tag" -u)" != 0 ]; then
        pass container_recipe_should_build
    else
        fail container_recipe_should_build "$(tail -n 5 "$tmp/docker.out") $ver"
    fi
    docker rmi -f "$tag" >/dev/null 2>&1
else
    reason=$(echo "${engine_err:-docker not installed}" | grep -v '^ *$' | tail -n 1)
    skip container_recipe_should_build "no container engine (docker info: $reason)"
fi
exit $status
