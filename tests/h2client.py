#!/usr/bin/python3
"""An HTTP/2 client for tests/test_h2conn.c, on the python3-h2 state machine: it does what
nghttp cannot (reset one of two streams mid-body, a tiny window never updated, a GOAWAY then a
close, a silent connection) and prints one line per fact, which the C test compares exactly.

usage: h2client.py MODE PORT [ARG] ; MODE is reply, cancel, close, rst, goaway, stall, upload,
idle, get, hog, bighead, tls or h1tls. Exit status 0 when the exchange went as the mode expects it to go on the wire."""
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

TIMEOUT = 15.0


def connect(port, tls=False, window=None):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        print("alpn %s" % sock.selected_alpn_protocol())
    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    if window is not None:
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
    sock.sendall(conn.data_to_send())
    return sock, conn


def request(sock, conn, path, method="GET", body=None):
    sid = conn.get_next_available_stream_id()
    headers = [(":method", method), (":path", path), (":scheme", "http"),
               (":authority", "127.0.0.1")]
    if body is not None:
        headers.append(("content-length", str(len(body))))
    conn.send_headers(sid, headers, end_stream=body is None)
    if body is not None:
        # the whole body regardless of the server's window: h2 queues what does not fit
        while body:
            n = min(len(body), conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if n == 0:
                break
            conn.send_data(sid, body[:n], end_stream=n == len(body))
            body = body[n:]
    sock.sendall(conn.data_to_send())
    return sid


def events(sock, conn):
    """Reads once; returns the events, or None at EOF."""
    try:
        data = sock.recv(65536)
    except (ConnectionResetError, ssl.SSLError):
        return None
    if not data:
        return None
    evs = conn.receive_data(data)
    out = conn.data_to_send()
    if out:
        try:
            sock.sendall(out)
        except OSError:
            pass
    return evs


def ack(conn, ev):
    """Gives back the window of a DATA event, as a normal client does."""
    if ev.flow_controlled_length:
        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)


class Stream:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""
        self.trailers = None
        self.ended = False
        self.reset = None


def pump(sock, conn, streams, until, acked=True):
    """Reads until until() is true or EOF; returns False at EOF."""
    while not until():
        evs = events(sock, conn)
        if evs is None:
            return False
        for ev in evs:
            st = streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived) and st:
                st.headers = dict(ev.headers)
                st.status = st.headers.get(":status")
            elif isinstance(ev, h2.events.DataReceived) and st:
                st.body += ev.data
                if acked:
                    ack(conn, ev)
            elif isinstance(ev, h2.events.TrailersReceived) and st:
                st.trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.StreamEnded) and st:
                st.ended = True
            elif isinstance(ev, h2.events.StreamReset) and st:
                st.reset = ev.error_code
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return True


def mode_reply(port, tls=False):
    sock, conn = connect(port, tls)
    s = Stream()
    sid = request(sock, conn, "/reply")
    pump(sock, conn, {sid: s}, lambda: s.ended)
    print("status %s body %s type %s" % (s.status, s.body.decode(), s.headers.get("content-type")))
    sock.close()


def mode_cancel(port):
    """Two streams on one connection; the first is reset (CANCEL) after its first bytes, the
    second runs to its end."""
    sock, conn = connect(port)
    a, b = Stream(), Stream()
    ida = request(sock, conn, "/stream?n=1000&ms=5")
    idb = request(sock, conn, "/stream?n=20&ms=5")
    streams = {ida: a, idb: b}
    pump(sock, conn, streams, lambda: len(a.body) > 0)
    conn.reset_stream(ida, error_code=8)
    sock.sendall(conn.data_to_send())
    pump(sock, conn, streams, lambda: b.ended)
    print("sibling status %s pieces %d trailer %s" %
          (b.status, b.body.count(b"\n"), (b.trailers or {}).get("x-tail")))
    sock.close()


def mode_close(port, how):
    """Two endless streams; once both sent bytes the connection ends: FIN, RST, or a GOAWAY
    first."""
    sock, conn = connect(port)
    a, b = Stream(), Stream()
    ida = request(sock, conn, "/stream?n=1000&ms=5")
    idb = request(sock, conn, "/stream?n=1000&ms=5")
    pump(sock, conn, {ida: a, idb: b}, lambda: len(a.body) > 0 and len(b.body) > 0)
    print("both streaming")
    sys.stdout.flush()
    if how == "goaway":
        conn.close_connection(error_code=0)
        sock.sendall(conn.data_to_send())
    if how == "rst":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        sock.shutdown(socket.SHUT_WR)
    sock.close()


