//! Character references in XML and HTML text (`&amp;`, `&#58;`,
//! `&#x2d;`, and HTML's `&nbsp;`), read a byte at a time. One that is not
//! known or not closed stays as written.

use crate::transcode::Bytewise;

/// Longest reference body kept (`#x10FFFF`, `nbsp`).
const MAX: usize = 10;

/// The character a reference body (between `&` and `;`) stands for.
pub fn entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        b"nbsp" => Some(' '),
        [b'#', b'x' | b'X', hex @ ..] => u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16)
            .ok()
            .and_then(char::from_u32),
        [b'#', dec @ ..] => std::str::from_utf8(dec)
            .ok()?
            .parse()
            .ok()
            .and_then(char::from_u32),
        _ => None,
    }
}

/// A markup state machine (HTML, Office XML) whose text holds character
/// references: while one is open it takes each byte first, and at the end
/// of the input one left open is written as it was. The machine reads the
/// other bytes and opens a reference ([`Reference::start`]) at a `&`.
pub trait Markup {
    /// The output, and the reference being read.
    fn out_and_reference(&mut self) -> (&mut Vec<u8>, &mut Reference);
    /// Reads one byte that no open reference took.
    fn markup(&mut self, b: u8);
}

impl<T: Markup> Bytewise for T {
    fn out(&mut self) -> &mut Vec<u8> {
        self.out_and_reference().0
    }

    fn byte(&mut self, b: u8) {
        let (out, ent) = self.out_and_reference();
        if !ent.take(b, out) {
            self.markup(b);
        }
    }

    fn end(&mut self) {
        let (out, ent) = self.out_and_reference();
        ent.finish(out);
    }
}

/// A reference being read, after its `&`.
#[derive(Debug, Default)]
pub struct Reference {
    body: Vec<u8>,
    open: bool,
}

impl Reference {
    /// Starts a reference (its `&` was just read).
    pub fn start(&mut self) {
        self.body.clear();
        self.open = true;
    }

    /// While a reference is open, reads byte `b` into it, writing to
    /// `out` when it ends; false when `b` is still to be read as text
    /// (no reference open, or `b` cannot be part of one).
    pub fn take(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        if !self.open {
            return false;
        }
        if b == b';' {
            self.open = false;
            match entity(&self.body) {
                Some(c) => {
                    let mut u = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut u).as_bytes());
                }
                None => {
                    out.push(b'&');
                    out.extend_from_slice(&self.body);
                    out.push(b';');
                }
            }
            true
        } else if self.body.len() < MAX && (b.is_ascii_alphanumeric() || b == b'#') {
            self.body.push(b);
            true
        } else {
            self.finish(out);
            false
        }
    }

    /// Writes an open reference as it was written (at the end of the
    /// input, or when it turned out not to be one).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.open {
            self.open = false;
            out.push(b'&');
            out.extend_from_slice(&self.body);
        }
    }
}
