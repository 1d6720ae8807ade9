//! EMAIL_ADDRESS and PHONE_NUMBER.
//!
//! Emails: RFC 5321-ish local part and dotted domain with an alphabetic (or
//! punycode `xn--…`) TLD that is not a file extension (`logo@2x.png`), not
//! the userinfo of a URL; a domain may be written in Unicode letters
//! (`user@пример.рф`, `a@bücher.de`; an ASCII TLD ends at the first
//! non-ASCII byte, so `taro@example.jpまで` is `taro@example.jp`). Phones: NANP (area and exchange codes start 2–9
//! and are not N11) in the usual printed shapes, with a `1`/`001` prefix
//! and an extension (`x868`, `ext. 12`); E.164 `+CC …` numbers and national
//! numbers (`030 1234567`, `090-1234-5678`, `46 9083-0166`) checked against
//! libphonenumber's metadata from the `phonenumber` crate (country code,
//! national prefix, possible lengths, the region's number pattern); never
//! the inside of a dotted run (IP addresses, version strings) or of a
//! grouped IBAN. A bare 10-digit run is POSSIBLE; a phone label or keyword
//! makes it LIKELY.

use std::sync::OnceLock;

use dlp_record::Confidence;

use super::{Detector, Find, Form, Hit, Judge, Needs, RunStats, Shape};
use crate::context::{continues_group_left, is_word, numeric_end_ok, numeric_start_ok};
use crate::evidence::Labels;

pub(crate) const EMAIL: Detector = Detector {
    name: "EMAIL_ADDRESS",
    uuid: "c1b3a6f0-5a7e-4f7c-9a43-2e1d8b6e0a11",
    find: Find::Own(find_emails),
    labels: Labels {
        hot: EMAIL_HOT,
        neg: &[],
        generic: false,
        window: 32,
    },
    probe: None,
    votes: false,
    max_len: 512,
    prepare: None,
};

pub(crate) const PHONE: Detector = Detector {
    name: "PHONE_NUMBER",
    uuid: "d2c4b7a1-6b8f-4a8d-8b54-3f2e9c7f1b22",
    find: Find::Digits {
        pattern: PHONE_PATTERN,
        shape: phone,
        may: |st: &RunStats| st.digits >= 7,
        // A run too short for every other phone rule can only be a local
        // number under a phone label (the fallback).
        regex_if: |st: &RunStats| st.digits >= 9 || (st.plus && st.digits >= 8),
        fallback: Some(labelled_phone),
        also: None,
    },
    labels: Labels {
        hot: PHONE_HOT,
        neg: PHONE_NEG,
        generic: true,
        window: 40,
    },
    probe: None,
    votes: true,
    max_len: 512,
    prepare: Some(warm_up_phone_metadata),
};

/// Email candidates starting in `lo..hi`.
fn find_emails(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| super::compile(EMAIL_PATTERN));
    super::scan_regex(re, 1024, email, buf, lo, hi, judge, out);
}

pub(crate) const EMAIL_PATTERN: &str =
    r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9\x80-\xFF-]{1,63}(?:\.[A-Za-z0-9\x80-\xFF-]{1,63}){1,8}";

pub(crate) const PHONE_PATTERN: &str = r"\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,5}(?:[ .-]?[0-9]{1,5}){1,5}|\(?0[0-9]{1,5}\)?[ -]?[0-9]{2,8}(?:[ -]?[0-9]{2,5}){0,4}|(?:1[ .-]?)?(?:\([0-9]{3}\)[ ]?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}|[1-9][0-9]{1,3}[ -][0-9]{4,5}-[0-9]{4}|[1-9][0-9]{1,3}(?:[ -][0-9]{2,4}){2,3}|[1-9][0-9]{8,10}";

/// Regions tried for a national number (trunk prefix 0) without a
/// country code, in order.
const NATIONAL_REGIONS: &[phonenumber::country::Id] = {
    use phonenumber::country::Id::*;
    &[
        DE, FR, GB, JP, BR, IT, ES, NL, IN, AU, AT, CH, BE, MX, IL, IE, PL, SE, ZA, NZ,
    ]
};

/// Loads libphonenumber's metadata (about 0.1 s of CPU, once per
/// process) on a background thread, so a scan that meets an international
/// number does not wait for it.
pub(crate) fn warm_up_phone_metadata() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("phone-metadata".into())
            .spawn(|| {
                let _ = valid_number(b"+44 20 7946 0958");
            });
    });
}

