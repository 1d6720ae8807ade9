//! CRYPTOGRAPHIC_KEY: PEM, OpenSSH and OpenPGP private-key blocks whose
//! body decodes to a key (≥ 64 base64 characters between BEGIN and a
//! matching END, judged by [`keyform`]), so empty or elided examples
//! (`...`) and bodies of made-up base64 are not reported as keys.

use std::sync::OnceLock;

use dlp_record::Confidence;

use super::keyform::{self, Form};
use super::{Detector, Find, Hit, Judge, Shape};
use crate::context::is_word;
use crate::evidence::Labels;

pub(crate) const PATTERN: &str = r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----";

pub(crate) const DETECTOR: Detector = Detector {
    name: "CRYPTOGRAPHIC_KEY",
    uuid: "b6a8fbd5-afcd-4ecb-8f98-7d6cd0b34f66",
    find: Find::Own(find_keys),
    labels: Labels::NONE,
    probe: Some(crate::evidence::key_probe),
    votes: false,
    max_len: MAX_BLOCK,
    prepare: None,
};

/// PEM and OpenSSH private-key blocks, plain or wrapped in base64.
fn find_keys(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| super::compile(PATTERN));
    super::scan_regex(re, 128, shape, buf, lo, hi, judge, out);
    scan_wrapped(buf, lo, hi, judge, out);
}

fn shape(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    block(buf, s, e).map(|(end, c)| Shape::at(s, end, c))
}

/// Base64 of `-----BEGIN`: a whole PEM block wrapped in base64 (as in
/// Kubernetes secrets and CI variables).
pub(crate) const B64_BEGIN: &[u8] = b"LS0tLS1CRUdJTi";

