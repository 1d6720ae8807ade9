//! Evidence that a hex value under a secret's name is one part of a
//! cryptographic test vector, not a live secret.
//!
//! Standards and libraries publish test vectors as records of named hex
//! values: RFC 9180's HPKE vectors (`"shared_secret"` beside `"pkEm"`,
//! `"enc"`, `"info"`, `"nonce"`, `"ct"`, `"pt"`), NIST CAVP files and
//! RFC 8032's Ed448 vectors in that style (`SECRET =` above `PUBLIC =`,
//! `MESSAGE =`, `SIGNATURE =`), NaCl's box vectors (`secret_key:` beside
//! `box_nonce:`, `box_message:`, `box_ciphertext:`). Their secrets are
//! published with the public values computed from them: a message, its
//! ciphertext or signature, a nonce, a public key. A configuration file
//! holds secrets, not the messages they encrypted, so a hex secret with at
//! least three such public hex values around it (within twelve lines each
//! way, at most 1.5 KiB) is read as a test vector: at most POSSIBLE. A hex
//! secret alone, or among other secrets (`SESSION_SECRET=…`,
//! `HMAC_KEY=…`), stays reported.

use super::numbers::{hex_runs, lines_back, lines_on};
use super::secrets::key_before;
use super::words::pieces;

/// Shortest hex value that counts as a secret of a test vector (16 bytes).
const MIN_SECRET: usize = 32;
/// Shortest hex value that counts as a public part (8 bytes: a nonce, a
/// tag, a short message).
const MIN_PART: usize = 16;
/// Fewest public parts around the secret.
const MIN_PARTS: usize = 3;

/// Words naming the public values of a test vector (whole words of the
/// name: `pkEm` -> pk, em; `box_ciphertext` -> box, ciphertext).
const PUBLIC_PARTS: &[&[u8]] = &[
    b"public",
    b"pub",
    b"pk",
    b"message",
    b"msg",
    b"plaintext",
    b"pt",
    b"ciphertext",
    b"ct",
    b"signature",
    b"sig",
    b"nonce",
    b"iv",
    b"aad",
    b"tag",
    b"enc",
    b"info",
    b"digest",
    b"mac",
    b"expected",
];

/// True when the hex value at `buf[s..e]` has at least three hex values
/// named as public parts of a test vector around it.
pub(crate) fn in_test_vector(buf: &[u8], s: usize, e: usize) -> bool {
    let v = &buf[s..e];
    if v.len() < MIN_SECRET || !v.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let (lo, hi) = (lines_back(buf, s), lines_on(buf, e));
    hex_runs(buf, lo, hi)
        .filter(|&(i, j)| i != s && j - i >= MIN_PART && names_public_part(key_before(buf, i)))
        .nth(MIN_PARTS - 1)
        .is_some()
}

/// A name with a word naming a public part (`PUBLIC`, `base_nonce`, `pkRm`).
fn names_public_part(name: &[u8]) -> bool {
    pieces(name)
        .iter()
        .any(|(w, letters)| *letters && PUBLIC_PARTS.contains(&w.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(text: &str, needle: &str) -> bool {
        let s = text.find(needle).unwrap();
        in_test_vector(text.as_bytes(), s, s + needle.len())
    }

    const SECRET: &str = "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f";

    #[test]
    fn a_secret_among_public_parts_is_a_test_vector() {
        let nist = format!(
            "COUNT = 0\nSECRET = {SECRET}\nPUBLIC = 5fd7449b59b461fd2ce787ec616ad46a\nMESSAGE = 03a1b2c3d4e5f60718\nSIGNATURE = 533a37f6bbe457251f023c0d88f976ae\n"
        );
        assert!(vector(&nist, SECRET));
        let json = format!(
            r#"{{"pkEm":"37fda3567bdbd628e88668c3c8d7e97d","shared_secret":"{SECRET}","base_nonce":"56d890e5accaaf011cff4b7d","ct":"f938558b5d72f1a23810b4be2ab4f843"}}"#
        );
        assert!(vector(&json, SECRET));
    }

    #[test]
    fn secrets_among_secrets_or_alone_are_not() {
        let env = format!(
            "SESSION_SECRET={SECRET}\nHMAC_KEY=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\nAPI_TOKEN=2c26b46b68ffc68ff99b453c1d304134\nDB_PASSWORD=fcde2b2edba56bf408601fb721fe9b5c\n"
        );
        assert!(!vector(&env, SECRET));
        // Two public parts are not enough.
        let pair = format!(
            "public_key = 5fd7449b59b461fd2ce787ec616ad46a\nsignature = 533a37f6bbe457251f023c0d88f976ae\nprivate_secret = {SECRET}\n"
        );
        assert!(!vector(&pair, SECRET));
        // Not hex.
        let b64 = "secret = Zk3q9XwR7mT2vL8pN4sB6yC1dF5gH0jQ\nPUBLIC = 5fd7449b59b461fd2ce787ec616ad46a\nMESSAGE = 03a1b2c3d4e5f60718\nSIGNATURE = 533a37f6bbe457251f023c0d88f976ae\n";
        assert!(!vector(b64, "Zk3q9XwR7mT2vL8pN4sB6yC1dF5gH0jQ"));
    }
}
