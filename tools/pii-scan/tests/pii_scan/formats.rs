//! What people save, read by the real `pii-scan` at its default rule:
//! PDFs (reportlab, fpdf2 with compressed object streams), a scanned
//! page, screenshots and photos (OCR), mail (Python's email and mailbox),
//! OpenDocument sheets (odfpy) and an RTF letter, all written by those
//! tools (tests/data/formats, see its make.py); and the bombs and bad
//! inputs among them, each ending with a note in bounded time and memory
//! while everything else is still read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_pii-scan");

/// True when poppler and Tesseract are installed (the suite installs
/// them when run as root on Debian; see `testkit::extract_programs`).
fn programs() -> bool {
    testkit::extract_programs()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name)
}

/// One finding: file name, archive path, page, detector, finding,
/// confidence, read by OCR.
type Row = (String, String, Option<u64>, String, String, String, bool);

fn rows(out: &testkit::Output) -> Vec<Row> {
    out.records()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let path = s("path");
            let name = Path::new(&path).file_name().unwrap();
            if let Some(c) = r.get("ocr_confidence") {
                assert!((0..=100).contains(&c.as_u64().unwrap()), "{r}");
            }
            (
                name.to_string_lossy().into_owned(),
                s("archive_path"),
                r["page"].as_u64(),
                s("detector"),
                s("finding"),
                s("confidence"),
                r.get("ocr_confidence").is_some(),
            )
        })
        .collect()
}

fn row(
    file: &str,
    archive: &str,
    page: Option<u64>,
    det: &str,
    f: &str,
    conf: &str,
    ocr: bool,
) -> Row {
    let det = match det {
        "ssn" => "US Social Security Number",
        _ => "Credit Card Number",
    };
    (
        file.into(),
        archive.into(),
        page,
        det.into(),
        f.into(),
        conf.into(),
        ocr,
    )
}

const SSN: &str = "ssn";
const CARD: &str = "card";
const L: &str = "LIKELY";
const VL: &str = "VERY_LIKELY";

/// The table: 15 values in 9 files written by other tools, of
/// which the default rule found 2 before; now every one, with where it
/// is (page, member chain) and whether OCR read it.
#[test]
fn the_fifteen_values_are_all_found_at_the_default_rule() {
    if !programs() {
        return;
    }
    let files = [
        "w2.pdf",
        "intake.pdf",
        "scan.pdf",
        "screenshot.png",
        "photo.jpg",
        "letter.eml",
        "inbox.mbox",
        "staff.ods",
        "letter.rtf",
    ];
    let out = cmd(BIN).args(files.map(data)).run().expect_code(0);
    assert_eq!(out.stderr_str(), "");
    assert_eq!(
        rows(&out),
        [
            row("w2.pdf", "", Some(1), SSN, "412-58-3071", L, false),
            row(
                "w2.pdf",
                "",
                Some(2),
                CARD,
                "4539 1488 0343 6772",
                VL,
                false
            ),
            row("intake.pdf", "", Some(1), SSN, "219-44-6180", VL, false),
            row(
                "intake.pdf",
                "",
                Some(1),
                CARD,
                "5193 7702 4561 8347",
                VL,
                false
            ),
            row("scan.pdf", "", Some(1), SSN, "318-26-9054", VL, true),
            row("screenshot.png", "", None, SSN, "527-81-4436", VL, true),
            row(
                "screenshot.png",
                "",
                None,
                CARD,
                "4929 8136 0571 2492",
                VL,
                true
            ),
            row("photo.jpg", "", None, CARD, "5288 6103 4497 1534", VL, true),
            row("letter.eml", "", None, SSN, "604-19-2278", VL, false),
            row(
                "letter.eml",
                "cards.csv",
                None,
                CARD,
                "4556 7311 9042 8615",
                VL,
                false
            ),
            row("inbox.mbox", "1", None, SSN, "143-67-5029", VL, false),
            row(
                "inbox.mbox",
                "2!cards.csv",
                None,
                CARD,
                "6011 5270 9934 4174",
                VL,
                false
            ),
            row("staff.ods", "content.xml", None, SSN, "386527114", L, false),
            row("staff.ods", "content.xml", None, SSN, "471039925", L, false),
            row("letter.rtf", "", None, SSN, "255-73-8841", VL, false),
        ]
    );
    // Offsets are in the extracted text: the PDF page's, the sheet's table.
    let recs = out.records();
    assert!(recs[0]["before_context"]
        .as_str()
        .unwrap()
        .contains("compensation"));
    assert_eq!(recs[12]["before_context"], "name\tssn\nAna Ruiz\t");
}

