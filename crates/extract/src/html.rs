//! The text of an HTML page: what is outside tags, entities decoded,
//! blocks on lines of their own. Each table is given apart, between form
//! feeds (a stream of its own, see [`crate::pages`]), one line per row
//! and its cells tab-separated, so its header row labels its columns as
//! in a CSV file. Script, style and comment text is kept: keys and tokens
//! live there too.

use std::io::Read;

use crate::entity::{Markup, Reference};
use crate::transcode::Transcoder;

/// Longest tag name kept.
const NAME_MAX: usize = 16;

/// True when `head` starts like an HTML page.
pub fn is_html(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let lead = head[start..head.len().min(start + 14)].to_ascii_lowercase();
    lead.starts_with(b"<!doctype html") || lead.starts_with(b"<html")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// In a tag, its name still being read.
    Name,
    /// In a tag after its name (inside a quoted value when `Some`).
    Attrs(Option<u8>),
    /// In a comment; the count of `-` just seen.
    Comment(u8),
}

/// HTML to text, a chunk at a time.
pub struct Html {
    out: Vec<u8>,
    state: State,
    name: Vec<u8>,
    ent: Reference,
    /// Tables open, and whether a cell of the innermost is.
    tables: usize,
    in_cell: bool,
}

/// A reader of the text of the HTML that `inner` yields.
pub type HtmlText<R> = Transcoder<R, Html>;

/// A reader of the text of the HTML that `inner` yields.
pub fn html_text<R: Read>(inner: R) -> HtmlText<R> {
    Transcoder::new(
        inner,
        Html {
            out: Vec::with_capacity(64 << 10),
            state: State::Text,
            name: Vec::new(),
            ent: Reference::default(),
            tables: 0,
            in_cell: false,
        },
        64 << 10,
    )
}

/// True for a tag that starts or ends a block of text (a line).
fn is_block(name: &[u8]) -> bool {
    matches!(
        name,
        b"br"
            | b"p"
            | b"div"
            | b"li"
            | b"ul"
            | b"ol"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"title"
            | b"pre"
            | b"blockquote"
            | b"dt"
            | b"dd"
            | b"hr"
            | b"section"
            | b"article"
            | b"header"
            | b"footer"
            | b"form"
            | b"script"
            | b"style"
    )
}

impl Html {
    /// True where text counts: outside tables, or inside a table's cell.
    fn in_text(&self) -> bool {
        self.tables == 0 || self.in_cell
    }

    fn tag_done(&mut self) {
        self.state = State::Text;
        let name = self.name.to_ascii_lowercase();
        let (end, bare) = match name.strip_prefix(b"/") {
            Some(b) => (true, b),
            None => (false, &name[..]),
        };
        match (bare, end) {
            (b"table", false) => {
                if self.tables == 0 {
                    self.out.push(b'\x0c');
                }
                self.tables += 1;
                self.in_cell = false;
            }
            (b"table", true) if self.tables > 0 => {
                self.tables -= 1;
                self.in_cell = false;
                if self.tables == 0 {
                    self.out.push(b'\x0c');
                }
            }
            (b"td" | b"th", false) => self.in_cell = self.tables > 0,
            (b"td" | b"th", true) if self.in_cell => {
                self.in_cell = false;
                self.out.push(b'\t');
            }
            (b"tr", true) if self.tables > 0 => self.out.push(b'\n'),
            (b, _) if is_block(b) && self.tables == 0 => self.out.push(b'\n'),
            (b, _) if is_block(b) && self.in_cell => self.out.push(b' '),
            _ => {}
        }
    }
}

impl Markup for Html {
    fn markup(&mut self, b: u8) {
        match self.state {
            State::Text => match b {
                b'<' => {
                    self.name.clear();
                    self.state = State::Name;
                }
                b'&' => self.ent.start(),
                _ if self.in_text() => self.out.push(b),
                _ => {}
            },
            State::Name => match b {
                b'>' => self.tag_done(),
                b' ' | b'\t' | b'\n' | b'\r' => self.state = State::Attrs(None),
                b'/' if !self.name.is_empty() => self.state = State::Attrs(None),
                _ if self.name.len() < NAME_MAX => {
                    self.name.push(b);
                    if self.name == b"!--" {
                        self.state = State::Comment(0);
                    }
                }
                _ => {}
            },
            State::Attrs(None) => match b {
                b'>' => self.tag_done(),
                b'"' | b'\'' => self.state = State::Attrs(Some(b)),
                _ => {}
            },
            State::Attrs(Some(q)) => {
                if b == q {
                    self.state = State::Attrs(None);
                }
            }
            State::Comment(dashes) => match b {
                b'-' => self.state = State::Comment(dashes.saturating_add(1)),
                b'>' if dashes >= 2 => {
                    self.out.push(b'\n');
                    self.state = State::Text;
                }
                _ => {
                    self.out
                        .extend(std::iter::repeat_n(b'-', usize::from(dashes)));
                    self.out.push(b);
                    self.state = State::Comment(0);
                }
            },
        }
    }

    fn out_and_reference(&mut self) -> (&mut Vec<u8>, &mut Reference) {
        (&mut self.out, &mut self.ent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::tests::Slow;

    #[test]
    fn text_outside_tags() {
        let page = br#"<!DOCTYPE html><html><head><title>Staff</title><script>var k = "a>b";</script></head>
<body><p class="x > y">SSN&#58;&nbsp;536-22-<b>8726</b> &amp; more &bogus; AT&T</p><!-- key: AKIA -- x -->
<table><tr><th>name</th><th>ssn</th></tr><tr><td>Ana</td><td>536&#x2d;22&#45;8726</td></tr></table></body></html>"#;
        for n in [1, 4, 4096] {
            let mut out = String::new();
            html_text(Slow(page, n)).read_to_string(&mut out).unwrap();
            assert_eq!(
                out,
                "\nStaff\n\nvar k = \"a>b\";\n\n\nSSN: 536-22-8726 & more &bogus; AT&T\n key: AKIA -- x \n\n\x0cname\tssn\t\nAna\t536-22-8726\t\n\x0c"
            );
        }
        assert!(is_html(b"\n <!doctype HTML>"));
        assert!(!is_html(b"<?xml version"));
    }
}