def mode_stall(port, window):
    """A window of 'window' bytes never given back: the server can send that much of the stream
    and no more. Prints what arrived, then holds the connection until stdin closes."""
    sock, conn = connect(port, window=int(window))
    s = Stream()
    sid = request(sock, conn, "/stream?n=30&ms=2")
    pump(sock, conn, {sid: s}, lambda: len(s.body) >= int(window), acked=False)
    print("received %d" % len(s.body))
    print("READY")
    sys.stdout.flush()
    sys.stdin.read()
    sock.close()


def mode_hog(port, path):
    """Opens every window as wide as it goes, then never reads: only the server's own cap
    bounds what it holds for us. Holds the connection until stdin closes."""
    sock, conn = connect(port, window=2**31 - 1)
    conn.increment_flow_control_window(2**31 - 1 - 65535)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s = Stream()
    sid = request(sock, conn, path)
    pump(sock, conn, {sid: s}, lambda: s.status is not None, acked=False)
    print("READY")
    sys.stdout.flush()
    sys.stdin.read()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def mode_upload(port, size):
    sock, conn = connect(port)
    s = Stream()
    sid = request(sock, conn, "/echo", "POST", b"x" * int(size))
    streams = {sid: s}
    pump(sock, conn, streams, lambda: s.ended or s.reset is not None)
    # a reset after the reply (NO_ERROR, RFC 9113 8.1) may follow: read it if it comes
    sock.settimeout(1.0)
    try:
        pump(sock, conn, streams, lambda: s.reset is not None)
    except socket.timeout:
        pass
    print("status %s body %s reset %s" % (s.status, s.body.decode().strip(), s.reset))
    sock.close()


def mode_idle(port):
    """Says nothing after the preface: the server's idle timeout sends GOAWAY and closes."""
    sock, conn = connect(port)
    code = None
    t0 = time.monotonic()
    while True:
        evs = events(sock, conn)
        if evs is None:
            break
        for ev in evs:
            if isinstance(ev, h2.events.ConnectionTerminated):
                code = ev.error_code
    print("goaway %s closed" % code)
    sys.stderr.write("idle close after %.0f ms\n" % ((time.monotonic() - t0) * 1000))
    sock.close()


def mode_get(port, path, extra=None):
    """One request; prints what came back: status, body pieces, trailer, reset code, end."""
    sock, conn = connect(port)
    s = Stream()
    sid = conn.get_next_available_stream_id()
    headers = [(":method", "GET"), (":path", path), (":scheme", "http"),
               (":authority", "127.0.0.1")]
    if extra:
        headers += extra
    conn.send_headers(sid, headers, end_stream=True)
    sock.sendall(conn.data_to_send())
    pump(sock, conn, {sid: s}, lambda: s.ended or s.reset is not None)
    print("status %s pieces %d trailer %s reset %s ended %s" %
          (s.status, s.body.count(b"\n"), (s.trailers or {}).get("x-tail"), s.reset, s.ended))
    if s.status and s.status != "200":
        print("body %s" % s.body.decode())
    sock.close()


def mode_h1_tls(port):
    """HTTP/1.1 over TLS on the same port: ALPN http/1.1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT),
                           server_hostname="localhost")
    print("alpn %s" % sock.selected_alpn_protocol())
    sock.sendall(b"GET /reply HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ssl.SSLError:
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    print("%s body %s" % (head.split(b"\r\n")[0].decode(), body.decode()))
    sock.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    if mode == "reply":
        mode_reply(port)
    elif mode == "tls":
        mode_reply(port, tls=True)
    elif mode == "h1tls":
        mode_h1_tls(port)
    elif mode == "cancel":
        mode_cancel(port)
    elif mode in ("fin", "rst", "goaway"):
        mode_close(port, mode)
    elif mode == "stall":
        mode_stall(port, arg)
    elif mode == "upload":
        mode_upload(port, arg)
    elif mode == "idle":
        mode_idle(port)
    elif mode == "hog":
        mode_hog(port, arg)
    elif mode == "get":
        mode_get(port, arg)
    elif mode == "bighead":
        mode_get(port, "/reply", [("x-big", "a" * int(arg))])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
