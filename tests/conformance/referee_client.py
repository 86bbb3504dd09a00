#!/usr/bin/env python3
"""The referee's user: one streaming chat-completions request over a raw socket, then one action.

Sends POST /v1/chat/completions (stream: true) to the gateway, reads until K tokens have arrived
(` tok<digits>` counted in the raw bytes, so a token split across reads counts once it is whole),
then does exactly what a browser does on the wire (shared/CLIENTS.md):
  tab_close  drain what the kernel already holds without blocking, then close(): a FIN
  reset      SO_LINGER {on, 0} then close(): an RST
and prints one JSON line with t_abort, the instant just before close(), on CLOCK_MONOTONIC (the
upstream logs on the same clock, so the join is exact). Standard library only.
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
    host, port = m.group(1), int(m.group(2))
    body = json.dumps({"model": "referee", "stream": True,
                       "messages": [{"role": "user", "content": "count"}]}).encode()
    req = (("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Accept: text/event-stream\r\nAuthorization: Bearer test\r\nX-Request-Id: %s\r\n"
            "Content-Length: %d\r\n\r\n") % (a.path, host, port, a.request_id, len(body))).encode()
    s = socket.create_connection((host, port), timeout=a.timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t_send = now()
    s.sendall(req + body)
    got = b""
    deadline = t_send + a.timeout_s
    t_first = None
    while len(TOKEN.findall(got)) < a.after_tokens:
        left = deadline - now()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            print(json.dumps({"request_id": a.request_id, "error": "timeout",
                              "tokens_seen": len(TOKEN.findall(got))}))
            s.close()
            return 1
        data = s.recv(65536)
        if not data:
            print(json.dumps({"request_id": a.request_id, "error": "eof before K tokens",
                              "tokens_seen": len(TOKEN.findall(got)),
                              "head": got[:200].decode("latin-1")}))
            s.close()
            return 1
        if t_first is None:
            t_first = now()
        got += data
    t_k = now()
    if a.action == "tab_close":
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
    print(json.dumps({"request_id": a.request_id, "action": a.action, "t_send": t_send,
                      "t_first_byte": t_first, "t_k": t_k, "t_abort": t_abort,
                      "tokens_seen": len(TOKEN.findall(got))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
