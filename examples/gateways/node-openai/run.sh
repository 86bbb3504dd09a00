#!/usr/bin/env bash
# Installs the pinned dependencies (package-lock.json) of the Node gateway example when
# node_modules is missing. Start the gateway with `node server.mjs` (see naive.json, fixed.json).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: run 'apt-get install -y nodejs npm'" >&2
  exit 1
fi

if [ ! -d node_modules/express ] || [ ! -d node_modules/openai ]; then
  if ! npm ci --no-audit --no-fund >npm-ci.log 2>&1; then
    echo "npm ci failed (examples/gateways/node-openai/npm-ci.log):" >&2
    tail -n 20 npm-ci.log >&2
    exit 1
  fi
fi
