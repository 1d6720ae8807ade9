#!/usr/bin/env python3
"""Local webhook receiver for bench/webhook-post.sh.

Accepts POSTs (keep-alive, HTTP/1.1), counts records (a JSON array body
counts its elements, anything else counts 1) and answers GET /count with
the running total. Usage: webhook-post-receiver.py PORT
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNT = 0
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this, the header and body writes of a reply meet the client's
    # delayed ACK on keep-alive connections: 40 ms per request for any client.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _reply(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global COUNT
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        try:
            v = json.loads(body)
            k = len(v) if isinstance(v, list) else 1
        except ValueError:
            k = 1
        with LOCK:
            COUNT += k
        self._reply(b"ok")

    def do_GET(self):
        with LOCK:
            c = COUNT
        self._reply(str(c).encode())


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
