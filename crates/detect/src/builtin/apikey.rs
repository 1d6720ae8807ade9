//! API_KEY: vendor tokens with their exact shapes and offline checks, and
//! keyword-gated high-entropy assignments.
//!
//! Vendor shapes: AWS access key IDs (AKIA/ASIA + 16 of `[A-Z2-7]`), GitHub
//! classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 30 random +
//! 6-char base62 CRC32: VERY_LIKELY when the checksum holds, LIKELY when it
//! fails but the body is random-looking, with upper- and lowercase letters
//! and digits and at least 3.5 bits of entropy per character, as gitleaks
//! and Nosey Parker report such tokens too; UNLIKELY otherwise), 76-character
//! `ghr_` refresh tokens (LIKELY on the same test) and
//! fine-grained `github_pat_`, Slack `xox?-`, Stripe secret/restricted
//! keys (test keys lower), Google `AIza`, GitLab `glpat-`, OpenAI `sk-`,
//! and JWTs whose header and payload decode to JSON. Generic: `api_key =
//! "…"`, `secret: …` and the like (the value may be on the line after a
//! `key:`, as in YAML, a YAML block scalar `key: |` or pretty-printed
//! JSON), with an entropy floor, mixed character classes, and placeholder
//! / documentation-example suppression.

use std::sync::OnceLock;

use dlp_record::Confidence;

use super::{Detector, Find, Hit, Judge, Shape};
use crate::context::{contains_word, entropy, is_word};
use crate::evidence::Labels;

pub(crate) const DETECTOR: Detector = Detector {
    name: "API_KEY",
    uuid: "0e95732f-bc5c-448f-9d15-bd1417177360",
    find: Find::Own(find_keys),
    labels: Labels::NONE,
    probe: Some(crate::evidence::secret_probe),
    votes: false,
    max_len: 16 * 1024,
    prepare: None,
};

/// Vendor tokens (the common shapes by one regex with a literal
/// prefilter, the rarer ones in a second pass), keyword-gated
/// assignments, flags and setter calls.
fn find_keys(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| super::compile(VENDOR));
    super::scan_regex(re, 16 * 1024, candidate, buf, lo, hi, judge, out);
    scan_more(buf, lo, hi, judge, out);
    scan_assignments(buf, lo, hi, judge, out);
    scan_flags_and_calls(buf, lo, hi, judge, out);
    super::vendors::scan(buf, lo, hi, judge, out);
}

pub(crate) const VENDOR: &str = r"(?:AKIA|ASIA)[A-Z2-7]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}|xox[abposr]-[A-Za-z0-9-]{10,250}|[rs]k_(?:live|test)_[A-Za-z0-9]{20,250}|AIza[A-Za-z0-9_-]{35}|glpat-[A-Za-z0-9_-]{20,64}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}|eyJ[A-Za-z0-9_-]{10,4000}\.eyJ[A-Za-z0-9_-]{10,8000}(?:\.[A-Za-z0-9_-]{0,2000})?";

/// Rarer vendor shapes, searched in a second pass so the common ones keep
/// the fast literal prefilter (a small literal set).
const VENDOR_MORE: &str = r"ghr_[A-Za-z0-9]{76}|(?:ABIA|ACCA)[A-Z2-7]{16}|xoxe-[A-Za-z0-9-]{10,250}|xapp-[0-9]-[A-Z0-9]{6,16}-[0-9]{6,16}-[a-f0-9]{32,80}|hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}|ya29\.[A-Za-z0-9_-]{30,2000}|gl(?:ptt|rt|ft|oas|agent|dt|imt|cbt|soat)-[A-Za-z0-9_-]{20,64}|GR1348941[A-Za-z0-9_-]{20,40}";

const KEYWORD: &str = r#"(?i:api[_.-]?key|apikey|api[_.-]?secret|secret[_.-]?key|client[_.-]?secret|access[_.-]?key|auth[_.-]?token|access[_.-]?token|bearer|secret|token|private[_.-]?key)[A-Za-z0-9_.-]{0,24}(?: [A-Za-z]{1,12})?["'`]?(?:[ \t]+(?:string|String|str))?[ \t]*(?:(?:=|:=|=>|\?=|::=|\.=)[ \t]*|:[ \t]*(?:[|>][-+]?[ \t]*)?(?:\r?\n[ \t]*)?|>[ \t\r\n]*)["'`]?[A-Za-z0-9+/_.=~-]{12,256}"#;

