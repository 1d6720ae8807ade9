//! Evidence that a string found as a secret (a vendor-shaped token or a
//! value under a key-like name) is not a live one. A random-looking value
//! under a secret's name, outside documentation, has none of it and stays
//! reported; a token whose checksum holds (GitHub's CRC32) is never
//! doubted by its context.
//!
//! * **A documentation sample**: the value sits in a sample of a
//!   reference page or README (a reStructuredText literal block after a
//!   `::` line, a Markdown code fence, also in a documentation comment
//!   such as JSDoc's ` * ```js` or Rust's `/// ````, a numpydoc
//!   `Examples` section, a doctest, a Go example's
//!   `// Output:` comment, a shell prompt `$ `, a
//!   man page example, an HTML `<pre>` block, an indented block under a
//!   sentence introducing it); it says `EXAMPLE` (or `EXAMPL`, as in
//!   `AKIAIOSFODNN7EXAMPLF`); it is elided (`eyJ2Ijoi…`, `MIIG/QIBAD...`);
//!   or a credential beside it in the same record (its line, a small JSON
//!   object, a block of HTTP headers) is a published documentation value
//!   (`AKIDEXAMPLE`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, the
//!   Fernet specification's test key), so the record is a sample; or it
//!   is a JSON Web Token of names reserved for examples (`urn:example:`,
//!   an issuer at `example.com`) or of parties named by their claims
//!   (`"iss":"issuer"`, `"sub":"subject"`); or it is the password of a
//!   URL whose host is reserved for examples (`http://john:S3nsit1ve@my.example.com`).
//! * **A test vector**: a hex secret among the public parts of its
//!   cryptographic test vector (`vectors`).
//! * **Not a credential**: the name says what kind of token it is and
//!   that kind is not a credential (pagination and state: `NextToken`,
//!   `nextPageToken`, `--starting-token`, `ContinuationToken`; concurrency
//!   and idempotency: `ChangeToken`, `ClientRequestToken`; tokens their
//!   vendor documents as non-secret: KMS `GrantToken`, `PurchaseToken`;
//!   CSRF; the `token` of an ACME challenge object, which RFC 8555 has
//!   the client publish); the value is base64 of a JSON object holding no credential (a
//!   pagination cursor such as `{"NextToken": null, …}`) or hex of data
//!   holding text (a CBOR token with a URL in it); the name is a
//!   key's identifier (`AccessKeyId`, `key_id`), or the key id sits in a
//!   signed URL (`X-Amz-Credential=AKIA…`, `AWSAccessKeyId=…&Signature=`);
//!   the name is the resource type of an ARN (`…:secret:name-AbC123`).
//! * **Made up, by its name**: the name says so (`invalidPayloadToken`,
//!   `FAKE_API_KEY`, `dummy_secret`, `mock_token`, `bogus`, `wrong`,
//!   `bad`).
//! * **An identifier**: the value is made of words (`x25519_check_private_key_bytes`,
//!   `P256_PRIVATE_KEY_SIZE`, `self._assert_v1_enabled`), is a file name
//!   (`rsa-2048-private-key.pk8`) or a `name=value` pair.
//! * **Expired**: a JSON Web Token whose `exp` claim has passed (at most
//!   POSSIBLE: worth a look, no longer a key to anything).
//! * **Unissued**: a JSON Web Token with no `exp`, `iat` or `nbf` claim
//!   (`{"iss":"https://id.acme-login.net","sub":"u-1842"}`): issuers stamp
//!   the tokens they mint, so this one was written for a test or a sample
//!   (at most POSSIBLE). jwt.io's sample token (`"sub":"1234567890"`,
//!   `"name":"John Doe"`) is a documentation sample.
//! * **A placeholder pattern**: runs of consecutive letters and digits
//!   (`abcd1234defg5678`, `a1b2c3d4567890ab`, `12cs345-67cd-890b-…`).

use super::words::{pieces, word};
use super::Doubt;
use crate::context::is_word;

/// Lines searched above a value for the start of its sample block.
const BLOCK_LINES: usize = 400;
/// Bytes searched above a value for the start of its sample block.
const BLOCK_REACH: usize = 16 * 1024;