/// TIFF, BMP and WebP are read like PNG and JPEG; a sheet's number that
/// lost its SSN's leading zero is read back with it.
#[test]
fn other_image_formats_and_a_lost_leading_zero() {
    if !programs() {
        return;
    }
    let files = ["id.tiff", "id.bmp", "id.webp", "zeros.ods"];
    let out = cmd(BIN).args(files.map(data)).run().expect_code(0);
    let id = |f: &str| row(f, "", None, SSN, "733-15-2096", VL, true);
    assert_eq!(
        rows(&out),
        [
            id("id.tiff"),
            id("id.bmp"),
            id("id.webp"),
            row("zeros.ods", "content.xml", None, SSN, "041567392", L, false),
        ]
    );
}

/// `--ocr never` skips images (one note each) and text-less PDF pages;
/// the text of everything else is read as before.
#[test]
fn ocr_never_reads_no_images() {
    if !programs() {
        return;
    }
    let files = ["screenshot.png", "scan.pdf", "w2.pdf"];
    let out = cmd(BIN)
        .args(["--ocr", "never"])
        .args(files.map(data))
        .run()
        .expect_code(0);
    assert_eq!(rows(&out).len(), 2);
    assert!(rows(&out).iter().all(|r| r.0 == "w2.pdf"));
    let err = out.stderr_str();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("screenshot.png: skipped: image (--ocr never)"),
        "{err}"
    );
}

/// A PDF that needs a password is skipped with a note (exit 0); one
/// poppler cannot read is corrupt (exit 1); the good file beside them is
/// still read in full; a PDF inside a zip inside a mail keeps its chain
/// and pages.
#[test]
fn bad_pdfs_get_a_note_and_lose_nothing_else() {
    if !programs() {
        return;
    }
    let dir = TempDir::new("formats-bad");
    std::fs::write(
        dir.join("broken.pdf"),
        b"%PDF-1.4\n1 0 obj <</Type/Catalog>>\ngarbage",
    )
    .unwrap();
    let w2 = std::fs::read(data("w2.pdf")).unwrap();
    std::fs::write(dir.join("truncated.pdf"), &w2[..w2.len() / 3]).unwrap();
    let out = cmd(BIN)
        .arg(data("encrypted.pdf"))
        .arg(dir.join("broken.pdf"))
        .arg(dir.join("truncated.pdf"))
        .arg(data("w2.pdf"))
        .run()
        .expect_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("encrypted.pdf: skipped: encrypted PDF (a password is needed to read it)"),
        "{err}"
    );
    assert!(
        err.contains("broken.pdf: skipped: corrupt: pdftotext could not read it"),
        "{err}"
    );
    let found = rows(&out);
    assert_eq!(
        found.iter().filter(|r| r.0 == "w2.pdf").count(),
        2,
        "{found:?}"
    );
    assert!(found.iter().all(|r| r.0 != "encrypted.pdf"));
}

/// The mail machinery hands attachments back to the container walk: a
/// zip attached to a mail holds a PDF whose findings say all three.
#[test]
fn a_pdf_in_a_zip_attached_to_a_mail() {
    if !programs() {
        return;
    }
    let dir = TempDir::new("formats-nest");
    let zip = zip_of(&[("docs/w2.pdf", std::fs::read(data("w2.pdf")).unwrap())]);
    let eml = dir.join("fwd.eml");
    std::fs::write(
        &eml,
        mail_with(
            "Forwarded",
            "See attached.",
            &[("docs.zip", "application/zip", &zip)],
        ),
    )
    .unwrap();
    let out = cmd(BIN).arg(&eml).run().expect_code(0);
    assert_eq!(
        rows(&out),
        [
            row(
                "fwd.eml",
                "docs.zip!docs/w2.pdf",
                Some(1),
                SSN,
                "412-58-3071",
                L,
                false
            ),
            row(
                "fwd.eml",
                "docs.zip!docs/w2.pdf",
                Some(2),
                CARD,
                "4539 1488 0343 6772",
                VL,
                false
            ),
        ]
    );
    // One level fewer: the zip in the mail is as deep as it may go.
    let out = cmd(BIN)
        .args(["--max-depth", "1"])
        .arg(&eml)
        .run()
        .expect_code(0);
    assert!(rows(&out).is_empty());
    assert!(out
        .stderr_str()
        .contains("fwd.eml!docs.zip: skipped: container nested deeper than --max-depth 1"));
}

