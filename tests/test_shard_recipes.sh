#!/usr/bin/env bash
# The sharding recipes as shipped: examples/k8s/*.yaml (the mock's Deployment and Service, the
# shards' Indexed Job, the merge's Job, their volume) and examples/ci/github-shards.yml parse,
# and name every field docs/sharding.md promises: completionMode Indexed with completions and
# parallelism N, JOB_COMPLETION_INDEX in --shard, the Service's name and port in --mock-url, the
# merge naming every shard's folder. The shell the pods and the merge job run is run, with a
# stub tailgate that prints its arguments, for every index. Prints PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
py=/usr/bin/python3
if ! "$py" -c 'import yaml' 2>/dev/null; then
    skip shard_recipes "python3 yaml is not installed (apt-get install python3-yaml)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "tailgate $*"\n' >"$tmp/bin/tailgate"
chmod +x "$tmp/bin/tailgate"

"$py" - "$tmp" <<'PY'
import os, re, subprocess, sys, yaml

tmp = sys.argv[1]
env = dict(os.environ, PATH=f"{tmp}/bin:" + os.environ["PATH"])
status = 0


def check(name, ok, why=""):
    global status
    print(f"PASS {name}" if ok else f"FAIL {name}: {why}")
    if not ok:
        status = 1


def load(path):
    try:
        return [d for d in yaml.safe_load_all(open(path)) if d]
    except Exception as e:  # a parse error is the test's finding
        check(f"{os.path.basename(path)}_should_parse", False, str(e))
        return []


def run(shell, script, extra):
    r = subprocess.run([shell, "-c", script], env=dict(env, **extra), capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout


docs = {}
for f in ("mock.yaml", "runs.yaml", "shards.yaml", "merge.yaml"):
    for d in load(f"examples/k8s/{f}"):
        docs[(d.get("kind"), d["metadata"]["name"])] = d
check("k8s_manifests_should_parse", len(docs) == 5, sorted(docs))

dep = docs.get(("Deployment", "tailgate-mock"), {})
svc = docs.get(("Service", "tailgate-mock"), {})
pvc = docs.get(("PersistentVolumeClaim", "tailgate-runs"), {})
shards = docs.get(("Job", "tailgate-shards"), {})
merge = docs.get(("Job", "tailgate-merge"), {})

# the mock: one replica serving on the port the Service names, the Service selecting it
mc = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
args = mc.get("args", [])
mock_port = int(args[args.index("--port") + 1]) if "--port" in args else None
sport = svc.get("spec", {}).get("ports", [{}])[0]
labels = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
check("mock_should_be_one_deployment_replica_serving_its_port",
      dep.get("spec", {}).get("replicas") == 1 and args[:1] == ["mock"] and
      mock_port == mc["ports"][0]["containerPort"] and "--admin-any" in args and
      "--admin-token" in args, f"{args}")
check("service_should_select_the_mock_and_name_its_port",
      svc.get("spec", {}).get("selector") == labels and sport.get("targetPort") in
      (mock_port, mc["ports"][0].get("name")) and sport.get("port"), f"{svc}")
mock_url = f'http://{svc["metadata"]["name"]}:{sport.get("port")}'

# the shards: an Indexed Job of N at once, pod I running shard I/N against the Service
js = shards.get("spec", {})
n = js.get("completions")
check("shards_should_be_an_indexed_job_of_n_at_once",
      js.get("completionMode") == "Indexed" and n and js.get("parallelism") == n, f"{js}")
sc = js.get("template", {}).get("spec", {}).get("containers", [{}])[0]
senv = {e["name"]: e.get("value", "") for e in sc.get("env", [])}
script = sc.get("args", [""])[0]
check("shards_should_take_their_index_from_job_completion_index",
      "JOB_COMPLETION_INDEX" in script and senv.get("SHARDS") == str(n), f"{script} {senv}")
got = []
for i in range(n or 0):
    rc, out = run("sh", script, dict(senv, JOB_COMPLETION_INDEX=str(i)))
    got.append((rc, out.splitlines()[0] if out else ""))
want = [(0, f"tailgate run --shard {i}/{n} --mock-url {mock_url} --gateway-url "
            f"{senv.get('GATEWAY_URL')} --seed 1 --out /runs/shard-{i} ci") for i in range(n or 0)]
check("shard_pods_should_run_their_shard_against_the_service", got == want, f"{got}")
mounts = {m["mountPath"] for m in sc.get("volumeMounts", [])}
claim = lambda j: [v.get("persistentVolumeClaim", {}).get("claimName")
                   for v in j.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])]