/// Why a secret-shaped value is doubted, if it is.
pub(crate) fn doubt(buf: &[u8], s: usize, e: usize, vendor: bool, proven: bool) -> Option<Doubt> {
    let v = &buf[s..e];
    if proven {
        return None;
    }
    if let Some(claims) = v
        .starts_with(b"eyJ")
        .then(|| crate::builtin::jwt_claims(v))
        .flatten()
    {
        if published_jwt(&claims) || placeholder_claims(&claims) {
            return Some(Doubt::Sample);
        }
        if expired_jwt(&claims) {
            return Some(Doubt::Expired);
        }
        if unissued_jwt(&claims) {
            return Some(Doubt::Unissued);
        }
    }
    let key = key_before(buf, s);
    if sequential(v) || (!vendor && named_not_real(key)) {
        return Some(Doubt::Placeholder);
    }
    if signed_url_key_id(buf, s, v) || (!vendor && (names_key_id(key) || arn_resource(buf, s))) {
        return Some(Doubt::Identifier);
    }
    if !vendor
        && (not_credential_token(key)
            || state_token(v)
            || hex_of_text(v)
            || base64_of_prose(v)
            || acme_challenge_token(buf, s, e, key))
    {
        return Some(Doubt::NotSecret);
    }
    if !vendor && identifier(v) {
        return Some(Doubt::Identifier);
    }
    let example = memchr::memmem::find(v, b"EXAMPL").is_some();
    if example
        || userinfo_at_example_host(buf, s, e)
        || elided(buf, s, e)
        || beside_documentation_value(buf, s, e)
        || in_sample_block(buf, s)
    {
        return Some(Doubt::Sample);
    }
    if !vendor && super::vectors::in_test_vector(buf, s, e) {
        return Some(Doubt::TestVector);
    }
    None
}

/// A JSON Web Token whose `exp` claim is in the past: no longer accepted.
fn expired_jwt(claims: &serde_json::Value) -> bool {
    let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_f64) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    exp < now
}

/// Claims with no time stamp at all: no issuer minted this token.
fn unissued_jwt(claims: &serde_json::Value) -> bool {
    claims
        .as_object()
        .is_some_and(|o| !["exp", "iat", "nbf"].iter().any(|k| o.contains_key(*k)))
}

/// The claims of jwt.io's sample token, printed in countless tutorials
/// and test suites.
fn published_jwt(claims: &serde_json::Value) -> bool {
    claims.get("sub").and_then(serde_json::Value::as_str) == Some("1234567890")
        && claims.get("name").and_then(serde_json::Value::as_str) == Some("John Doe")
}

/// Claims of the metasyntactic kind (`{"foo":"bar",…}`): a claim named
/// `foo`, or a claim whose value is `foo`, `bar` or `baz`; an issuer,
/// subject or audience valued `issuer`, `subject` or `audience`; or claims of
/// names reserved for examples (a claim named `urn:example:…`, an issuer
/// or audience at `example.com` or `urn:example:issuer`). No issuer mints
/// those; tutorials and tests write them.
fn placeholder_claims(claims: &serde_json::Value) -> bool {
    let Some(o) = claims.as_object() else {
        return false;
    };
    let reserved_party = ["iss", "aud"].iter().any(|k| match o.get(*k) {
        Some(serde_json::Value::String(v)) => reserved_name(v),
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).any(reserved_name),
        _ => false,
    });
    // A party named by its claim's own name (`"iss":"issuer"`).
    let named_by_claim = [("iss", "issuer"), ("sub", "subject"), ("aud", "audience")]
        .iter()
        .any(|(k, name)| match o.get(*k) {
            Some(serde_json::Value::String(v)) => v == name,
            Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(name)),
            _ => false,
        });
    o.contains_key("foo")
        || named_by_claim
        || o.keys().any(|k| k.starts_with("urn:example:"))
        || reserved_party
        || o.values()
            .any(|v| matches!(v.as_str(), Some("foo" | "bar" | "baz")))
}

/// A password in a URL's userinfo whose host is reserved for examples
/// (`http://john:S3nsit1ve@my.example.com`): no server there takes it.
fn userinfo_at_example_host(buf: &[u8], s: usize, e: usize) -> bool {
    if s == 0 || buf[s - 1] != b':' || buf.get(e) != Some(&b'@') {
        return false;
    }
    let host = &buf[e + 1..];
    let n = host
        .iter()
        .take(256)
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        .count();
    std::str::from_utf8(&host[..n]).is_ok_and(reserved_name)
}

/// A name reserved for examples: RFC 6963's `urn:example:` namespace, or
/// a host under RFC 2606's `example.com`, `example.net`, `example.org`
/// or `.example` (`https://auth.example.com`). No issuer can mint tokens
/// from such a name.
fn reserved_name(v: &str) -> bool {
    if v.starts_with("urn:example:") {
        return true;
    }
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    ["example.com", "example.net", "example.org", "example"]
        .iter()
        .any(|d| {
            host.strip_suffix(d)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        })
}