/// A region's general number pattern from libphonenumber's metadata,
/// compiled once here (the crate's own regex cache recompiles patterns
/// as they are evicted, which costs tens of microseconds per number).
fn general_pattern(meta: &phonenumber::Metadata) -> Option<&'static regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, &'static regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().ok()?;
    if let Some(&re) = map.get(meta.id()) {
        return Some(re);
    }
    let src = meta.descriptors().general().national_number().as_str();
    let re = regex::RegexBuilder::new(&format!("^(?:{src})$"))
        .ignore_whitespace(true)
        .build()
        .ok()?;
    // One pattern per region, a few hundred at most: kept for the process.
    let re: &'static regex::Regex = Box::leak(Box::new(re));
    map.insert(meta.id().to_owned(), re);
    Some(re)
}

/// `Some(true)` when `nsn` (a national significant number) is valid in
/// the region of `meta`, `Some(false)` when only its length is possible.
fn check_nsn(meta: &phonenumber::Metadata, nsn: &str) -> Option<bool> {
    let general = meta.descriptors().general();
    let len = u16::try_from(nsn.len()).ok()?;
    let possible = general.possible_length();
    if !possible.is_empty() && !possible.contains(&len) {
        return None;
    }
    Some(general_pattern(meta)?.is_match(nsn))
}

/// What libphonenumber's metadata (the `phonenumber` crate: country
/// codes, national prefixes, possible lengths and number patterns) says of
/// `text`: `Some(true)` a valid number (international when it starts with
/// `+`, else national in one of the major regions), `Some(false)` a number
/// of a known country whose digits are not assigned there, `None` not a
/// phone number.
fn valid_number(text: &[u8]) -> Option<bool> {
    let db = &*phonenumber::metadata::DATABASE;
    // `+49(0) 30 …`: the trunk prefix in parentheses is not dialled.
    let t = std::str::from_utf8(text).ok()?.replace("(0)", "");
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.starts_with('+') {
        let mut best = None;
        for cc_len in 1..=3.min(digits.len()) {
            let Ok(cc) = digits[..cc_len].parse::<u16>() else {
                continue;
            };
            for meta in db.by_code(&cc).into_iter().flatten() {
                match check_nsn(meta, &digits[cc_len..]) {
                    Some(true) => return Some(true),
                    Some(false) => best = Some(false),
                    None => {}
                }
            }
        }
        return best;
    }
    let mut best = None;
    for &region in NATIONAL_REGIONS {
        let Some(meta) = db.by_id(region.as_ref()) else {
            continue;
        };
        let nsn = match meta.national_prefix() {
            Some(p) if digits.starts_with(p) => &digits[p.len()..],
            _ => &digits[..],
        };
        match check_nsn(meta, nsn) {
            Some(true) => return Some(true),
            Some(false) => best = Some(false),
            None => {}
        }
    }
    best
}

const EMAIL_HOT: &[&str] = &["email", "e-mail", "mail", "contact"];
const FILE_EXT: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "bmp", "tif", "tiff", "pdf",
];
const PHONE_HOT: &[&str] = &[
    "phone",
    "tel",
    "mobile",
    "cell",
    "call",
    "fax",
    "contact",
    "whatsapp",
    "sms",
    // The same labels in the languages of the national formats above.
    "telephone",
    "telefon",
    "telefono",
    "telefone",
    "handy",
    "mobil",
];
const PHONE_NEG: &[&str] = &[
    "ssn", "isbn", "account", "acct", "routing", "id", "card", "iban", "zip", "postal", "postcode",
];

