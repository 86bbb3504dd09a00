#!/usr/bin/python3
"""Drives mockprov's vendor APIs as a browser's tabs would, on its own wire code (python3-h2 for
HTTP/2, a raw socket for HTTP/1.1), for tests/test_mock_h2.sh: two streams of one API, a long
one (A) and a short one (B). After A's first token arrives its user leaves: tab_close is
RST_STREAM(CANCEL) on A over HTTP/2 (the connection stays and B reads to its end) and a FIN of
A's own connection over HTTP/1.1; reset drops the TCP connection with an RST (over HTTP/2 that is
both streams). Then it reads both ledger records back (the admin API, HTTP/1.1) once they are
done and prints one line each: "a: close_kind close_code protocol stop_reason" and for B the
same plus generated_tokens and written_tokens.

usage: mock_h2_client.py PROTO PORT API ACTION PREFIX [CA_FILE]
  PROTO h1|h2c|h2 (h2: TLS with ALPN h2; its admin calls trust CA_FILE), API
  chat|responses|messages, ACTION tab_close|reset; correlation ids are PREFIX-a and PREFIX-b
  (X-Request-Id)."""
import json
import socket
import ssl
import struct
import sys
import time
import urllib.request

import h2client

PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses",
         "messages": "/v1/messages"}
LONG, SHORT = 2000, 40


def short(action):
    """B's length: short enough to end within the test when it reads to its end, long enough
    to be still streaming when a reset drops it."""
    return SHORT if action == "tab_close" else LONG


def body(api):
    if api == "chat":
        b = {"model": "gpt-4o-mini", "stream": True,
             "messages": [{"role": "user", "content": "hi"}]}
    elif api == "responses":
        b = {"model": "gpt-4o-mini", "stream": True, "input": "hi"}
    else:
        b = {"model": "claude-3-5-haiku-latest", "max_tokens": 4096, "stream": True,
             "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps(b).encode()


def headers(api, cid, length):
    h = [("content-type", "application/json"), ("x-request-id", cid),
         ("x-tailgate-length", str(length)), ("x-tailgate-tps", "200"),
         ("x-tailgate-ttft-ms", "0")]
    if api == "messages":
        h.append(("anthropic-version", "2023-06-01"))
    return h


def rst_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def h2_run(port, tls, api, action, prefix):
    sock, conn = h2client.connect(port, tls)
    streams = {}
    ids = []
    for cid, length in ((prefix + "-a", LONG), (prefix + "-b", short(action))):
        sid = conn.get_next_available_stream_id()
        b = body(api)
        hs = [(":method", "POST"), (":path", PATHS[api]),
              (":scheme", "https" if tls else "http"), (":authority", "127.0.0.1"),
              ("content-length", str(len(b)))] + headers(api, cid, length)
        conn.send_headers(sid, hs)
        conn.send_data(sid, b, end_stream=True)
        streams[sid] = h2client.Stream()
        ids.append(sid)
    sock.sendall(conn.data_to_send())
    a, b = streams[ids[0]], streams[ids[1]]
    h2client.pump(sock, conn, streams, lambda: len(a.body) > 0)
    if action == "reset":
        rst_close(sock)
        print("done")
        return
    conn.reset_stream(ids[0], error_code=8)
    sock.sendall(conn.data_to_send())
    h2client.pump(sock, conn, streams, lambda: b.ended)
    print("sibling status %s ended %s" % (b.status, b.ended))
    sock.close()
    print("done")


def h1_open(port, api, cid, length):
    sock = socket.create_connection(("127.0.0.1", port), timeout=h2client.TIMEOUT)
    b = body(api)
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (PATHS[api], len(b))
    head += "".join("%s: %s\r\n" % kv for kv in headers(api, cid, length)) + "\r\n"
    sock.sendall(head.encode() + b)
    return sock


def h1_run(port, api, action, prefix):
    a = h1_open(port, api, prefix + "-a", LONG)
    b = h1_open(port, api, prefix + "-b", short(action))
    if not a.recv(65536):
        sys.exit("A: no response")
    if action == "reset":
        rst_close(a)
        rst_close(b)
        print("done")
        return
    a.shutdown(socket.SHUT_WR)  # a closed tab over HTTP/1.1: its connection's FIN
    a.close()
    got = b""
    while not (b"\r\n0\r\n" in got and got.endswith(b"\r\n\r\n")):  # to B's last chunk
        d = b.recv(65536)
        if not d:
            break
        got += d
    print("sibling ended %s" % got.endswith(b"\r\n\r\n"))
    b.close()
    print("done")


def records(port, prefix, ca):
    """Both records once done (20 s at most), by correlation id."""
    scheme = "https" if ca else "http"
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    got = {}
    deadline = time.monotonic() + 20
    while len(got) < 2 and time.monotonic() < deadline:
        for side in ("a", "b"):
            url = "%s://127.0.0.1:%d/_tailgate/ledger?correlation_id=%s-%s" % (
                scheme, port, prefix, side)
            with urllib.request.urlopen(url, timeout=5, context=ctx) as r:
                rs = json.load(r)["records"]
            if len(rs) == 1 and rs[0]["state"] == "done":
                got[side] = rs[0]
        if len(got) < 2:
            time.sleep(0.02)
    for side in ("a", "b"):
        r = got.get(side)
        if r is None:
            print("%s: not done" % side)
            continue
        line = "%s: %s %s %s %s" % (side, r["close_kind"], r["close_code"], r["protocol"],
                                    r["stop_reason"])
        if side == "b":
            line += " %d %d" % (r["generated_tokens"], r["written_tokens"])
        print(line)


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    proto, port, api, action, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4], sys.argv[5]
    ca = sys.argv[6] if len(sys.argv) == 7 else None
    if proto == "h1":
        h1_run(port, api, action, prefix)
    else:
        h2_run(port, proto == "h2", api, action, prefix)
    sys.stdout.flush()
    records(port, prefix, ca)


if __name__ == "__main__":
    main()