/// A missing adapter program skips the file with one note naming the
/// Debian package to install.
#[test]
fn a_missing_program_names_its_package() {
    let out = cmd(BIN)
        .env("PATH", "/nonexistent")
        .arg(data("w2.pdf"))
        .arg(data("photo.jpg"))
        .arg(data("letter.rtf"))
        .run()
        .expect_code(0);
    assert_eq!(
        out.stderr_str(),
        format!(
            "pii-scan: {}: skipped: PDF text needs pdftotext (install the Debian package poppler-utils)\n\
             pii-scan: {}: skipped: OCR needs tesseract (install the Debian package tesseract-ocr)\n",
            data("w2.pdf").display(),
            data("photo.jpg").display()
        )
    );
    assert_eq!(rows(&out).len(), 1, "the RTF needs no program");
}

/// A 20,000-page PDF: every page is read, each finding names its page,
/// and memory stays within pii-scan's bound; the byte budget and the time
/// limit end it with a note.
#[test]
fn a_twenty_thousand_page_pdf_is_read_in_bounded_memory_and_time() {
    if !programs() {
        return;
    }
    let dir = TempDir::new("formats-pdf-bomb");
    let pdf = dir.join("bomb.pdf");
    std::fs::write(&pdf, many_pages(20_000, "SSN 412-58-3071")).unwrap();
    let m = testkit::measured(BIN, &["-j".as_ref(), "1".as_ref(), pdf.as_os_str()]);
    assert_eq!((m.code, m.lines), (0, 20_000));
    assert!(m.peak_kib < 64 * 1024, "peak RSS {} KiB", m.peak_kib);
    let t = Instant::now();
    let out = cmd(BIN)
        .args(["--max-decompressed", "100K"])
        .arg(&pdf)
        .run()
        .expect_code(0);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(
        out.stderr_str(),
        format!("pii-scan: {}: decompression limit reached (--max-decompressed: 102400 bytes); the rest was not scanned\n", pdf.display())
    );
    assert!((5000..6000).contains(&out.records().len()));
    // Pages without text: OCR stops at the time limit too.
    let blank = dir.join("blank.pdf");
    std::fs::write(&blank, many_pages(20_000, "")).unwrap();
    let t = Instant::now();
    let out = cmd(BIN)
        .args(["--ocr", "always", "--file-timeout", "3s"])
        .arg(&blank)
        .run()
        .expect_code(0);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(
        out.stderr_str().contains("#page=")
            && out
                .stderr_str()
                .contains("time limit reached (--file-timeout 3s)"),
        "{}",
        out.stderr_str()
    );
}

/// An image whose header claims 60,000 × 60,000 pixels (3.6 GB decoded)
/// is never handed to Tesseract, whatever --ocr says.
#[test]
fn an_image_bomb_ends_with_a_note() {
    let dir = TempDir::new("formats-png-bomb");
    let png = dir.join("huge.png");
    std::fs::write(&png, png_header(60_000, 60_000)).unwrap();
    for mode in ["auto", "always"] {
        let t = Instant::now();
        let out = cmd(BIN)
            .args(["--ocr", mode])
            .arg(&png)
            .run()
            .expect_code(0);
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(
            out.stderr_str(),
            format!(
                "pii-scan: {}: skipped: image of 60000 x 60000 pixels exceeds the OCR limit of 200000000 pixels\n",
                png.display()
            )
        );
    }
}

