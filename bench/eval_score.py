#!/usr/bin/env python3
"""Scores pii-scan (and detect-secrets) against eval_corpus.py labels.

usage: eval_score.py LABELS.jsonl FINDINGS.ndjson [DETECT_SECRETS.json]

Ours: a finding is a true positive when it overlaps a labelled positive of
the same detector in the same file (each label counts once); every other
finding is a false positive; unmatched positives are false negatives.
Secret types are also scored per line, the only granularity detect-secrets
reports, so both tools are compared on the same footing.
"""
import json
import os
import sys
from collections import defaultdict

DETECTORS = ["CREDIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE",
             "US_BANK_ROUTING_MICR", "IP_ADDRESS", "API_KEY", "CRYPTOGRAPHIC_KEY"]


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main():
    labels = [json.loads(l) for l in open(sys.argv[1])]
    findings = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    pos = defaultdict(list)  # (file, detector) -> labels
    for l in labels:
        if not l["decoy"]:
            pos[(l["file"], l["detector"])].append(l)
    stats = {d: [0, 0, 0, 0] for d in DETECTORS}  # tp fp fn exact
    matched = set()
    fp_examples = defaultdict(list)
    for f in findings:
        d = f["detector"]
        if d not in stats:
            continue
        name = os.path.basename(f["path"])
        s, e = f["byte_range"]["start"], f["byte_range"]["end"]
        hit = None
        for i, l in enumerate(pos.get((name, d), [])):
            if l["start"] < e and s < l["end"] and (name, d, i) not in matched:
                hit = (name, d, i, l)
                break
        if hit:
            matched.add(hit[:3])
            stats[d][0] += 1
            stats[d][3] += int(hit[3]["start"] == s and hit[3]["end"] == e)
        else:
            stats[d][1] += 1
            fp_examples[d].append(f["finding"][:60])
    for (name, d), ls in pos.items():
        for i, _ in enumerate(ls):
            if (name, d, i) not in matched and d in stats:
                stats[d][2] += 1
    print(f"{'detector':28} {'labels':>6} {'TP':>6} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'exact':>6}")
    tot = [0, 0, 0, 0]
    for d in DETECTORS:
        tp, fp, fn, ex = stats[d]
        tot = [a + b for a, b in zip(tot, stats[d])]
        p, r, f = prf(tp, fp, fn)
        print(f"{d:28} {tp + fn:6} {tp:6} {fp:5} {fn:5} {p:9.4f} {r:7.4f} {f:6.4f} {ex / tp if tp else 0:6.3f}")
    p, r, f = prf(tot[0], tot[1], tot[2])
    print(f"{'ALL':28} {tot[0] + tot[2]:6} {tot[0]:6} {tot[1]:5} {tot[2]:5} {p:9.4f} {r:7.4f} {f:6.4f}")
    missed = [l for (name, d), ls in pos.items() for i, l in enumerate(ls) if (name, d, i) not in matched]
    if os.environ.get("VERBOSE"):
        for d, ex in fp_examples.items():
            print("FP", d, ex[:8])
        for l in missed[:30]:
            print("FN", l["detector"], repr(l["text"][:70]))
    if len(sys.argv) < 4:
        return
    # Line-level comparison on secret types.
    secret_lines = {}
    for l in labels:
        if not l["decoy"] and l["detector"] in ("API_KEY", "CRYPTOGRAPHIC_KEY"):
            secret_lines[(l["file"], l["line"])] = l["detector"]
    ds = json.load(open(sys.argv[3]))
    ds_lines = defaultdict(set)
    for fname, items in ds.get("results", {}).items():
        for it in items:
            kind = "CRYPTOGRAPHIC_KEY" if it["type"] == "Private Key" else "API_KEY"
            ds_lines[kind].add((os.path.basename(fname), it["line_number"]))
    ours_lines = defaultdict(set)
    for f in findings:
        if f["detector"] in ("API_KEY", "CRYPTOGRAPHIC_KEY"):
            ours_lines[f["detector"]].add((os.path.basename(f["path"]), f["line_range"]["start"]))
    print()
    print("secret types, scored per line (detect-secrets reports lines only):")
    print(f"{'tool':16} {'detector':18} {'lines':>6} {'TP':>6} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7} {'F1':>6}")
    for tool, got in (("pii-scan", ours_lines), ("detect-secrets", ds_lines)):
        for d in ("API_KEY", "CRYPTOGRAPHIC_KEY"):
            truth = {k for k, v in secret_lines.items() if v == d}
            # A line holding a secret of the other type is not a false positive.
            other = {k for k, v in secret_lines.items() if v != d}
            tp = len(got[d] & truth)
            fp = len(got[d] - truth - other)
            fn = len(truth - got[d])
            p, r, f = prf(tp, fp, fn)
            print(f"{tool:16} {d:18} {len(truth):6} {tp:6} {fp:5} {fn:5} {p:9.4f} {r:7.4f} {f:6.4f}")


if __name__ == "__main__":
    main()
