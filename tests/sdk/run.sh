#!/usr/bin/env bash
# Real-client tests with the official npm SDKs against `tailgate mock`: openai and @anthropic-ai/sdk
# (sdk.test.mjs), then @google/genai and the Vercel AI SDK with its openai, anthropic and google
# providers (workloads.test.mjs), then the openai SDK's legacy completions, its AzureOpenAI client
# and the ollama client (vendors.test.mjs), then @aws-sdk/client-bedrock-runtime and the AI SDK's
# amazon-bedrock provider (bedrock.test.mjs). Installs the pinned dependencies (package-lock.json)
# with `npm ci` when a package of package.json is missing from node_modules or is at another
# version, then runs every file; the exit status is 1 when any failed.
# TAILGATE_BIN may point at the binary (default: ../../tailgate relative to this folder).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "FAIL sdk_prerequisites node/npm not found: run 'apt-get install -y nodejs npm'"
  exit 1
fi

# every dependency of package.json installed at its pinned version (a relative path, so a package's
# "exports" map does not hide its package.json)
installed() {
  node -e '
    const deps = require("./package.json").dependencies;
    for (const [name, want] of Object.entries(deps)) {
      let got = null;
      try { got = require(`./node_modules/${name}/package.json`).version; } catch {}
      if (got !== want) process.exit(1);
    }' 2>/dev/null
}

if ! installed; then
  if ! npm ci --no-audit --no-fund >npm-ci.log 2>&1; then
    echo "FAIL sdk_npm_ci npm ci failed (tests/sdk/npm-ci.log):"
    tail -n 20 npm-ci.log >&2
    exit 1
  fi
fi

rc=0
node sdk.test.mjs "$@" || rc=1
node workloads.test.mjs "$@" || rc=1
node vendors.test.mjs "$@" || rc=1
node bedrock.test.mjs "$@" || rc=1
exit "$rc"
