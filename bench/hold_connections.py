"""Holds slow clients open against a server, for bench/nf-webhook.sh.

Usage: hold_connections.py PORT IDLE TRICKLE

IDLE connections send nothing; TRICKLE connections send a request head one
byte a second. A connection the server closes (its head deadline, or the
connection cap evicting the idlest) is opened again at once, as a client
trying to starve the server would do. Prints how many are open every 5 s
on stderr; runs until killed.
"""

import selectors
import socket
import sys
import time

port, n_idle, n_trickle = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
HEAD = b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
sel = selectors.DefaultSelector()
reopened = 0


def connect(kind):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, [kind, 0])
    return s


for _ in range(n_idle):
    connect("idle")
for _ in range(n_trickle):
    connect("trickle")
print(f"hold: {n_idle} idle + {n_trickle} trickling connections open", file=sys.stderr, flush=True)
next_byte = time.monotonic() + 1
next_report = time.monotonic() + 5
while True:
    for key, _ in sel.select(timeout=0.2):
        s, (kind, _) = key.fileobj, key.data
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            connect(kind)
            reopened += 1
    now = time.monotonic()
    if now >= next_byte:
        next_byte = now + 1
        for key in list(sel.get_map().values()):
            kind, sent = key.data
            if kind != "trickle":
                continue
            try:
                key.fileobj.send(HEAD[sent % len(HEAD) : sent % len(HEAD) + 1])
                key.data[1] = sent + 1
            except OSError:
                pass
    if now >= next_report:
        next_report = now + 5
        print(f"hold: {len(sel.get_map())} open, {reopened} reopened", file=sys.stderr, flush=True)
