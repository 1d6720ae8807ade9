//! CRYPTOGRAPHIC_KEY: PEM and OpenSSH private-key blocks with a real body
//! (≥ 64 base64 characters between BEGIN and a matching END), so empty or
//! elided examples (`...`) are not reported as keys.

use std::sync::OnceLock;

use dlp_record::Confidence;

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
    let c = match block(&out, 0, out.len().min(64)) {
        Some((_, Confidence::VeryLikely)) => Confidence::VeryLikely,
        _ => Confidence::Possible,
    };
    Some(Shape::at(s, e, c))
}

/// The block opened by the header at `buf[s..e]`: where it ends and how
/// sure it is a key (a base64 body of 64 characters or more between the
/// header and its END line).
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
    let body = &buf[e..e + rel];
    let end_line = e + rel;
    let close = find(&buf[end_line + 8..limit], b"-----")? + end_line + 8 + 5;
    let (b64, bad) = body_stats(body);
    let c = if bad || b64 < 64 {
        Confidence::Unlikely
    } else {
        Confidence::VeryLikely
    };
    Some((close, c))
}

/// Base64 characters in a PEM body and whether anything else is in it.
/// Line breaks may be real or escaped inside a string literal (`\n`,
/// `\r\n`, `\\n`; `\/`), and the body may be split over concatenated string literals
/// (`"…\n" +`, `"…" \`, `'…',`), as keys pasted into source code are.
fn body_stats(body: &[u8]) -> (usize, bool) {
    let mut b64 = 0usize;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.contains(&b':') || line.starts_with(b"=") {
            continue; // Proc-Type / DEK-Info / armour checksum
        }
        let mut i = 0;
        while i < line.len() {
            match line[i] {
                // `\n` escaped once or more (a JSON string inside
                // another: `\\n`), JSON's optional `\/` for `/`, a
                // continued line.
                b'\\' => {
                    let k = line[i..].iter().take_while(|&&b| b == b'\\').count();
                    match line.get(i + k) {
                        Some(b'n' | b'r') => i += k,
                        Some(b'/') => i += k - 1,
                        None => i += k - 1,
                        _ => return (b64, true),
                    }
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => b64 += 1,
                b' ' | b'\t' | b'"' | b'\'' | b',' | b';' | b'(' | b')' => {}
                _ => return (b64, true),
            }
            i += 1;
        }
    }
    (b64, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let body = "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\nY2F0IGlzIG5vdCBhIGtleSBidXQgaXQgaXMgbG9uZyBlbm91Z2ggdG8gcGFzcw==\n";
        let text = format!(
            "x\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\nafter"
        );
        let b = text.as_bytes();
        let (end, c) = block(b, 2, 2 + 31).unwrap();
        assert_eq!(c, Confidence::VeryLikely);
        assert!(text[2..end].ends_with("-----END RSA PRIVATE KEY-----"));
        let empty = "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(
            block(empty.as_bytes(), 0, 35).unwrap().1,
            Confidence::Unlikely
        );
    }

    /// A GCP service-account key file: the PEM block in a JSON string,
    /// its newlines escaped.
    const SERVICE_ACCOUNT: &str = concat!(
        "{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod\",\n",
        "  \"private_key_id\": \"4f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e\",\n",
        "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n",
        "BODY",
        "\\n-----END PRIVATE KEY-----\\n\",\n",
        "  \"client_email\": \"deploy@acme-prod.iam.gserviceaccount.com\"\n}\n"
    );

    #[test]
    fn escaped_pem_blocks_are_very_likely_keys() {
        use super::super::{found, Kind};
        let once = SERVICE_ACCOUNT.replace("BODY", BODY);
        // Escaped twice (the JSON inside another string), and with `\/`.
        let twice = format!(
            "KEY=\"{}\"\n",
            once.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let slashes = once.replace('/', "\\/");
        for text in [&once, &twice, &slashes] {
            let f = found(Kind::CryptoKey, text);
            assert_eq!(f.len(), 1, "{text}: {f:?}");
            assert!(f[0].0.starts_with("-----BEGIN PRIVATE KEY-----"), "{f:?}");
            assert!(f[0].0.ends_with("-----END PRIVATE KEY-----"), "{f:?}");
            assert_eq!(f[0].1, Confidence::VeryLikely, "{text}");
        }
        // An elided body stays doubtful.
        let elided = SERVICE_ACCOUNT.replace("BODY", "MIIE...");
        assert!(found(Kind::CryptoKey, &elided)
            .iter()
            .all(|(_, c)| *c < Confidence::Likely));
    }

    const BODY: &str = "grcO7n8aUDm+8H7CNH8GbtCPXcdRJEfjQEMAAmtuVFWUoGVoXWTEmAu41FRKhyGp\\nmgGtIZ61nPahXvbxWh2DC7fOCda7wATnF1xkPH3ssLWA7De8lxLdLmquuUuujS+f\\nopxaKEye91IYKc8QebCA6ddKHBD8q2pCQ9M2Vt6+TB7XlkjoVuj5ovWMlfDOSznB\\nW/+tXC37i7ggthGcuo/4h5auWwXygKaM7ZO2soyw0bNY5rqrSFVlufSQKNVX15qK\\nDmRR4VxwXBXxc1QbRDiiXPdjEtTus8IkaHm/ALPPjtE6vxKaMJetlrRC1tG970hQ\\nw/RlRC6zAMM3pkimwNvdc/yV9cLEUYWa/oDUCqOd+5JJ9Aw+432WFEXIBvWMfPIS\\nffqJT5KW/PM8CECZkKyXDe2zuEMSAYHpN2EH29r2xfPIZJfuIZsB3ZLxn0lU9P6p\\nTtkYI3WIKyANqtsjz/kZPz5wOESV4ExdXtNSIm0WN8Ikjx08zEQF3S6h+vq0vxxG\\nlk2UcIYgeIKRRHi+6MdbQwmuKxIuP+h6x+z1pTcPxBtN23I7KvtsR8C1eJSqssXB\\nRbeX3bkSblzKIDESEF9nZBT69rIA2vCZ26Xu7DNiT1Ekv8XwTYI4jlKSeBD2ELC8\\noR4L6fFPPKaV6HpTEWYMdijNup9e77mQIu9Te1lqFtyKA+wf59JWFxGzMCR5+y/x\\nG3wZ/sseGILQ5JwaE2NbzmB3K6A3LFImbQjht/nYwEMGneVyO0ef9yyGzqBDQinx\\nfSvbfY0f/H8YZpK/MiTXoMIAkkMO4kkJ";
}
