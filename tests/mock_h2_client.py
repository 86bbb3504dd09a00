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
  chat|responses|messages|gemini|completions|azure|ollama, ACTION tab_close|reset|goaway|stall; correlation ids are PREFIX-a
  and PREFIX-b (X-Request-Id). goaway: the connection ends in order after a GOAWAY. stall (h2c):
  one 200-token stream under a window never given back, then given back."""
import json
import re
import socket
import ssl
import struct
import sys
import time
import urllib.request

import h2client

PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses",
         "messages": "/v1/messages",
         "gemini": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
         "completions": "/v1/completions",
         "azure": "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
         "ollama": "/api/chat"}
LONG, SHORT = 2000, 40
WINDOW = 2000


def short(action):
    """B's length: short enough to end within the test when it reads to its end, long enough
    to be still streaming when the connection goes."""
    return SHORT if action == "tab_close" else LONG


def tokens_in(api, body):
    """Complete token events in an SSE body (NDJSON lines for Ollama): what the mock counts as
    written."""
    # chat's first chunk: role, content ""; Gemini's last chunk: an empty text part
    key = {"chat": rb'"content":"[^"]', "responses": rb'"type":"response\.output_text\.delta"',
           "messages": rb'"type":"text_delta"', "gemini": rb'"text":" tok',
           "completions": rb'"text":" tok', "azure": rb'"content":"[^"]',
           "ollama": rb'"content":" tok'}[api]
    sep = b"\n" if api == "ollama" else b"\n\n"
    events = body.split(sep)[:-1]  # the last piece is cut off or empty
    return sum(1 for e in events if re.search(key, e))


def h2_stall(port, api, prefix):
    """One stream read under a window of WINDOW bytes never given back: the mock can send that
    much and no more. Prints the token events that arrived, then waits for the ledger to say
    generation ended, gives the window back and reads to the end."""
    sock, conn = h2client.connect(port, False, window=WINDOW)
    b = body(api)
    sid = conn.get_next_available_stream_id()
    hs = [(":method", "POST"), (":path", PATHS[api]), (":scheme", "http"),
          (":authority", "127.0.0.1"), ("content-length", str(len(b)))] + \
        headers(api, prefix + "-a", 200)
    conn.send_headers(sid, hs)
    conn.send_data(sid, b, end_stream=True)
    sock.sendall(conn.data_to_send())
    st = h2client.Stream()
    h2client.pump(sock, conn, {sid: st}, lambda: len(st.body) >= WINDOW, acked=False)
    print("stalled tokens %d" % tokens_in(api, st.body))
    sys.stdout.flush()
    return sock, conn, sid, st


def h2_trailer(port, prefix):
    """A background Responses stream of a vendor that tells a cancelled stream's count only in
    an HTTP trailer (vendor-a-post), cancelled through POST /v1/responses/{id}/cancel on the
    same connection: over HTTP/2 the trailer is a HEADERS frame after the last DATA. Prints it
    and the record's view of the same count."""
    sock, conn = h2client.connect(port, False)
    b = json.dumps({"model": "gpt-4o-mini", "stream": True, "background": True,
                    "input": "hi"}).encode()
    sid = conn.get_next_available_stream_id()
    hs = [(":method", "POST"), (":path", "/v1/responses"), (":scheme", "http"),
          (":authority", "127.0.0.1"), ("content-length", str(len(b))),
          ("x-tailgate-profile", "vendor-a-post")] + headers("responses", prefix + "-a", LONG)
    conn.send_headers(sid, hs)
    conn.send_data(sid, b, end_stream=True)
    sock.sendall(conn.data_to_send())
    st = h2client.Stream()
    streams = {sid: st}
    h2client.pump(sock, conn, streams, lambda: tokens_in("responses", st.body) >= 3)
    rid = re.search(rb'"id":"(resp_[^"]+)"', st.body).group(1).decode()
    cid = conn.get_next_available_stream_id()
    conn.send_headers(cid, [(":method", "POST"), (":path", "/v1/responses/%s/cancel" % rid),
                            (":scheme", "http"), (":authority", "127.0.0.1"),
                            ("content-length", "0")], end_stream=True)
    sock.sendall(conn.data_to_send())
    cancel = h2client.Stream()
    streams[cid] = cancel
    h2client.pump(sock, conn, streams, lambda: st.ended and cancel.ended)
    sock.close()
    print("cancel status %s trailer %s" % (cancel.status, (st.trailers or {}).get(
        "x-emitted-tokens-on-cancel")))
    url = "http://127.0.0.1:%d/_tailgate/ledger?correlation_id=%s-a" % (port, prefix)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=5) as f:
            r = json.load(f)["records"][0]
        if r["state"] == "done":
            break
        time.sleep(0.02)
    print("ledger %s %s usage_via %s usage_reported %s billed %s" % (
        r["close_kind"], r["protocol"], r["usage_via"], r["usage_reported"],
        r["billed_output_tokens"]))


