# Sourced by the shell tests (tests/test_*.sh): their PASS/FAIL/SKIP lines, the TAILGATE_*
# settings of the caller's environment cleared (a test must not run on what the user exported),
# and a short scenario for runs that check a setting rather than a suite.
status=0
pass() { echo "PASS $1"; }
fail() { # name, why
    echo "FAIL $1: $2"
    status=1
}
skip() { echo "SKIP $1: $2"; }

tg_clear_env() {
    for v in TAILGATE_SCENARIOS TAILGATE_OUT TAILGATE_SEED TAILGATE_MOCK_URL TAILGATE_GATEWAY \
        TAILGATE_GATEWAY_URL TAILGATE_FLOOR TAILGATE_REFGW TAILGATE_MOCK_TOKEN "$@"; do
        unset "$v"
    done
}

# tg_quick_scenario FILE: four users read a 20-token answer to the end; its gate holds
tg_quick_scenario() {
    cat >"$1" <<'JSON'
{"name": "quick", "description": "Four users read a short answer to the end.",
 "api": "openai-chat", "profile": "vendor-b-post",
 "model": {"ttft_ms": 10, "tps": 500, "length": 20},
 "traffic": {"requests": 4, "concurrency": 4},
 "users": [{"action": "complete", "weight": 1}], "settle_ms": 300,
 "gates": {"delivered_tokens": ["min>=20"]}}
JSON
}