/// Longest block searched for its END line.
pub(crate) const MAX_BLOCK: usize = 32 * 1024;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Base64-wrapped PEM private keys starting in `lo..hi` (found by their
/// fixed prefix, not the candidate regex).
fn scan_wrapped(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    let finder = memchr::memmem::Finder::new(B64_BEGIN);
    let mut from = lo;
    while let Some(k) = finder.find(&buf[from..hi.min(buf.len())]) {
        let s = from + k;
        let limit = (s + 16 * 1024).min(buf.len());
        let mut e = s;
        while e < limit && (buf[e].is_ascii_alphanumeric() || matches!(buf[e], b'+' | b'/')) {
            e += 1;
        }
        while e < limit && buf[e] == b'=' && e - s < 16 * 1024 {
            e += 1;
        }
        if let Some(h) = wrapped(buf, s, e).and_then(&mut *judge) {
            out.push(h);
        }
        from = e.max(s + 1);
        if from >= hi {
            break;
        }
    }
}

/// A base64-wrapped PEM private key at `buf[s..e]`.
fn wrapped(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if s > 0 && (is_word(buf[s - 1]) || buf[s - 1] == b'+' || buf[s - 1] == b'/') {
        return None;
    }
    let text = std::str::from_utf8(&buf[s..e]).ok()?;
    // Decode whole 4-character groups only (the match may end unpadded).
    let text = &text[..text.len() / 4 * 4];
    let out = dlp_record::b64::decode(text)?;
    let head = &out[..out.len().min(80)];
    if !head.starts_with(b"-----BEGIN") || memchr::memmem::find(head, b"PRIVATE KEY").is_none() {
        return None;
    }
    // The header ends at the `-----` after `-----BEGIN`.
    let head = find(&out[10..], b"-----").map_or(out.len(), |k| 10 + k + 5);
    let c = match block(&out, 0, head) {
        Some((_, c)) if c >= Confidence::Likely => c,
        _ => Confidence::Possible,
    };
    Some(Shape::at(s, e, c))
}

/// The block opened by the header at `buf[s..e]`: where it ends and how
/// sure it is a key, from what its body decodes to ([`keyform`]): a key's
/// structure is VERY_LIKELY, the start of a DER key cut short (or with
/// lines added) LIKELY, base64 that is no key (a sample) POSSIBLE, a body
/// of fewer than 64 base64 characters or of other text (`...`) UNLIKELY.
fn block(buf: &[u8], s: usize, e: usize) -> Option<(usize, Confidence)> {
    let e = match memchr::memmem::find(&buf[s..e], b"KEY-----") {
        Some(k) => s + k + 8,
        None => e,
    };
    let limit = (s + MAX_BLOCK).min(buf.len());
    // The next armour line must be this block's END line.
    let rel = match find(&buf[e..limit], b"-----") {
        Some(r) if buf[e + r..].starts_with(b"-----END") => r,
        // A header without a body in reach: worth a look, not an alert.
        _ => return Some((e, Confidence::Possible)),
    };
    let end_line = e + rel;
    let close = find(&buf[end_line + 8..limit], b"-----")? + end_line + 8 + 5;
    let quoted = s > 0 && matches!(buf[s - 1], b'"' | b'\'');
    let pgp = buf[s..e].ends_with(b"BLOCK-----");
    let c = match Body::read(&buf[e..end_line], quoted) {
        Some(body) if body.b64.len() >= 64 => match body.form(pgp) {
            Form::Key => Confidence::VeryLikely,
            Form::Partial => Confidence::Likely,
            Form::NotKey => Confidence::Possible,
        },
        _ => Confidence::Unlikely,
    };
    Some((close, c))
}

/// A PEM body's base64 characters, read through the ways keys are
/// written into text.
struct Body {
    b64: Vec<u8>,
    /// A `Proc-Type: 4,ENCRYPTED` header line.
    encrypted: bool,
}

impl Body {
    /// The body `raw` (between the header and the END line), or `None`
    /// when it holds other text than base64 (`...`, a line of `:`).
    /// `quoted`: the header opens a string literal (`"-----BEGIN`).
    fn read(raw: &[u8], quoted: bool) -> Option<Body> {
        let text = unquote(raw, quoted);
        let mut body = Body {
            b64: Vec::with_capacity(text.len()),
            encrypted: false,
        };
        for line in text.split(|&b| b == b'\n') {
            let line = uncomment(line.trim_ascii());
            if is_header(line) {
                body.encrypted |= memchr::memmem::find(line, b"ENCRYPTED").is_some();
                continue;
            }
            if line.starts_with(b"=") {
                continue; // OpenPGP armour checksum
            }
            for &b in line {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                        body.b64.push(b)
                    }
                    b' ' | b'\t' | b'"' | b'\'' | b',' | b';' | b'(' | b')' => {}
                    _ => return None,
                }
            }
        }
        Some(body)
    }

    /// What the base64 decodes to (up to its first `=`; a last lone
    /// character, which carries no whole byte, left out).
    fn form(&self, pgp: bool) -> Form {
        let end = memchr::memchr(b'=', &self.b64).unwrap_or(self.b64.len());
        let text = &self.b64[..end - usize::from(end % 4 == 1)];
        match dlp_record::b64::decode(text) {
            Some(data) => keyform::form(&data, self.encrypted, pgp),
            None => Form::NotKey,
        }
    }
}

/// The body as lines of text: line breaks escaped in a string literal
/// (`\n`, `\r\n`, `\\n` in a JSON string inside another; JSON's `\/` for
/// `/`; a line continued with `\`) made real, and when the body holds
/// quotes (a key split over concatenated literals, `"…\n" +`, `'…',`) only
/// the text inside them kept. Another escape is kept as is (not base64).
fn unquote(raw: &[u8], quoted: bool) -> Vec<u8> {
    let quotes = memchr::memchr2(b'"', b'\'', raw).is_some();
    let mut inside = quoted;
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        match b {
            b'"' | b'\'' if quotes => inside = !inside,
            b'\n' => out.push(b'\n'),
            _ if quotes && !inside => {}
            b'\\' => {
                let k = raw[i..].iter().take_while(|&&b| b == b'\\').count();
                match raw.get(i + k) {
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => {}
                    Some(b'/') => out.push(b'/'),
                    // A continued line.
                    Some(b'\r' | b'\n') | None => {
                        i += k;
                        continue;
                    }
                    Some(_) => {
                        out.push(b'\\');
                        continue;
                    }
                }
                i += k + 1;
            }
            _ => out.push(b),
        }
    }
    out
}