/// A mailbox whose message forwards a message that forwards a message,
/// 200 deep: the levels within --max-depth are read, the rest is one
/// note, quickly and in bounded memory.
#[test]
fn a_deeply_nested_mailbox_ends_with_a_note() {
    let dir = TempDir::new("formats-mbox-bomb");
    let mut msg = mail_with("level 200", "SSN 604-19-2278", &[]);
    for level in (1..200).rev() {
        let body = format!("level {level}");
        msg = mail_with(&body, &body, &[("fwd.eml", "message/rfc822", &msg)]);
    }
    let mbox = dir.join("nested.mbox");
    let mut f = std::fs::File::create(&mbox).unwrap();
    f.write_all(b"From a@example.org Mon Dec  1 09:00:00 2025\n")
        .unwrap();
    f.write_all(&msg).unwrap();
    drop(f);
    let t = Instant::now();
    let m = testkit::measured(BIN, &[mbox.as_os_str()]);
    assert_eq!((m.code, m.lines), (0, 0));
    assert!(t.elapsed() < Duration::from_secs(20));
    assert!(m.peak_kib < 64 * 1024, "peak RSS {} KiB", m.peak_kib);
    let out = cmd(BIN).arg(&mbox).run().expect_code(0);
    assert_eq!(
        out.stderr_str(),
        format!(
            "pii-scan: {}!1!fwd.eml!fwd.eml: skipped: container nested deeper than --max-depth 3\n",
            mbox.display()
        )
    );
}

/// HTML text outside tags: entities decoded, a table's header labels its
/// cells.
#[test]
fn html_text_outside_tags() {
    let dir = TempDir::new("formats-html");
    let page = dir.join("staff.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>SSN&#58; 536-22-<b>8726</b></p>\n<table><tr><th>name</th><th>ssn</th></tr>\n<tr><td>Ana</td><td>386527114</td></tr><tr><td>Ben</td><td>471039925</td></tr></table></body></html>",
    )
    .unwrap();
    let out = cmd(BIN).arg(&page).run().expect_code(0);
    let found: Vec<String> = rows(&out).into_iter().map(|r| r.4).collect();
    assert_eq!(found, ["536-22-8726", "386527114", "471039925"]);
}

/// A mail message (RFC 5322, MIME multipart) with these attachments
/// (name, content type, bytes), base64-encoded.
fn mail_with(subject: &str, body: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let boundary = format!("b{}", subject.len() * 7919 + body.len());
    let mut m = format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
    )
    .into_bytes();
    for (name, ctype, bytes) in attachments {
        if *ctype == "message/rfc822" {
            m.extend_from_slice(format!("--{boundary}\r\nContent-Type: message/rfc822; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n").as_bytes());
            m.extend_from_slice(bytes);
            m.extend_from_slice(b"\r\n");
        } else {
            m.extend_from_slice(format!("--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n", b64.encode(bytes)).as_bytes());
        }
    }
    m.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    m
}

/// A PDF of `n` pages sharing one content stream that shows `text`
/// (nothing when empty), with a cross-reference table.
fn many_pages(n: usize, text: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    let content = if text.is_empty() {
        String::new()
    } else {
        format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET")
    };
    obj(&mut out, b"<</Type/Catalog/Pages 2 0 R>>");
    let kids: Vec<String> = (0..n).map(|k| format!("{} 0 R", 5 + k)).collect();
    obj(
        &mut out,
        format!("<</Type/Pages/Kids[{}]/Count {n}>>", kids.join(" ")).as_bytes(),
    );
    obj(
        &mut out,
        format!(
            "<</Length {}>>\nstream\n{content}\nendstream",
            content.len()
        )
        .as_bytes(),
    );
    obj(&mut out, b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>");
    for _ in 0..n {
        obj(&mut out, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 3 0 R/Resources<</Font<</F1 4 0 R>>>>>>");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PNG that claims `w` × `h` grey pixels (its data is a few bytes).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend_from_slice(&crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", b""));
    png
}

/// A zip archive of `(name, bytes)` members.
fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// An Outlook `.msg` (written by Aspose.Email) is read as a message: its
/// sender, recipient and body; other OLE files (legacy .doc) are skipped
/// with a note.
#[test]
fn outlook_messages_are_read() {
    let out = cmd(BIN)
        .args([
            "--detector",
            "EMAIL_ADDRESS",
            "--min-confidence",
            "VERY_UNLIKELY",
        ])
        .arg(data("outlook.msg"))
        .run()
        .expect_code(0);
    let found: Vec<String> = rows(&out).into_iter().map(|r| r.4).collect();
    assert_eq!(found, ["from@domain.com", "to@domain.com"]);
    let dir = TempDir::new("formats-ole");
    let mut doc = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    doc.resize(4096, 0);
    std::fs::write(dir.join("old.doc"), &doc).unwrap();
    let out = cmd(BIN).arg(dir.join("old.doc")).run().expect_code(0);
    assert!(out
        .stderr_str()
        .contains("old.doc: skipped: binary (an OLE file that is not an Outlook message"));
}
