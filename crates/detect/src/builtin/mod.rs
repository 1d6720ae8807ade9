//! The built-in detectors, named by Nightfall's `nightfallDetector` enum.
//!
//! Each detector is a candidate regex (cheap, ASCII, no look-around) plus a
//! validator that looks at the candidate in its buffer: boundaries,
//! checksums, issuer tables, hotword and negative-context windows. The
//! validator returns the exact range (it may trim the candidate) and one of
//! the five confidence levels.
//!
//! # How confidence is decided
//!
//! 1. **Format** sets the base level. A value that passes its checks
//!    (Luhn and issuer table for cards, SSA rules for SSNs, NANP rules for
//!    phones, octet ranges for IPs, vendor shape and checksum for keys) is
//!    LIKELY; a printed layout (`5433-9502-3725-7862`, `536-22-8726`,
//!    `(415) 555-2671`) makes a card VERY_LIKELY; bare digit runs that many
//!    things share start lower: a 9-digit SSN UNLIKELY, a 10-digit phone
//!    POSSIBLE, a 12-digit Maestro card POSSIBLE. A GitHub token is
//!    VERY_LIKELY when its CRC32 checksum holds and LIKELY when it fails
//!    but the token looks random (mixed case and digits, entropy).
//!    Excel sheets are read as tables, so the same rules apply to them as
//!    to CSV.
//! 2. **The label** of the value is the key or name bound to it: the words
//!    right before it on its line, across `: = => # " ' >` and filler
//!    words (`SSN is …`, `card number: …`, `"ssn": "…"`, `ssn=…`,
//!    `<ssn>…`); for a value alone on its line, the key above it (`ssn:`
//!    or `"card":` on the line before, a YAML block scalar `notes: |` or
//!    list `ssn:` over `- …` items: see `context::label_above`); or else
//!    the header of the table column it sits in (CSV,
//!    TSV, `;`/`|` tables, HTML `<th>`: see `structure`), however many rows
//!    down. A
//!    label naming the detector's kind (`ssn`, `acct_ssn`, `card`,
//!    `mobile`, `creditCardNumber`) raises the value one level (a bare
//!    9-digit SSN to LIKELY, a bare 10-digit phone to LIKELY). A label
//!    naming another kind of identifier (`order`, `invoice`, `tracking`,
//!    `serial`, `sku`, `isbn`, `ean`, `upc`, `uuid`, `ref`, `ticket`,
//!    `build`, `version`, and per detector e.g. `phone` for a card or `ssn` for a phone) lowers
//!    it two levels. A positive label always wins over a negative one. In
//!    a table, a column where at least four rows in five (and five or more)
//!    hold a valid card, SSN or phone raises each of them one more level.
//!    A phone label (`phone`, `tel`, `telefon`, …) also makes a value that
//!    no regional rule accepts a phone, LIKELY, when it is printed like one:
//!    7 to 15 digits in groups separated by spaces, dots, hyphens, slashes
//!    or parentheses, after `+`, `(+CC)` (a country code that exists) or
//!    `00`, with an optional extension (`06-79/280 1217`,
//!    `8 (937) 683-26-15`, `00420 608 567 928`, `41860999`). A card label
//!    likewise makes a Luhn-valid number of 13 to 19 digits a card (LIKELY)
//!    when its issuer prefix is none the table knows (national schemes).
//! 3. **A loose keyword** of the detector's kind within about 40 bytes
//!    before the value on the same line raises it one level, unless the
//!    label says otherwise. Words nearby never lower a value: `for
//!    example`, `sample` or an `@example.com` address next to a real SSN
//!    change nothing.
//! 4. **The value itself** can be a known non-secret, and then caps the
//!    level whatever the context: published test and documentation values
//!    (`4111 1111 1111 1111` and the other network test cards at
//!    POSSIBLE; `078-05-1120` and the SSA's advertising numbers, AWS's
//!    `AKIAIOSFODNN7EXAMPLE` at UNLIKELY), degenerate numbers (one or two
//!    distinct digits), placeholders in keys (`xxxx`, `your-api-key`,
//!    `changeme`, `####`). A value glued to letters or digits, or joined by
//!    a dash to more of an identifier (`…-e89b-12d3-…`), is not a
//!    candidate at all.
//!
//! Adjacent values separated by a space, a tab or a line break are
//! separate findings: a group continues a number only when it is short and
//! uses the same separator as the number's own groups.

