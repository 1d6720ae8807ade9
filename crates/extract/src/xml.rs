//! A streaming XML tokenizer: enough of XML for spreadsheet and
//! document parts (start and end tags with their attributes, text with
//! entities decoded), fed a chunk at a time so a large part costs no more
//! memory than its longest tag.

use crate::entity::entity;

/// Longest tag kept to read its name and attributes.
const MAX_TAG: usize = 512;

/// One piece of XML.
pub enum Tok<'a> {
    /// A start tag (name without prefix, the whole tag, self-closing).
    Open(&'a [u8], &'a [u8], bool),
    Close(&'a [u8]),
    /// Text, entities decoded (given in pieces).
    Text(&'a [u8]),
}

/// A streaming XML tokenizer: enough of XML for spreadsheet parts.
#[derive(Default)]
pub struct Lexer {
    in_tag: bool,
    in_entity: bool,
    tag: Vec<u8>,
    ent: Vec<u8>,
}

impl Lexer {
    pub fn feed(&mut self, chunk: &[u8], f: &mut impl FnMut(Tok)) {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_tag {
                match memchr::memchr(b'>', &chunk[i..]) {
                    Some(k) => {
                        self.keep(&chunk[i..i + k]);
                        i += k + 1;
                        self.in_tag = false;
                        self.tag_done(f);
                    }
                    None => {
                        self.keep(&chunk[i..]);
                        return;
                    }
                }
            } else if self.in_entity {
                let b = chunk[i];
                i += 1;
                if b == b';' {
                    self.in_entity = false;
                    let mut u = [0u8; 4];
                    match entity(&self.ent) {
                        Some(c) => f(Tok::Text(c.encode_utf8(&mut u).as_bytes())),
                        None => {
                            f(Tok::Text(b"&"));
                            f(Tok::Text(&self.ent));
                            f(Tok::Text(b";"));
                        }
                    }
                } else if self.ent.len() < 10 && b != b'<' && b != b'&' {
                    self.ent.push(b);
                } else {
                    self.in_entity = false;
                    f(Tok::Text(b"&"));
                    f(Tok::Text(&self.ent));
                    i -= 1;
                }
            } else {
                match memchr::memchr2(b'<', b'&', &chunk[i..]) {
                    Some(k) => {
                        if k > 0 {
                            f(Tok::Text(&chunk[i..i + k]));
                        }
                        if chunk[i + k] == b'<' {
                            self.in_tag = true;
                            self.tag.clear();
                        } else {
                            self.in_entity = true;
                            self.ent.clear();
                        }
                        i += k + 1;
                    }
                    None => {
                        f(Tok::Text(&chunk[i..]));
                        return;
                    }
                }
            }
        }
    }

    fn keep(&mut self, b: &[u8]) {
        let room = MAX_TAG.saturating_sub(self.tag.len());
        self.tag.extend_from_slice(&b[..b.len().min(room)]);
    }

    fn tag_done(&mut self, f: &mut impl FnMut(Tok)) {
        let t = &self.tag[..];
        let (close, body) = match t.first() {
            Some(b'/') => (true, &t[1..]),
            Some(b'?' | b'!') | None => return,
            Some(_) => (false, t),
        };
        let end = body
            .iter()
            .position(|&c| matches!(c, b' ' | b'/' | b'\n' | b'\r' | b'\t'))
            .unwrap_or(body.len());
        let name = &body[..end];
        // Drop a namespace prefix (`x:c`).
        let name = match memchr::memrchr(b':', name) {
            Some(p) => &name[p + 1..],
            None => name,
        };
        if close {
            f(Tok::Close(name));
        } else {
            f(Tok::Open(name, body, body.last() == Some(&b'/')));
        }
    }
}

/// The value of attribute `key` in a start tag.
pub fn attr<'a>(tag: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&tag[from..], key) {
        let at = from + p;
        from = at + 1;
        let before_ok = at > 0 && matches!(tag[at - 1], b' ' | b'\n' | b'\r' | b'\t');
        let rest = &tag[at + key.len()..];
        if before_ok && rest.first() == Some(&b'=') {
            let q = *rest.get(1)?;
            if q != b'"' && q != b'\'' {
                return None;
            }
            let end = memchr::memchr(q, &rest[2..])?;
            return Some(&rest[2..2 + end]);
        }
    }
    None
}
