#!/usr/bin/env python3
"""Labelled corpus generator for pii-scan's evaluation and throughput benchmark.

Writes text files mixing Faker background (names, addresses, dates, prose,
log lines, code) with format-exact positives for every detector pii-scan
implements and with decoys (Luhn-failing numbers, never-issued SSNs, hashes,
UUIDs, dates, version strings, documentation example keys, placeholders).
Every positive is recorded in labels.jsonl as
{"file", "start", "end", "line", "detector", "text"} (byte offsets, 0-based,
end-exclusive; 1-based line); decoys are recorded with "decoy": true.

usage: eval_corpus.py OUT_DIR [--files N] [--lines-per-file N] [--seed S]
       eval_corpus.py OUT_DIR --bytes N        (throughput corpus, ~N bytes)
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import string
import uuid
import zlib

from faker import Faker

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def luhn_complete(prefix, length, rnd):
    body = prefix + "".join(rnd.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for d in string.digits:
        if luhn_ok(body + d):
            return body + d
    raise AssertionError


def luhn_ok(num):
    total = 0
    for i, c in enumerate(reversed(num)):
        v = int(c)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


TEST_PANS = {"4111111111111111", "4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"}


def card_number(rnd):
    kind = rnd.choice(["visa", "visa", "mc", "mc2", "amex", "discover", "jcb", "diners"])
    if kind == "visa":
        n = luhn_complete("4", 16, rnd)
    elif kind == "mc":
        n = luhn_complete(str(rnd.randint(51, 55)), 16, rnd)
    elif kind == "mc2":
        n = luhn_complete(str(rnd.randint(2221, 2720)), 16, rnd)
    elif kind == "amex":
        n = luhn_complete(rnd.choice(["34", "37"]), 15, rnd)
    elif kind == "discover":
        n = luhn_complete(rnd.choice(["6011", "65"]), 16, rnd)
    elif kind == "jcb":
        n = luhn_complete(str(rnd.randint(3528, 3589)), 16, rnd)
    else:
        n = luhn_complete(rnd.choice(["36", "38"]), 14, rnd)
    if n in TEST_PANS or len(set(n)) <= 2:
        return card_number(rnd)
    return n


def group_card(n, sep):
    if len(n) == 15:
        parts = [n[:4], n[4:10], n[10:]]
    elif len(n) == 14:
        parts = [n[:4], n[4:10], n[10:]]
    else:
        parts = [n[i:i + 4] for i in range(0, len(n), 4)]
    return sep.join(parts)


MISUSED = {"078051120", "219099999", "457555462", "123456789"}


def ssn_parts(rnd):
    while True:
        area = rnd.randint(1, 899)
        if area == 666:
            continue
        a, g, s = f"{area:03d}", f"{rnd.randint(1, 99):02d}", f"{rnd.randint(1, 9999):04d}"
        if a + g + s in MISUSED or len(set(a + g + s)) == 1:
            continue
        return a, g, s


def nanp(rnd):
    while True:
        npa = f"{rnd.randint(2, 9)}{rnd.randint(0, 8)}{rnd.randint(0, 9)}"
        nxx = f"{rnd.randint(2, 9)}{rnd.randint(0, 9)}{rnd.randint(0, 9)}"
        if npa[1:] == "11" or nxx[1:] == "11":
            continue
        return npa, nxx, f"{rnd.randint(0, 9999):04d}"


def iban(rnd):
    cc, fmt = rnd.choice([("DE", "n18"), ("GB", "a4n14"), ("FR", "n10a11n2"), ("NL", "a4n10"), ("ES", "n20"), ("IT", "a1n10a12")])
    bban = ""
    i = 0
    while i < len(fmt):
        kind = fmt[i]
        j = i + 1
        while j < len(fmt) and fmt[j].isdigit():
            j += 1
        count = int(fmt[i + 1:j])
        alphabet = string.digits if kind == "n" else (string.ascii_uppercase if kind == "a" else string.ascii_uppercase + string.digits)
        bban += "".join(rnd.choice(alphabet) for _ in range(count))
        i = j
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    return f"{cc}{check:02d}{bban}"


def aba(rnd):
    while True:
        p = rnd.choice(list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73)) + [80])
        body = f"{p:02d}" + "".join(rnd.choice(string.digits) for _ in range(6))
        w = [3, 7, 1, 3, 7, 1, 3, 7]
        s = sum(int(c) * w[i] for i, c in enumerate(body))
        d = (10 - s % 10) % 10
        n = body + str(d)
        if len(set(n)) > 1:
            return n


def gh_token(rnd, prefix="ghp_"):
    rand = "".join(rnd.choice(B62) for _ in range(30))
    c = zlib.crc32(rand.encode())
    out = ""
    for _ in range(6):
        out = B62[c % 62] + out
        c //= 62
    return prefix + rand + out


def rstr(rnd, alphabet, n):
    return "".join(rnd.choice(alphabet) for _ in range(n))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(rnd, fake):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": str(rnd.randint(1, 10**9)), "name": fake.name(), "iat": rnd.randint(1500000000, 1800000000)}).encode())
    sig = b64url(hmac.new(rnd.randbytes(16), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"


def api_key(rnd, fake):
    k = rnd.choice(["aws", "aws", "gh", "ghpat", "slack", "stripe", "google", "gitlab", "openai", "jwt", "generic", "generic", "generic"])
    if k == "aws":
        return rnd.choice(["AKIA", "ASIA"]) + rstr(rnd, B32, 16), "AWS_ACCESS_KEY_ID={}"
    if k == "gh":
        t = gh_token(rnd, rnd.choice(["ghp_", "gho_", "ghs_"]))
        if rnd.random() < 0.25:
            # A copy with a character changed: its checksum fails, but it is
            # still a token to look at (pii-scan: LIKELY, as peers report it).
            t = t[:-1] + ("A" if t[-1] != "A" else "B")
        return t, "GITHUB_TOKEN={}"
    if k == "ghpat":
        return "github_pat_" + rstr(rnd, B62, 22) + "_" + rstr(rnd, B62, 59), "token: {}"
    if k == "slack":
        return f"xoxb-{rnd.randint(10**9, 10**10)}-{rnd.randint(10**12, 10**13)}-{rstr(rnd, B62, 24)}", "SLACK_BOT_TOKEN={}"
    if k == "stripe":
        return "sk_live_" + rstr(rnd, B62, 24), "stripe.api_key = '{}'"
    if k == "google":
        return "AIza" + rstr(rnd, B62 + "-_", 35), "GOOGLE_MAPS_KEY: {}"
    if k == "gitlab":
        return "glpat-" + rstr(rnd, B62, 20), "gitlab token {}"
    if k == "openai":
        return "sk-proj-" + rstr(rnd, B62, 20) + "T3BlbkFJ" + rstr(rnd, B62, 20), "OPENAI_API_KEY={}"
    if k == "jwt":
        return jwt(rnd, fake), "Authorization: Bearer {}"
    tmpl = rnd.choice(['api_key = "{}"', "client_secret: {}", '"secret_key": "{}",', "export SERVICE_TOKEN={}", "auth_token => '{}'"])
    while True:
        v = rstr(rnd, B62, rnd.choice([24, 32, 40]))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and "test" not in v.lower():
            return v, tmpl


def der_len(n):
    """A DER length: short form, or 0x80 + the count of length bytes."""
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def pem(rnd):
    """A private-key block with a key's structure around random bytes:
    the `openssh-key-v1` container, or a DER SEQUENCE starting with the
    version INTEGER 0 as PKCS#1, PKCS#8 and SEC 1 keys do."""
    kind = rnd.choice(["RSA ", "EC ", "OPENSSH ", ""])
    raw = rnd.randbytes(rnd.choice([600, 1190, 120]))
    if kind == "OPENSSH ":
        raw = b"openssh-key-v1\0" + raw
    else:
        inner = b"\x02\x01\x00\x04" + der_len(len(raw)) + raw
        raw = b"\x30" + der_len(len(inner)) + inner
    body = base64.b64encode(raw).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"


