//! One mail message (`.eml`, or a message of a mailbox) read with
//! `mail-parser`: MIME multipart, base64 and quoted-printable bodies,
//! RFC 2047 encoded headers. The sender, recipients and subject are one
//! stream, each text body another (HTML bodies as their text), and each
//! attachment, forwarded message included, goes back through the nest as
//! a member (`mail.eml!cards.csv`, `inbox.mbox!2!cards.csv`) under the
//! same depth, member and byte limits as an archive's.
//!
//! A message is held in memory while its parts are read: up to
//! [`MAX_MESSAGE`] bytes. A larger one is scanned as plain text (its
//! attachments are not opened), with a note.

use std::io::{self, Cursor, Read};

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};

use crate::nest::{join, Nest};
use crate::Form;

/// Largest message parsed in memory.
pub const MAX_MESSAGE: usize = 32 << 20;

/// Headers that say a text is a mail message.
const MAIL_HEADERS: &[&[u8]] = &[
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"received",
    b"return-path",
    b"delivered-to",
    b"reply-to",
    b"content-type",
    b"x-mailer",
];

/// True when `head` starts with a mail header block: header lines only,
/// two or more of them ones that mail has.
pub fn is_message(head: &[u8]) -> bool {
    let mut known = 0;
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return known >= 2 && i > 0;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if i == 0 {
                return false;
            }
            continue;
        }
        match header_name(line) {
            Some(n) => known += usize::from(MAIL_HEADERS.contains(&&n.to_ascii_lowercase()[..])),
            None => return false,
        }
    }
    known >= 2
}

/// The name of a header line (`Name: value`).
pub fn header_name(line: &[u8]) -> Option<&[u8]> {
    let colon = memchr::memchr(b':', line)?;
    let name = &line[..colon];
    (!name.is_empty() && name.iter().all(|&b| b.is_ascii_graphic())).then_some(name)
}

/// `head` and what follows in `rest`, up to one byte past
/// [`MAX_MESSAGE`] (a longer result is over the limit).
pub fn gather(head: Vec<u8>, rest: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut buf = head;
    let want = (MAX_MESSAGE + 1).saturating_sub(buf.len()) as u64;
    rest.take(want).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a message: `head`, then the rest of `rest`.
pub fn message(
    nest: &mut Nest,
    head: Vec<u8>,
    rest: &mut dyn Read,
    chain: &str,
    depth: u32,
) -> io::Result<()> {
    let buf = gather(head, rest)?;
    if buf.len() > MAX_MESSAGE {
        let msg = format!(
            "{}: message larger than {} MiB: scanned as text, its attachments not opened",
            nest.at(chain),
            MAX_MESSAGE >> 20
        );
        nest.sink.note(msg);
        let name = nest.name(chain, depth);
        return nest.text(&mut Cursor::new(buf).chain(rest), &name, None, Form::Text);
    }
    parts(nest, &buf, chain, depth)
}

/// Reads the parts of the message `raw`, found at `chain`, `depth`
/// containers deep.
pub fn parts(nest: &mut Nest, raw: &[u8], chain: &str, depth: u32) -> io::Result<()> {
    let Some(msg) = MessageParser::default().parse(raw) else {
        nest.corrupt(chain, "not a readable mail message");
        return Ok(());
    };
    let name = nest.name(chain, depth);
    headers(
        nest,
        &name,
        [
            ("From", addresses(msg.from())),
            ("To", addresses(msg.to())),
            ("Cc", addresses(msg.cc())),
            ("Subject", msg.subject().map(str::to_owned)),
        ],
    )?;
    for (i, part) in msg.parts.iter().enumerate() {
        let named = part.attachment_name().filter(|n| !n.is_empty());
        match (&part.body, named) {
            (PartType::Multipart(_), _) => {}
            (PartType::Text(t), None) => {
                nest.text(&mut Cursor::new(t.as_bytes()), &name, None, Form::Extracted)?
            }
            (PartType::Html(h), None) => nest.parts(crate::html::html_text(h.as_bytes()), &name)?,
            (PartType::Message(m), _) => {
                let member = join(chain, named.unwrap_or(&format!("message-{i}")));
                attachment(nest, &m.raw_message, &member, depth)?
            }
            (_, named) => {
                let member = join(chain, named.unwrap_or(&format!("part-{i}")));
                attachment(nest, part.contents(), &member, depth)?
            }
        }
        if nest.guard.spent() {
            nest.note_limits(chain);
            break;
        }
    }
    Ok(())
}

/// Hands a message's sender, recipients and subject (those it has) to
/// the sink as one stream.
pub fn headers(nest: &mut Nest, name: &str, fields: [(&str, Option<String>); 4]) -> io::Result<()> {
    let mut head = String::new();
    for (label, value) in fields {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            head.push_str(&format!("{label}: {v}\n"));
        }
    }
    nest.text(
        &mut Cursor::new(head.as_bytes()),
        name,
        None,
        Form::Extracted,
    )
}

/// Scans an attachment as a member one level down.
pub fn attachment(nest: &mut Nest, bytes: &[u8], member: &str, depth: u32) -> io::Result<()> {
    if !nest.entry(member) || nest.too_large(member, bytes.len() as u64) {
        return Ok(());
    }
    let mut r = nest.budgeted(bytes);
    nest.member(&mut r, member, depth + 1)
}

/// `Name <addr>, ...`.
fn addresses(a: Option<&Address>) -> Option<String> {
    let list: Vec<String> = a?
        .iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (Some(n), None) => n.to_owned(),
            (None, Some(a)) => a.to_owned(),
            (None, None) => String::new(),
        })
        .collect();
    Some(list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_headers_are_told_from_text() {
        assert!(is_message(
            b"Received: from x\n\tby y\nFrom: a@b\nSubject: hi\n\nbody"
        ));
        assert!(is_message(
            b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        ));
        assert!(!is_message(b"From: a@b\nnot a header\n"));
        assert!(!is_message(b"Subject: only one\n\nbody"));
        assert!(!is_message(b"name: x\nssn: 536-22-8726\n"));
    }
}
