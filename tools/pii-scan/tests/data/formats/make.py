"""Writes the files of tests/pii_scan/formats.rs once, each with the tool people
make such files with, so their layout is the tools' own, not ours:

  w2.pdf          reportlab: a W-2 style form, Helvetica (WinAnsi), SSN and payroll card
  intake.pdf      fpdf2: an intake form in an embedded TrueType font (Identity-H,
                  ToUnicode), Flate streams, rewritten by pikepdf (qpdf) with
                  compressed object streams; SSN and card
  scan.pdf        Pillow: a scanned page, the page one JPEG image (no text); SSN
  screenshot.png  Pillow: a screenshot of a form; SSN and card
  photo.jpg       Pillow: a photo of a printed card number, slightly turned and noisy
  id.tiff, id.bmp, id.webp
                  Pillow: the same ID line in the other image formats OCR reads
  letter.eml      Python's email: SSN in a quoted-printable body, RFC 2047 subject,
                  cards.csv attached (base64)
  inbox.mbox      Python's mailbox: two messages, base64 bodies; the second has
                  cards.csv attached
  staff.ods       odfpy: a sheet headed name,ssn with plain 9-digit SSNs, one a
                  text cell and one a number cell
  zeros.ods       odfpy: an SSN stored as a number that lost its leading zero
  letter.rtf      an RTF letter as WordPad writes one (font and colour tables,
                  \\'hh escapes); no RTF writer on PyPI is kept up, so it is
                  written out here
  encrypted.pdf   reportlab: a PDF that needs the password "secret"

Run once from this directory in a throwaway venv holding reportlab 5.1.0,
fpdf2 2.8.9, pikepdf, Pillow 13.0.0 and odfpy 1.4.1 (with Debian's
fonts-dejavu-core for intake.pdf's embedded font):  python3 make.py
"""
import email.policy
import mailbox
import random
from email.message import EmailMessage

from fpdf import FPDF
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas
import pikepdf

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def w2():
    c = canvas.Canvas("w2.pdf", pagesize=letter)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 720, "Form W-2 Wage and Tax Statement 2025")
    c.setFont("Helvetica", 11)
    c.rect(70, 600, 470, 100)
    c.drawString(80, 680, "a  Employee's social security number")
    c.drawString(80, 662, "412-58-3071")
    c.drawString(300, 680, "1  Wages, tips, other compensation")
    c.drawString(300, 662, "58,214.37")
    c.drawString(80, 630, "Employer: Caldera Logistics LLC, 18 Pier Rd, Tacoma WA")
    c.showPage()
    c.setFont("Helvetica", 11)
    c.drawString(72, 720, "Direct deposit and payroll card")
    c.drawString(72, 700, "Payroll card number: 4539 1488 0343 6772")
    c.save()


def intake():
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=DEJAVU)
    pdf.add_page()
    pdf.set_font("DejaVu", size=14)
    pdf.cell(0, 10, "Patient intake form — Clínica San José", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=11)
    for line in (
        "Name: Zoë Castellanos",
        "Date of birth: 1987-03-14",
        "SSN: 219-44-6180",
        "Card for co-payments: 5193 7702 4561 8347",
        "Insurance: Ridgeline Health PPO",
    ):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output("intake-plain.pdf")
    with pikepdf.open("intake-plain.pdf") as p:
        p.save("intake.pdf", object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    import os
    os.remove("intake-plain.pdf")


def font(size):
    return ImageFont.load_default(size=size)


def page_image(lines, size=(1275, 1650), at=(120, 160), pt=34):
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    y = at[1]
    for line in lines:
        d.text((at[0], y), line, fill=0, font=font(pt))
        y += int(pt * 1.8)
    return img


def scan():
    img = page_image(["Benefits enrollment (scanned)", "Employee SSN: 318-26-9054", "Signed: R. Okafor"])
    img.save("scan.pdf", resolution=150.0)


def screenshot():
    img = Image.new("RGB", (900, 260), (246, 247, 249))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 900, 44), fill=(40, 62, 110))
    d.text((16, 10), "Checkout - Account settings", fill=(255, 255, 255), font=font(22))
    d.text((30, 80), "SSN: 527-81-4436", fill=(20, 20, 20), font=font(26))
    d.text((30, 140), "Card number: 4929 8136 0571 2492", fill=(20, 20, 20), font=font(26))
    d.text((30, 200), "Expires 09/28", fill=(90, 90, 90), font=font(20))
    img.save("screenshot.png")


