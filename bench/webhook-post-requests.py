#!/usr/bin/env python3
"""The Python baseline for bench/webhook-post.sh: one requests POST per NDJSON line
(a keep-alive Session, so the comparison is with a reasonable script, not a strawman)."""
import sys

import requests

url = sys.argv[1]
s = requests.Session()
for line in sys.stdin:
    line = line.strip()
    if line:
        r = s.post(url, data=line.encode(), headers={"Content-Type": "application/json"}, timeout=30)
        r.raise_for_status()