def h2_unstall(sock, conn, sid, st, api):
    conn.increment_flow_control_window(1 << 20, stream_id=sid)
    conn.increment_flow_control_window(1 << 20)
    sock.sendall(conn.data_to_send())
    h2client.pump(sock, conn, {sid: st}, lambda: st.ended)
    print("unstalled tokens %d" % tokens_in(api, st.body))
    sock.close()


def body(api):
    if api == "chat":
        b = {"model": "gpt-4o-mini", "stream": True,
             "messages": [{"role": "user", "content": "hi"}]}
    elif api == "responses":
        b = {"model": "gpt-4o-mini", "stream": True, "input": "hi"}
    elif api == "gemini":  # the model and streaming are in the path
        b = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    elif api == "completions":
        b = {"model": "gpt-3.5-turbo-instruct", "stream": True, "prompt": "hi"}
    elif api == "azure":  # the deployment names the model
        b = {"stream": True, "messages": [{"role": "user", "content": "hi"}]}
    elif api == "ollama":  # streams by default
        b = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
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
    if action == "goaway":  # a browser closing the connection in order: GOAWAY, then FIN
        conn.close_connection(error_code=0)
        sock.sendall(conn.data_to_send())
        sock.shutdown(socket.SHUT_WR)
        # read (and drop) what the mock still sends until it closes: a close with unread bytes
        # would send an RST, which can overtake the GOAWAY, and the case is about a FIN
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        sock.close()
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


def stalled(port, prefix):
    """The stalled stream's record once its generation stopped (it goes on while the stream
    waits: the tokens queue in the mock), or once it is done."""
    deadline = time.monotonic() + 20
    r = None
    while time.monotonic() < deadline:
        url = "http://127.0.0.1:%d/_tailgate/ledger?correlation_id=%s-a" % (port, prefix)
        with urllib.request.urlopen(url, timeout=5) as f:
            rs = json.load(f)["records"]
        r = rs[0] if len(rs) == 1 else None
        if r and r["t_gen_stop_ns"] is not None:
            break
        time.sleep(0.02)
    print("ledger %s generated %s written %s" % (r and r["state"], r and r["generated_tokens"],
                                                 r and r["written_tokens"]))
    sys.stdout.flush()


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    proto, port, api, action, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4], sys.argv[5]
    ca = sys.argv[6] if len(sys.argv) == 7 else None
    if action == "trailer":
        h2_trailer(port, prefix)
        return
    if action == "stall":
        held = h2_stall(port, api, prefix)
        stalled(port, prefix)
        h2_unstall(*held, api)
        stalled(port, prefix)
        return
    if proto == "h1":
        h1_run(port, api, action, prefix)
    else:
        h2_run(port, proto == "h2", api, action, prefix)
    sys.stdout.flush()
    records(port, prefix, ca)


if __name__ == "__main__":
    main()
