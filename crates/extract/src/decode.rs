//! Text in other encodings than UTF-8: UTF-16 (little or big endian, with
//! a byte-order mark or recognised by its zero bytes, as Windows "Unicode
//! text" and many exports write it) and Latin-1 (Windows-1252), decoded to
//! UTF-8 for the detectors.
//!
//! Each source code unit becomes exactly one code point (a UTF-16
//! surrogate, half of a character outside the Basic Multilingual Plane,
//! becomes U+FFFD), so a finding's code-point range maps back to the
//! original file's bytes by arithmetic: `prefix + unit × code point`.

use std::io::Read;

use crate::transcode::{Transcoder, Transform};

/// A text encoding pii-scan decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf16Le,
    Utf16Be,
    Latin1,
}

impl Encoding {
    /// Bytes per code unit in the source.
    pub fn unit(self) -> u64 {
        match self {
            Encoding::Utf16Le | Encoding::Utf16Be => 2,
            Encoding::Latin1 => 1,
        }
    }
}

/// The encoding the first bytes of a stream say it has, with the length of
/// its byte-order mark; None for UTF-8 (or ASCII) and for binary data.
pub fn detect(head: &[u8], full: bool) -> Option<(Encoding, usize)> {
    if head.starts_with(&[0xFF, 0xFE]) {
        return Some((Encoding::Utf16Le, 2));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Some((Encoding::Utf16Be, 2));
    }
    if head.contains(&0) {
        // ASCII-range text in UTF-16 has a zero in every other byte.
        let units = head.len() / 2;
        if units < 8 {
            return None;
        }
        let zeros = |from: usize| head[from..].iter().step_by(2).filter(|&&b| b == 0).count();
        let (even, odd) = (zeros(0), zeros(1));
        return if odd * 10 >= units * 4 && even * 20 <= units {
            Some((Encoding::Utf16Le, 0))
        } else if even * 10 >= units * 4 && odd * 20 <= units {
            Some((Encoding::Utf16Be, 0))
        } else {
            None
        };
    }
    match std::str::from_utf8(head) {
        Ok(_) => None,
        // A character cut by the end of a full sniff window is still UTF-8.
        Err(e) if full && e.error_len().is_none() => None,
        Err(_) => Some((Encoding::Latin1, 0)),
    }
}

/// Windows-1252 for 0x80..=0x9F (the five unassigned bytes keep their
/// Latin-1 control characters); Latin-1 elsewhere.
const CP1252: [u16; 32] = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
];

/// The character a Windows-1252 byte stands for.
pub fn cp1252(b: u8) -> char {
    let cp = match b {
        0x80..=0x9F => u32::from(CP1252[usize::from(b - 0x80)]),
        _ => u32::from(b),
    };
    char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// A reader of `inner` decoded to UTF-8.
pub type Decoder<R> = Transcoder<R, Decode>;

/// Decoding to UTF-8, a chunk at a time.
pub struct Decode {
    enc: Encoding,
    /// The first byte of a UTF-16 unit cut by a read.
    odd: Option<u8>,
    out: Vec<u8>,
}

/// A reader of `inner` (text in `enc`) decoded to UTF-8.
pub fn decoder<R: Read>(inner: R, enc: Encoding) -> Decoder<R> {
    Transcoder::new(
        inner,
        Decode {
            enc,
            odd: None,
            out: Vec::with_capacity(96 << 10),
        },
        32 << 10,
    )
}

impl Decode {
    fn push(&mut self, cp: u32) {
        let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    fn unit(&mut self, a: u8, b: u8) {
        let u = match self.enc {
            Encoding::Utf16Le => u16::from_le_bytes([a, b]),
            _ => u16::from_be_bytes([a, b]),
        };
        // Surrogates stay one unit each: U+FFFD.
        self.push(u32::from(u));
    }
}

impl Transform for Decode {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    fn feed(&mut self, chunk: &[u8]) {
        match self.enc {
            Encoding::Latin1 => {
                for &b in chunk {
                    let cp = match b {
                        0x80..=0x9F => u32::from(CP1252[usize::from(b - 0x80)]),
                        _ => u32::from(b),
                    };
                    if cp < 0x80 {
                        self.out.push(b);
                    } else {
                        self.push(cp);
                    }
                }
            }
            Encoding::Utf16Le | Encoding::Utf16Be => {
                let n = chunk.len();
                let mut i = 0;
                if let Some(a) = self.odd.take() {
                    self.unit(a, chunk[0]);
                    i = 1;
                }
                while i + 1 < n {
                    self.unit(chunk[i], chunk[i + 1]);
                    i += 2;
                }
                if i < n {
                    self.odd = Some(chunk[i]);
                }
            }
        }
    }

    fn finish(&mut self) {
        if self.odd.take().is_some() {
            self.push(0xFFFD);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], enc: Encoding) -> String {
        let mut s = String::new();
        decoder(bytes, enc).read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn detects_and_decodes() {
        let text = "Zoë: 536-22-8726 €\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(detect(&le, false), Some((Encoding::Utf16Le, 0)));
        assert_eq!(detect(&be, false), Some((Encoding::Utf16Be, 0)));
        assert_eq!(
            detect(&[&[0xFF, 0xFE][..], &le].concat(), false),
            Some((Encoding::Utf16Le, 2))
        );
        assert_eq!(decode(&le, Encoding::Utf16Le), text);
        assert_eq!(decode(&be, Encoding::Utf16Be), text);
        let latin = b"Zo\xeb: 536-22-8726 \x80\n";
        assert_eq!(detect(latin, false), Some((Encoding::Latin1, 0)));
        assert_eq!(decode(latin, Encoding::Latin1), text);
        assert_eq!(detect(text.as_bytes(), false), None);
        // A character cut at the end of a full sniff window is UTF-8.
        assert_eq!(detect(&"é".as_bytes()[..1], true), None);
        assert_eq!(
            detect(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0", false),
            None
        );
        // An emoji is two units, two U+FFFD: one code point per unit.
        let emoji: Vec<u8> = "😀a".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&emoji, Encoding::Utf16Le), "\u{FFFD}\u{FFFD}a");
    }
}