/// An email address at the candidate `buf[s..e]` (trimmed).
fn email(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    let local_char = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    if s > 0 && local_char(buf[s - 1]) {
        return None; // local part longer than 64 bytes
    }
    // `https://user:token@host`: the userinfo of a URL, not an address.
    if s > 0 && matches!(buf[s - 1], b':' | b'/') {
        let line_start = buf[..s]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let from = line_start.max(s.saturating_sub(256));
        if memchr::memmem::find(&buf[from..s], b"://").is_some() {
            return None;
        }
    }
    let at = s + buf[s..e].iter().position(|&b| b == b'@')?;
    let local = &buf[s..at];
    if local.first() == Some(&b'.')
        || local.last() == Some(&b'.')
        || local.windows(2).any(|w| w == b"..")
    {
        return None;
    }
    // Trim a trailing dot or hyphen (end of sentence).
    let mut end = e;
    while end > at + 1 && matches!(buf[end - 1], b'.' | b'-') {
        end -= 1;
    }
    if buf.get(end).is_some_and(|&b| is_word(b)) {
        return None;
    }
    // Text written right after an address (`taro@example.jpまで`,
    // `….com。`) is not part of its TLD: an ASCII TLD ends at the first
    // non-ASCII byte.
    let last_dot = at + 1 + memchr::memrchr(b'.', &buf[at + 1..end]).unwrap_or(0);
    let tld_start = last_dot + 1;
    if buf.get(tld_start).is_some_and(u8::is_ascii_alphabetic) {
        if let Some(k) = buf[tld_start..end].iter().position(|&b| b >= 0x80) {
            end = tld_start + k;
        }
    }
    let domain = &buf[at + 1..end];
    // An internationalised domain written in Unicode (`пример.рф`,
    // `bücher.de`): valid UTF-8, letters and digits.
    if !domain.is_ascii() {
        let Ok(d) = std::str::from_utf8(domain) else {
            return None;
        };
        if !d
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return None;
        }
    }
    let labels: Vec<&[u8]> = domain.split(|&b| b == b'.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l[0] == b'-' || l[l.len() - 1] == b'-')
    {
        return None;
    }
    let tld = labels[labels.len() - 1];
    // Internationalised TLDs are written in punycode (`xn--p1ai`).
    let idn = tld.len() > 4
        && tld[..4].eq_ignore_ascii_case(b"xn--")
        && tld[4..].iter().all(u8::is_ascii_alphanumeric)
        // … or in Unicode letters (`рф`, `中国`).
        || !tld.is_ascii()
            && std::str::from_utf8(tld)
                .is_ok_and(|t| t.chars().count() >= 2 && t.chars().all(char::is_alphabetic));
    if !idn && (!(2..=24).contains(&tld.len()) || !tld.iter().all(u8::is_ascii_alphabetic)) {
        return None;
    }
    let tld_low = tld.to_ascii_lowercase();
    if FILE_EXT.iter().any(|x| x.as_bytes() == tld_low.as_slice()) {
        return None;
    }
    Some(Shape::new(s, end, Form::Valid))
}

fn nanp_ok(d: &[u8]) -> bool {
    // d: 10 digits NPA-NXX-XXXX
    let n11 = |x: &[u8]| x[1] == b'1' && x[2] == b'1';
    d.len() == 10 && d[0] >= b'2' && d[3] >= b'2' && !n11(&d[0..3]) && !n11(&d[3..6])
}

/// The form a phone rule gives a level.
fn form(c: Confidence) -> Form {
    if c >= Confidence::Likely {
        Form::Valid
    } else {
        Form::Weak
    }
}

/// A phone number at the candidate `buf[s..e]`, first look: boundaries and
/// separators. A bare run that is no NANP number is a phone only under a
/// phone label, and a bare run with a trunk prefix only with a phone label
/// or keyword: those are provisional, and libphonenumber's (costlier)
/// check runs only once the evidence is there.
pub(crate) fn phone(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    phone_bounds(buf, s, e)?;
    let text = &buf[s..e];
    // No doubled separators, and dots only in a consistent x.x.x shape.
    let doubled = |w: &[u8]| {
        let pair_ok = matches!((w[0], w[1]), (b')', b' ' | b'-') | (b' ', b'('));
        !(w[0].is_ascii_digit() || w[1].is_ascii_digit() || pair_ok)
    };
    if text.windows(2).any(doubled) {
        return None;
    }
    let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    let printed = text.iter().any(|b| b" .-(".contains(b));
    let first = text[0];
    let national = first == b'0' || (first == b'(' && text.get(1) == Some(&b'0'));
    let bare = !printed && first != b'+' && !national;
    let nanp_digits = match digits.len() {
        10 => nanp_ok(&digits),
        11 => digits[0] == b'1' && nanp_ok(&digits[1..]),
        13 => digits.starts_with(b"001") && nanp_ok(&digits[3..]),
        _ => false,
    };
    if bare && !nanp_digits {
        return Some(Shape::provisional(s, e, Needs::Label, phone_rules));
    }
    let own_national = national && !(digits.len() == 13 && digits.starts_with(b"001"));
    if own_national && !printed {
        return Some(Shape::provisional(s, e, Needs::Keyword, phone_rules));
    }
    phone_rules(buf, s, e)
}