mod apikey;
mod bank;
mod card;
mod contact;
mod ip;
mod pem;
mod ssn;

use dlp_core::Confidence;

use crate::structure::Cx;

pub use apikey::github_checksum;
pub use card::luhn;

/// One validated detection in a buffer (byte offsets into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub confidence: Confidence,
}

impl Hit {
    pub(crate) fn new(start: usize, end: usize, confidence: Confidence) -> Self {
        Hit {
            start,
            end,
            confidence,
        }
    }
}

/// A built-in detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    CreditCard,
    Ssn,
    Email,
    Phone,
    Iban,
    Routing,
    Ip,
    ApiKey,
    CryptoKey,
}

impl Kind {
    /// Every implemented detector.
    pub const ALL: [Kind; 9] = [
        Kind::CreditCard,
        Kind::Ssn,
        Kind::Email,
        Kind::Phone,
        Kind::Iban,
        Kind::Routing,
        Kind::Ip,
        Kind::ApiKey,
        Kind::CryptoKey,
    ];

    /// The `nightfallDetector` enum name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CreditCard => "CREDIT_CARD_NUMBER",
            Kind::Ssn => "US_SOCIAL_SECURITY_NUMBER",
            Kind::Email => "EMAIL_ADDRESS",
            Kind::Phone => "PHONE_NUMBER",
            Kind::Iban => "IBAN_CODE",
            Kind::Routing => "US_BANK_ROUTING_MICR",
            Kind::Ip => "IP_ADDRESS",
            Kind::ApiKey => "API_KEY",
            Kind::CryptoKey => "CRYPTOGRAPHIC_KEY",
        }
    }

    /// Parses a `nightfallDetector` name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Stable detector UUID (Nightfall's where known, fixed otherwise).
    pub fn uuid(self) -> &'static str {
        match self {
            Kind::CreditCard => "74c1815e-c0c3-4df5-8b1e-6cf98864a454",
            Kind::Ssn => "e30d9a87-f6c7-46b9-a8f4-16547901e069",
            Kind::ApiKey => "0e95732f-bc5c-448f-9d15-bd1417177360",
            Kind::Email => "c1b3a6f0-5a7e-4f7c-9a43-2e1d8b6e0a11",
            Kind::Phone => "d2c4b7a1-6b8f-4a8d-8b54-3f2e9c7f1b22",
            Kind::Iban => "e3d5c8b2-7c9a-4b9e-9c65-4a3fad801c33",
            Kind::Routing => "f4e6d9c3-8dab-4caf-ad76-5b4abe912d44",
            Kind::Ip => "a5f7eac4-9ebc-4dba-be87-6c5bcfa23e55",
            Kind::CryptoKey => "b6a8fbd5-afcd-4ecb-8f98-7d6cd0b34f66",
        }
    }

    /// Candidate pattern (byte regex, ASCII classes).
    pub(crate) fn pattern(self) -> &'static str {
        match self {
            Kind::CreditCard => card::PATTERN,
            Kind::Ssn => ssn::PATTERN,
            Kind::Email => contact::EMAIL_PATTERN,
            Kind::Phone => contact::PHONE_PATTERN,
            Kind::Iban => bank::IBAN_PATTERN,
            Kind::Routing => bank::ABA_PATTERN,
            Kind::Ip => ip::PATTERN,
            // Assignments are found by `scan_assignments`, not this regex.
            Kind::ApiKey => apikey::VENDOR,
            Kind::CryptoKey => pem::PATTERN,
        }
    }

    /// Validates the candidate `buf[s..e]`.
    pub(crate) fn check(self, buf: &[u8], s: usize, e: usize, cx: &Cx) -> Option<Hit> {
        match self {
            Kind::CreditCard => card::check(buf, s, e, cx),
            Kind::Ssn => ssn::check(buf, s, e, cx),
            Kind::Email => contact::check_email(buf, s, e, cx),
            Kind::Phone => contact::check_phone(buf, s, e, cx),
            Kind::Iban => bank::check_iban(buf, s, e),
            Kind::Routing => bank::check_aba(buf, s, e, cx),
            Kind::Ip => ip::check(buf, s, e, cx),
            Kind::ApiKey => apikey::check(buf, s, e, cx),
            Kind::CryptoKey => pem::check(buf, s, e, cx),
        }
    }

    /// True for detectors whose candidates lie inside a run of digits and
    /// `space ( ) + . - /` holding at least 7 digits (cards, SSNs, phones,
    /// routing numbers): they only look inside such runs.
    pub(crate) fn numeric(self) -> bool {
        matches!(
            self,
            Kind::CreditCard | Kind::Ssn | Kind::Phone | Kind::Routing | Kind::Ip
        )
    }

    /// Longest text the candidate pattern can match.
    pub(crate) fn max_candidate(self) -> usize {
        match self {
            Kind::ApiKey => 16 * 1024,
            Kind::Email => 1024,
            _ => 128,
        }
    }

    /// Longest finding this detector can report (for stream windows).
    pub fn max_len(self) -> usize {
        match self {
            Kind::CryptoKey => pem::MAX_BLOCK,
            Kind::ApiKey => 16 * 1024,
            _ => 512,
        }
    }
}

