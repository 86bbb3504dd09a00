#!/usr/bin/env python3
"""The referee's model: an HTTP/1.1 server speaking OpenAI chat-completions SSE.

Each POST streams N tokens (` tok0`, ` tok1`, ...), one every T ms, generated on a timer whatever
the peer reads (unsent bytes wait in a user-space outbox). While streaming it polls the socket for
readability: recv() == 0 is a FIN, ECONNRESET (or a send that fails) an RST; either stops the
generation at once. One JSON line per request goes to --log: every token's generation time and the
time its bytes reached the kernel, the close seen and when. Times are CLOCK_MONOTONIC seconds.
Standard library only; shares no code with tailgate.
"""
import argparse
import errno
import json
import os
import select
import socket
import sys
import threading
import time


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Closed(Exception):
    def __init__(self, kind, detail):
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


class Conn:
    """One accepted connection: request parsing and the streaming loop."""

    def __init__(self, sock, args, log):
        self.sock = sock
        self.args = args
        self.log = log
        self.buf = b""

    def read_more(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            raise Closed("timeout", "no request")
        data = self.sock.recv(65536)
        if not data:
            raise Closed("fin", "eof before a request")
        self.buf += data

    def read_request(self):
        while b"\r\n\r\n" not in self.buf:
            self.read_more(30)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self.read_more(30)
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buf:
                    self.read_more(30)
                size_line = self.buf.split(b"\r\n", 1)[0]
                size = int(size_line.split(b";")[0], 16)
                start = len(size_line) + 2
                while len(self.buf) < start + size + 2:
                    self.read_more(30)
                body += self.buf[start:start + size]
                self.buf = self.buf[start + size + 2:]
                if size == 0:
                    break
        return method, path, headers, body

    def serve(self):
        try:
            while True:
                method, path, headers, body = self.read_request()
                keep = headers.get("connection", "").lower() != "close"
                if method == "POST" and path.startswith("/v1/chat/completions"):
                    self.stream(path, headers)
                else:
                    text = b"ok\n"
                    self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                      b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
                if not keep:
                    break
        except (Closed, OSError, ValueError):
            pass
        finally:
            self.sock.close()

    def stream(self, path, headers):
        a = self.args
        rec = {"path": path, "request_id": headers.get("x-request-id", ""), "t_start": now(),
               "tokens": [], "close": None, "t_close": None, "t_end": None}
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        out = bytearray(head)
        pending = []  # (token index, bytes still to leave the outbox after it)
        sent_total = 0
        queued_total = len(head)
        self.sock.setblocking(False)
        t0 = rec["t_start"]
        i = 0
        done = False
        try:
            while True:
                t = now()
                # generate every token due by now (a late wakeup catches up, on schedule)
                while i < a.tokens and t >= t0 + (a.ttft_ms + i * a.interval_ms) / 1000.0:
                    ev = {"id": "chatcmpl-ref", "object": "chat.completion.chunk",
                          "choices": [{"index": 0, "delta": {"content": " tok%d" % i},
                                       "finish_reason": None}]}
                    data = b"data: " + json.dumps(ev).encode() + b"\n\n"
                    chunk = b"%x\r\n%s\r\n" % (len(data), data)
                    out += chunk
                    queued_total += len(chunk)
                    rec["tokens"].append({"i": i, "gen": now(), "write": None})
                    pending.append((i, queued_total))
                    i += 1
                if i == a.tokens and not done:
                    data = b"data: [DONE]\n\n"
                    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
                    out += chunk
                    queued_total += len(chunk)
                    done = True
                if out:
                    try:
                        n = self.sock.send(out)
                    except BlockingIOError:
                        n = 0
                    except OSError as e:
                        raise Closed("rst", "send: " + errno.errorcode.get(e.errno, str(e.errno)))
                    del out[:n]
                    sent_total += n
                    tw = now()
                    while pending and pending[0][1] <= sent_total:
                        rec["tokens"][pending.pop(0)[0]]["write"] = tw
                if done and not out:
                    rec["t_end"] = now()
                    break
                due = t0 + (a.ttft_ms + i * a.interval_ms) / 1000.0 if i < a.tokens else None
                wait = max(0.0, due - now()) if due is not None else 0.05
                wlist = [self.sock] if out else []
                r, w, x = select.select([self.sock], wlist, [self.sock], wait)
                if r or x:
                    try:
                        data = self.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        kind = "rst" if e.errno == errno.ECONNRESET else "error"
                        raise Closed(kind, "recv: " + errno.errorcode.get(e.errno, str(e.errno)))
                    if not data:
                        raise Closed("fin", "recv returned 0")
                    self.buf += data  # a pipelined request: kept for after this one
        except Closed as c:
            rec["close"] = c.kind
            rec["close_detail"] = c.detail
            rec["t_close"] = now()
            self.log(rec)
            raise
        finally:
            self.sock.setblocking(True)
        self.log(rec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file", help="written with the chosen port once listening")
    ap.add_argument("--tokens", type=int, default=200, help="N tokens per answer")
    ap.add_argument("--interval-ms", type=float, default=20, help="T ms between tokens")
    ap.add_argument("--ttft-ms", type=float, default=None, help="first token (default: T)")
    ap.add_argument("--log", required=True, help="JSON lines, one per streamed request")
    a = ap.parse_args()
    if a.ttft_ms is None:
        a.ttft_ms = a.interval_ms
    host, _, port = a.listen.rpartition(":")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(128)
    lock = threading.Lock()
    logf = open(a.log, "a", buffering=1)

    def log(rec):
        with lock:
            logf.write(json.dumps(rec) + "\n")

    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        os.rename(tmp, a.port_file)
    while True:
        s, _ = srv.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=Conn(s, a, log).serve, daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
