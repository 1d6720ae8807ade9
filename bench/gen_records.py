#!/usr/bin/env python3
"""Generate benchmark inputs: FsEvent and Finding NDJSON with realistic paths.

usage: gen_records.py events N > events.ndjson
       gen_records.py findings N > findings.ndjson
"""
import json
import random
import sys

random.seed(42)
USERS = ["ana", "bo", "chen", "dara", "eli"]
DIRS = ["Documents", "Downloads", "Desktop", "src/project", ".cache/app", "Music", "Documents/taxes/2026"]
EXTS = [".csv", ".xlsx", ".txt", ".log", ".rs", ".py", ".pdf", ".swp", ".part"]
TYPES = ["created", "modified", "modified", "modified", "deleted", "moved", "closed"]


def path():
    return "/home/%s/%s/file%06d%s" % (
        random.choice(USERS), random.choice(DIRS), random.randrange(1_000_000), random.choice(EXTS))


def events(n):
    out = sys.stdout
    for i in range(n):
        t = random.choice(TYPES)
        ev = {"event_type": t, "src_path": path(), "dest_path": path() if t == "moved" else "",
              "is_directory": False, "is_synthetic": False,
              "timestamp": "2026-11-22T10:15:%02d.%06dZ" % (i % 60, i % 1_000_000)}
        out.write(json.dumps(ev, separators=(",", ":")) + "\n")


def findings(n):
    out = sys.stdout
    ctx = ["Name\tCredit Card\nRep. Viviana Hintz\t", "ssn: ", "=cmd|' /C calc'!A0 ", "\"quoted\", and, commas\n"]
    for i in range(n):
        f = {"upload_id": "ac6a4a9d-a7b9-4a78-810d-%012d" % i, "path": path(), "index": i % 7 + 1,
             "timestamp": "2026-11-22T10:15:03.120511Z", "detector": "CREDIT_CARD_NUMBER",
             "detector_uuid": "74c1815e-c0c3-4df5-8b1e-6cf98864a454", "confidence": "VERY_LIKELY",
             "finding": "5433-9502-3725-%04d" % (i % 10000), "before_context": random.choice(ctx),
             "after_context": random.choice(ctx), "byte_range": {"start": 36, "end": 55},
             "codepoint_range": {"start": 36, "end": 55}, "line_range": {"start": 2, "end": 2},
             "archive_path": "", "detection_rules": ["Inline Detection Rule #1"]}
        out.write(json.dumps(f, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    {"events": events, "findings": findings}[sys.argv[1]](int(sys.argv[2]))
