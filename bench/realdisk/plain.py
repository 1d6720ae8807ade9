#!/usr/bin/env python3
"""Makes an unpacked package plain text, in place: symlinks and empty files
removed, gzip files decompressed (`x.1.gz` -> `x.1`), binary files (a NUL
byte in the first 8 KiB) removed, empty directories removed.

usage: plain.py DIR
"""
import gzip
import os
import sys


def main():
    root = sys.argv[1]
    for d, dirs, files in os.walk(root, topdown=False):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                os.unlink(p)
                continue
            if f.endswith(".gz"):
                try:
                    with gzip.open(p) as g:
                        data = g.read()
                    os.unlink(p)
                    p = p[:-3]
                    with open(p, "wb") as out:
                        out.write(data)
                except (OSError, EOFError):
                    os.unlink(p)
                    continue
            with open(p, "rb") as fh:
                head = fh.read(8192)
            if not head or b"\0" in head:
                os.unlink(p)
        for x in dirs:
            q = os.path.join(d, x)
            if os.path.islink(q):
                os.unlink(q)
            elif not os.listdir(q):
                os.rmdir(q)


if __name__ == "__main__":
    main()