/// The phone rules: international (`+CC`), national with a trunk prefix,
/// NANP, and national numbers of other regions without one.
fn phone_rules(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    let ext = phone_bounds(buf, s, e)?;
    let text = &buf[s..e];
    let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    let seps: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| b" .-".contains(b))
        .collect();
    let first = text[0];
    let national = first == b'0' || (first == b'(' && text.get(1) == Some(&b'0'));
    let (base, needs) = if first == b'+' {
        (international_phone(text, &digits)?, Needs::Nothing)
    } else if national && !(digits.len() == 13 && digits.starts_with(b"001")) {
        national_phone(text, &digits, &seps)?
    } else {
        match nanp_phone(text, &digits, &seps)? {
            Nanp::Number(c) => (c, Needs::Nothing),
            // Judged in its region: no extension, no dotted-run check.
            Nanp::Regional(needs) => return Some(Shape::new(s, e, Form::Weak).needs(needs)),
        }
    };
    // A dotted number inside a dotted run is an IP or version (a dot
    // that ends a sentence is not: `call 482.389.8446.`).
    if seps.first() == Some(&b'.') && s > 0 && buf[s - 1] == b'.' {
        return None;
    }
    let base = if ext > e {
        base.max(Confidence::Likely)
    } else {
        base
    };
    Some(Shape::new(s, ext, form(base)).needs(needs))
}

/// Where a phone candidate may start and end: not inside a longer word,
/// digit group or grouped IBAN. Returns the end including an extension.
fn phone_bounds(buf: &[u8], s: usize, e: usize) -> Option<usize> {
    let first = buf[s];
    if first != b'+' && first != b'(' && (!numeric_start_ok(buf, s) || continues_group_left(buf, s))
    {
        return None;
    }
    if first == b'+' && s > 0 && (is_word(buf[s - 1]) || buf[s - 1] == b'+') {
        return None;
    }
    if first == b'(' && s > 0 && is_word(buf[s - 1]) {
        return None;
    }
    if inside_grouped_iban(buf, s) {
        return None;
    }
    let ext = extension(buf, e);
    if ext == e && !numeric_end_ok(buf, e) {
        return None;
    }
    Some(ext)
}

/// `+CC …`: 8 to 15 digits; NANP numbers checked by their own rules,
/// others by libphonenumber's metadata.
fn international_phone(text: &[u8], digits: &[u8]) -> Option<Confidence> {
    if !(8..=15).contains(&digits.len()) {
        return None;
    }
    if digits[0] == b'1' && (digits.len() != 11 || !nanp_ok(&digits[1..])) {
        return None;
    }
    match (digits[0] == b'1', valid_number(text)) {
        (true, _) | (false, Some(true)) => Some(Confidence::Likely),
        (false, Some(false)) => Some(Confidence::Possible),
        (false, None) => None,
    }
}

/// A national number with its trunk prefix (`0…`), checked per region;
/// not the 3-2-4 shape of an SSN.
fn national_phone(text: &[u8], digits: &[u8], seps: &[u8]) -> Option<(Confidence, Needs)> {
    let ssn_shape = digits.len() == 9
        && text.len() == 11
        && !text[3].is_ascii_digit()
        && !text[6].is_ascii_digit();
    if !(9..=12).contains(&digits.len()) || text.contains(&b'.') || ssn_shape {
        return None;
    }
    // A bare 0-led digit run is a phone only with a phone label or
    // keyword.
    let printed = !seps.is_empty() || text.contains(&b'(');
    let c = match valid_number(text)? {
        true if printed => Confidence::Likely,
        _ => Confidence::Possible,
    };
    Some((
        c,
        if printed {
            Needs::Nothing
        } else {
            Needs::Keyword
        },
    ))
}

/// How a number without `+` or a national trunk prefix was judged.
enum Nanp {
    /// A NANP number (with an optional 1 or 001 prefix) at this confidence.
    Number(Confidence),
    /// Not NANP, but a national number of another region written without
    /// its trunk prefix, valid there (or parsed there under a phone
    /// label): what it needs for that.
    Regional(Needs),
}

