"""Benchmark helper: upload every file named on stdin with the official
Nightfall Python SDK's scan_file, one after another (as the endpoint-DLP
tutorial does), against BASE_URL. Prints files and seconds."""
import sys
import time

from nightfall import Confidence, DetectionRule, Detector, Nightfall

base, webhook = sys.argv[1:3]
nf = Nightfall()
for name in dir(Nightfall):
    if name.endswith("_ENDPOINT") or name.endswith("_ENDPOINT_V3"):
        setattr(nf, name, getattr(Nightfall, name).replace(Nightfall.PLATFORM_URL, base))
rule = DetectionRule([Detector(min_confidence=Confidence.LIKELY, nightfall_detector=d, display_name=n)
                      for d, n in (("CREDIT_CARD_NUMBER", "Credit Card Number"),
                                   ("US_SOCIAL_SECURITY_NUMBER", "US Social Security Number"),
                                   ("API_KEY", "API Key"))])
paths = [line.strip() for line in sys.stdin if line.strip()]
t = time.time()
for p in paths:
    nf.scan_file(p, webhook_url=webhook, detection_rules=[rule])
print(len(paths), time.time() - t)