/// A line of a key pasted into a comment without its comment marker
/// (`// `, `/// `, `//! `, `# `, `## `, ` * `, `-- `, `; `).
fn uncomment(line: &[u8]) -> &[u8] {
    let marks = match line.first() {
        Some(b'/') if line.starts_with(b"//") => line.iter().take_while(|&&b| b == b'/').count(),
        Some(b'#' | b';') => line.iter().take_while(|&&b| b == line[0]).count(),
        Some(b'*') => 1,
        Some(b'-') if line.starts_with(b"--") => 2,
        _ => return line,
    };
    let rest = &line[marks..];
    let rest = rest.strip_prefix(b"!").unwrap_or(rest);
    match rest.first() {
        // A comment line left empty, not a base64 line of `/`.
        None if line[0] != b'/' || marks <= 3 => rest,
        None => line,
        Some(b) if b.is_ascii_whitespace() => rest.trim_ascii_start(),
        Some(_) => line,
    }
}

/// An RFC 1421 or OpenPGP armour header line: `Name: value`
/// (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`, `Version: …`, `Comment: …`).
fn is_header(line: &[u8]) -> bool {
    match memchr::memchr(b':', line) {
        Some(k) => {
            k > 0
                && line[..k]
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = include_str!("../../tests/data/keys/pkcs1-rsa.pem");

    #[test]
    fn blocks() {
        let text = format!("x\n{RSA}after");
        let b = text.as_bytes();
        let (end, c) = block(b, 2, 2 + 31).unwrap();
        assert_eq!(c, Confidence::VeryLikely);
        assert_eq!(&text[2..end], RSA.trim_end());
        // The start of a DER key, then base64 of a sentence: cut short.
        let body = "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\nY2F0IGlzIG5vdCBhIGtleSBidXQgaXQgaXMgbG9uZyBlbm91Z2ggdG8gcGFzcw==\n";
        let cut = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
        assert_eq!(block(cut.as_bytes(), 0, 31).unwrap().1, Confidence::Likely);
        let empty = "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(
            block(empty.as_bytes(), 0, 35).unwrap().1,
            Confidence::Unlikely
        );
    }

    #[test]
    fn bodies_read_through_literals() {
        let read = |raw: &str, quoted| Body::read(raw.as_bytes(), quoted).map(|b| b.b64);
        assert_eq!(read("\\nAB+/\\n", true), Some(b"AB+/".to_vec()));
        assert_eq!(read("\\\\nAB\\/C\\r\\n", true), Some(b"AB/C".to_vec()));
        // Concatenated literals: the `+` between them is no base64.
        assert_eq!(
            read("\\n\" +\n\"AB+C\\n\" +\n\"", true),
            Some(b"AB+C".to_vec())
        );
        assert_eq!(read("\\n\" + \"AB\\n\" + \"", true), Some(b"AB".to_vec()));
        // Headers and the armour checksum are not body; a comment marker
        // is dropped.
        let enc = Body::read(
            b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: X\n\n# AB\n=CD\n",
            false,
        )
        .unwrap();
        assert!(enc.encrypted);
        assert_eq!(enc.b64, b"AB");
        let comments = "\n/// AB\n//! CD\n  ## EF\n * GH\n;; IJ\n-- KL\n//\n//MN\n////\n";
        assert_eq!(
            read(comments, false),
            Some(b"ABCDEFGHIJKL//MN////".to_vec())
        );
        // Other text is no body.
        assert_eq!(read("\nAB\n :\n", false), None);
        assert_eq!(read("\nAB\\tCD\n", false), None);
    }
}