class Doc:
    """A file being written, tracking byte offsets and lines of labels."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.lines = 1
        self.labels = []

    def add(self, text):
        b = text.encode()
        self.parts.append(b)
        self.size += len(b)
        self.lines += text.count("\n")

    def labelled(self, template, value, detector, decoy=False):
        pre, _, post = template.partition("{}")
        self.add(pre)
        start = self.size
        line = self.lines
        self.add(value)
        self.labels.append({"start": start, "end": self.size, "line": line, "detector": detector, "text": value, "decoy": decoy})
        self.add(post)


def positive(doc, rnd, fake):
    det = rnd.choice(["CREDIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE",
                      "US_BANK_ROUTING_MICR", "IP_ADDRESS", "API_KEY", "API_KEY", "CRYPTOGRAPHIC_KEY"])
    name = fake.name()
    if det == "CREDIT_CARD_NUMBER":
        n = card_number(rnd)
        style = rnd.choice(["plain", "dash", "space"])
        v = n if style == "plain" else group_card(n, "-" if style == "dash" else " ")
        tmpl = rnd.choice(["{},{} ,card\n".replace("{},", name.replace(",", "") + ",", 1), "Please charge my card {} for the order.\n",
                           "payment method: Visa {} exp 04/29\n", name + "\t{}\n"])
        doc.labelled(tmpl, v, det)
    elif det == "US_SOCIAL_SECURITY_NUMBER":
        a, g, s = ssn_parts(rnd)
        style = rnd.choice(["dash", "dash", "space", "plain"])
        if style == "dash":
            doc.labelled(rnd.choice([name + " {}\n", "SSN: {}\n", "applicant " + name + ", social security number {}.\n"]), f"{a}-{g}-{s}", det)
        elif style == "space":
            doc.labelled("SSN {}\n", f"{a} {g} {s}", det)
        else:
            doc.labelled(rnd.choice(["ssn={}\n", "Social Security Number: {}\n"]), a + g + s, det)
    elif det == "EMAIL_ADDRESS":
        doc.labelled(rnd.choice(["Contact: {}\n", name + " <{}>\n", "sent to {} yesterday\n"]), rnd.choice([fake.email(), fake.company_email(), fake.free_email()]), det)
    elif det == "PHONE_NUMBER":
        a, b, c = nanp(rnd)
        fmt = rnd.choice(["({}) {}-{}", "{}-{}-{}", "{}.{}.{}", "+1 {} {} {}", "+1-{}-{}-{}", "intl"])
        if fmt == "intl":
            v = rnd.choice(["+44 20 " + f"{rnd.randint(7000, 8999)} {rnd.randint(1000, 9999)}", "+49 30 " + str(rnd.randint(1000000, 9999999)),
                            "+33 1 " + " ".join(f"{rnd.randint(10, 99)}" for _ in range(4)), "+61 2 " + f"{rnd.randint(1000, 9999)} {rnd.randint(1000, 9999)}"])
        else:
            v = fmt.format(a, b, c)
        doc.labelled(rnd.choice(["Phone: {}\n", "call me at {} after 5pm\n", name + ", {}\n"]), v, det)
    elif det == "IBAN_CODE":
        v = iban(rnd)
        if rnd.random() < 0.5:
            v = " ".join(v[i:i + 4] for i in range(0, len(v), 4))
        doc.labelled(rnd.choice(["IBAN: {}\n", "wire to {} (" + name + ")\n"]), v, det)
    elif det == "US_BANK_ROUTING_MICR":
        doc.labelled(rnd.choice(["Routing number: {}\n", "ABA {} account 1234\n", "bank routing {}\n"]), aba(rnd), det)
    elif det == "IP_ADDRESS":
        v = rnd.choice([fake.ipv4_public(), fake.ipv4_private(), fake.ipv6()])
        doc.labelled(rnd.choice(["Accepted connection from {} port 22\n", "host={}\n", "server ip: {}\n"]), v, det)
    elif det == "API_KEY":
        v, tmpl = api_key(rnd, fake)
        doc.labelled(tmpl + "\n", v, det)
    else:
        doc.labelled("{}\n", pem(rnd), det)


def decoy(doc, rnd, fake):
    kind = rnd.randrange(20)
    if kind == 0:
        n = card_number(rnd)
        bad = n[:-1] + str((int(n[-1]) + rnd.randint(1, 9)) % 10)
        doc.labelled("card {}\n", group_card(bad, "-"), "CREDIT_CARD_NUMBER", True)
    elif kind == 1:
        a, g, s = ssn_parts(rnd)
        bad = rnd.choice([f"000-{g}-{s}", f"666-{g}-{s}", f"9{rnd.randint(0, 99):02d}-{g}-{s}", f"{a}-00-{s}", f"{a}-{g}-0000"])
        doc.labelled("SSN {}\n", bad, "US_SOCIAL_SECURITY_NUMBER", True)
    elif kind == 2:
        doc.labelled("sha256 {}\n", hashlib.sha256(rnd.randbytes(8)).hexdigest(), "API_KEY", True)
    elif kind == 3:
        doc.labelled("commit {}\n", hashlib.sha1(rnd.randbytes(8)).hexdigest(), "API_KEY", True)
    elif kind == 4:
        doc.labelled("request id {}\n", str(uuid.uuid4()), "API_KEY", True)
    elif kind == 5:
        doc.add(f"date {fake.date()} time {fake.time()} version {rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 99)}\n")
    elif kind == 6:
        doc.labelled("aws_access_key_id = {}\n", "AKIAIOSFODNN7EXAMPLE", "API_KEY", True)
    elif kind == 7:
        doc.labelled("aws_secret_access_key = {}\n", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "API_KEY", True)
    elif kind == 8:
        doc.labelled(rnd.choice(['api_key = "{}"\n', "token: {}\n"]), rnd.choice(["your-api-key-here", "<YOUR_TOKEN>", "${API_TOKEN}", "xxxxxxxxxxxxxxxxxxxxxxxx", "changeme-changeme-123"]), "API_KEY", True)
    elif kind == 9:
        # Placeholders in GitHub's token shape.
        fake_token = rnd.choice(["ghp_" + "x" * 36, "ghp_" + "X" * 36, "gho_" + "0" * 36,
                                 "ghp_abcdefghijklmnopqrstuvwxyz0123456789"])
        doc.labelled("GITHUB_TOKEN={}\n", fake_token, "API_KEY", True)
    elif kind == 10:
        doc.labelled("Order #{} shipped\n", str(rnd.randint(10**15, 10**16 - 1)), "CREDIT_CARD_NUMBER", True)
    elif kind == 11:
        doc.labelled("ts={}\n", str(rnd.randint(1600000000000, 1800000000000)), "CREDIT_CARD_NUMBER", True)
    elif kind == 12:
        doc.labelled("build {}\n", f"{rnd.randint(1, 9)}.{rnd.randint(0, 9)}.{rnd.randint(0, 9)}.{rnd.randint(0, 9)}", "IP_ADDRESS", True)
    elif kind == 13:
        doc.labelled("oid {}\n", "1.3.6.1.4.1." + str(rnd.randint(100, 99999)), "IP_ADDRESS", True)
    elif kind == 14:
        v = iban(rnd)
        bad = v[:2] + f"{(int(v[2:4]) + rnd.randint(1, 50)) % 97 + 2:02d}" + v[4:]
        if bad != v:
            doc.labelled("IBAN {}\n", bad, "IBAN_CODE", True)
    elif kind == 15:
        doc.labelled("icon {}\n", f"{fake.word()}@2x.png", "EMAIL_ADDRESS", True)
    elif kind == 16:
        doc.labelled("ISBN {}\n", f"978-{rnd.randint(0, 9)}-{rnd.randint(10, 99)}-{rnd.randint(100000, 999999)}-{rnd.randint(0, 9)}", "PHONE_NUMBER", True)
    elif kind == 17:
        doc.labelled("stripe test key {}\n", "sk_test_" + rstr(rnd, B62, 24), "API_KEY")  # test-mode keys are credentials too
    elif kind == 18:
        doc.labelled("{}\n", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "CRYPTOGRAPHIC_KEY", True)
    else:
        good = aba(rnd)
        bad = good[:-1] + str((int(good[-1]) + rnd.randint(1, 9)) % 10)
        doc.labelled("Routing number: {}\n", bad, "US_BANK_ROUTING_MICR", True)


def background(doc, rnd, fake):
    kind = rnd.randrange(8)
    if kind == 0:
        doc.add(fake.paragraph(nb_sentences=3) + "\n")
    elif kind == 1:
        doc.add(fake.address().replace("\n", ", ") + "\n")
    elif kind == 2:
        doc.add(f"{fake.date_time().isoformat()} INFO {fake.uri_path()} served in {rnd.randint(1, 999)} ms status={rnd.choice([200, 201, 404, 500])}\n")
    elif kind == 3:
        doc.add(f"{fake.name()},{fake.job().replace(',', '')},{fake.city()},{rnd.randint(18, 90)},{rnd.randint(10000, 99999)}\n")
    elif kind == 4:
        doc.add(f"def {fake.word()}_{fake.word()}(x):\n    return x * {rnd.randint(2, 9)}  # {fake.sentence()}\n")
    elif kind == 5:
        doc.add(f"{fake.company()} - {fake.catch_phrase()} ({fake.year()})\n")
    elif kind == 6:
        doc.add(f"qty {rnd.randint(1, 99)} price {rnd.randint(1, 9999)}.{rnd.randint(0, 99):02d} total {rnd.randint(1, 99999)}\n")
    else:
        doc.add(fake.sentence() + "\n")


EXTS = [".txt", ".csv", ".log", ".md", ".env", ".py", ".yaml"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--lines-per-file", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--bytes", type=int, default=0, help="throughput corpus of about this many bytes")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    fake = Faker("en_US")
    Faker.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    if args.bytes:
        # Throughput corpus: a pool of generated lines, sampled into 4 MB files.
        pool = []
        doc = Doc()
        for _ in range(60000):
            r = rnd.random()
            (positive if r < 0.02 else decoy if r < 0.04 else background)(doc, rnd, fake)
        blob = b"".join(doc.parts).split(b"\n")
        pool = [line + b"\n" for line in blob if line]
        written = 0
        i = 0
        while written < args.bytes:
            chunk = b"".join(rnd.choice(pool) for _ in range(60000))
            with open(os.path.join(args.out, f"mixed_{i:04d}{EXTS[i % len(EXTS)]}"), "wb") as f:
                f.write(chunk)
            written += len(chunk)
            i += 1
        print(f"wrote {written} bytes in {i} files")
        return
    with open(os.path.join(args.out, "..", "labels.jsonl"), "w") as lab:
        for i in range(args.files):
            doc = Doc()
            for _ in range(args.lines_per_file):
                r = rnd.random()
                if r < 0.18:
                    positive(doc, rnd, fake)
                elif r < 0.30:
                    decoy(doc, rnd, fake)
                else:
                    background(doc, rnd, fake)
            name = f"doc_{i:04d}{EXTS[i % len(EXTS)]}"
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(b"".join(doc.parts))
            for l in doc.labels:
                l["file"] = name
                lab.write(json.dumps(l) + "\n")


if __name__ == "__main__":
    main()