/// The name a value is assigned to: the name characters before the
/// operator, quotes and spaces (or the line break and indentation of a
/// value on the line after its key) in front of it.
pub(crate) fn key_before(buf: &[u8], s: usize) -> &[u8] {
    let floor = s.saturating_sub(128);
    let mut j = s;
    while j > floor && matches!(buf[j - 1], b'"' | b'\'' | b'`') {
        j -= 1;
    }
    while j > floor
        && matches!(
            buf[j - 1],
            b' ' | b'\t' | b'\r' | b'\n' | b'=' | b':' | b'>' | b'?' | b'|' | b','
        )
    {
        j -= 1;
    }
    while j > floor && matches!(buf[j - 1], b'"' | b'\'' | b'`') {
        j -= 1;
    }
    let end = j;
    while j > floor && (is_word(buf[j - 1]) || matches!(buf[j - 1], b'-' | b'.')) {
        j -= 1;
    }
    &buf[j..end]
}

/// The name's words, lowercase (`nextPageToken` -> next, page, token).
fn name_words(key: &[u8]) -> Vec<Vec<u8>> {
    pieces(key)
        .into_iter()
        .filter(|(_, letters)| *letters)
        .map(|(w, _)| w)
        .collect()
}

/// Qualifiers that make a token a non-credential.
const NOT_CREDENTIAL: &[&[u8]] = &[
    b"next",
    b"page",
    b"continuation",
    b"cursor",
    b"starting",
    b"marker",
    b"pagination",
    b"paging",
    b"change",
    b"idempotency",
    b"request",
    b"purchase",
    b"grant",
    b"sync",
    b"csrf",
    b"xsrf",
    b"state",
];

/// Words of a name that say its value is made up or wrong on purpose.
const NOT_REAL: &[&[u8]] = &[
    b"invalid", b"fake", b"dummy", b"mock", b"bogus", b"wrong", b"bad",
];

/// `invalidPayloadToken`, `FAKE_API_KEY`, `dummy_secret`: a name saying
/// the value is made up (a test's or a sample's).
fn named_not_real(key: &[u8]) -> bool {
    name_words(key)
        .iter()
        .any(|x| NOT_REAL.contains(&x.as_slice()))
}

/// `NextToken`, `--next-page-token`, `ChangeToken`, `csrf_token`: a token
/// whose name says it is not a credential.
fn not_credential_token(key: &[u8]) -> bool {
    let w = name_words(key);
    w.last().is_some_and(|l| l == b"token")
        && w[..w.len() - 1]
            .iter()
            .any(|x| NOT_CREDENTIAL.contains(&x.as_slice()))
}

/// The `token` of an ACME challenge (`{"type": "http-01", "token": …}`):
/// RFC 8555 §8 has the client publish it (on its web server, in DNS), so
/// it is no secret.
fn acme_challenge_token(buf: &[u8], s: usize, e: usize, key: &[u8]) -> bool {
    key == b"token"
        && object_around(buf, s, e).is_some_and(|(lo, hi)| {
            [&b"\"http-01\""[..], b"\"dns-01\"", b"\"tls-alpn-01\""]
                .iter()
                .any(|t| memchr::memmem::find(&buf[lo..hi], t).is_some())
        })
}

/// `AccessKeyId`, `aws_access_key_id`, `key_id`: the identifier of a key.
fn names_key_id(key: &[u8]) -> bool {
    let w = name_words(key);
    w.len() >= 2 && w.last().is_some_and(|l| l == b"id") && w[w.len() - 2] == b"key"
}

/// `arn:aws:secretsmanager:…:secret:name-AbC123`: the resource type of an
/// ARN, not a key.
fn arn_resource(buf: &[u8], s: usize) -> bool {
    let line = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let before = &buf[line.max(s.saturating_sub(160))..s];
    before.ends_with(b":secret:") && memchr::memmem::find(before, b"arn:").is_some()
}

/// A key id as a parameter of a signed URL (`X-Amz-Credential=AKIA…`,
/// `AWSAccessKeyId=…&…Signature=…`).
fn signed_url_key_id(buf: &[u8], s: usize, v: &[u8]) -> bool {
    let before = &buf[s.saturating_sub(20)..s];
    let param = before.ends_with(b"X-Amz-Credential=")
        || before.ends_with(b"AWSAccessKeyId=")
        || before.ends_with(b"Credential=");
    let after = &buf[s + v.len()..(s + v.len() + 2048).min(buf.len())];
    let end = after
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<'))
        .unwrap_or(after.len());
    param && memchr::memmem::find(&after[..end], b"Signature=").is_some()
}