fn more_re() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::RegexBuilder::new(VENDOR_MORE)
            .unicode(false)
            .build()
            .unwrap()
    })
}

/// The rarer vendor tokens starting in `lo..hi`.
fn scan_more(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    let hay = &buf[..(hi + 4096).min(buf.len())];
    let mut pos = lo;
    while pos < hi {
        let Some(m) = more_re().find_at(hay, pos) else {
            break;
        };
        if m.start() >= hi {
            break;
        }
        if let Some(h) = vendor_shape(buf, m.start(), m.end()).and_then(&mut *judge) {
            out.push(h);
        }
        pos = m.end().max(m.start() + 1);
    }
}

fn vendor_re() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::RegexBuilder::new(&format!("^(?:{VENDOR_MORE}|{VENDOR})"))
            .unicode(false)
            .build()
            .unwrap()
    })
}

/// The assignment pattern anchored at a name, the value captured; with
/// `vendor`, the name starts with a vendor's name instead of a keyword.
fn keyword_pattern(vendor: bool) -> regex::bytes::Regex {
    let mut p = KEYWORD.replace(
        r"[A-Za-z0-9+/_.=~-]{12,256}",
        r"([A-Za-z0-9+/_.=~-]{12,256})",
    );
    if vendor {
        let names: Vec<String> = super::vendors::VENDOR_NAMES
            .iter()
            .map(|n| String::from_utf8_lossy(n).replace('_', "[_.-]?"))
            .collect();
        let keywords = &KEYWORD[..KEYWORD.find(')').expect("keyword group") + 1];
        p = p.replace(keywords, &format!("(?i:{})", names.join("|")));
    }
    regex::bytes::RegexBuilder::new(&format!("^(?:{p})"))
        .unicode(false)
        .build()
        .unwrap()
}

fn keyword_re() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| keyword_pattern(false))
}

/// The vendor names as they appear in a normalised name (no `_`).
fn vendor_names() -> &'static [Vec<u8>] {
    static NAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    NAMES.get_or_init(|| {
        super::vendors::VENDOR_NAMES
            .iter()
            .map(|n| n.iter().copied().filter(|&b| b != b'_').collect())
            .collect()
    })
}

fn vendor_keyword_re() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| keyword_pattern(true))
}

/// Values that are documentation examples or placeholders, not secrets.
const PLACEHOLDERS: &[&str] = &[
    "example",
    "xxxx",
    "your",
    "changeme",
    "change_me",
    "placeholder",
    "dummy",
    "sample",
    "redacted",
    "insert",
    "replace",
    "fake",
    "test",
    "todo",
    "0000000",
    "1234567",
    "abcdef",
    "secret",
    "token",
    "password",
    "here",
];

/// Credentials published for everyone to use: AWS's documentation
/// examples, the access and secret key of MinIO's public playground
/// server (`play.min.io`), printed in MinIO's client documentation and
/// SDK examples, the challenge token of RFC 8555's (ACME) examples,
/// which ACME clients' tests reuse, and the key of the Fernet
/// specification's test vectors (`generate.json`, `verify.json` and
/// `invalid.json` at <https://github.com/fernet/spec>), which every Fernet
/// implementation's tests load. A value in the same record as one of
/// these (the token it encrypted) is a sample too (`crate::evidence`).
pub(crate) const PUBLISHED_KEYS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "Q3AM3UQ867SPQQA43P2F",
    "zuf+tfteSlswRu7BJ86wekitnifILbZam1KYY3TG",
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
    "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
];

