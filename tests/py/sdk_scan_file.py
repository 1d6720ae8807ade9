"""Conformance helper: run the official Nightfall Python SDK's scan_file
(nightfall==1.4.1) against a Nightfall-compatible base URL.

usage: NIGHTFALL_API_KEY=... sdk_scan_file.py BASE_URL WEBHOOK_URL FILE [METADATA]
prints {"id": ..., "message": ...} on success; exits 1 with the SDK's error.
The SDK hard-codes https://api.nightfall.ai into class attributes at import
time, so each endpoint attribute is overridden on the instance.
"""
import json
import sys

from nightfall import Confidence, DetectionRule, Detector, Nightfall


def main() -> int:
    base, webhook, path = sys.argv[1:4]
    metadata = sys.argv[4] if len(sys.argv) > 4 else None
    nf = Nightfall()  # key from NIGHTFALL_API_KEY, as the SDK documents
    for name in dir(Nightfall):
        if name.endswith("_ENDPOINT") or name.endswith("_ENDPOINT_V3"):
            setattr(nf, name, getattr(Nightfall, name).replace(Nightfall.PLATFORM_URL, base.rstrip("/")))
    rule = DetectionRule([
        Detector(min_confidence=Confidence.LIKELY, nightfall_detector="CREDIT_CARD_NUMBER",
                 display_name="Credit Card Number"),
        Detector(min_confidence=Confidence.LIKELY, nightfall_detector="US_SOCIAL_SECURITY_NUMBER",
                 display_name="US Social Security Number"),
    ])
    try:
        scan_id, message = nf.scan_file(path, webhook_url=webhook, detection_rules=[rule],
                                        request_metadata=metadata)
    except Exception as err:  # the SDK raises its own error types
        print(f"sdk error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"id": scan_id, "message": message}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