/// Base64 of a JSON object or array with no credential in it: a
/// pagination cursor or a state token (a JWT has a signature part and is
/// the vendor rule's).
fn state_token(v: &[u8]) -> bool {
    if v.len() < 16 || v.contains(&b'.') {
        return false;
    }
    let text = &v[..v.len() / 4 * 4];
    let Ok(text) = std::str::from_utf8(text) else {
        return false;
    };
    let decoded = dlp_record::b64::decode(text)
        .or_else(|| dlp_record::b64::decode_url(text.trim_end_matches('=').as_bytes()));
    let Some(d) = decoded else {
        return false;
    };
    let json = d.first().is_some_and(|&b| b == b'{' || b == b'[')
        && d.iter()
            .filter(|b| b.is_ascii_graphic() || **b == b' ')
            .count()
            * 10
            >= d.len() * 9;
    let low = d.to_ascii_lowercase();
    let credential = [
        &b"secret"[..],
        b"password",
        b"private",
        b"apikey",
        b"api_key",
        b"access_key",
    ]
    .iter()
    .any(|w| memchr::memmem::find(&low, w).is_some());
    json && !credential
}

/// Base64 of a sentence (`dGhpcyBpcyBub3QgYSByZWFsIHZhbHVl`: "this is
/// not a real value"): printable words with spaces between them, which no
/// generated secret decodes to (a `user:password` pair has no spaces and
/// stays a secret).
fn base64_of_prose(v: &[u8]) -> bool {
    if v.len() < 16 || v.contains(&b'.') {
        return false;
    }
    let unpadded = v.strip_suffix(b"==").or(v.strip_suffix(b"=")).unwrap_or(v);
    let Some(d) = dlp_record::b64::decode(v).or_else(|| dlp_record::b64::decode_url(unpadded))
    else {
        return false;
    };
    let letters = d.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let spaces = d.iter().filter(|&&b| b == b' ').count();
    d.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
        && spaces >= 2
        && !d.contains(&b':')
        && (letters + spaces) * 10 >= d.len() * 9
}

/// Hex of structured data holding text (`d18443a1…6578616d706c65…`: CBOR
/// with a URL in it): a random secret's bytes hold no run of a dozen
/// printable characters.
fn hex_of_text(v: &[u8]) -> bool {
    if v.len() < 32 || !v.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let mut run = 0;
    for pair in v.chunks_exact(2) {
        let byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .unwrap_or(0);
        run = if byte.is_ascii_graphic() || byte == b' ' {
            run + 1
        } else {
            0
        };
        if run >= 12 {
            return true;
        }
    }
    false
}

/// Made of words: pieces of two letters or more that read as words cover
/// at least seven letters in ten, in two words or more; or a file name
/// with an extension; or a `name=value` pair.
fn identifier(v: &[u8]) -> bool {
    if let Some(k) = v.iter().position(|&b| b == b'=') {
        if v[k..].iter().any(|&b| b != b'=') {
            return true;
        }
    }
    if let Some(dot) = v.iter().rposition(|&b| b == b'.') {
        let ext = &v[dot + 1..];
        let stem = &v[..dot];
        if (2..=4).contains(&ext.len())
            && ext.iter().all(u8::is_ascii_alphanumeric)
            && ext.iter().any(u8::is_ascii_lowercase)
            && stem.iter().any(|&b| b == b'-' || b == b'_')
            && pieces(stem)
                .iter()
                .any(|(w, l)| *l && w.len() >= 3 && word(w))
        {
            return true;
        }
    }
    if constant_name(v) {
        return true;
    }
    let p = pieces(v);
    let letters: usize = p.iter().filter(|(_, l)| *l).map(|(w, _)| w.len()).sum();
    let words: Vec<&Vec<u8>> = p
        .iter()
        .filter(|(w, l)| *l && w.len() >= 2 && word(w))
        .map(|(w, _)| w)
        .collect();
    let covered: usize = words.iter().map(|w| w.len()).sum();
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    words.len() >= 2 && covered * 10 >= letters * 7 && digits * 5 <= v.len() * 2
}

/// A constant's name (`GRANT_TYPE_SAML1_1`, `TOKEN_ENDPOINT_V2`): capitals,
/// digits and underscores only, three parts or more between underscores,
/// none longer than 12, one of them a word. Random tokens with
/// underscores (base64url) mix cases.
fn constant_name(v: &[u8]) -> bool {
    if !v.first().is_some_and(u8::is_ascii_uppercase)
        || !v
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
    {
        return false;
    }
    let parts: Vec<&[u8]> = v.split(|&b| b == b'_').collect();
    let words = parts
        .iter()
        .filter(|p| p.len() >= 3 && word(&p.to_ascii_lowercase()))
        .count();
    parts.len() >= 3 && parts.iter().all(|p| (1..=12).contains(&p.len())) && words >= 1
}