fn nanp_phone(text: &[u8], digits: &[u8], seps: &[u8]) -> Option<Nanp> {
    // A trunk prefix: 1 (NANP) or 001 (international call from NANP).
    let (d, lead) = if digits.len() == 13 && digits.starts_with(b"001") {
        (&digits[3..], 1)
    } else if digits.len() == 11 && digits[0] == b'1' {
        (&digits[1..], 1)
    } else {
        (digits, 0)
    };
    // Separators in both places (or none), all the same kind.
    let consistent = text.contains(&b'(')
        || (seps.iter().all(|&x| x == seps[0]) && (seps.is_empty() || seps.len() == 2 + lead));
    if !nanp_ok(d) || !consistent {
        // National numbers of other regions written without a trunk
        // prefix: printed in groups (Brazil's `46 9083-0166`, Japan's
        // `66-6176-0313`, Poland's `668 707 229` and `22 176 25 11`), valid
        // in a region or parsed there under a phone label; or a bare digit
        // run under a phone label (India's `2474116677`), valid in a region.
        // Never the 3-2-4 shape of an SSN.
        let ssn_shape = digits.len() == 9
            && text.len() == 11
            && !text[3].is_ascii_digit()
            && !text[6].is_ascii_digit();
        let grouped = (2..=3).contains(&seps.len()) && !seps.contains(&b'.');
        let bare = seps.is_empty() && !text.contains(&b'(');
        if lead == 0 && (9..=11).contains(&digits.len()) && !ssn_shape && (grouped || bare) {
            return match valid_number(text)? {
                true if grouped => Some(Nanp::Regional(Needs::Nothing)),
                true => Some(Nanp::Regional(Needs::Keyword)),
                false if grouped => Some(Nanp::Regional(Needs::Keyword)),
                false => None,
            };
        }
        return None;
    }
    Some(Nanp::Number(if seps.is_empty() && !text.contains(&b'(') {
        Confidence::Possible
    } else {
        Confidence::Likely
    }))
}

/// A phone number under a phone label or column header (`phone:`, a
/// `telefon` column), written in any region's style: the numeric run
/// `buf[lo..hi]` (trimmed) holds 7 to 15 digits, optionally after `+`, in
/// groups separated by at most two of ` ./-()`, with an optional
/// extension. The fallback when the stricter rules of [`phone`] found no
/// phone in the run: the label is the evidence it needs, and then it is
/// POSSIBLE raised one level by the label, LIKELY.
fn labelled_phone(buf: &[u8], lo: usize, hi: usize) -> Option<Shape> {
    let mut s = lo;
    while s < hi && !(buf[s].is_ascii_digit() || buf[s] == b'+' || buf[s] == b'(') {
        s += 1;
    }
    let mut e = hi;
    while e > s && !(buf[e - 1].is_ascii_digit() || buf[e - 1] == b')') {
        e -= 1;
    }
    let text = &buf[s..e];
    let digits = text.iter().filter(|b| b.is_ascii_digit()).count();
    // `+` only first, or first in parentheses: `(+358) 457246392`.
    let plus_at = usize::from(text.starts_with(b"(+"));
    if !(7..=15).contains(&digits) || text[plus_at + 1..].contains(&b'+') {
        return None;
    }
    // At most two separators in a row, and parentheses that pair up.
    let mut gap = 0;
    let mut open = false;
    for &b in text {
        match b {
            b'0'..=b'9' => gap = 0,
            b'(' if !open => (open, gap) = (true, gap + 1),
            b')' if open => (open, gap) = (false, gap + 1),
            b' ' | b'.' | b'-' | b'/' | b'+' => gap += 1,
            _ => return None,
        }
        if gap > 2 {
            return None;
        }
    }
    if open || text.iter().filter(|&&b| b == b')').count() > 1 || date_like(text) {
        return None;
    }
    phone_bounds(buf, s, e)?;
    Some(Shape::provisional(s, e, Needs::Label, labelled_country))
}

/// A labelled phone (`buf[s..e]`, its extension after it): after `+`, its
/// country code must exist.
fn labelled_country(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    let text = &buf[s..e];
    let plus_at = usize::from(text.starts_with(b"(+"));
    if text[plus_at] == b'+' {
        let plain: Vec<u8> = text
            .iter()
            .copied()
            .filter(|&b| b != b'(' && b != b')')
            .collect();
        valid_number(&plain)?;
    }
    let ext = phone_bounds(buf, s, e)?;
    Some(Shape::new(s, ext, Form::Weak).needs(Needs::Label))
}

