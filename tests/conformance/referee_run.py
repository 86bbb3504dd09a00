#!/usr/bin/env python3
"""Measures one gateway with the referee: its own upstream, the gateway started from a tailgate
gateway description (placeholders and 'files' rendered here, independently of tailgate), then R
requests, one at a time, for each action. Prints one JSON object: per action, every request's
referee tail (tokens the upstream generated after t_abort) and close lag (the close the upstream
saw, or the end of a stream read to the end, minus t_abort), and their medians.
A description with "http": "2" (an https:// url, "tls": {"ca_file": ...}) is measured over
HTTP/2 and TLS by referee_h2client.py (the h2 package): the tab_close requests are streams of one
connection, followed by one stream on it read to its end ("h2_connection" in the output); each
reset request drops its own connection. Otherwise standard library only; shares no code with
tailgate.
"""
import argparse
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import referee_client  # noqa: E402  (beside this file)


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout_s, what):
    deadline = now() + timeout_s
    while now() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout_s, what))


def subst(text, v):
    for k in ("PORT", "MOCK_URL", "MOCK_HOST", "MOCK_PORT", "GATEWAY_URL", "RUN_DIR"):
        text = text.replace("{{%s}}" % k, str(v[k]))
    return re.sub(r"\$\{([^}]+)\}", lambda m: os.environ.get(m.group(1), ""), text)


class Gateway:
    """The process a description names, in its own process group."""

    def __init__(self, desc_path, mock_port, run_dir, log_path):
        with open(desc_path) as f:
            d = json.load(f)
        v = {"PORT": free_port(), "MOCK_HOST": "127.0.0.1", "MOCK_PORT": mock_port,
             "MOCK_URL": "http://127.0.0.1:%d" % mock_port, "RUN_DIR": run_dir,
             "GATEWAY_URL": ""}
        self.url = subst(d["url"], v)
        v["GATEWAY_URL"] = self.url
        self.http = d.get("http", "1.1")
        self.ca_file = subst(d.get("tls", {}).get("ca_file", ""), v) or None
        base = os.path.dirname(os.path.abspath(desc_path))
        for f in d.get("files", []):
            with open(os.path.join(base, f["template"])) as t:
                text = subst(t.read(), v)
            dst = os.path.join(run_dir, f["path"])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "w") as o:
                o.write(text)
        env = dict(os.environ)
        for k, val in d.get("env", {}).items():
            env[k] = subst(val, v)
        argv = [subst(x, v) for x in d["command"]]
        self.ready_path = d.get("ready", {}).get("path")
        self.timeout_s = d.get("ready", {}).get("timeout_ms", 10000) / 1000.0
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=d.get("cwd") or None, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.ready, self.timeout_s, "gateway %s at %s" % (d.get("name"), self.url))

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("gateway exited with status %s before it was ready"
                               % self.proc.returncode)
        m = re.match(r"(https?)://([^:/]+):(\d+)", self.url)
        try:
            s = socket.create_connection((m.group(2), int(m.group(3))), timeout=1)
        except OSError:
            return False
        try:
            if not self.ready_path:
                return True
            if m.group(1) == "https":
                # the probe verifies the certificate as the measured client will
                ctx = ssl.create_default_context(cafile=self.ca_file)
                ctx.set_alpn_protocols(["http/1.1"])
                s = ctx.wrap_socket(s, server_hostname=m.group(2))
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                       % self.ready_path).encode())
            head = s.recv(64)
            return re.match(rb"HTTP/1\.[01] 2\d\d", head) is not None
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.log.close()


def upstream_records(path):
    recs = {}
    try:
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    r = json.loads(line)
                    recs[r["request_id"]] = r
    except FileNotFoundError:
        pass
    return recs


