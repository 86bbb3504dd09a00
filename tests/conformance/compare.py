#!/usr/bin/env python3
"""Compares the referee's measurements of one gateway with tailgate's (results.json) and prints
one PASS or FAIL line per action, plus one markdown table row per action to --rows.

For each action it takes the median over the R requests of each side (the median, so that one
request disturbed by a loaded machine does not decide the case) and asserts
    |tail_tailgate - tail_referee| <= 1 token  and  |lag_tailgate - lag_referee| <= 5 ms.
A check can name the referee's action it compares with and the one tailgate scenario whose
requests count (--check LABEL=REFEREE_ACTION@SCENARIO, for the HTTP/2 cases, where tailgate
measures tab_close twice: with streams sharing the connection and with each stream alone on it).
--known-limit LABEL=REASON turns that check's disagreement into a SKIP line that gives the
reason and both sides' numbers (a limit of tailgate's own client, said out loud, never a PASS),
but only with that limit's signature: every one of tailgate's requests there ran to its end
(close_kind "none": the gateway never learnt of the reset). Any other disagreement is a FAIL,
an agreement a PASS.
Standard library only; reads tailgate's output as plain JSON.
"""
import argparse
import json
import statistics
import sys

TAIL_TOL = 1
LAG_TOL_MS = 5.0


def tailgate_samples(results, action, scenario=None):
    """Per-request tail_tokens and close_lag_ms of the requests whose users did 'action' (in
    the scenario named 'scenario' only, when given)."""
    tails, lags, kinds = [], [], []
    for s in results.get("scenarios", []):
        if scenario is not None and s.get("name") != scenario:
            continue
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
    ap.add_argument("--notes", help="a markdown line about the referee's HTTP/2 connection "
                    "(h2_connection) is appended here")
    ap.add_argument("--actions", default="tab_close,reset")
    ap.add_argument("--check", action="append", default=[],
                    help="LABEL=REFEREE_ACTION@SCENARIO: what the check LABEL in --actions "
                    "compares (default: the referee's LABEL with tailgate's LABEL requests)")
    ap.add_argument("--known-limit", action="append", default=[],
                    help="LABEL=REASON: a disagreement of LABEL is a SKIP with this reason")
    a = ap.parse_args()
    checks = {}
    for c in a.check:
        label, _, rest = c.partition("=")
        ref_action, _, scenario = rest.partition("@")
        checks[label] = (ref_action, scenario or None)
    known = dict(k.partition("=")[::2] for k in a.known_limit)
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
    for label in a.actions.split(","):
        action, scenario = checks.get(label, (label, None))
        name = "conformance_%s_%s_should_agree_with_referee" % (a.case.replace("-", "_"), label)
        why = None
        r_tail = r_lag = t_tail = t_lag = None
        if "error" in ref:
            why = "referee: %s" % ref["error"]
        elif "error" in tg:
            why = "tailgate: %s" % tg["error"]
        else:
            ra = ref["actions"][action]
            r_tail, r_lag = ra["median_tail_tokens"], ra["median_close_lag_ms"]
            tails, lags, kinds = tailgate_samples(tg, action, scenario)
            if not tails or not lags:
                why = "tailgate measured no %s request%s (%d tails, %d lags)" % (
                    action, " in " + scenario if scenario else "", len(tails), len(lags))
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
        limit = None
        if why is not None and t_tail is not None and all(k == "none" for k in kinds):
            limit = known.get(label)
        if limit:
            verdict = "known limit"
        rows.write("| %s | %s | %s | %s | %s | %s | %s |\n" % (
            a.case, label, fmt(r_tail), fmt(t_tail), fmt(r_lag, " ms"), fmt(t_lag, " ms"),
            verdict))
        if why is None:
            print("PASS %s" % name)
        elif limit:
            print("SKIP %s: %s (referee tail %g, close lag %.1f ms; tailgate tail %g, close lag "
                  "%.1f ms)" % (name, limit, r_tail, r_lag, t_tail, t_lag))
        else:
            print("FAIL %s %s" % (name, why))
            status = 1
    rows.close()
    h2 = ref.get("h2_connection")
    if a.notes and h2:
        # what the referee saw of the connection its cancels shared: a gateway's property
        # (Chromium's tabs keep using it), shown beside the verdicts rather than judged
        with open(a.notes, "a") as f:
            f.write("- %s, the referee over HTTP/2: %d streams reset with RST_STREAM(CANCEL) on "
                    "%d connection%s, then stream %d on connection %d: %s.\n" % (
                        a.case, h2["streams_on_it"] - 1, h2["connections_for_the_cancels"],
                        "" if h2["connections_for_the_cancels"] == 1 else "s",
                        h2["stream_id"], h2["connection"],
                        "read to its end (%d tokens and [DONE]): the gateway kept the "
                        "connection" % h2["tokens_seen"] if h2["kept"] else
                        "did not run to its end (status %s, %d tokens, stream reset %s, "
                        "connection %s)" % (h2["status"], h2["tokens_seen"],
                                            h2["reset_by_peer"], h2["connection_error"])))
    return status


if __name__ == "__main__":
    sys.exit(main())
