//! IP_ADDRESS: dotted-quad IPv4 (octets ≤ 255, no leading zeros, not part
//! of a longer dotted run such as an OID or version string) and IPv6
//! accepted by the standard parser with at least three groups.

use super::{Detector, Find, Form, Hit, Judge, RunStats, Shape};
use crate::context::is_word;
use crate::evidence::Labels;

pub(crate) const DETECTOR: Detector = Detector {
    name: "IP_ADDRESS",
    uuid: "a5f7eac4-9ebc-4dba-be87-6c5bcfa23e55",
    find: Find::Digits {
        pattern: PATTERN,
        shape,
        may: |st: &RunStats| st.dots >= 3,
        regex_if: super::always,
        fallback: None,
        also: Some(find_v6),
    },
    labels: Labels {
        hot: HOT,
        neg: VERSION,
        generic: false,
        window: 32,
    },
    probe: None,
    votes: false,
    max_len: 512,
    prepare: None,
};

/// IPv6 candidates: runs of hex digits and colons with at least two
/// colons, found from each colon (memchr) rather than a full regex pass.
fn find_v6(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    let hexc = |b: u8| b.is_ascii_hexdigit() || b == b':';
    let mut floor = 0;
    let mut from = lo;
    let mut hits = Vec::new();
    while let Some(k) = memchr::memchr(b':', &buf[from..hi]) {
        let c = from + k;
        let mut start = c;
        while start > floor && start + 48 > c && hexc(buf[start - 1]) {
            start -= 1;
        }
        let mut end = c + 1;
        while end < buf.len() && end < c + 48 && (hexc(buf[end]) || buf[end] == b'.') {
            end += 1;
        }
        if buf[start..end].iter().filter(|&&b| b == b':').count() >= 2 {
            hits.clear();
            super::scan_regex(
                super::digits_regex(super::Kind::Ip, PATTERN),
                128,
                shape,
                buf,
                start,
                end,
                judge,
                &mut hits,
            );
            out.extend(hits.iter().filter(|h| buf[h.start..h.end].contains(&b':')));
        }
        floor = end;
        from = end.max(c + 1);
        if from >= hi {
            break;
        }
    }
}

pub(crate) const PATTERN: &str = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,41}";

const HOT: &[&str] = &[
    "ip", "host", "addr", "server", "gateway", "dns", "inet", "subnet", "client", "remote", "src",
    "dst",
];
const VERSION: &[&str] = &[
    "version", "ver", "release", "build", "v", "firmware", "oid", "sdk",
];

fn v4(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if s > 0 && (is_word(buf[s - 1]) || buf[s - 1] == b'.') {
        return None;
    }
    if buf.get(e).is_some_and(|&b| is_word(b))
        || (buf.get(e) == Some(&b'.') && buf.get(e + 1).is_some_and(u8::is_ascii_digit))
    {
        return None;
    }
    let text = &buf[s..e];
    let mut small = true;
    for part in text.split(|&b| b == b'.') {
        if part.len() > 1 && part[0] == b'0' {
            return None;
        }
        let v: u32 = part.iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'));
        if v > 255 {
            return None;
        }
        small &= v < 10;
    }
    // `1.2.3.4` says little alone; with a label it is an address.
    Some(Shape::new(
        s,
        e,
        if small { Form::Keyed } else { Form::Valid },
    ))
}

fn v6(buf: &[u8], s: usize, mut e: usize) -> Option<Shape> {
    if s > 0 && (is_word(buf[s - 1]) || buf[s - 1] == b':') {
        return None;
    }
    while e > s && buf[e - 1] == b'.' {
        e -= 1;
    }
    if buf.get(e).is_some_and(|&b| is_word(b) || b == b':') {
        return None;
    }
    let text = std::str::from_utf8(&buf[s..e]).ok()?;
    let addr = text.parse::<std::net::Ipv6Addr>().ok()?;
    let groups = text.split(':').filter(|g| !g.is_empty()).count();
    // A CIDR prefix length belongs to the finding (`2001:db8::/32`).
    let mut end = e;
    if buf.get(e) == Some(&b'/') {
        let n = buf[e + 1..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let len = std::str::from_utf8(&buf[e + 1..e + 1 + n])
            .ok()
            .and_then(|t| t.parse::<u32>().ok());
        if (1..=3).contains(&n)
            && len.is_some_and(|l| l <= 128)
            && !buf.get(e + 1 + n).is_some_and(|&b| is_word(b))
        {
            end = e + 1 + n;
        }
    }
    // Short forms (`::1`, `fe80::1`) are addresses when they say so: the
    // loopback, a well-known range, a prefix length, or a label.
    let form = if groups >= 3 {
        Form::Valid
    } else {
        let seg0 = addr.segments()[0];
        let known = addr.is_loopback()
            || (seg0 & 0xffc0) == 0xfe80
            || (seg0 & 0xfe00) == 0xfc00
            || (seg0 & 0xff00) == 0xff00
            || seg0 == 0x2001
            || (seg0 & 0xe000) == 0x2000 && text.contains("::");
        if !text.contains("::") {
            return None;
        }
        if known || end > e {
            Form::Valid
        } else {
            Form::Weak
        }
    };
    Some(Shape::new(s, end, form))
}

fn shape(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if buf[s..e].contains(&b':') {
        v6(buf, s, e)
    } else {
        v4(buf, s, e)
    }
}

#[cfg(test)]
mod tests {

    use dlp_record::Confidence;

    fn ip(text: &str) -> Option<(String, Confidence)> {
        super::super::first(super::super::Kind::Ip, text)
    }

    #[test]
    fn addresses() {
        assert_eq!(
            ip("host 10.20.30.40:80").unwrap(),
            ("10.20.30.40".into(), Confidence::VeryLikely)
        );
        assert_eq!(ip("from 172.16.254.1.").unwrap().1, Confidence::Likely);
        assert_eq!(
            ip("addr 2001:db8::8a2e:370:7334 up").unwrap().0,
            "2001:db8::8a2e:370:7334"
        );
        assert_eq!(ip("999.1.1.1"), None);
        assert_eq!(ip("oid 1.3.6.1.4.1"), None);
        assert_eq!(ip("at 10:15:03"), None, "time");
        assert_eq!(ip("mac 00:1a:2b:3c:4d:5e"), None);
        assert!(ip("version 1.2.3.4").unwrap().1 < Confidence::Likely);
        assert_eq!(ip("std::vector"), None);
        assert_eq!(
            ip("host ::1 ok").unwrap(),
            ("::1".into(), Confidence::VeryLikely)
        );
        assert_eq!(
            ip("x fe80::1 y").unwrap(),
            ("fe80::1".into(), Confidence::Likely)
        );
        assert_eq!(
            ip("x 2001:db8::/32 y").unwrap(),
            ("2001:db8::/32".into(), Confidence::Likely)
        );
        assert_eq!(ip("x beef::cafe y").unwrap().1, Confidence::Possible);
    }
}