/// Keyword-side words that mean the value is not a secret.
const NOT_SECRET_KEYS: &[&str] = &[
    "hash",
    "sha",
    "checksum",
    "digest",
    "integrity",
    "fingerprint",
    "public",
    "csrf",
    "uuid",
    "guid",
    "id",
    "length",
    "type",
    "url",
    "uri",
    "path",
    "file",
    "name",
    "count",
    "expires",
    "version",
];

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 6-character base62 CRC32 checksum GitHub appends to the 30 random
/// characters of a classic token.
pub(crate) fn github_checksum(random30: &[u8]) -> [u8; 6] {
    let mut n = crc32fast::hash(random30);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = B62[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn b64url_json(part: &[u8]) -> Option<serde_json::Value> {
    let out = dlp_record::b64::decode_url(part)?;
    let v: serde_json::Value = serde_json::from_slice(&out).ok()?;
    v.is_object().then_some(v)
}

pub(crate) fn placeholder(v: &[u8]) -> bool {
    let low = v.to_ascii_lowercase();
    PLACEHOLDERS
        .iter()
        .any(|p| low.windows(p.len()).any(|w| w == p.as_bytes()))
        || PUBLISHED_KEYS.iter().any(|k| k.as_bytes() == v)
}

/// Placeholder or redacted bodies inside a vendor-shaped token:
/// `github_pat_xxxx…`, `AIzaSyabcdefghij…`, `xoxb-…-XXXXXXXX`.
fn redacted(t: &[u8]) -> bool {
    let low = t.to_ascii_lowercase();
    let has = |p: &[u8]| low.windows(p.len()).any(|w| w == p);
    has(b"xxxxxx")
        || has(b"abcdefgh")
        || has(b"123456789")
        || has(b"000000")
        || has(b"example")
        || has(b"your_")
        || has(b"your-")
        || has(b"redacted")
        || has(b"placeholder")
        || has(b"changeme")
        // A long run of one character.
        || t.windows(8).any(|w| w.iter().all(|&b| b == w[0]))
}

/// Random-looking: upper- and lowercase letters and digits, and an
/// entropy random base62 strings of this length reach (a 36-character
/// one averages about 4.6 bits per character; 3.5 is kept as the floor).
fn token_like(body: &[u8]) -> bool {
    body.iter().any(u8::is_ascii_uppercase)
        && body.iter().any(u8::is_ascii_lowercase)
        && body.iter().any(u8::is_ascii_digit)
        && entropy(body) >= 3.5
}

fn end_ok(buf: &[u8], e: usize) -> bool {
    !buf.get(e).is_some_and(|&b| is_word(b) || b == b'-')
}

/// The claims of a JSON Web Token (its second part, decoded).
pub(crate) fn jwt_claims(t: &[u8]) -> Option<serde_json::Value> {
    let mut parts = t.split(|&b| b == b'.');
    b64url_json(parts.next()?)?;
    b64url_json(parts.next()?)
}

/// Whether `t` has a vendor token's shape, and whether its checksum proves
/// it (GitHub's CRC32).
pub(crate) fn token_kind(t: &[u8]) -> (bool, bool) {
    let row = super::vendors::rule_of(t);
    let vendor = row.is_some() || vendor_re().find(t).is_some_and(|m| m.end() == t.len());
    let github =
        vendor && t.len() == 40 && t.starts_with(b"gh") && github_checksum(&t[4..34]) == t[34..40];
    // A row whose check is a checksum or a structure, and holds.
    let checked = row.is_some_and(|r| {
        r.check != super::vendors::Check::Random && super::vendors::level(t) == Some(r.level)
    });
    (vendor, github || checked)
}

/// Validates a vendor-shaped token at `buf[s..e]`: not the middle of a
/// longer word or dotted token (`xoxe.xoxp-…`, a fourth JWT part).
pub(crate) fn vendor_shape(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    let t = &buf[s..e];
    if s > 0 && (is_word(buf[s - 1]) || matches!(buf[s - 1], b'-' | b'.')) {
        return None;
    }
    if !end_ok(buf, e) || (buf.get(e) == Some(&b'.') && buf.get(e + 1).is_some_and(|&b| is_word(b)))
    {
        return None;
    }
    // A token cut short by a redaction mark (`xoxb-…-####`, `sk_live_…***`).
    if matches!(buf.get(e), Some(b'#' | b'*' | b'.' | b'-'))
        && matches!(buf.get(e + 1), Some(b'#' | b'*' | b'.' | b'-'))
        || redacted(super::vendors::rule_of(t).map_or(t, |r| &t[r.prefix.len()..]))
    {
        return Some(Shape::at(s, e, Confidence::Unlikely));
    }
    vendor_confidence(t).map(|c| Shape::at(s, e, c))
}

/// `high` unless `t` is too regular to be random (`entropy < min`).
fn random_or_unlikely(t: &[u8], min: f64, high: Confidence) -> Confidence {
    if entropy(t) < min {
        Confidence::Unlikely
    } else {
        high
    }
}

/// The confidence a vendor's token format gives `t`, by its prefix;
/// `None` when the prefix is not one of them or the token fails its
/// format's test.
fn vendor_confidence(t: &[u8]) -> Option<Confidence> {
    let starts = |p: &[u8]| t.starts_with(p);
    Some(if starts(b"hooks.") || starts(b"GR1348941") {
        random_or_unlikely(t, 3.5, Confidence::VeryLikely)
    } else if starts(b"ya29.") || starts(b"xapp-") {
        random_or_unlikely(t, 3.5, Confidence::Likely)
    } else if [&b"AKIA"[..], b"ASIA", b"ABIA", b"ACCA"]
        .iter()
        .any(|p| starts(p))
    {
        if t.ends_with(b"EXAMPLE") {
            Confidence::Unlikely
        } else {
            random_or_unlikely(&t[4..], 2.5, Confidence::VeryLikely)
        }
    } else if starts(b"github_pat_") {
        Confidence::VeryLikely
    } else if starts(b"gh") {
        checksummed(t, 4)
    } else if starts(b"xox") && !starts(b"xoxe.") {
        slack(t)
    } else if starts(b"sk_") || starts(b"rk_") {
        stripe(t)
    } else if starts(b"AIza") || starts(b"gl") {
        random_or_unlikely(t, 3.5, Confidence::VeryLikely)
    } else if starts(b"sk-") && !starts(b"sk-ant-") {
        openai(&t[3..])?
    } else if starts(b"eyJ") {
        jwt(t).or_else(|| super::vendors::level(t))?
    } else {
        return super::vendors::level(t);
    })
}

/// Tokens of a prefix, 30 random characters and their CRC32 in 6 base62
/// digits (GitHub's `gh?_`, npm's `npm_`). A checksum that holds proves
/// the shape; one that fails is still a token-shaped string (a copy with
/// a character changed, a test fixture) that peers report, unless it is
/// not random.
pub(crate) fn checksummed(t: &[u8], prefix: usize) -> Confidence {
    let p = prefix;
    if t.len() == p + 36 && github_checksum(&t[p..p + 30]) == t[p + 30..p + 36] {
        Confidence::VeryLikely
    } else if token_like(&t[p..]) {
        Confidence::Likely
    } else {
        Confidence::Unlikely
    }
}

/// Slack `xox?-` tokens: the more dash-separated parts with digits, the
/// surer.
fn slack(t: &[u8]) -> Confidence {
    let parts = t.split(|&b| b == b'-').count();
    if placeholder(t) || entropy(t) < 3.0 {
        Confidence::Unlikely
    } else if parts >= 4 && t[5..].iter().any(u8::is_ascii_digit) {
        Confidence::VeryLikely
    } else if parts >= 3 && t[5..].iter().any(u8::is_ascii_digit) {
        // Two-part bot tokens (`xoxb-<team>-<secret>`).
        Confidence::Likely
    } else {
        Confidence::Possible
    }
}

/// Stripe secret and restricted keys. Test-mode keys are credentials too
/// (they read test data).
fn stripe(t: &[u8]) -> Confidence {
    if entropy(&t[8..]) < 3.0 {
        Confidence::Unlikely
    } else if t[3..].starts_with(b"live") && entropy(&t[8..]) >= 3.5 {
        Confidence::VeryLikely
    } else {
        Confidence::Likely
    }
}

/// OpenAI `sk-` keys (`body` after the prefix): the `T3BlbkFJ` marker, or
/// a long random mixed-case body.
fn openai(body: &[u8]) -> Option<Confidence> {
    let classes = [
        body.iter().any(u8::is_ascii_uppercase),
        body.iter().any(u8::is_ascii_lowercase),
        body.iter().any(u8::is_ascii_digit),
    ];
    if body.windows(8).any(|w| w == b"T3BlbkFJ") {
        Some(Confidence::VeryLikely)
    } else if body.len() >= 40
        && classes.iter().all(|&c| c)
        && entropy(body) >= 4.0
        && !placeholder(body)
    {
        Some(Confidence::Likely)
    } else {
        None
    }
}

/// A JSON Web Token: header and payload must decode as JSON objects.
fn jwt(t: &[u8]) -> Option<Confidence> {
    let mut parts = t.split(|&b| b == b'.');
    let header = b64url_json(parts.next()?)?;
    b64url_json(parts.next()?)?;
    let sig = parts.next().unwrap_or_default();
    Some(if header.get("alg").is_some() && sig.len() >= 16 {
        Confidence::VeryLikely
    } else {
        Confidence::Likely
    })
}

/// Validates a keyword-gated assignment starting at `s`, its name
/// matched by `re`.
fn assignment(re: &regex::bytes::Regex, buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    let caps = re.captures(&buf[s..e])?;
    let v = caps.get(1)?;
    let (vs, mut ve) = (s + v.start(), s + v.end());
    // Trailing punctuation belongs to the sentence, not the value.
    while ve > vs
        && matches!(buf[ve - 1], b'.' | b'=' | b'-')
        && buf[vs..ve].iter().filter(|&&b| b == b'=').count() == 0
    {
        ve -= 1;
    }
    assigned(buf, s, vs, ve)
}

/// The value `buf[vs..ve]` assigned to a key whose secret keyword starts
/// at `s`, when it can be a secret.
fn assigned(buf: &[u8], s: usize, vs: usize, ve: usize) -> Option<Shape> {
    if let Some(m) = vendor_re().find(&buf[vs..ve]) {
        if let Some(h) = vendor_shape(buf, vs, vs + m.end()) {
            return Some(h);
        }
    }
    let value = &buf[vs..ve];
    // A function called (`= self._cstruct_unpack(…)`) is an identifier.
    if buf.get(ve) == Some(&b'(') && value.iter().any(|&b| b == b'_' || b == b'.') {
        return Some(Shape::at(vs, ve, Confidence::Unlikely));
    }
    if value.starts_with(super::pem::B64_BEGIN) {
        return None; // a wrapped PEM key: CRYPTOGRAPHIC_KEY
    }
    // The whole key name, including what precedes the keyword in it.
    let mut ks = s;
    while ks > 0 && s - ks < 64 && (is_word(buf[ks - 1]) || matches!(buf[ks - 1], b'.' | b'-')) {
        ks -= 1;
    }
    let key = &buf[ks..vs];
    if value.len() < 16 || contains_word(key, NOT_SECRET_KEYS) || placeholder(value) {
        return None;
    }
    if value[0] == b'/'
        || value.starts_with(b"http")
        || value.windows(2).any(|w| w == b"${" || w == b"{{")
    {
        return None;
    }
    let has_digit = value.iter().any(u8::is_ascii_digit);
    let has_alpha = value.iter().any(u8::is_ascii_alphabetic);
    if !has_digit || !has_alpha {
        return None;
    }
    let hex = value.iter().all(u8::is_ascii_hexdigit);
    let ent = entropy(value);
    if ent < if hex { 3.0 } else { 3.5 } {
        return None;
    }
    // Dotted identifiers (com.acme.app, config.api.v2) are not secrets.
    if value.iter().filter(|&&b| b == b'.').count() >= 2 && !value.starts_with(b"eyJ") {
        return None;
    }
    let c = if uuid_shaped(value) {
        Confidence::Possible
    } else {
        Confidence::Likely
    };
    Some(Shape::at(vs, ve, c))
}

/// A UUID, dashed (`0e95732f-bc5c-448f-9d15-bd1417177360`) or as the 32
/// hex digits of a random (version 4) UUID without its dashes
/// (`b0cf19b55dbb4f20a6ee18e6c6cf1726`, what `uuid4().hex` prints): an
/// identifier more often than a key, so POSSIBLE under a secret's name. A
/// random 32-digit hex key has the version-4 layout once in 64.
fn uuid_shaped(value: &[u8]) -> bool {
    if value.len() == 36 {
        return value.iter().filter(|&&b| b == b'-').count() == 4;
    }
    value.len() == 32
        && value
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        && value[12] == b'4'
        && matches!(value[16], b'8' | b'9' | b'a' | b'b')
}

/// True when the lowercase alphanumerics of `name` hold a secret keyword.
fn secret_name(name: &[u8]) -> bool {
    let mut norm = [0u8; 64];
    let mut n = 0;
    for &b in name.iter().filter(|b| b.is_ascii_alphanumeric()).take(64) {
        norm[n] = b.to_ascii_lowercase();
        n += 1;
    }
    let norm = &norm[..n];
    KEY_WORDS
        .iter()
        .any(|w| norm.windows(w.len()).any(|x| x == *w))
}

/// The value right at `vs` (after an optional quote), as `(start, end)`.
fn value_at(buf: &[u8], mut vs: usize) -> Option<(usize, usize)> {
    if matches!(buf.get(vs), Some(b'"' | b'\'' | b'`')) {
        vs += 1;
    }
    let value_char = |b: &u8| b.is_ascii_alphanumeric() || b"+/_.=~-".contains(b);
    let n = buf[vs.min(buf.len())..]
        .iter()
        .take(256)
        .take_while(|b| value_char(b))
        .count();
    (n >= 12).then_some((vs, vs + n))
}

/// Farthest a value starts after the operator, flag or call that names it.
const REACH: usize = 300;

/// Secrets passed as command-line flags (`--registration-token "…"`,
/// `--api-key …`) and as the second argument of a setter
/// (`System.setProperty("API_TOKEN", "…")`, `putenv('TOKEN', '…')`).
///
/// A value can start a little after its flag or call: triggers are searched
/// from `REACH` bytes before `lo`, so a value owned by this window is found
/// when its flag ends the previous one (the caller keeps hits that start in
/// `lo..hi`).
fn scan_flags_and_calls(
    buf: &[u8],
    lo: usize,
    hi: usize,
    judge: &mut Judge<'_>,
    out: &mut Vec<Hit>,
) {
    let end = hi.min(buf.len());
    let lo = lo.saturating_sub(REACH);
    for k in memchr::memmem::find_iter(&buf[lo..end], b"--") {
        let s = lo + k + 2;
        if k + lo > 0 && !matches!(buf[lo + k - 1], b' ' | b'\t' | b'"' | b'\'' | b'\n') {
            continue;
        }
        let n = buf[s..]
            .iter()
            .take(64)
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .count();
        if n == 0 || !secret_name(&buf[s..s + n]) {
            continue;
        }
        let mut v = s + n;
        let spaces = buf[v..]
            .iter()
            .take(4)
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if spaces == 0 {
            continue; // `--token=…` is an assignment, found elsewhere
        }
        v += spaces;
        if let Some((vs, ve)) = value_at(buf, v) {
            if let Some(h) = assigned(buf, s, vs, ve).and_then(&mut *judge) {
                out.push(h);
            }
        }
    }
    for q in [&b"(\""[..], b"('"] {
        for k in memchr::memmem::find_iter(&buf[lo..end], q) {
            let s = lo + k + 2;
            let n = buf[s..]
                .iter()
                .take(64)
                .take_while(|&&b| is_word(b) || b == b'.' || b == b'-')
                .count();
            let mut v = s + n;
            if n == 0 || buf.get(v) != Some(&q[1]) || !secret_name(&buf[s..s + n]) {
                continue;
            }
            v += 1;
            v += buf[v..].iter().take(4).take_while(|&&b| b == b' ').count();
            if buf.get(v) != Some(&b',') {
                continue;
            }
            v += 1;
            v += buf[v..].iter().take(4).take_while(|&&b| b == b' ').count();
            if !matches!(buf.get(v), Some(b'"' | b'\'')) {
                continue;
            }
            if let Some((vs, ve)) = value_at(buf, v) {
                if let Some(h) = assigned(buf, s, vs, ve).and_then(&mut *judge) {
                    out.push(h);
                }
            }
        }
    }
}

/// Normalised key-name fragments (lowercase, without `_ . -`) that gate
/// the generic assignment check.
const KEY_WORDS: &[&[u8]] = &[
    b"apikey",
    b"apisecret",
    b"secret",
    b"token",
    b"accesskey",
    b"bearer",
    b"privatekey",
];

/// Keyword-gated assignments without a case-insensitive regex pass: from
/// each `=` or `:` (memchr), read the key name before it and run the
/// assignment check only when the name holds a secret keyword.
///
/// As for flags, triggers are searched from `REACH` bytes before `lo`, so
/// a value starting in this window after an operator at the end of the
/// previous one is found here (the caller keeps hits starting in `lo..hi`).
fn scan_assignments(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    let name_char = |b: u8| is_word(b) || b == b'.' || b == b'-';
    let mut norm = Vec::with_capacity(64);
    let mut from = lo.saturating_sub(REACH);
    let mut last_end = 0;
    // `from` may pass `hi` after a hit that ends in the next window.
    while from < hi {
        let Some(k) = memchr::memchr3(b'=', b':', b'>', &buf[from..hi]) else {
            break;
        };
        let c = from + k;
        from = c + 1;
        let floor = c.saturating_sub(64);
        let mut j = c;
        // Compound operators: `?=`, `::=`, `:=`, `.=`.
        while j > floor && c - j < 2 && matches!(buf[j - 1], b'?' | b':' | b'.') {
            j -= 1;
        }
        while j > floor && matches!(buf[j - 1], b' ' | b'\t') {
            j -= 1;
        }
        if j > 0 && matches!(buf[j - 1], b'"' | b'\'' | b'`') {
            j -= 1;
        }
        let mut id_end = j;
        while j > 0 && id_end - j < 64 && name_char(buf[j - 1]) {
            j -= 1;
        }
        // A type between the name and the operator (`var key string = …`).
        if matches!(&buf[j..id_end], b"string" | b"String" | b"str") {
            id_end = j;
            while id_end > floor && matches!(buf[id_end - 1], b' ' | b'\t') {
                id_end -= 1;
            }
            j = id_end;
            while j > 0 && id_end - j < 64 && name_char(buf[j - 1]) {
                j -= 1;
            }
        }
        if j == id_end || j < last_end {
            continue;
        }
        // A two-word name (`secret key: …`, `API token = …`).
        if j >= 2 && buf[j - 1] == b' ' && buf[j - 2].is_ascii_alphabetic() && id_end - j <= 12 {
            let mut k = j - 1;
            while k > 0 && j - k < 14 && buf[k - 1].is_ascii_alphabetic() {
                k -= 1;
            }
            if k == 0 || !is_word(buf[k - 1]) {
                j = k;
            }
        }
        norm.clear();
        norm.extend(
            buf[j..id_end]
                .iter()
                .filter(|b| b.is_ascii_alphanumeric())
                .map(u8::to_ascii_lowercase),
        );
        let has = |words: &[&[u8]]| words.iter().any(|w| norm.windows(w.len()).any(|x| x == *w));
        // A secret's keyword, or a vendor's name with a word such as `key`.
        let re = if has(KEY_WORDS) {
            keyword_re()
        } else if has(super::vendors::VENDOR_SECRET_WORDS)
            && vendor_names()
                .iter()
                .any(|w| norm.windows(w.len()).any(|x| x == w.as_slice()))
        {
            vendor_keyword_re()
        } else {
            continue;
        };
        // Start at the first keyword inside the name, as the pattern does.
        let e = (c + 300).min(buf.len());
        let hit = (j..id_end).find_map(|s| {
            re.find(&buf[s..e])
                .and_then(|m| assignment(re, buf, s, s + m.end()))
                .and_then(&mut *judge)
        });
        if let Some(h) = hit {
            last_end = h.end;
            // The value may run past `hi` (into a stream window's
            // overlap): stop there, the next window starts after it.
            from = from.max(h.end).min(hi);
            out.push(h);
        }
    }
}

/// A candidate of the common vendor regex.
fn candidate(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if vendor_re().is_match(&buf[s..e]) {
        let m = vendor_re().find(&buf[s..e])?;
        if m.end() == e - s {
            return vendor_shape(buf, s, e);
        }
    }
    assignment(keyword_re(), buf, s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ghp(random30: &str) -> String {
        let sum = github_checksum(random30.as_bytes());
        format!("ghp_{random30}{}", std::str::from_utf8(&sum).unwrap())
    }

    fn find(text: &str) -> Option<(String, Confidence)> {
        super::super::first(super::super::Kind::ApiKey, text)
    }

    /// Known answers computed outside this crate (Python's `zlib.crc32`
    /// and the base62 alphabet `0-9A-Za-z`, most significant digit first),
    /// so a wrong polynomial, bit order or digit order fails here.
    #[test]
    fn crc32_and_github_checksum_known_answers() {
        // The CRC-32/ISO-HDLC check value from the CRC catalogue.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32fast::hash(b""), 0);
        for (random30, crc, sum) in [
            ("Zq3kV9xR2mW8pL4nT6yB1cD5fG7hJ0", 0xEEE6_B490, "4NFZ6O"),
            ("000000000000000000000000000000", 0x77E5_DB82, "2C8GjS"),
            ("abcdefghijklmnopqrstuvwxyz0123", 0x806D_9A54, "2LolCm"),
            ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0x317F_6A1B, "0uCPlr"),
            ("Xk7pQ2mN9vR4tW8yB3cF6hJ1lS5dG0", 0xFF92_0511, "4gB09R"),
            ("b8Hq2LzT5wYc9Nf3Rk6Vm1Pd4Sg7Jx", 0x6BBB_4CF8, "1yJowS"),
        ] {
            assert_eq!(crc32fast::hash(random30.as_bytes()), crc, "{random30}");
            assert_eq!(&github_checksum(random30.as_bytes()), sum.as_bytes());
        }
        // Whole tokens, written out: each is found as very likely, and the
        // same token with its checksum's last digit changed is not.
        for t in [
            "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",
            "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",
            "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",
        ] {
            assert_eq!(
                find(&format!("tok {t} x")).unwrap(),
                (t.to_owned(), Confidence::VeryLikely)
            );
            let mut bad = t.to_owned().into_bytes();
            let last = bad.len() - 1;
            bad[last] = if bad[last] == b'a' { b'b' } else { b'a' };
            let bad = String::from_utf8(bad).unwrap();
            assert_ne!(
                find(&format!("tok {bad} x")).map(|h| h.1),
                Some(Confidence::VeryLikely),
                "{bad}"
            );
        }
    }

    #[test]
    fn vendor_tokens() {
        assert_eq!(
            find("key AKIAQYLPMN5HHHFPZAM2 x").unwrap().1,
            Confidence::VeryLikely
        );
        assert_eq!(
            find("key AKIAIOSFODNN7EXAMPLE x").unwrap().1,
            Confidence::Unlikely
        );
        let t = ghp("Zq3kV9xR2mW8pL4nT6yB1cD5fG7hJ0");
        assert_eq!(
            find(&format!("tok {t}")).unwrap(),
            (t.clone(), Confidence::VeryLikely)
        );
        // A failed checksum: still a random-looking token (LIKELY), but
        // not proven (VERY_LIKELY).
        let mut bad = t.clone().into_bytes();
        bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            find(std::str::from_utf8(&bad).unwrap()).unwrap().1,
            Confidence::Likely
        );
        assert_eq!(
            find("sk_live_4eC39HqLyjWDarjtT1zdp7dc").unwrap().1,
            Confidence::VeryLikely
        );
        assert_eq!(
            find("sk_test_4eC39HqLyjWDarjtT1zdp7dc").unwrap().1,
            Confidence::Likely
        );
        assert_eq!(
            find("k=AIzaSyD3x9Q-4vK2mN8pR1tW6yB0cF5hJ7lP3sU").unwrap().1,
            Confidence::VeryLikely
        );
        assert_eq!(
            find("glpat-x7Km2Qp9Rt4Vw8Yz3Bn6").unwrap().1,
            Confidence::VeryLikely
        );
        assert_eq!(
            find("xoxb-2837461029-4829301827364-Zq3kV9xR2mW8pL4nT6yB1cD5")
                .unwrap()
                .1,
            Confidence::VeryLikely
        );
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyODYzMDM3NCIsIm5hbWUiOiJBZGEgUGFyayIsImlhdCI6MTcwMDAwMDAwMH0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(find(jwt).unwrap().1, Confidence::VeryLikely);
        assert_eq!(
            find("eyJub3QganNvbg.eyJub3QganNvbg.abc"),
            None,
            "does not decode to JSON"
        );
    }

    #[test]
    fn keyword_gated() {
        let (v, c) = find(r#"api_key = "f8Kq2LmZ9xWv4RtY7pNc3Bd6""#).unwrap();
        assert_eq!(
            (v.as_str(), c),
            ("f8Kq2LmZ9xWv4RtY7pNc3Bd6", Confidence::Likely)
        );
        assert_eq!(
            find("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            None
        );
        assert_eq!(find(r#"api_key = "your-api-key-here-1234""#), None);
        assert_eq!(
            find("secret: get_secret_from_environment"),
            None,
            "identifier"
        );
        assert_eq!(find("sha256_digest_token: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), None);
        assert_eq!(
            find("token = AKIAQYLPMN5HHHFPZAM2").unwrap().0,
            "AKIAQYLPMN5HHHFPZAM2"
        );
        let json = r#"{"client_id": "abc", "client_secret": "Xk29fLq83MzPw7RtY4vNb6Qs"}"#;
        assert_eq!(find(json).unwrap().0, "Xk29fLq83MzPw7RtY4vNb6Qs");
    }

    #[test]
    fn decoys() {
        assert_eq!(
            find("commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"),
            None
        );
        assert_eq!(find("id 123e4567-e89b-12d3-a456-426614174000"), None);
        assert_eq!(find("the task-manager-service-with-long-name-here"), None);
    }
}
