#!/usr/bin/env python3
"""A dense CSV export for the throughput benchmarks: a Luhn-valid card, a
valid SSN and an email on every row (about 40 findings per KB).

usage: bench/dense_csv.py OUT MB   (seeded: the same file every time)
"""
import random, sys
random.seed(7)
def luhn_ok(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        n = int(c) * (2 if i % 2 else 1)
        s += n - 9 if n > 9 else n
    return s % 10 == 0
def card():
    while True:
        d = random.choice(["4", "51", "52", "53", "54", "55"]) + "".join(random.choice("0123456789") for _ in range(14))
        d = d[:15]
        for c in "0123456789":
            if luhn_ok(d + c):
                d += c
                break
        return "-".join(d[i:i + 4] for i in range(0, 16, 4))
def ssn():
    return "%03d-%02d-%04d" % (random.choice([n for n in range(1, 900) if n != 666]), random.randint(1, 99), random.randint(1, 9999))
names = ["Ana Pop", "Marisol Quintero", "Teodor Lindqvist", "Chen Wei", "Amara Okafor", "Luca Romano"]
want = int(sys.argv[2]) << 20
with open(sys.argv[1], "w") as f:
    f.write("id,name,card,ssn,email,city\n")
    n, i = 0, 0
    while n < want:
        nm = random.choice(names)
        row = "%d,%s,%s,%s,%s@example.com,Tucson\n" % (i, nm, card(), ssn(), nm.split()[0].lower() + str(i))
        f.write(row)
        n += len(row)
        i += 1
