"""Writes the inputs of bench/extract.sh:

  pdf/report-N.pdf     reportlab, N pages of prose with an SSN and a card per page
  pdf/form-N.pdf       fpdf2 (embedded TrueType font) rewritten by pikepdf with
                       compressed object streams, N pages
  pdf/pages-20000.pdf  20,000 pages sharing one content stream (a page-count bomb)
  ocr/scan-N.pdf       Pillow: N scanned pages (each one image) with an SSN
  home/                a mixed home directory: Documents (text, CSV, PDFs, ODS,
                       RTF, HTML), Downloads (zip, mail, mbox), Pictures
                       (screenshots with text, photos without)

usage: extract_corpus.py OUT PAGES
"""
import email.policy
import io
import mailbox
import os
import random
import sys
import zipfile
from email.message import EmailMessage

from fpdf import FPDF
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfgen import canvas
import pikepdf

RND = random.Random(11)
WORDS = "the quarterly report covers revenue staff benefits travel policy account review notes customer".split()


def luhn(prefix, n=16):
    d = [int(c) for c in prefix] + [RND.randrange(10) for _ in range(n - len(prefix) - 1)]
    for cd in range(10):
        s = 0
        for i, x in enumerate(reversed(d + [cd])):
            if i % 2:
                x *= 2
                x -= 9 if x > 9 else 0
            s += x
        if s % 10 == 0:
            return "".join(map(str, d + [cd]))


def ssn():
    return f"{RND.randrange(1, 660):03}-{RND.randrange(1, 99):02}-{RND.randrange(1, 9999):04}"


def prose(n=40):
    return " ".join(RND.choice(WORDS) for _ in range(n))


def report(path, pages):
    c = canvas.Canvas(path)
    for p in range(pages):
        y = 760
        for _ in range(30):
            c.drawString(60, y, prose(12))
            y -= 20
        c.drawString(60, y, f"Employee SSN {ssn()} card {luhn('4')}")
        c.showPage()
    c.save()


def form(path, pages):
    pdf = FPDF()
    pdf.add_font("DejaVu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=10)
    for _ in range(pages):
        pdf.add_page()
        for _ in range(30):
            pdf.cell(0, 7, prose(12), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 7, f"Patient SSN: {ssn()} — card {luhn('5')}", new_x="LMARGIN", new_y="NEXT")
    tmp = path + ".plain"
    pdf.output(tmp)
    with pikepdf.open(tmp) as p:
        p.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    os.remove(tmp)


def page_image(lines, size=(1275, 1650)):
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    y = 150
    for line in lines:
        d.text((110, y), line, fill=0, font=ImageFont.load_default(size=30))
        y += 52
    return img


def scans(path, pages):
    imgs = [page_image([prose(6) for _ in range(12)] + [f"SSN {ssn()}"]) for _ in range(pages)]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], resolution=150.0)


