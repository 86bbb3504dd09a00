#!/usr/bin/env bash
# A real Toxiproxy client (npm toxiproxy-node-client) against `tailgate chaos proxy --api`.
# Installs the pinned dependency (package-lock.json) when node_modules is missing, then runs the
# cases.
# TAILGATE_BIN may point at the binary (default: ../../tailgate relative to this folder).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "FAIL toxiproxy_prerequisites node/npm not found: run 'apt-get install -y nodejs npm'"
  exit 1
fi

if [ ! -d node_modules/toxiproxy-node-client ]; then
  if ! npm ci --no-audit --no-fund >npm-ci.log 2>&1; then
    echo "FAIL toxiproxy_npm_ci npm ci failed (tests/toxiproxy/npm-ci.log):"
    tail -n 20 npm-ci.log >&2
    exit 1
  fi
fi

exec node toxiproxy.test.mjs "$@"
