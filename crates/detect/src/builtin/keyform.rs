//! What a private-key block's body decodes to. Tools write keys in a few
//! structures: a DER SEQUENCE (PKCS#1 RSA, PKCS#8 and its encrypted form,
//! SEC 1 EC keys, DSA), the `openssh-key-v1` container, an OpenPGP
//! secret-key packet, or under `Proc-Type: 4,ENCRYPTED` ciphertext of whole
//! cipher blocks. A body of made-up base64 (a sample in documentation, a
//! random filler in a test) decodes to none of them.

/// How a decoded body compares with a key's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The structure of a whole key.
    Key,
    /// The start of a DER key whose length disagrees with the data: a key
    /// with lines missing or added.
    Partial,
    /// No key structure: a sample.
    NotKey,
}

/// The `openssh-key-v1` container's magic (OpenSSH's `PROTOCOL.key`).
const OPENSSH_MAGIC: &[u8] = b"openssh-key-v1\0";

/// Bytes after a DER key still taken as the same key (block padding
/// left by tools that write the body from a buffer).
const DER_SLACK: usize = 16;

/// What `data`, a block's decoded body, is. `encrypted`: the block had a
/// `Proc-Type: 4,ENCRYPTED` header; `pgp`: its header is OpenPGP's.
/// A body that says it is encrypted but holds a plain key is a key.
pub(crate) fn form(data: &[u8], encrypted: bool, pgp: bool) -> Form {
    if data.starts_with(OPENSSH_MAGIC) || (pgp && pgp_secret_key(data)) {
        return Form::Key;
    }
    match der(data) {
        // DES and AES blocks are 8 and 16 bytes.
        Form::NotKey if encrypted && data.len() >= 32 && data.len().is_multiple_of(8) => Form::Key,
        f => f,
    }
}

/// A DER SEQUENCE whose first element is an INTEGER (the version of
/// PKCS#1, PKCS#8, SEC 1 and DSA keys) or a SEQUENCE (the algorithm of
/// PKCS#8's EncryptedPrivateKeyInfo); a whole key when its length spans
/// the data.
fn der(data: &[u8]) -> Form {
    let Some((len, hdr)) = der_sequence(data) else {
        return Form::NotKey;
    };
    if !matches!(data.get(hdr), Some(0x02 | 0x30)) {
        return Form::NotKey;
    }
    let end = hdr + len;
    if end <= data.len() && data.len() - end <= DER_SLACK {
        Form::Key
    } else {
        Form::Partial
    }
}

/// The length and header size of a DER SEQUENCE starting `data` (definite
/// length, at most four length bytes).
fn der_sequence(data: &[u8]) -> Option<(usize, usize)> {
    if data.first() != Some(&0x30) {
        return None;
    }
    match *data.get(1)? {
        n @ 0..=0x7f => Some((usize::from(n), 2)),
        n @ 0x81..=0x84 => {
            let k = usize::from(n & 0x7f);
            let bytes = data.get(2..2 + k)?;
            let len = bytes.iter().fold(0usize, |a, &b| a << 8 | usize::from(b));
            Some((len, 2 + k))
        }
        _ => None,
    }
}

/// An OpenPGP packet of tag 5 (secret key) or 7 (secret subkey), in the
/// old or the new packet format (RFC 4880 §4.2).
fn pgp_secret_key(data: &[u8]) -> bool {
    let Some(&b) = data.first() else {
        return false;
    };
    if b & 0x80 == 0 {
        return false;
    }
    let tag = if b & 0x40 != 0 {
        b & 0x3f
    } else {
        (b >> 2) & 0x0f
    };
    matches!(tag, 5 | 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        // SEQUENCE of 5 bytes: INTEGER 0, then 2 bytes.
        let key = [0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00];
        assert_eq!(der(&key), Form::Key);
        assert_eq!(der(&key[..5]), Form::Partial);
        let mut long = key.to_vec();
        long.extend([0u8; DER_SLACK + 1]);
        assert_eq!(der(&long), Form::Partial);
        // Long form: 0x82 and two length bytes.
        let mut big = vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00];
        big.resize(4 + 0x100, 7);
        assert_eq!(der(&big), Form::Key);
        // Not a SEQUENCE, an indefinite length, a first element of
        // another type.
        assert_eq!(der(&[0x31, 0x03, 0x02, 0x01, 0x00]), Form::NotKey);
        assert_eq!(der(&[0x30, 0x80, 0x02, 0x01, 0x00]), Form::NotKey);
        assert_eq!(der(&[0x30, 0x03, 0x04, 0x01, 0x00]), Form::NotKey);
        assert_eq!(der(&[]), Form::NotKey);
    }

    #[test]
    fn other_structures() {
        assert_eq!(
            form(b"openssh-key-v1\0\0\0\0\x04none", false, false),
            Form::Key
        );
        assert_eq!(
            form(b"openssh-key-v2\0\0\0\0\x04none", false, false),
            Form::NotKey
        );
        // New-format tag 5 (0xc5), old-format tag 5 (0x95), tag 6 (a
        // public key) refused; only under a PGP header.
        assert_eq!(form(&[0xc5, 0x58, 4], false, true), Form::Key);
        assert_eq!(form(&[0x95, 0x01, 0xd8], false, true), Form::Key);
        assert_eq!(form(&[0xc6, 0x33, 4], false, true), Form::NotKey);
        assert_eq!(form(&[0xc5, 0x58, 4], false, false), Form::NotKey);
        // Ciphertext: whole 8-byte blocks.
        assert_eq!(form(&[9; 48], true, false), Form::Key);
        assert_eq!(form(&[9; 50], true, false), Form::NotKey);
        // A plain DER key under an encryption header.
        let der_key = [0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00];
        assert_eq!(form(&der_key, true, false), Form::Key);
    }
}