check("shards_and_merge_should_share_the_runs_volume",
      "/runs" in mounts and claim(shards) == claim(merge) == [pvc["metadata"]["name"]] and
      "ReadWriteMany" in pvc["spec"]["accessModes"], f"{mounts} {claim(shards)} {claim(merge)}")

# the merge: every shard's folder
mc2 = merge.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
rc, out = run("sh", mc2.get("args", [""])[0].replace("exec ", ""), {})
dirs = " ".join(f"/runs/shard-{i}" for i in range(n or 0))
check("merge_job_should_merge_every_shard", out.strip() ==
      f"tailgate merge {dirs} --out /runs/merged", out)

# GitHub Actions: a matrix of N shard jobs through the action, then a merge of N folders
wf = load("examples/ci/github-shards.yml")
wf = wf[0] if wf else {}
jobs = wf.get("jobs", {})
shard_job, merge_job = jobs.get("shard", {}), jobs.get("merge", {})
N = int(wf.get("env", {}).get("SHARDS", 0))
idx = shard_job.get("strategy", {}).get("matrix", {}).get("index")
step = next((s for s in shard_job.get("steps", []) if "tailgate" in s.get("uses", "")), {})
w = step.get("with", {})
check("gha_matrix_should_run_one_job_per_shard",
      idx == list(range(N)) and N > 1 and
      shard_job["strategy"].get("fail-fast") is False, f"{idx} {N}")
check("gha_shard_step_should_pass_shard_and_mock",
      w.get("args") == "--shard ${{ matrix.index }}/${{ env.SHARDS }}" and w.get("mock-url") and
      w.get("artifact-name") == "tailgate-shard-${{ matrix.index }}" and
      "TAILGATE_MOCK_TOKEN" in step.get("env", {}), f"{step}")
action = yaml.safe_load(open("action.yml"))
check("gha_shard_step_should_use_only_the_actions_inputs",
      set(w) <= set(action["inputs"]), f"{sorted(set(w) - set(action['inputs']))}")
dl = next((s for s in merge_job.get("steps", []) if "download-artifact" in s.get("uses", "")), {})
mstep = next((s for s in merge_job.get("steps", []) if "tailgate merge" in s.get("run", "")), {})
rc, out = run("bash", mstep.get("run", ""), {"SHARDS": str(N)})
dirs = " ".join(f"shards/tailgate-shard-{i}" for i in range(N))
check("gha_merge_should_follow_every_shard_and_merge_them",
      merge_job.get("needs") == "shard" and merge_job.get("if") == "always()" and
      dl.get("with", {}).get("pattern") == "tailgate-shard-*" and
      out.strip() == f"tailgate merge {dirs} --out merged", f"{merge_job.get('needs')} {out}")

# the docs promise what the manifests hold
doc = open("docs/sharding.md").read()
for word in ("completionMode: Indexed", "JOB_COMPLETION_INDEX", mock_url, "tailgate merge",
             "examples/k8s/shards.yaml", "examples/k8s/merge.yaml", "examples/k8s/mock.yaml",
             "examples/ci/github-shards.yml", "TAILGATE_MOCK_TOKEN", "?scope="):
    check("docs_should_name_" + re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_"),
          word in doc, f"docs/sharding.md does not say '{word}'")
sys.exit(status)
PY
