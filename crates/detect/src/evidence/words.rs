//! Words that identifiers are made of, to tell `check_private_key_bytes`
//! or `P256_PRIVATE_KEY_SIZE` (an identifier under a key-like name) from a
//! random string. Short words (two or three letters) count only when
//! listed; longer pieces also count when they read like a word (vowels
//! and consonants in the proportions of English and code words).

/// Common words of code and of English text in identifiers.
const WORDS: &[&str] = &[
    "abs", "access", "account", "act", "action", "add", "addr", "address", "admin", "aes", "agent",
    "alg", "all", "alloc", "amount", "and", "any", "api", "app", "arg", "args", "arn", "array",
    "asn", "assert", "async", "attr", "auth", "aws", "azure", "base", "bearer", "begin", "bin",
    "bit", "bits", "blob", "body", "bool", "buf", "build", "bytes", "byte", "cache", "call", "can",
    "card", "cert", "check", "cipher", "class", "cli", "client", "close", "code", "config",
    "count", "create", "crypt", "crypto", "ctx", "curve", "data", "date", "db", "debug", "dec",
    "decode", "decrypt", "default", "del", "delete", "der", "dev", "dir", "doc", "docs", "dsa",
    "ecc", "ecdh", "ecdsa", "elem", "email", "enable", "enabled", "enc", "encode", "encrypt",
    "end", "env", "err", "error", "event", "exec", "exp", "export", "fake", "field", "file",
    "files", "find", "fix", "flag", "flags", "for", "format", "from", "func", "gcp", "gen",
    "generate", "get", "git", "group", "has", "hash", "header", "hex", "hmac", "home", "host",
    "http", "https", "iam", "id", "ids", "img", "import", "in", "index", "info", "init", "input",
    "int", "into", "is", "item", "jwk", "jwt", "key", "keys", "kms", "len", "length", "lib",
    "line", "list", "load", "local", "lock", "log", "main", "make", "map", "max", "md", "mem",
    "min", "mock", "mode", "msg", "name", "new", "next", "node", "none", "not", "num", "obj",
    "off", "old", "one", "open", "opt", "or", "out", "output", "page", "param", "params", "parse",
    "pass", "path", "pem", "pkcs", "pool", "port", "post", "prev", "priv", "private", "prod",
    "pub", "public", "put", "raw", "read", "ref", "region", "req", "res", "return", "rng", "role",
    "root", "rsa", "run", "save", "secret", "seed", "self", "set", "sha", "sig", "sign", "size",
    "src", "ssh", "ssl", "start", "state", "std", "str", "sub", "sum", "sys", "tag", "tcp", "test",
    "text", "the", "tls", "tmp", "to", "token", "type", "udp", "uri", "url", "use", "user", "util",
    "val", "value", "var", "web", "with", "xml", "yaml", "zone",
];

fn vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// True when the lowercase letters `w` form a word: listed, or four
/// letters or more with a quarter to two thirds vowels and no run of four
/// consonants or three vowels.
pub(crate) fn word(w: &[u8]) -> bool {
    if WORDS.iter().any(|x| x.as_bytes() == w) {
        return true;
    }
    if w.len() < 4 {
        return false;
    }
    let vowels = w.iter().filter(|&&b| vowel(b)).count();
    let (mut cons, mut vows) = (0, 0);
    for &b in w {
        if vowel(b) {
            vows += 1;
            cons = 0;
        } else {
            cons += 1;
            vows = 0;
        }
        if cons >= 4 || vows >= 3 {
            return false;
        }
    }
    vowels * 4 >= w.len() && vowels * 3 <= w.len() * 2
}

/// The pieces of an identifier: runs of letters (split at `_ . - /`, at
/// a lower-to-upper case change and where letters meet digits) and runs
/// of digits, as (lowercase text, is letters).
pub(crate) fn pieces(v: &[u8]) -> Vec<(Vec<u8>, bool)> {
    let mut out: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut letters = false;
    for (i, &b) in v.iter().enumerate() {
        let alpha = b.is_ascii_alphabetic();
        let split = !b.is_ascii_alphanumeric()
            || (!cur.is_empty() && alpha != letters)
            || (alpha && b.is_ascii_uppercase() && i > 0 && v[i - 1].is_ascii_lowercase());
        if split && !cur.is_empty() {
            out.push((std::mem::take(&mut cur), letters));
        }
        if b.is_ascii_alphanumeric() {
            cur.push(b.to_ascii_lowercase());
            letters = alpha;
        }
    }
    if !cur.is_empty() {
        out.push((cur, letters));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_pieces() {
        for w in [
            "check",
            "private",
            "key",
            "bytes",
            "resource",
            "enabled",
            "snowflake",
        ] {
            assert!(word(w.as_bytes()), "{w}");
        }
        for w in ["kq", "xhb", "wrwvfbji", "fsd", "qzmx"] {
            assert!(!word(w.as_bytes()), "{w}");
        }
        let p: Vec<String> = pieces(b"x25519_checkPrivateKEY.pk8")
            .into_iter()
            .map(|(t, _)| String::from_utf8(t).unwrap())
            .collect();
        assert_eq!(p, ["x", "25519", "check", "private", "key", "pk", "8"]);
    }
}
