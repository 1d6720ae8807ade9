#!/usr/bin/env python3
"""Writes the xlsx fixtures of tests/pii_scan/faker_exports.rs and their labels.

Two workbooks of Faker (en_US) customers, written by two libraries that
lay sheets out differently:

- customers_openpyxl.xlsx (openpyxl 3.1): text cells as inline strings
  (t="inlineStr"), SSNs as 9-digit numbers; a second sheet "contacts"
  with its own header (phone before name), phones as numbers.
- customers_xlsxwriter.xlsx (XlsxWriter): text cells in the shared-string
  table (xl/sharedStrings.xml), SSNs as 9-digit text, phones as 10-digit
  numbers, and a title row above the header.

labels.json lists, per workbook sheet part, the values the default rule
(and PHONE_NUMBER) must report: every card; every SSN, also those whose
leading zero the numeric cell dropped (074456321 stored as 74456321 is
read back to 9 digits under its `ssn` header); every phone, also one Faker gave an N11 area or exchange
code the NANP never assigns (711-214-4057): under a phone header any
phone-shaped value is reported. Run once from this directory with a venv
holding faker, openpyxl and xlsxwriter:  python3 make.py
"""
import json
import re

import openpyxl
import xlsxwriter
from faker import Faker

ROWS = 25
DETECTORS = (("ssn", "US_SOCIAL_SECURITY_NUMBER"), ("phone", "PHONE_NUMBER"), ("card", "CREDIT_CARD_NUMBER"))


def expected(rows, numeric_ssn):
    out = []
    for r in rows:
        for c, d in DETECTORS:
            v = str(int(r[c])) if c == "ssn" and numeric_ssn else r[c]
            # An SSN stored as a number loses its leading zeros; pii-scan
            # writes them back for a number of 7 or 8 digits under an
            # `ssn` header.
            if c == "ssn" and 7 <= len(v) <= 8:
                v = v.zfill(9)
            if c == "ssn" and len(v) != 9:
                continue
            out.append([d, v])
    return out


def people(seed):
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for _ in range(ROWS):
        out.append({
            "name": fake.name(),
            "ssn": fake.ssn().replace("-", ""),
            "phone": re.sub(r"\D", "", fake.basic_phone_number())[-10:],
            "card": fake.credit_card_number(),
        })
    return out


def main():
    labels = {}
    # openpyxl: inline strings; SSNs as numbers.
    rows = people(3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "customers"
    ws.append(["name", "ssn", "phone", "card"])
    for r in rows:
        ws.append([r["name"], int(r["ssn"]), r["phone"], r["card"]])
    ws2 = wb.create_sheet("contacts")
    ws2.append(["phone", "name"])
    for r in rows[:10]:
        ws2.append([int(r["phone"]), r["name"]])
    wb.save("customers_openpyxl.xlsx")
    labels["customers_openpyxl.xlsx"] = {
        "xl/worksheets/sheet1.xml": expected(rows, True),
        "xl/worksheets/sheet2.xml": [["PHONE_NUMBER", r["phone"]] for r in rows[:10]],
    }
    # XlsxWriter: shared strings; phones as numbers.
    rows = people(4)
    wb = xlsxwriter.Workbook("customers_xlsxwriter.xlsx")
    ws = wb.add_worksheet("export")
    ws.write_row(0, 0, ["Customer export"])
    ws.write_row(1, 0, ["name", "ssn", "phone", "card"])
    for i, r in enumerate(rows):
        ws.write_string(i + 2, 0, r["name"])
        ws.write_string(i + 2, 1, r["ssn"])
        ws.write_number(i + 2, 2, int(r["phone"]))
        ws.write_string(i + 2, 3, r["card"])
    wb.close()
    labels["customers_xlsxwriter.xlsx"] = {
        "xl/worksheets/sheet1.xml": expected(rows, False),
    }
    with open("labels.json", "w") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
