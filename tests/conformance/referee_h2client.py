#!/usr/bin/env python3
"""The referee's user over HTTP/2 and TLS: streaming chat-completions requests as streams of one
connection, then one action, as Chromium does it on the wire (shared/CLIENTS.md).

TLS by Python's ssl (ALPN h2, the certificate verified against --ca-file), HTTP/2 framing by the
h2 package (Debian python3-h2); no code shared with tailgate or with referee_client.py, whose
HTTP/1.1 actions these mirror:
  tab_close  process what the kernel already holds without blocking, then RST_STREAM(CANCEL) on
             that stream alone; the connection stays open and carries the next request
  reset      SO_LINGER {on, 0} then close() of the TCP connection: an RST, no RST_STREAM, no
             GOAWAY (a killed browser)
t_abort is the instant just before the RST_STREAM's bytes go to the kernel, or just before
close(), on CLOCK_MONOTONIC like the upstream's log. referee_run.py keeps one H2Client for the
tab_close requests (and ends them with a stream read to its end on the same connection, which
shows the connection survived the cancels) and a new one per reset request.
"""
import argparse
import json
import re
import select
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events

TOKEN = re.compile(rb" tok\d+(?=\D)")


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Stream:
    def __init__(self, sid):
        self.sid = sid
        self.data = bytearray()
        self.status = None
        self.ended = False
        self.reset_by_peer = None  # the error code of a peer's RST_STREAM
        self.t_first = None


class H2Client:
    """One TLS connection speaking HTTP/2 (ALPN h2) to host:port."""

    serial = 0

    def __init__(self, host, port, ca_file, timeout_s):
        H2Client.serial += 1
        self.serial = H2Client.serial
        self.host, self.port = host, port
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((host, port), timeout=timeout_s)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=host)
        except (OSError, ssl.SSLError):
            raw.close()
            raise
        if self.sock.selected_alpn_protocol() != "h2":
            proto = self.sock.selected_alpn_protocol()
            self.sock.close()
            raise OSError("ALPN chose %r, not h2" % proto)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.streams = {}
        self.terminated = None  # a GOAWAY's error code, or "eof" / "reset" for a TCP close
        self.closed = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, request_id):
        body = json.dumps({"model": "referee", "stream": True,
                           "messages": [{"role": "user", "content": "count"}]}).encode()
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = Stream(sid)
        self.conn.send_headers(sid, [
            (":method", "POST"), (":scheme", "https"),
            (":authority", "%s:%d" % (self.host, self.port)), (":path", path),
            ("content-type", "application/json"), ("accept", "text/event-stream"),
            ("authorization", "Bearer test"), ("x-request-id", request_id),
            ("content-length", str(len(body)))])
        self.conn.send_data(sid, body, end_stream=True)
        self.flush()
        return self.streams[sid]

    def _feed(self, data):
        for ev in self.conn.receive_data(data):
            st = self.streams.get(getattr(ev, "stream_id", None) or 0)
            if isinstance(ev, h2.events.ResponseReceived) and st:
                for k, v in ev.headers:
                    if k == ":status":
                        st.status = int(v)
            elif isinstance(ev, h2.events.DataReceived):
                # the window goes back at once: a reader that keeps up, as a browser tab
                if ev.flow_controlled_length:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if st:
                    if st.t_first is None:
                        st.t_first = now()
                    st.data += ev.data
            elif isinstance(ev, h2.events.StreamEnded) and st:
                st.ended = True
            elif isinstance(ev, h2.events.StreamReset) and st:
                st.reset_by_peer = ev.error_code
                st.ended = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.terminated = "goaway %s" % ev.error_code
        self.flush()

    def pump(self, timeout):
        """Reads and handles what arrives within timeout; False once the connection is gone."""
        if self.closed or self.terminated:
            return False
        if not self.sock.pending() and not select.select([self.sock], [], [], timeout)[0]:
            return True
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLError, OSError) as e:
            self.terminated = "recv: %s" % e
            return False
        if not data:
            self.terminated = "eof"
            return False
        self._feed(data)
        return self.terminated is None

    def drain_nowait(self):
        """What the kernel (and the TLS layer) already holds, without waiting for more."""
        while not self.closed and not self.terminated and (
                self.sock.pending() or select.select([self.sock], [], [], 0)[0]):
            if not self.pump(0):
                break

    def cancel(self, st):
        """RST_STREAM(CANCEL) on that stream; returns the instant just before it is written."""
        self.conn.reset_stream(st.sid, error_code=h2.errors.ErrorCodes.CANCEL)
        data = self.conn.data_to_send()
        t = now()
        self.sock.sendall(data)
        return t

    def drop(self):
        """An RST of the whole TCP connection; returns the instant just before close()."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t = now()
        self.sock.close()  # close(), not unwrap(): no close_notify, as a killed browser
        self.closed = True
        return t

    def close(self):
        if not self.closed:
            self.sock.close()
            self.closed = True


def tokens(st):
    return len(TOKEN.findall(bytes(st.data)))


def run_one(client, path, action, after_tokens, request_id, timeout_s):
    """One stream on client and its action; returns the JSON-ready record ("error" on failure).
    After an error or a reset the caller opens a new client."""
    t_send = now()
    st = client.request(path, request_id)
    deadline = t_send + timeout_s
    while tokens(st) < after_tokens:
        left = deadline - now()
        if left <= 0:
            return {"request_id": request_id, "error": "timeout", "tokens_seen": tokens(st)}
        if not client.pump(left) or st.ended:
            if tokens(st) >= after_tokens:
                break
            return {"request_id": request_id, "tokens_seen": tokens(st),
                    "error": "stream ended before K tokens (status %s, reset %s, connection %s)"
                    % (st.status, st.reset_by_peer, client.terminated)}
    t_k = now()
    if action == "tab_close":
        client.drain_nowait()
        t_abort = client.cancel(st)
    else:
        t_abort = client.drop()
    return {"request_id": request_id, "action": action, "t_send": t_send,
            "t_first_byte": st.t_first, "t_k": t_k, "t_abort": t_abort,
            "tokens_seen": tokens(st), "connection": client.serial, "stream_id": st.sid}


def run_to_end(client, path, request_id, timeout_s):
    """One stream read to its end on client: whether the connection still carries streams."""
    st = client.request(path, request_id)
    deadline = now() + timeout_s
    while not st.ended and now() < deadline:
        if not client.pump(max(0.0, deadline - now())):
            break
    return {"request_id": request_id, "connection": client.serial, "stream_id": st.sid,
            "status": st.status, "ended": st.ended, "reset_by_peer": st.reset_by_peer,
            "tokens_seen": tokens(st), "done_marker": b"[DONE]" in st.data,
            "connection_error": client.terminated}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="https://HOST:PORT of the gateway")
    ap.add_argument("--ca-file", required=True, help="the CA certificate (PEM) to trust")
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--after-tokens", type=int, default=10, help="K")
    ap.add_argument("--action", choices=["tab_close", "reset"], required=True)
    ap.add_argument("--request-id", required=True)
    ap.add_argument("--timeout-s", type=float, default=20)
    a = ap.parse_args()
    m = re.match(r"https://([^:/]+):(\d+)$", a.url.rstrip("/"))
    if not m:
        sys.exit("--url: expected https://HOST:PORT")
    c = H2Client(m.group(1), int(m.group(2)), a.ca_file, a.timeout_s)
    try:
        rec = run_one(c, a.path, a.action, a.after_tokens, a.request_id, a.timeout_s)
    finally:
        c.close()
    print(json.dumps(rec))
    return 1 if "error" in rec else 0


if __name__ == "__main__":
    sys.exit(main())
