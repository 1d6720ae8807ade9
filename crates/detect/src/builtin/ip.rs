//! IP_ADDRESS: dotted-quad IPv4 (octets ≤ 255, no leading zeros, not part
//! of a longer dotted run such as an OID or version string) and IPv6
//! accepted by the standard parser with at least three groups.

use dlp_core::Confidence;

use super::{adjust, Hit};
use crate::context::{evidence, is_word};
use crate::structure::Cx;

pub(crate) const PATTERN: &str = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,41}";

const HOT: &[&str] = &[
    "ip", "host", "addr", "server", "gateway", "dns", "inet", "subnet", "client", "remote", "src",
    "dst",
];
const VERSION: &[&str] = &[
    "version", "ver", "release", "build", "v", "firmware", "oid", "sdk",
];

fn v4(buf: &[u8], s: usize, e: usize, cx: &Cx) -> Option<Hit> {
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
    let ev = evidence(buf, s, e, 32, cx.header(s), HOT, VERSION, false);
    let (hot, version) = (ev.up(), ev.down());
    let base = if small && !hot {
        Confidence::Possible
    } else {
        Confidence::Likely
    };
    Some(Hit::new(s, e, adjust(base, hot, version)))
}

fn v6(buf: &[u8], s: usize, mut e: usize, cx: &Cx) -> Option<Hit> {
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
    let base = if groups >= 3 {
        Confidence::Likely
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
            Confidence::Likely
        } else {
            Confidence::Possible
        }
    };
    let ev = evidence(buf, s, end, 32, cx.header(s), HOT, VERSION, false);
    let c = adjust(base, ev.up(), ev.down());
    Some(Hit::new(s, end, c))
}

pub(crate) fn check(buf: &[u8], s: usize, e: usize, cx: &Cx) -> Option<Hit> {
    if buf[s..e].contains(&b':') {
        v6(buf, s, e, cx)
    } else {
        v4(buf, s, e, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<(String, Confidence)> {
        super::super::first_hit(PATTERN, check, text)
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
