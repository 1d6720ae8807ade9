"""Conformance helper: Nightfall's official Python SDK (nightfall==1.4.1)
signs and validates webhook requests through its own code path.

Reads JSON lines on stdin and writes one JSON line per input on stdout.
The signing secret comes from NIGHTFALL_SIGNING_SECRET (never argv).

  sign      {"timestamp": "...", "body": "..."} -> {"signature": "..."}
            The signature is the one `Nightfall.validate_webhook` computes
            (captured from its own hmac call), i.e. what the SDK expects.
  validate  {"signature": "...", "timestamp": "...", "body": "..."} -> {"valid": bool}
"""
import json
import os
import sys

import nightfall.api as api
from nightfall import Nightfall


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    secret = os.environ.get("NIGHTFALL_SIGNING_SECRET")
    if mode not in ("sign", "validate") or not secret:
        print("usage: NIGHTFALL_SIGNING_SECRET=... nightfall_webhook.py sign|validate < requests.ndjson", file=sys.stderr)
        return 2
    nf = Nightfall(key="NF-NOT_REAL", signing_secret=secret)
    captured = []
    real_new = api.hmac.new

    def spy(*args, **kwargs):
        h = real_new(*args, **kwargs)
        captured.append(h.copy().hexdigest().lower())
        return h

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if mode == "validate":
            ok = nf.validate_webhook(req["signature"], req["timestamp"], req["body"])
            print(json.dumps({"valid": ok}), flush=True)
        else:
            captured.clear()
            api.hmac.new = spy
            try:
                nf.validate_webhook("", req["timestamp"], req["body"])
            finally:
                api.hmac.new = real_new
            if not captured:
                print("timestamp outside the SDK's window; nothing signed", file=sys.stderr)
                return 1
            print(json.dumps({"signature": captured[-1]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