def main():
    # a SIGTERM (timeout, the suite's trap) unwinds through the finally below: no orphans
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateway", required=True, help="a tailgate gateway description")
    ap.add_argument("--out", required=True, help="a folder for logs and rendered files")
    ap.add_argument("--actions", default="tab_close,reset")
    ap.add_argument("--requests", type=int, default=5, help="R per action")
    ap.add_argument("--after-tokens", type=int, default=10, help="K")
    ap.add_argument("--tokens", type=int, default=200, help="N")
    ap.add_argument("--interval-ms", type=float, default=20, help="T")
    ap.add_argument("--ttft-ms", type=float, default=20, help="the first token")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    ulog = os.path.join(out, "upstream.jsonl")
    portf = os.path.join(out, "upstream.port")
    for p in (ulog, portf):
        if os.path.exists(p):
            os.remove(p)
    procs = []
    gw = None
    h2c = None
    try:
        up = subprocess.Popen([sys.executable, os.path.join(HERE, "referee_upstream.py"),
                               "--port-file", portf, "--log", ulog, "--tokens", str(a.tokens),
                               "--interval-ms", str(a.interval_ms), "--ttft-ms", str(a.ttft_ms)],
                              stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(up)
        wait_for(lambda: os.path.exists(portf), 10, "the referee upstream")
        with open(portf) as f:
            mock_port = int(f.read())
        gw = Gateway(a.gateway, mock_port, out, os.path.join(out, "gateway.log"))
        result = {"gateway": a.gateway, "actions": {}}
        # the end of a stream nobody stops, plus room for a loaded machine
        stream_s = a.tokens * a.interval_ms / 1000.0 + 5
        scheme, host, port = re.match(r"(https?)://([^:/]+):(\d+)", gw.url).groups()
        port = int(port)
        h2c = None  # HTTP/2: the connection the next stream goes on
        if gw.http == "2":
            import referee_h2client  # the h2 package: only these cases need it
        elif gw.http != "1.1":
            raise RuntimeError("http %r: the referee speaks 1.1 and 2 (over TLS)" % gw.http)
        for action in a.actions.split(","):
            rows = []
            for n in range(a.requests):
                rid = "ref-%s-%d-%d" % (action, os.getpid(), n)
                if gw.http == "2":
                    if h2c is None:
                        h2c = referee_h2client.H2Client(host, port, gw.ca_file, 10)
                    c = referee_h2client.run_one(h2c, "/v1/chat/completions", action,
                                                 a.after_tokens, rid, 10)
                    if "error" in c or action == "reset":
                        h2c.close()  # a reset dropped it; after an error it is not trusted
                        h2c = None
                else:
                    c = referee_client.run_one(host, port, "/v1/chat/completions", action,
                                               a.after_tokens, rid, 10)
                if "error" in c:
                    # kept and shown, left out of the medians: a gateway that hangs a request
                    # once in a while is a finding, not a reason to measure nothing
                    rows.append({"request_id": rid, "error": c["error"],
                                 "tokens_seen_by_client": c.get("tokens_seen")})
                    continue
                # one at a time: the next request starts once the upstream is done with this one
                u = wait_for(lambda: upstream_records(ulog).get(rid), stream_s,
                             "the upstream's record of %s" % rid)
                t_seen = u["t_close"] if u["close"] else u["t_end"]
                rows.append({"request_id": rid,
                             "tail_tokens": sum(1 for t in u["tokens"] if t["gen"] > c["t_abort"]),
                             "close_lag_ms": round((t_seen - c["t_abort"]) * 1000.0, 3),
                             "close_kind": u["close"] or "end",
                             # diagnostics: how the gateway paced the stream to the client
                             "first_byte_ms": round((c["t_first_byte"] - u["t_start"]) * 1e3, 3),
                             "k_delivery_ms": round(
                                 (c["t_k"] - u["tokens"][a.after_tokens - 1]["gen"]) * 1e3, 3),
                             "close_detail": u.get("close_detail", ""),
                             "tokens_seen_by_client": c["tokens_seen"]})
                if "connection" in c:
                    rows[-1].update(connection=c["connection"], stream_id=c["stream_id"])
            ok = [r for r in rows if "error" not in r]
            if len(ok) * 2 <= len(rows):
                raise RuntimeError("%s: %d of %d requests failed: %s" % (
                    action, len(rows) - len(ok), len(rows), rows))
            if h2c is not None and action == "tab_close":
                # the streams cancelled above shared one connection: one more stream on it, read
                # to its end, shows the gateway kept it for the other tabs (shared/CLIENTS.md)
                rid = "ref-%s-%d-end" % (action, os.getpid())
                e = referee_h2client.run_to_end(h2c, "/v1/chat/completions", rid, stream_s)
                e["connections_for_the_cancels"] = len({r["connection"] for r in ok})
                e["streams_on_it"] = len([r for r in ok if r["connection"] == e["connection"]]) + 1
                e["kept"] = bool(e["ended"] and e["done_marker"] and e["reset_by_peer"] is None
                                 and e["tokens_seen"] == a.tokens)
                result["h2_connection"] = e
                h2c.close()
                h2c = None
            result["actions"][action] = {
                "requests": rows,
                "failed_requests": len(rows) - len(ok),
                "median_tail_tokens": statistics.median(r["tail_tokens"] for r in ok),
                "median_close_lag_ms": statistics.median(r["close_lag_ms"] for r in ok)}
        print(json.dumps(result, indent=1))
        return 0
    except Exception as e:  # noqa: BLE001 (the h2 package's errors too): one JSON error
        print(json.dumps({"gateway": a.gateway, "error": str(e)}))
        return 1
    finally:
        if h2c is not None:
            h2c.close()
        if gw:
            gw.stop()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()


if __name__ == "__main__":
    sys.exit(main())
