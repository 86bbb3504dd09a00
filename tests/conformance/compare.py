#!/usr/bin/env python3
"""Compares the referee's measurements of one gateway with tailgate's (results.json) and prints
one PASS or FAIL line per action, plus one markdown table row per action to --rows.

For each action it takes the median over the R requests of each side (the median, so that one
request disturbed by a loaded machine does not decide the case) and asserts
    |tail_tailgate - tail_referee| <= 1 token  and  |lag_tailgate - lag_referee| <= 5 ms.
Standard library only; reads tailgate's output as plain JSON.
"""
import argparse
import json
import statistics
import sys

TAIL_TOL = 1
LAG_TOL_MS = 5.0


def tailgate_samples(results, action):
    """Per-request tail_tokens and close_lag_ms of the scenario whose users did 'action'."""
    tails, lags, kinds = [], [], []
    for s in results.get("scenarios", []):
        for q in s.get("requests_detail", []):
            if q.get("action") != action:
                continue
            if q.get("tail_tokens") is not None:
                tails.append(q["tail_tokens"])
            if q.get("close_lag_ms") is not None:
                lags.append(q["close_lag_ms"])
            kinds.append(q.get("close_kind", "?"))
    return tails, lags, kinds


def fmt(v, unit=""):
    return "-" if v is None else ("%g%s" % (round(v, 1), unit))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", required=True, help="the gateway's name in the test names")
    ap.add_argument("--referee", required=True, help="referee_run.py's JSON")
    ap.add_argument("--results", required=True, help="tailgate's results.json")
    ap.add_argument("--rows", required=True, help="markdown rows are appended here")
    ap.add_argument("--actions", default="tab_close,reset")
    a = ap.parse_args()
    try:
        with open(a.referee) as f:
            ref = json.load(f)
    except (OSError, ValueError) as e:
        ref = {"error": "cannot read %s: %s" % (a.referee, e)}
    try:
        with open(a.results) as f:
            tg = json.load(f)
    except (OSError, ValueError) as e:
        tg = {"error": "cannot read %s: %s" % (a.results, e)}
    status = 0
    rows = open(a.rows, "a")
    for action in a.actions.split(","):
        name = "conformance_%s_%s_should_agree_with_referee" % (a.case.replace("-", "_"), action)
        why = None
        r_tail = r_lag = t_tail = t_lag = None
        if "error" in ref:
            why = "referee: %s" % ref["error"]
        elif "error" in tg:
            why = "tailgate: %s" % tg["error"]
        else:
            ra = ref["actions"][action]
            r_tail, r_lag = ra["median_tail_tokens"], ra["median_close_lag_ms"]
            tails, lags, kinds = tailgate_samples(tg, action)
            if not tails or not lags:
                why = "tailgate measured no %s request (%d tails, %d lags)" % (
                    action, len(tails), len(lags))
            else:
                t_tail, t_lag = statistics.median(tails), statistics.median(lags)
                bad = []
                if abs(t_tail - r_tail) > TAIL_TOL:
                    bad.append("tail differs by more than %d" % TAIL_TOL)
                if abs(t_lag - r_lag) > LAG_TOL_MS:
                    bad.append("close lag differs by more than %g ms" % LAG_TOL_MS)
                if bad:
                    why = "%s: referee tail %g lag %.1f ms %s, tailgate tail %g lag %.1f ms %s" % (
                        "; ".join(bad), r_tail, r_lag,
                        [(q["tail_tokens"], q["close_lag_ms"], q["close_kind"])
                         if "error" not in q else q["error"] for q in ra["requests"]],
                        t_tail, t_lag, list(zip(tails, lags, kinds)))
        verdict = "agree" if why is None else ("**disagree**" if t_tail is not None else "error")
        rows.write("| %s | %s | %s | %s | %s | %s | %s |\n" % (
            a.case, action, fmt(r_tail), fmt(t_tail), fmt(r_lag, " ms"), fmt(t_lag, " ms"),
            verdict))
        if why is None:
            print("PASS %s" % name)
        else:
            print("FAIL %s %s" % (name, why))
            status = 1
    rows.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
