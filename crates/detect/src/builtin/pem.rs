//! CRYPTOGRAPHIC_KEY: PEM and OpenSSH private-key blocks with a real body
//! (≥ 64 base64 characters between BEGIN and a matching END), so empty or
//! elided examples (`...`) are not reported as keys.

use dlp_core::Confidence;

use super::Hit;
use crate::structure::Cx;

pub(crate) const PATTERN: &str = r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----";

/// Longest block searched for its END line.
pub(crate) const MAX_BLOCK: usize = 32 * 1024;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

pub(crate) fn check(buf: &[u8], s: usize, e: usize, _cx: &Cx) -> Option<Hit> {
    let limit = (s + MAX_BLOCK).min(buf.len());
    // The next armour line must be this block's END line.
    let rel = match find(&buf[e..limit], b"-----") {
        Some(r) if buf[e + r..].starts_with(b"-----END") => r,
        // A header without a body in reach: worth a look, not an alert.
        _ => return Some(Hit::new(s, e, Confidence::Possible)),
    };
    let body = &buf[e..e + rel];
    let end_line = e + rel;
    let close = find(&buf[end_line + 8..limit], b"-----")? + end_line + 8 + 5;
    let mut b64 = 0usize;
    let mut bad = false;
    'lines: for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.contains(&b':') || line.starts_with(b"=") {
            continue; // Proc-Type / DEK-Info / armour checksum
        }
        for &c in line {
            match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => b64 += 1,
                b' ' | b'\t' => {}
                _ => {
                    bad = true;
                    break 'lines;
                }
            }
        }
    }
    let c = if bad || b64 < 64 {
        Confidence::Unlikely
    } else {
        Confidence::VeryLikely
    };
    Some(Hit::new(s, close, c))
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
        let h = check(b, 2, 2 + 31, &Cx::none()).unwrap();
        assert_eq!(h.confidence, Confidence::VeryLikely);
        assert!(text[h.start..h.end].ends_with("-----END RSA PRIVATE KEY-----"));
        let empty = "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(
            check(empty.as_bytes(), 0, 35, &Cx::none())
                .unwrap()
                .confidence,
            Confidence::Unlikely
        );
    }
}