/// `2024-01-15`, `15.01.2024`, `01/15/2024`: a date, never a phone.
fn date_like(t: &[u8]) -> bool {
    let groups: Vec<usize> = t
        .split(|b| !b.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(<[u8]>::len)
        .collect();
    let seps: Vec<u8> = t.iter().copied().filter(|b| !b.is_ascii_digit()).collect();
    t.len() == 10
        && matches!(groups.as_slice(), [4, 2, 2] | [2, 2, 4])
        && matches!(seps.as_slice(), [a, b] if a == b && b"-/.".contains(a))
}

/// True when `s` follows the space-separated four-character groups of an
/// IBAN (`NL37 TBJL 0425 6545 53`): digits there belong to the account.
fn inside_grouped_iban(buf: &[u8], s: usize) -> bool {
    let mut j = s;
    for _ in 0..8 {
        if j < 5 || buf[j - 1] != b' ' {
            return false;
        }
        let g = &buf[j - 5..j - 1];
        if !g
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return false;
        }
        let at_start = j == 5 || !is_word(buf[j - 6]);
        if at_start
            && g[..2].iter().all(u8::is_ascii_uppercase)
            && g[2..].iter().all(u8::is_ascii_digit)
        {
            return true;
        }
        j -= 5;
    }
    false
}

/// The end of an extension after a phone number ending at `e`
/// (`x868`, ` ext. 12`, ` x 12`), or `e` when there is none.
fn extension(buf: &[u8], e: usize) -> usize {
    let rest = &buf[e..buf.len().min(e + 16)];
    let skip = [
        &b"x"[..],
        b" x",
        b" x ",
        b"ext",
        b"ext.",
        b" ext",
        b" ext.",
        b" ext. ",
        b" ext ",
    ]
    .iter()
    .filter(|p| rest.starts_with(p))
    .map(|p| p.len())
    .max();
    let Some(k) = skip else { return e };
    let digits = rest[k..].iter().take_while(|b| b.is_ascii_digit()).count();
    let end = e + k + digits;
    if (1..=6).contains(&digits) && !buf.get(end).is_some_and(|&b| is_word(b)) {
        end
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::{first, Kind};

    #[test]
    fn emails() {
        let e = |t| first(Kind::Email, t).map(|x| x.0);
        assert_eq!(
            e("mail ana.b+x@mail.example.co.uk."),
            Some("ana.b+x@mail.example.co.uk".into())
        );
        assert_eq!(e("icon logo@2x.png"), None);
        assert_eq!(e("a..b@x.com"), None);
        assert_eq!(e("user@host.c0m"), None);
        assert_eq!(e("git@github.com:org/repo"), Some("git@github.com".into()));
        assert_eq!(
            e("clone https://ana:tok3n@github.com/x.git"),
            None,
            "URL userinfo"
        );
        assert_eq!(e("mailto:ana@x.org"), Some("ana@x.org".into()));
    }

    #[test]
    fn phones() {
        let p = |t| first(Kind::Phone, t);
        assert_eq!(
            p("call (415) 555-2671 now").unwrap(),
            ("(415) 555-2671".into(), Confidence::VeryLikely)
        );
        assert_eq!(p("x 415-555-2671 y").unwrap().1, Confidence::Likely);
        assert_eq!(p("x 415.555.2671 y").unwrap().1, Confidence::Likely);
        assert_eq!(p("x +1 415 555 2671").unwrap().0, "+1 415 555 2671");
        assert_eq!(p("x +44 20 7946 0958").unwrap().0, "+44 20 7946 0958");
        assert_eq!(p("num 4155552671").unwrap().1, Confidence::Possible);
        assert_eq!(p("v 1.2.3"), None);
        assert_eq!(p("ip 192.168.100.1000"), None);
        // Not NANP (area code starts with 1); at most a national number
        // of another country, below LIKELY without a phone label.
        assert!(p("x 115-555-2671").unwrap().1 < Confidence::Likely);
        assert_eq!(p("x 415-555.2671"), None, "mixed separators");
        assert_eq!(p("10.415.555.2671"), None, "dotted run");
        assert_eq!(p("3625 271649 8568"), None, "inside a grouped card number");
        assert_eq!(p("x 415555-2671"), None, "one separator of two");
        assert_eq!(p("wire to NL37 TBJL 0425 6545 53"), None, "inside an IBAN");
    }
}