/// A compiled built-in detector.
#[derive(Debug, Clone)]
pub struct Builtin {
    pub kind: Kind,
    re: regex::bytes::Regex,
}

impl Builtin {
    /// Compiles `kind`'s candidate pattern.
    pub fn new(kind: Kind) -> Self {
        if kind == Kind::Phone {
            contact::warm_up_phone_metadata();
        }
        let re = regex::bytes::RegexBuilder::new(kind.pattern())
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .expect("built-in pattern compiles");
        Builtin { kind, re }
    }

    /// Appends validated hits with a start in `lo..hi` to `out`.
    pub fn scan(&self, buf: &[u8], lo: usize, hi: usize, cx: &Cx, out: &mut Vec<Hit>) {
        // No candidate starting before `hi` reaches past this point, so a
        // search never runs ahead into the rest of the buffer.
        let hay = &buf[..(hi + self.kind.max_candidate()).min(buf.len())];
        let mut pos = lo;
        while pos < hi {
            let Some(m) = self.re.find_at(hay, pos) else {
                break;
            };
            if m.start() >= hi {
                break;
            }
            match self.kind.check(buf, m.start(), m.end(), cx) {
                Some(h) => {
                    out.push(h);
                    pos = h.end.max(m.start() + 1);
                }
                None => {
                    // Retry inside the candidate, but only at token starts.
                    let mut p = m.start() + 1;
                    while p < m.end()
                        && crate::context::is_word(buf[p - 1])
                        && crate::context::is_word(buf[p])
                    {
                        p += 1;
                    }
                    pos = p;
                }
            }
        }
    }
}

/// Bytes that can appear inside a numeric candidate.
const fn numeric_class() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b' ' as usize] = true;
    t[b'(' as usize] = true;
    t[b')' as usize] = true;
    t[b'+' as usize] = true;
    t[b'.' as usize] = true;
    t[b'-' as usize] = true;
    t[b'/' as usize] = true;
    t
}

static NUMERIC: [bool; 256] = numeric_class();

/// What a numeric run holds, so detectors that cannot match skip it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunStats {
    pub digits: usize,
    /// Longest stretch of consecutive digits.
    pub longest: usize,
    /// Some stretch of exactly 9 consecutive digits.
    pub nine: bool,
    pub dots: usize,
    pub plus: bool,
}

impl Kind {
    /// True when a numeric run with `st` may hold this detector's candidate.
    pub(crate) fn may_match(self, st: &RunStats) -> bool {
        match self {
            Kind::CreditCard => st.digits >= 12,
            Kind::Ssn => st.nine || (st.digits >= 9 && st.longest >= 3 && st.longest < 9),
            Kind::Routing => st.nine,
            // Local numbers of 7 and 8 digits only under a phone label.
            Kind::Phone => st.digits >= 7,
            Kind::Ip => st.dots >= 3,
            _ => true,
        }
    }
}