/// Runs of consecutive characters: among neighbouring letters and among
/// neighbouring digits, at least two pairs in three step up by one
/// (`abcd1234`, `a1b2c3d4`, `a123b45c6d78…`), over six pairs or more.
fn sequential(v: &[u8]) -> bool {
    let mut pairs = 0usize;
    let mut steps = 0usize;
    for class in [
        u8::is_ascii_digit as fn(&u8) -> bool,
        u8::is_ascii_lowercase,
        u8::is_ascii_uppercase,
    ] {
        let seq: Vec<u8> = v.iter().copied().filter(class).collect();
        for w in seq.windows(2) {
            pairs += 1;
            let up = w[1] == w[0] + 1 || (w[0] == b'9' && w[1] == b'0');
            steps += usize::from(up);
        }
    }
    pairs >= 6 && steps * 3 >= pairs * 2
}

/// Cut short where it stands: `…` or `...` right after or before it.
fn elided(buf: &[u8], s: usize, e: usize) -> bool {
    let after = &buf[e..(e + 3).min(buf.len())];
    let before = &buf[s.saturating_sub(3)..s];
    after == b"..." || after.starts_with("…".as_bytes()) || before == b"..."
}

/// A published documentation credential (a token with `EXAMPLE` glued to
/// other letters or digits: `AKIDEXAMPLE`, `…CYEXAMPLEKEY`, or one of the
/// published keys, such as the Fernet specification's test key) in the
/// same record: on the value's line, inside the same `{ … }` object of at
/// most eight lines, or in the same block of HTTP header lines.
fn beside_documentation_value(buf: &[u8], s: usize, e: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &buf[e..]).map_or(buf.len(), |p| e + p);
    let (lo, hi) = object_around(buf, s, e)
        .or_else(|| header_block(buf, s))
        .unwrap_or((line_start, line_end));
    let example = memchr::memmem::find_iter(&buf[lo..hi], b"EXAMPLE").any(|k| {
        let at = lo + k;
        let glued_before = at > 0 && buf[at - 1].is_ascii_alphanumeric();
        let glued_after = buf.get(at + 7).is_some_and(u8::is_ascii_alphanumeric);
        glued_before || glued_after
    });
    example
        || crate::builtin::PUBLISHED_KEYS.iter().any(|k| {
            memchr::memmem::find(&buf[lo..hi], k.as_bytes())
                .is_some_and(|at| lo + at + k.len() <= s || lo + at >= e)
        })
}

/// The HTTP header block around a value on a header line
/// (`X-Amz-Security-Token:…` among `Host:…`, `Authorization:…`): the run
/// of header lines around it, at most sixteen.
fn header_block(buf: &[u8], s: usize) -> Option<(usize, usize)> {
    let header = |l: &[u8]| {
        let n = l
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        n > 0
            && l[0].is_ascii_alphabetic()
            && l.get(n) == Some(&b':')
            && l.get(n + 1) != Some(&b':')
    };
    let ls = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let le = memchr::memchr(b'\n', &buf[ls..]).map_or(buf.len(), |p| ls + p);
    if !header(&buf[ls..le]) {
        return None;
    }
    let (mut lo, mut hi) = (ls, le);
    for _ in 0..8 {
        let Some(p) = lo
            .checked_sub(1)
            .and_then(|x| memchr::memrchr(b'\n', &buf[..x]).map(|q| q + 1).or(Some(0)))
        else {
            break;
        };
        if lo == 0 || !header(&buf[p..lo - 1]) {
            break;
        }
        lo = p;
    }
    for _ in 0..8 {
        if hi >= buf.len() {
            break;
        }
        let n = memchr::memchr(b'\n', &buf[hi + 1..]).map_or(buf.len(), |p| hi + 1 + p);
        if !header(&buf[hi + 1..n]) {
            break;
        }
        hi = n;
    }
    Some((lo, hi))
}

/// The innermost `{ … }` around `s..e` when it spans at most eight lines
/// (and 1 KiB), with no other braces inside.
fn object_around(buf: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let lo = s.saturating_sub(512);
    let open = lo + memchr::memrchr2(b'{', b'}', &buf[lo..s])?;
    let hi = (e + 512).min(buf.len());
    let close = e + memchr::memchr2(b'{', b'}', &buf[e..hi])?;
    let lines = memchr::memchr_iter(b'\n', &buf[open..close]).count();
    (buf[open] == b'{' && buf[close] == b'}' && lines <= 8).then_some((open, close + 1))
}

