#!/usr/bin/env python3
"""False findings per 100 MB on one part of the real-disk corpus.

usage: score.py PART_DIR FINDINGS.ndjson [DETECT_SECRETS.json] [--show N]

Nothing in the corpus (public packages' code and docs) is anyone's personal
data or a live credential, so every finding is false but one kind: a
well-formed private key (its PEM, OpenSSH or PGP body decodes to a key
structure, or hex starts one; test fixtures hold many) counts as a key, as the issue that
asked for this measure does. A PEM block whose body is `EXAMPLE…`, elided
or otherwise not a key is false. detect-secrets is scored the same way on
the same files (its "Private Key" results count as keys when a well-formed
block starts on that line). MB = 10^6 bytes of the part's files.

--show N prints N false findings per detector (tuning part only: the
held-out part is counted, never read).
"""
import base64
import binascii
import json
import os
import re
import sys
from collections import Counter, defaultdict

BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----")


def der_ok(b):
    """A DER SEQUENCE whose length spans the data (trailing padding allowed)."""
    if len(b) < 32 or b[0] != 0x30:
        return False
    n = b[1]
    if n < 0x80:
        length, hdr = n, 2
    else:
        k = n & 0x7F
        if k == 0 or k > 4 or len(b) < 2 + k:
            return False
        length, hdr = int.from_bytes(b[2:2 + k], "big"), 2 + k
    return 0 <= len(b) - (hdr + length) <= 16


def pgp_ok(b):
    if len(b) < 64 or not b[0] & 0x80:
        return False
    tag = (b[0] & 0x3F) if b[0] & 0x40 else (b[0] >> 2) & 0x0F
    return tag in (5, 7)


def well_formed(text):
    """True when `text` (a finding) holds a private key that decodes."""
    t = text.encode() if isinstance(text, str) else text
    if t.startswith(b"LS0tLS1CRUdJTi"):
        try:
            t = base64.b64decode(t[: len(t) // 4 * 4])
        except (binascii.Error, ValueError):
            return False
    # Keys pasted into source: escaped line breaks, concatenated literals.
    t = t.replace(b"\\r", b"").replace(b"\\n", b"\n")
    m = BEGIN.search(t)
    if not m:
        return False
    kind = m.group(1)
    end = t.find(b"-----END", m.end())
    if end < 0:
        return False
    body = t[m.end():end]
    lines = []
    encrypted = False
    for line in body.split(b"\n"):
        line = line.strip()
        # A line continued with a backslash (`… \`).
        if line.endswith(b"\\"):
            line = line[:-1].strip()
        # A key pasted into a comment (`// MIIE…`, `//! MIIE…`, `# MIIE…`,
        # ` * MIIE…`); `//` only before a space or alone (a body line may
        # start with `/`).
        line = re.sub(rb"^(?://+!?\s+|///?!?$|(?:#+|\*|--|;+)\s*)", b"", line)
        # A line of string literals (`"…\n" +`, `" + "…`, `'…',`): the text
        # in its quotes, the quotes and the operators between them dropped
        # (a `+` glued to base64 is base64).
        if b'"' in line or b"'" in line:
            line = re.sub(rb"[\"']", b" ", line)
            line = re.sub(rb"(?:^|\s)[+,;()]+(?=\s|$)", b" ", line).strip()
        if b":" in line:
            encrypted |= b"ENCRYPTED" in line
            continue
        if line.startswith(b"=") and kind.endswith(b"BLOCK"):
            continue  # PGP armour checksum
        lines.append(line)
    data = b"".join(lines)
    if not re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}", data):
        return False
    try:
        raw = base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return False
    if kind.startswith(b"OPENSSH"):
        return raw.startswith(b"openssh-key-v1\0")
    if kind.startswith(b"PGP"):
        return pgp_ok(raw)
    if encrypted:
        return der_ok(raw) or (len(raw) >= 64 and len(raw) % 8 == 0)
    return der_ok(raw)


def hex_der_key(text):
    """Hex of a DER private key's start: SEQUENCE, then the version INTEGER
    (0 for PKCS#1 and PKCS#8, 1 for SEC 1 EC keys): a key written in hex."""
    t = text.strip()
    if len(t) < 64 or not re.fullmatch(r"[0-9a-fA-F]+", t):
        return False
    b = bytes.fromhex(t[: len(t) // 2 * 2])
    if b[0] != 0x30:
        return False
    k = 2 + ((b[1] & 0x7F) if b[1] & 0x80 else 0)
    return b[k : k + 2] == b"\x02\x01" and b[k + 2] in (0, 1)


def block_at(path, line):
    """The text of a PEM block starting on 1-based `line` of `path`."""
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except OSError:
        return b""
    chunk = b"\n".join(lines[line - 1 : line + 200])
    m = BEGIN.search(chunk)
    if not m:
        return b""
    end = chunk.find(b"-----END", m.end())
    return chunk[m.start() : end + 40] if end >= 0 else b""


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = int(sys.argv[sys.argv.index("--show") + 1]) if "--show" in sys.argv else 0
    if show:
        args = [a for a in args if a != str(show)]
    part = args[0]
    size = 0
    for d, _, files in os.walk(part):
        for f in files:
            size += os.path.getsize(os.path.join(d, f))
    mb = size / 1e6
    per = lambda n: n / mb * 100
    findings = [json.loads(l) for l in open(args[1]) if l.strip()]
    by_det = Counter()
    keys = Counter()
    false = defaultdict(list)
    for f in findings:
        d = f["detector"]
        by_det[d] += 1
        if (d in ("Cryptographic Key", "CRYPTOGRAPHIC_KEY") and well_formed(f["finding"])) or hex_der_key(f["finding"]):
            keys[d] += 1
        else:
            false[d].append(f)
    nfalse = sum(len(v) for v in false.values())
    nfiles = len({f["path"] for v in false.values() for f in v})
    print(f"  {os.path.basename(part.rstrip('/'))}: {mb:.1f} MB")
    print(f"  {'tool':16} {'findings':>8} {'keys':>5} {'false':>6} {'false/100MB':>11}  false by detector")
    detail = ", ".join(f"{d} {len(v)}" for d, v in sorted(false.items()))
    print(f"  {'pii-scan':16} {len(findings):8} {sum(keys.values()):5} {nfalse:6} {per(nfalse):11.2f}  {detail or '-'} ({nfiles} files)")
    if len(args) > 2 and os.path.exists(args[2]):
        ds = json.load(open(args[2]))
        n = ds_keys = 0
        types = Counter()
        for fname, items in ds.get("results", {}).items():
            for it in items:
                n += 1
                if it["type"] == "Private Key" and well_formed(block_at(os.path.join(part, fname), it["line_number"])):
                    ds_keys += 1
                else:
                    types[it["type"]] += 1
        top = ", ".join(f"{t} {c}" for t, c in types.most_common(4))
        print(f"  {'detect-secrets':16} {n:8} {ds_keys:5} {n - ds_keys:6} {per(n - ds_keys):11.2f}  {top}")
    if show:
        for d, v in sorted(false.items()):
            print(f"  -- false {d}: {len(v)}")
            for f in v[:show]:
                rel = os.path.relpath(f["path"], part)
                ctx = (f["before_context"][-40:] + "[" + f["finding"][:70] + "]" + f["after_context"][:30]).replace("\n", "\\n")
                print(f"     {f['confidence'][:4]} {rel[:70]}:{f['line_range']['start']}  {ctx}")


if __name__ == "__main__":
    main()