def home(root, scale):
    docs, dl, pics = (os.path.join(root, d) for d in ("Documents", "Downloads", "Pictures"))
    for d in (docs, dl, pics):
        os.makedirs(d, exist_ok=True)
    for i in range(20 * scale):
        with open(os.path.join(docs, f"notes-{i}.txt"), "w") as f:
            f.write("\n".join(prose() for _ in range(200)) + f"\nssn {ssn()}\n")
        with open(os.path.join(docs, f"export-{i}.csv"), "w") as f:
            f.write("name,ssn,card\n" + "".join(f"p{j},{ssn()},{luhn('4')}\n" for j in range(200)))
    for i in range(4 * scale):
        report(os.path.join(docs, f"statement-{i}.pdf"), 10)
        form(os.path.join(docs, f"form-{i}.pdf"), 5)
        scans(os.path.join(docs, f"scanned-{i}.pdf"), 2)
        doc = OpenDocumentSpreadsheet()
        t = Table(name="s")
        for row in [["name", "ssn"]] + [[f"p{j}", ssn().replace("-", "")] for j in range(50)]:
            tr = TableRow()
            for v in row:
                c = TableCell(valuetype="string")
                c.addElement(P(text=v))
                tr.addElement(c)
            t.addElement(tr)
        doc.spreadsheet.addElement(t)
        doc.save(os.path.join(docs, f"staff-{i}.ods"))
        with open(os.path.join(docs, f"letter-{i}.rtf"), "w") as f:
            f.write(r"{\rtf1\ansi{\fonttbl{\f0 Calibri;}}\f0 " + prose() + f" SSN {ssn()}\\par}}")
        with open(os.path.join(docs, f"page-{i}.html"), "w") as f:
            f.write(f"<!DOCTYPE html><html><body><p>{prose()}</p><table><tr><th>name</th><th>ssn</th></tr><tr><td>x</td><td>{ssn()}</td></tr></table></body></html>")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("a.csv", "name,ssn\n" + "".join(f"p,{ssn()}\n" for _ in range(500)))
            z.write(os.path.join(docs, f"statement-{i}.pdf"), "statement.pdf")
        with open(os.path.join(dl, f"archive-{i}.zip"), "wb") as f:
            f.write(buf.getvalue())
        m = EmailMessage(policy=email.policy.SMTP)
        m["From"], m["To"], m["Subject"] = "a@example.org", "b@example.org", "records"
        m.set_content(prose() + f"\nSSN {ssn()}\n", cte="quoted-printable")
        m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="records.zip")
        with open(os.path.join(dl, f"mail-{i}.eml"), "wb") as f:
            f.write(m.as_bytes())
        box = mailbox.mbox(os.path.join(dl, f"inbox-{i}.mbox"))
        for _ in range(20):
            e = EmailMessage()
            e["From"], e["Subject"] = "c@example.org", "hi"
            e.set_content(prose() + f"\ncard {luhn('4')}\n", cte="base64")
            box.add(e)
        box.close()
        shot = Image.new("RGB", (1000, 300), (245, 245, 245))
        d = ImageDraw.Draw(shot)
        d.text((30, 60), f"SSN: {ssn()}", fill=(0, 0, 0), font=ImageFont.load_default(size=28))
        d.text((30, 140), f"Card {luhn('4')}", fill=(0, 0, 0), font=ImageFont.load_default(size=28))
        shot.save(os.path.join(pics, f"screenshot-{i}.png"))
        photo = Image.new("RGB", (1600, 1200))
        px = photo.load()
        for y in range(0, 1200, 4):
            for x in range(0, 1600, 4):
                px[x, y] = (RND.randrange(256), RND.randrange(256), RND.randrange(256))
        photo.save(os.path.join(pics, f"photo-{i}.jpg"), quality=85)


def many_pages(path, n, text):
    """A PDF of n pages sharing one content stream (a page-count bomb)."""
    out = bytearray(b"%PDF-1.4\n")
    offs = []

    def obj(body):
        offs.append(len(out))
        out.extend(f"{len(offs)} 0 obj\n".encode() + body + b"\nendobj\n")

    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    obj(b"<</Type/Catalog/Pages 2 0 R>>")
    obj(f"<</Type/Pages/Kids[{' '.join(f'{5 + k} 0 R' for k in range(n))}]/Count {n}>>".encode())
    obj(f"<</Length {len(content)}>>\nstream\n".encode() + content + b"\nendstream")
    obj(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    for _ in range(n):
        obj(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 3 0 R/Resources<</Font<</F1 4 0 R>>>>>>")
    xref = len(out)
    out.extend(f"xref\n0 {len(offs) + 1}\n0000000000 65535 f \n".encode())
    for o in offs:
        out.extend(f"{o:010} 00000 n \n".encode())
    out.extend(f"trailer\n<</Size {len(offs) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode())
    with open(path, "wb") as f:
        f.write(out)


def main():
    out, pages = sys.argv[1], int(sys.argv[2])
    for d in ("pdf", "ocr"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    report(os.path.join(out, "pdf", f"report-{pages}.pdf"), pages)
    form(os.path.join(out, "pdf", f"form-{pages}.pdf"), pages)
    many_pages(os.path.join(out, "pdf", "pages-20000.pdf"), 20000, "SSN 412-58-3071")
    scans(os.path.join(out, "ocr", "scan-10.pdf"), 10)
    home(os.path.join(out, "home"), 1)


if __name__ == "__main__":
    main()