/// Line bounds: the lines above `s`, nearest first, as (start, end).
fn lines_above(buf: &[u8], s: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let floor = s.saturating_sub(BLOCK_REACH);
    let first = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let mut end = first;
    std::iter::from_fn(move || {
        if end <= floor || end == 0 {
            return None;
        }
        let e = end - 1; // the '\n' ending the line above
        let start = memchr::memrchr(b'\n', &buf[floor..e]).map_or(floor, |p| floor + p + 1);
        end = start;
        Some((start, e))
    })
    .take(BLOCK_LINES)
}

/// A line that opens an indented sample: ends in `::` (reStructuredText),
/// is a directive (`.. code-block:: sh`), or is a sentence of four words
/// or more ending in `:` or `.` (not code: no brackets, `=` or `;`, not
/// a comment).
fn opens_sample(t: &[u8]) -> bool {
    if t.ends_with(b"::") || (t.starts_with(b".. ") && memchr::memmem::find(t, b"::").is_some()) {
        return true;
    }
    // A comment in code introduces code, not a sample.
    if [&b"#"[..], b"//", b"/*", b"*", b"--", b";"]
        .iter()
        .any(|c| t.starts_with(c))
    {
        return false;
    }
    let sentence = (t.ends_with(b":") || t.ends_with(b"."))
        && !t.iter().any(|b| b"(){}[]=;<>".contains(b))
        && t.split(|&b| b == b' ')
            .filter(|w| w.iter().any(u8::is_ascii_alphabetic))
            .count()
            >= 4;
    sentence
}