/// Index of the first ASCII digit in `buf[i..end]`, or `end`; eight bytes
/// at a time (most text has no digit in most words).
fn next_digit(buf: &[u8], mut i: usize, end: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= end {
        let w = u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        // Bit hack "hasbetween(w, '/', ':')": a byte in 0x30..=0x39.
        let low = w & (ONES * 127);
        let t = (ONES * (127 + 0x3A) - low) & !w & (low + ONES * (127 - 0x2F)) & HI;
        if t != 0 {
            return i + (t.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < end && !buf[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Calls `f(start, end, stats)` for each maximal run of numeric-class
/// bytes with at least 4 digits that overlaps `lo..hi` (runs are extended
/// to their true start before `lo`). This hand loop is the cheap prefilter
/// for the digit detectors: most text never reaches a regex.
pub(crate) fn numeric_runs(
    buf: &[u8],
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, usize, &RunStats),
) {
    let mut i = lo;
    let mut floor = 0;
    while i < hi {
        i = next_digit(buf, i, hi);
        if i >= hi {
            break;
        }
        let mut start = i;
        while start > floor && NUMERIC[buf[start - 1] as usize] {
            start -= 1;
        }
        let mut st = RunStats::default();
        let mut cur = 0usize;
        i = start;
        while i < buf.len() && NUMERIC[buf[i] as usize] {
            if buf[i].is_ascii_digit() {
                st.digits += 1;
                cur += 1;
            } else {
                st.nine |= cur == 9;
                st.longest = st.longest.max(cur);
                st.dots += usize::from(buf[i] == b'.');
                st.plus |= buf[i] == b'+';
                cur = 0;
            }
            i += 1;
        }
        st.nine |= cur == 9;
        st.longest = st.longest.max(cur);
        floor = i;
        if st.digits >= 4 {
            f(start, i, &st);
        }
    }
}

/// IPv6 candidates: runs of hex digits and colons with at least two
/// colons, found from each colon (memchr) rather than a full regex pass.
pub(crate) fn v6_runs(buf: &[u8], lo: usize, hi: usize, mut f: impl FnMut(usize, usize)) {
    let hexc = |b: u8| b.is_ascii_hexdigit() || b == b':';
    let mut floor = 0;
    let mut from = lo;
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
            f(start, end);
        }
        floor = end;
        from = end.max(c + 1);
        if from >= hi {
            break;
        }
    }
}

pub(crate) use apikey::{scan_assignments, scan_flags_and_calls, scan_more as scan_more_vendors};
pub(crate) use contact::labelled_phone;
pub(crate) use pem::scan_wrapped as scan_wrapped_pem;

/// IBAN candidates without a regex: two capitals and two digits at a word
/// start, then the validator (country length, mod-97).
pub(crate) fn scan_iban(buf: &[u8], lo: usize, hi: usize, out: &mut Vec<Hit>) {
    // Driven by digits (rarer than capitals): the check digits sit at +2.
    let end = (hi + 2).min(buf.len().saturating_sub(8));
    let mut i = lo + 2;
    while i < end {
        i = next_digit(buf, i, end);
        if i >= end {
            break;
        }
        let s = i - 2;
        if buf[s].is_ascii_uppercase()
            && buf[s + 1].is_ascii_uppercase()
            && buf[i + 1].is_ascii_digit()
            && (s == 0 || !crate::context::is_word(buf[s - 1]))
            && s < hi
        {
            if let Some(h) = bank::check_iban(buf, s, s + 4) {
                out.push(h);
                i = h.end + 2;
                continue;
            }
        }
        i += 1;
    }
}

/// Confidence arithmetic used by the validators.
pub(crate) fn adjust(c: Confidence, up: bool, down: bool) -> Confidence {
    match (up, down) {
        (true, false) => c.shift(1),
        (false, true) => c.shift(-2),
        _ => c,
    }
}

/// Test helper: the first candidate of `pattern` in `text` that `check`
/// accepts, as (matched text, confidence).
#[cfg(test)]
pub(crate) fn first_hit(
    pattern: &str,
    check: fn(&[u8], usize, usize, &Cx) -> Option<Hit>,
    text: &str,
) -> Option<(String, Confidence)> {
    let re = regex::bytes::Regex::new(pattern).unwrap();
    let b = text.as_bytes();
    let cx = Cx::none();
    let hit = re
        .find_iter(b)
        .find_map(|m| check(b, m.start(), m.end(), &cx));
    hit.map(|h| (text[h.start..h.end].to_owned(), h.confidence))
}
