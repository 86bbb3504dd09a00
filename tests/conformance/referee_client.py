#!/usr/bin/env python3
"""The referee's user: one streaming chat-completions request over a raw socket, then one action.

Sends POST /v1/chat/completions (stream: true) to the gateway, reads until K tokens have arrived
(` tok<digits>` counted in the raw bytes, so a token split across reads counts once it is whole),
then does exactly what a browser does on the wire (shared/CLIENTS.md):
  tab_close  drain what the kernel already holds without blocking, then close(): a FIN
  reset      SO_LINGER {on, 0} then close(): an RST
and records t_abort, the instant just before close(), on CLOCK_MONOTONIC (the upstream logs on
the same clock, so the join is exact). referee_run.py calls run_one() in its own process (no
interpreter starting or exiting while a gateway reacts); alone it prints one JSON line.
Standard library only.
"""
import argparse
import json
import re
import select
import socket
import struct
import sys
import time

TOKEN = re.compile(rb" tok\d+(?=\D)")


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def run_one(host, port, path, action, after_tokens, request_id, timeout_s):
    """One request and its action; returns the JSON-ready record (with "error" on failure)."""
    body = json.dumps({"model": "referee", "stream": True,
                       "messages": [{"role": "user", "content": "count"}]}).encode()
    req = (("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Accept: text/event-stream\r\nAuthorization: Bearer test\r\nX-Request-Id: %s\r\n"
            "Content-Length: %d\r\n\r\n") % (path, host, port, request_id, len(body))).encode()
    s = socket.create_connection((host, port), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t_send = now()
    s.sendall(req + body)
    got = b""
    deadline = t_send + timeout_s
    t_first = None
    while len(TOKEN.findall(got)) < after_tokens:
        left = deadline - now()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            s.close()
            return {"request_id": request_id, "error": "timeout",
                    "tokens_seen": len(TOKEN.findall(got))}
        data = s.recv(65536)
        if not data:
            s.close()
            return {"request_id": request_id, "error": "eof before K tokens",
                    "tokens_seen": len(TOKEN.findall(got)), "head": got[:200].decode("latin-1")}
        if t_first is None:
            t_first = now()
        got += data
    t_k = now()
    if action == "tab_close":
        s.setblocking(False)
        while True:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                break
            if not data:
                break
            got += data
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t_abort = now()
    s.close()
    return {"request_id": request_id, "action": action, "t_send": t_send,
            "t_first_byte": t_first, "t_k": t_k, "t_abort": t_abort,
            "tokens_seen": len(TOKEN.findall(got))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="http://HOST:PORT of the gateway")
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--after-tokens", type=int, default=10, help="K")
    ap.add_argument("--action", choices=["tab_close", "reset"], required=True)
    ap.add_argument("--request-id", required=True)
    ap.add_argument("--timeout-s", type=float, default=20)
    a = ap.parse_args()
    m = re.match(r"http://([^:/]+):(\d+)$", a.url.rstrip("/"))
    if not m:
        sys.exit("--url: expected http://HOST:PORT")
    rec = run_one(m.group(1), int(m.group(2)), a.path, a.action, a.after_tokens, a.request_id,
                  a.timeout_s)
    print(json.dumps(rec))
    return 1 if "error" in rec else 0


if __name__ == "__main__":
    sys.exit(main())
