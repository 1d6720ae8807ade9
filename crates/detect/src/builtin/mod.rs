//! The built-in detectors, named by Nightfall's `nightfallDetector` enum.
//!
//! Each detector is a candidate regex (cheap, ASCII, no look-around) plus a
//! validator that looks at the candidate in its buffer: boundaries,
//! checksums, issuer tables, hotword and negative-context windows. The
//! validator returns the exact range (it may trim the candidate) and one of
//! the five confidence levels.

mod apikey;
mod bank;
mod card;
mod contact;
mod ip;
mod pem;
mod ssn;

use dlp_core::Confidence;

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
            Kind::ApiKey => apikey::PATTERN,
            Kind::CryptoKey => pem::PATTERN,
        }
    }

    /// Validates the candidate `buf[s..e]`.
    pub(crate) fn check(self, buf: &[u8], s: usize, e: usize) -> Option<Hit> {
        match self {
            Kind::CreditCard => card::check(buf, s, e),
            Kind::Ssn => ssn::check(buf, s, e),
            Kind::Email => contact::check_email(buf, s, e),
            Kind::Phone => contact::check_phone(buf, s, e),
            Kind::Iban => bank::check_iban(buf, s, e),
            Kind::Routing => bank::check_aba(buf, s, e),
            Kind::Ip => ip::check(buf, s, e),
            Kind::ApiKey => apikey::check(buf, s, e),
            Kind::CryptoKey => pem::check(buf, s, e),
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
        let re = regex::bytes::RegexBuilder::new(kind.pattern())
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .expect("built-in pattern compiles");
        Builtin { kind, re }
    }

    /// Appends validated hits with a start in `lo..hi` to `out`.
    pub fn scan(&self, buf: &[u8], lo: usize, hi: usize, out: &mut Vec<Hit>) {
        let mut pos = lo;
        while pos < hi {
            let Some(m) = self.re.find_at(buf, pos) else {
                break;
            };
            if m.start() >= hi {
                break;
            }
            match self.kind.check(buf, m.start(), m.end()) {
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

/// Confidence arithmetic used by the validators.
pub(crate) fn adjust(c: Confidence, up: bool, down: bool) -> Confidence {
    match (up, down) {
        (true, false) => c.shift(1),
        (false, true) => c.shift(-2),
        _ => c,
    }
}
