#!/usr/bin/env python3
"""Labelled material that the detectors did not shape: Faker's own values.

Every SSN, card number, phone number, email and IP address here comes from
Faker's providers (faker.ssn(), faker.credit_card_number(),
faker.phone_number(), faker.email(), faker.ipv4_public(), faker.ipv6()) in
the locale named by the file, written the way exports and notes hold them:
CSV, TSV and xlsx (openpyxl) customer exports (some with SSNs and phones
as bare digits, as databases store them), JSON, YAML, .env, Python source, and prose with
"for example" and "sample" next to real values. Nothing is formatted with
the detectors' own rules. A value is labelled with the detector that
should report it; labels.jsonl lines are
{"file","start","end","line","detector","text","decoy"} (byte offsets).

usage: eval_faker.py OUTDIR [--rows N] [--seed S] [--locales L,L]
"""
import argparse
import json
import os
import random
import re

from faker import Faker

import eval_corpus  # same directory: bench/

LOCALES = ["en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR"]


class Doc(eval_corpus.Doc):
    """A named file being written (eval_corpus's Doc, which tracks byte
    offsets and lines of labels)."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def value(self, text, detector):
        if detector:
            self.labels.append({"file": self.name, "start": self.size, "end": self.size + len(text.encode()),
                                "line": self.lines, "detector": detector, "text": text, "decoy": False})
        self.add(text)

    def write(self, out, lab):
        with open(os.path.join(out, self.name), "wb") as f:
            f.write(b"".join(self.parts))
        for l in self.labels:
            lab.write(json.dumps(l) + "\n")


def csv_cell(v, delim):
    if delim in v or '"' in v or "\n" in v:
        return '"' + v.replace('"', '""') + '"'
    return v


def note(fake, rnd):
    return rnd.choice([
        "for example, see the sample contract",
        "sample customer, example account",
        fake.sentence(),
        "called twice\nleft a voicemail, will retry",
        "",
    ])


def person(fake, rnd, us):
    p = {
        "name": fake.name(),
        "email": fake.email(),
        "phone": fake.phone_number(),
        "card": fake.credit_card_number(),
        "notes": note(fake, rnd),
    }
    if us:
        p["ssn"] = fake.ssn()
    return p


DETECTOR = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "card": "CREDIT_CARD_NUMBER",
            "ssn": "US_SOCIAL_SECURITY_NUMBER", "ip": "IP_ADDRESS"}


def table(doc, rows, cols, delim, header=None):
    doc.add(delim.join(header or cols) + "\n")
    for r in rows:
        for i, c in enumerate(cols):
            if i:
                doc.add(delim)
            v = r[c]
            cell = csv_cell(v, delim)
            if cell != v:
                doc.add('"')
                doc.value(v.replace('"', '""'), DETECTOR.get(c))
                doc.add('"')
            else:
                doc.value(v, DETECTOR.get(c))
        doc.add("\n")


def xlsx(out, lab, name, rows, cols):
    """The same export as an Excel workbook written by openpyxl (one sheet,
    text cells). Labels are offsets in the sheet as pii-scan reads it: a
    tab-separated table, a value holding a tab, quote or line break quoted
    CSV-style, which is the TSV export's text."""
    import openpyxl
    d = Doc(name)
    table(d, rows, cols, "\t")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(cols)
    for r in rows:
        ws.append([r[c] for c in cols])
    wb.save(os.path.join(out, name))
    for l in d.labels:
        lab.write(json.dumps(l) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=60)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--locales", default=",".join(LOCALES),
                    help="comma-separated Faker locales (en_US adds SSN columns)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)
    docs = []
    sheets = []
    for loc in a.locales.split(","):
        fake = Faker(loc)
        fake.seed_instance(a.seed)
        us = loc == "en_US"
        rows = [person(fake, rnd, us) for _ in range(a.rows)]
        for r in rows:
            r["ip"] = fake.ipv4_public() if rnd.random() < 0.7 else fake.ipv6()
        cols = ["name", "email", "phone"] + (["ssn"] if us else []) + ["card", "ip", "notes"]
        for delim, ext in ((",", "csv"), ("\t", "tsv")):
            d = Doc(f"customers_{loc}.{ext}")
            table(d, rows, cols, delim)
            docs.append(d)
        sheets.append((f"customers_{loc}.xlsx", rows, cols))
        if us:
            # Database exports: SSNs as 9 digits, phones as 10, under a header.
            d = Doc(f"accounts_{loc}.csv")
            plain = [{"name": r["name"], "ssn": r["ssn"].replace("-", ""),
                      "phone": re.sub(r"\D", "", fake.basic_phone_number())[-10:], "notes": r["notes"]}
                     for r in rows]
            table(d, plain, ["name", "ssn", "phone", "notes"], ",", ["name", "acct_ssn", "mobile", "notes"])
            docs.append(d)
        # Hard negatives, none labelled: an order export whose ids, EANs,
        # ISBNs, UUIDs, hashes and amounts look like the values above
        # (16-digit order ids pass Luhn one time in ten).
        d = Doc(f"orders_{loc}.csv")
        d.add("order_id,tracking_number,sku,ean13,isbn13,uuid,sha1,amount,ordered_at,zip\n")
        for _ in range(a.rows):
            d.add(",".join([
                str(fake.random_number(digits=16, fix_len=True)),
                "1Z" + fake.bothify("???#########", letters="ABCDEFGHJKLMNPRSTUVWXYZ"),
                fake.bothify("SKU-####-????").upper(),
                fake.ean13(), fake.isbn13(), fake.uuid4(), fake.sha1(),
                f"{rnd.uniform(1, 5000):.2f}", fake.date_time().isoformat(), fake.postcode(),
            ]) + "\n")
        docs.append(d)
        # JSON export.
        d = Doc(f"customers_{loc}.json")
        d.add("[\n")
        # Halves and quarters of the rows: JSON/YAML, source, prose.
        half, three_q = len(rows) // 2, len(rows) * 3 // 4
        for i, r in enumerate(rows[:half]):
            d.add("  {")
            for j, c in enumerate(cols):
                d.add(("" if j == 0 else ", ") + json.dumps(c) + ": \"")
                d.value(r[c].replace("\n", "\\n"), DETECTOR.get(c))
                d.add("\"")
            d.add("}" + ("," if i < half - 1 else "") + "\n")
        d.add("]\n")
        docs.append(d)
        # YAML.
        d = Doc(f"customers_{loc}.yaml")
        d.add("customers:\n")
        for r in rows[:half]:
            d.add(f"  - name: {r['name']}\n")
            for c in cols[1:-1]:
                d.add(f"    {c}: ")
                d.value(r[c], DETECTOR.get(c))
                d.add("\n")
        docs.append(d)
        # .env and Python source.
        d = Doc(f"app_{loc}.env")
        r = rows[0]
        d.add("APP_NAME=crm\nSUPPORT_EMAIL=")
        d.value(r["email"], "EMAIL_ADDRESS")
        d.add("\nSUPPORT_PHONE=\"")
        d.value(r["phone"], "PHONE_NUMBER")
        d.add("\"\nDB_HOST=")
        d.value(fake.ipv4_private(), "IP_ADDRESS")
        d.add("\n")
        docs.append(d)
        d = Doc(f"fixtures_{loc}.py")
        d.add("CUSTOMERS = [\n")
        for r in rows[half:three_q]:
            d.add("    {")
            for j, c in enumerate(cols[:-1]):
                d.add(("" if j == 0 else ", ") + repr(c) + ": '")
                d.value(r[c], DETECTOR.get(c))
                d.add("'")
            d.add("},\n")
        d.add("]\n")
        docs.append(d)
        # Prose with "for example" / "sample" next to real values.
        d = Doc(f"notes_{loc}.txt")
        for r in rows[three_q:]:
            d.add(fake.paragraph() + "\n")
            if us:
                d.add("For example, my SSN is ")
                d.value(r["ssn"], "US_SOCIAL_SECURITY_NUMBER")
                d.add(" and my card is ")
            else:
                d.add("Sample record: paid with card ")
            d.value(r["card"], "CREDIT_CARD_NUMBER")
            d.add(". Example contact: ")
            d.value(r["email"], "EMAIL_ADDRESS")
            d.add(", or call ")
            d.value(r["phone"], "PHONE_NUMBER")
            d.add(".\n")
        docs.append(d)
    with open(os.path.join(a.out, "..", "labels.jsonl"), "w") as lab:
        for d in docs:
            d.write(a.out, lab)
        for name, rows, cols in sheets:
            xlsx(a.out, lab, name, rows, cols)


if __name__ == "__main__":
    main()
