"""The endpoint-DLP tutorial's webhook (nightfallai/endpoint-dlp-tutorial
app.py), reduced to what the benchmark exercises: the challenge, the SDK's
validate_webhook, and the "no findings" branch (no findings fetch, no CSV).
Run under gunicorn: gunicorn -w 2 -b 127.0.0.1:PORT nf_webhook_flask_app:app
"""
import os

from flask import Flask, request
from nightfall import Nightfall

app = Flask(__name__)
nightfall = Nightfall(key=os.getenv("NIGHTFALL_API_KEY", "NF-NOT_REAL"), signing_secret=os.getenv("NIGHTFALL_SIGNING_SECRET"))


@app.route("/ping")
def ping():
    return "Hello World", 200


@app.route("/ingest", methods=["POST"])
def ingest():
    data = request.get_json(silent=True)
    challenge = data.get("challenge")
    if challenge:
        return challenge
    signature = request.headers.get("X-Nightfall-Signature")
    timestamp = request.headers.get("X-Nightfall-Timestamp")
    request_data = request.get_data(as_text=True)
    if not nightfall.validate_webhook(signature, timestamp, request_data):
        return "Invalid webhook", 500
    if not data["findingsPresent"]:
        print("No sensitive data present!")
        return "", 200
    return "", 200
