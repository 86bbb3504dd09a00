#!/usr/bin/env bash
# Real-client tests with the official npm SDKs (openai, @anthropic-ai/sdk) against `tailgate mock`.
# Installs the pinned dependencies (package-lock.json) when node_modules is missing, then runs the cases.
# TAILGATE_BIN may point at the binary (default: ../../tailgate relative to this folder).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "FAIL sdk_prerequisites node/npm not found: run 'apt-get install -y nodejs npm'"
  exit 1
fi

if [ ! -d node_modules/openai ] || [ ! -d node_modules/@anthropic-ai/sdk ] || [ ! -d node_modules/undici ]; then
  if ! npm ci --no-audit --no-fund >npm-ci.log 2>&1; then
    echo "FAIL sdk_npm_ci npm ci failed (tests/sdk/npm-ci.log):"
    tail -n 20 npm-ci.log >&2
    exit 1
  fi
fi

exec node sdk.test.mjs "$@"