def photo():
    img = Image.new("RGB", (1000, 300), (232, 228, 218))
    d = ImageDraw.Draw(img)
    d.text((40, 110), "Card 5288 6103 4497 1534", fill=(35, 35, 40), font=font(44))
    img = img.rotate(1.5, expand=True, fillcolor=(232, 228, 218))
    rnd = random.Random(7)
    px = img.load()
    for _ in range(20000):
        x, y = rnd.randrange(img.width), rnd.randrange(img.height)
        v = rnd.randrange(150, 230)
        px[x, y] = (v, v, v)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    img.save("photo.jpg", quality=80)


def id_formats():
    img = page_image(["Member ID record", "SSN 733-15-2096"], size=(700, 220), at=(30, 40), pt=30)
    img.save("id.tiff", compression="tiff_lzw")
    img.save("id.bmp")
    img.save("id.webp", quality=90)


def eml():
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = "Zoë Castellanos <zoe@example.org>"
    m["To"] = "HR <hr@example.org>"
    m["Subject"] = "Unterlagen für die Lohnabrechnung"
    m["Date"] = "Mon, 01 Dec 2025 09:30:00 +0100"
    m.set_content("Hallo,\n\nmeine SSN für die Abrechnung: 604-19-2278.\nGrüße, Zoë\n", cte="quoted-printable")
    m.add_attachment(b"name,card\nZoe Castellanos,4556 7311 9042 8615\n", maintype="text", subtype="csv", filename="cards.csv", cte="base64")
    with open("letter.eml", "wb") as f:
        f.write(m.as_bytes())


def mbox():
    box = mailbox.mbox("inbox.mbox", create=True)
    box.lock()
    try:
        box.clear()
        a = EmailMessage()
        a["From"] = "payroll@example.org"
        a["To"] = "ana@example.org"
        a["Subject"] = "Your record"
        a["Date"] = "Tue, 02 Dec 2025 10:00:00 +0000"
        a.set_content("Your SSN on file is 143-67-5029.\n", cte="base64")
        box.add(a)
        b = EmailMessage()
        b["From"] = "billing@example.org"
        b["To"] = "ana@example.org"
        b["Subject"] = "Cards"
        b["Date"] = "Tue, 02 Dec 2025 11:00:00 +0000"
        b.set_content("The cards are attached.\n", cte="base64")
        b.add_attachment(b"holder,card\nAna Ruiz,6011 5270 9934 4174\n", maintype="text", subtype="csv", filename="cards.csv", cte="base64")
        box.add(b)
        box.flush()
    finally:
        box.unlock()
        box.close()


def ods(path, rows):
    doc = OpenDocumentSpreadsheet()
    t = Table(name="staff")
    for row in rows:
        tr = TableRow()
        for v in row:
            if isinstance(v, int):
                cell = TableCell(valuetype="float", value=v)
                cell.addElement(P(text=str(v)))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=v))
            tr.addElement(cell)
        t.addElement(tr)
    doc.spreadsheet.addElement(t)
    doc.save(path)


def rtf():
    body = (
        r"{\rtf1\ansi\ansicpg1252\deff0\nouicompat\deflang1033{\fonttbl{\f0\fnil\fcharset0 Calibri;}}"
        "\r\n"
        r"{\colortbl ;\red0\green0\blue255;}"
        "\r\n"
        r"{\*\generator Riched20 10.0.19041}\viewkind4\uc1 "
        "\r\n"
        r"\pard\sa200\sl276\slmult1\f0\fs22\lang9 Dear Mr. Okafor,\par"
        "\r\n"
        r"as requested, the social security number on your r\'e9sum\'e9 file is 255-73-8841.\par"
        "\r\n"
        r"Kind regards,\par"
        "\r\n"
        r"Human Resources\par"
        "\r\n}\r\n\x00"
    )
    with open("letter.rtf", "wb") as f:
        f.write(body.encode("cp1252"))


def encrypted():
    c = canvas.Canvas("encrypted.pdf", encrypt="secret")
    c.drawString(72, 720, "SSN 412-58-3071")
    c.save()


def main():
    w2()
    intake()
    scan()
    screenshot()
    photo()
    id_formats()
    eml()
    mbox()
    ods("staff.ods", [["name", "ssn"], ["Ana Ruiz", "386527114"], ["Ben Okafor", 471039925]])
    ods("zeros.ods", [["name", "ssn"], ["Cleo Marsh", 41567392]])
    rtf()
    encrypted()


if __name__ == "__main__":
    main()