fn indent(line: &[u8]) -> usize {
    line.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// The text of a documentation comment's line (`/// `, `//! `, ` * `,
/// `// `, `# `): Markdown inside it (a Rust doc comment's or a JSDoc
/// comment's code fence) is documentation like Markdown in a README.
fn comment_text(t: &[u8]) -> &[u8] {
    for lead in [&b"///"[..], b"//!", b"//", b"*", b"#"] {
        if let Some(rest) = t.strip_prefix(lead) {
            return rest.trim_ascii_start();
        }
    }
    t
}

/// In a sample of documentation: a reStructuredText literal block (an
/// indented block under a line ending in `::`), a Markdown code fence (in
/// a README or a documentation comment), a
/// doctest or its output, a line after a shell prompt `$ `, a man page
/// example (`.EX`, `.nf`) or an HTML `<pre>` block.
fn in_sample_block(buf: &[u8], s: usize) -> bool {
    let ls = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let line = &buf[ls..];
    let own = &line[indent(line)..];
    if own.starts_with(b"$ ")
        || in_doctest(buf, s, BLOCK_LINES)
        || go_example_output(buf, s, own)
        || in_examples_section(buf, s)
    {
        return true;
    }
    // The least indentation of the block so far, walking up.
    let mut block_indent = indent(line);
    let mut literal = block_indent > 0;
    let mut fences = 0;
    let mut fence_open = false;
    for (a, b) in lines_above(buf, s) {
        let l = &buf[a..b];
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let t = l.trim_ascii();
        let f = comment_text(t);
        if f.starts_with(b"```") || f.starts_with(b"~~~") {
            // The nearest fence above: opening when it names a language
            // or when an even number of fences precede it.
            if fences == 0 {
                fence_open = f.len() > 3;
            }
            fences += 1;
        }
        if literal && !t.is_empty() && indent(l) < block_indent {
            // A line that may open the block: `Output::`, `.. code-block::`,
            // or a sentence introducing an indented example.
            if opens_sample(t) {
                return true;
            }
            block_indent = indent(l);
            literal = block_indent > 0;
        }
        if t == b".EX" || t == b".nf" {
            return true;
        }
        if t == b".EE" || t == b".fi" {
            break;
        }
    }
    if fences > 0 && (fence_open || fences % 2 == 1) {
        return true;
    }
    let floor = s.saturating_sub(BLOCK_REACH);
    let pre = memchr::memmem::rfind(&buf[floor..s], b"<pre");
    pre.is_some_and(|p| memchr::memmem::find(&buf[floor + p..s], b"</pre>").is_none())
}

/// In the `Examples` section of a numpydoc docstring (a heading
/// underlined with `-` or `=`, as NumPy, SciPy, pandas and generated SDK
/// clients write their docstrings): the nearest heading above the value,
/// within its docstring, is `Example` or `Examples`.
fn in_examples_section(buf: &[u8], s: usize) -> bool {
    let mut underlined = false;
    for (a, b) in lines_above(buf, s) {
        let t = buf[a..b].trim_ascii();
        if underlined {
            let title = t.strip_suffix(b":").unwrap_or(t);
            return title.eq_ignore_ascii_case(b"examples")
                || title.eq_ignore_ascii_case(b"example");
        }
        if t.starts_with(b"\"\"\"")
            || t.ends_with(b"\"\"\"")
            || t.starts_with(b"'''")
            || t.ends_with(b"'''")
        {
            return false;
        }
        underlined = t.len() >= 3 && (t.iter().all(|&c| c == b'-') || t.iter().all(|&c| c == b'='));
    }
    false
}

/// On a doctest's line (`>>> ` or its continuation `... `) or in its
/// expected output (the lines under a `>>>` line, up to a blank one, of
/// which the `reach` nearest are looked through): Python's executable
/// documentation examples.
pub(crate) fn in_doctest(buf: &[u8], s: usize, reach: usize) -> bool {
    let ls = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    let own = buf[ls..].trim_ascii_start();
    if own.starts_with(b">>> ") || own.starts_with(b"... ") {
        return true;
    }
    for (a, b) in lines_above(buf, s).take(reach) {
        let t = buf[a..b].trim_ascii();
        if t.is_empty() {
            return false;
        }
        if t.starts_with(b">>>") {
            return true;
        }
    }
    false
}

/// In a Go testable example's expected output: the `// Output:` comment
/// (or `// Unordered output:`) on the value's line or heading the run of
/// `//` lines it is in, which `go test` compares with what the example
/// prints.
fn go_example_output(buf: &[u8], s: usize, own: &[u8]) -> bool {
    let heads = |t: &[u8]| t.starts_with(b"// Output:") || t.starts_with(b"// Unordered output:");
    if !own.starts_with(b"//") {
        return false;
    }
    if heads(own) {
        return true;
    }
    for (a, b) in lines_above(buf, s) {
        let t = buf[a..b].trim_ascii();
        if !t.starts_with(b"//") {
            return false;
        }
        if heads(t) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `f` holds for each of `yes` and for none of `no`.
    fn sorts(f: fn(&[u8]) -> bool, yes: &[&str], no: &[&str]) {
        for v in yes {
            assert!(f(v.as_bytes()), "{v}");
        }
        for v in no {
            assert!(!f(v.as_bytes()), "not {v}");
        }
    }

    #[test]
    fn identifiers_and_random_strings() {
        sorts(
            identifier,
            &[
                "x25519_check_private_key_bytes",
                "P256_PRIVATE_KEY_SIZE",
                "D3D10_SB_RESOURCE_RETURN_TYPE",
                "CRYPT_PKCS8_IMPORT_PARAMS",
                "ed25519.Ed25519PrivateKey",
                "self._assert_v1_enabled",
                "rsa-2048-private-key.pk8",
                "region=us-west-2",
            ],
            &[
                "f8Kq2LmZ9xWv4RtY7pNc3Bd6",
                "sNvjQDMReA1eEQPNAW8r37XsU2rDD7fc7m2SiMnu",
                "U2FsdGVkX18vvPlOqb7RDrWRWVFBJI46MOIAb",
                "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                "DXjSUawnel2fr6SKC7G25CNxTyWKE5PF9XX6H/u9pSo=",
            ],
        );
    }

    #[test]
    fn sequences() {
        sorts(
            sequential,
            &[
                "abcd1234defg5678",
                "a1b2c3d4567890ab",
                "12cs345-67cd-890b-1cd2-c3a4567d89f1",
            ],
            &[
                "f8Kq2LmZ9xWv4RtY7pNc3Bd6",
                "6e86291e8372ff2a2260956d9b8aae1d",
            ],
        );
    }

    #[test]
    fn names_of_tokens_that_are_not_credentials() {
        sorts(
            not_credential_token,
            &[
                "NextToken",
                "nextPageToken",
                "next-page-token",
                "ChangeToken",
                "csrf_token",
            ],
            &[
                "token",
                "access_token",
                "SessionToken",
                "GITHUB_TOKEN",
                "refresh-token",
            ],
        );
        sorts(
            names_key_id,
            &["AWSAccessKeyId", "key_id"],
            &["client_secret", "id"],
        );
    }

    #[test]
    fn state_tokens() {
        assert!(state_token(
            b"eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxMH0="
        ));
        assert!(!state_token(b"f8Kq2LmZ9xWv4RtY7pNc3Bd6"));
        // {"type": "service_account", "private_key": …} wrapped in base64.
        assert!(!state_token(
            b"eyJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIsICJwcml2YXRlX2tleSI6ICIifQ=="
        ));
    }

    #[test]
    fn names_that_say_made_up() {
        sorts(
            named_not_real,
            &[
                "invalidPayloadSignedToken",
                "FAKE_API_KEY",
                "dummy_secret",
                "mockToken",
                "bad_key",
            ],
            &["api_key", "badge_token", "invalidate_url_secret_", "token"],
        );
    }

    #[test]
    fn base64_of_sentences_is_no_secret() {
        // "this is not a real value", "this is a fake token for the docs".
        assert!(base64_of_prose(b"dGhpcyBpcyBub3QgYSByZWFsIHZhbHVl"));
        assert!(base64_of_prose(
            b"dGhpcyBpcyBhIGZha2UgdG9rZW4gZm9yIHRoZSBkb2Nz"
        ));
        // "user:password" (HTTP Basic credentials), "my secret key" with a
        // colon, random bytes, and too short.
        assert!(!base64_of_prose(b"dXNlcjpwYXNzd29yZA=="));
        assert!(!base64_of_prose(b"a2V5OiBteSBzZWNyZXQga2V5"));
        assert!(!base64_of_prose(b"q8Zr2m0XyQ7vW9t3L5s1Kd4F"));
        assert!(!base64_of_prose(b"aGkgdGhlcmU="));
    }

    #[test]
    fn placeholder_jwt_claims() {
        let claims = |j: &str| serde_json::from_str::<serde_json::Value>(j).unwrap();
        assert!(placeholder_claims(&claims(
            r#"{"foo":"bar","nbf":1444478400}"#
        )));
        assert!(placeholder_claims(&claims(r#"{"sub":"bar","iat":1}"#)));
        // An issuer or audience at a name reserved for examples.
        assert!(placeholder_claims(&claims(
            r#"{"sub":"u-1842","iss":"https://id.example.org","iat":1700000000}"#
        )));
        assert!(placeholder_claims(&claims(
            r#"{"aud":["urn:example:audience"],"iat":1700000000}"#
        )));
        // Parties named by their claims' names, with a time stamp.
        assert!(placeholder_claims(&claims(
            r#"{"aud":["leela","fry"],"iss":"issuer","nbf":1451606400,"sub":"subject"}"#
        )));
        assert!(placeholder_claims(&claims(
            r#"{"aud":["audience"],"iat":1700000000}"#
        )));
        assert!(!placeholder_claims(&claims(
            r#"{"sub":"u-1842","iss":"https://id.acme-login.net","iat":1700000000}"#
        )));
        assert!(!placeholder_claims(&claims(
            r#"{"sub":"subjects","iss":"issuer-7","iat":1700000000}"#
        )));
        assert!(!placeholder_claims(&claims(
            r#"{"sub":"u-1842","iss":"https://myexample.com","iat":1700000000}"#
        )));
    }

    #[test]
    fn doctests_and_their_output() {
        let text = "Docs\n\n>>> validate('536-90-4399')\n'536904399'\n>>> f(\n...   '042-10-3594')\n\nssn = '536-90-4399'\n";
        let at =
            |needle: &str, nth: usize| text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap();
        assert!(in_doctest(text.as_bytes(), at("536-90-4399", 0), 1));
        assert!(in_doctest(text.as_bytes(), at("536904399", 0), 1));
        assert!(in_doctest(text.as_bytes(), at("042-10-3594", 0), 1));
        assert!(!in_doctest(text.as_bytes(), at("536-90-4399", 1), 10));
        // Output further down than the reach.
        let long = ">>> f()\n1\n2\n3\n'536-90-4399'\n";
        let at = long.find("536").unwrap();
        assert!(in_doctest(long.as_bytes(), at, 4));
        assert!(!in_doctest(long.as_bytes(), at, 3));
    }

    #[test]
    fn sample_blocks() {
        let rst =
            "Command::\n\n  aws x get-key --api-key 8bklk8bl1k3sB38D9B3l0enyWT8c09B30lkq0blk\n";
        assert!(in_sample_block(rst.as_bytes(), rst.find("8bk").unwrap()));
        let md = "Setup:\n\n```sh\nexport API_TOKEN=f8Kq2LmZ9xWv4RtY7pNc3Bd6\n```\n";
        assert!(in_sample_block(md.as_bytes(), md.find("f8K").unwrap()));
        let after = "```sh\nls\n```\nAPI_TOKEN=f8Kq2LmZ9xWv4RtY7pNc3Bd6\n";
        assert!(!in_sample_block(
            after.as_bytes(),
            after.find("f8K").unwrap()
        ));
        let env = "# config\nAPI_TOKEN=f8Kq2LmZ9xWv4RtY7pNc3Bd6\n";
        assert!(!in_sample_block(env.as_bytes(), env.find("f8K").unwrap()));
        let yaml = "deploy:\n  token: f8Kq2LmZ9xWv4RtY7pNc3Bd6\n";
        assert!(!in_sample_block(yaml.as_bytes(), yaml.find("f8K").unwrap()));
    }
}
