//! Text out of office documents: Office Open XML (docx, xlsx, pptx) and
//! OpenDocument (odt, ods, odp). Their XML parts that hold document text
//! are read through [`XmlText`], which strips tags as it streams (so a
//! large sheet costs no more memory than a text file), turns paragraph and
//! row ends into newlines and cell ends into tabs, and decodes entities.
//! Offsets of findings are offsets in this extracted text, as for any
//! archive member. Excel worksheets are read by [`crate::xlsx`] instead,
//! as tables.

use std::io::Read;

use crate::entity::{Markup, Reference};
use crate::transcode::Transcoder;

/// Which kind of office document a zip is, by its member names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Office Open XML.
    Ooxml,
    /// OpenDocument.
    Odf,
}

/// The office document kind of a zip with these member names, if any.
pub fn kind<'a>(mut names: impl Iterator<Item = &'a str>) -> Option<Kind> {
    let (mut types, mut ooxml_dir, mut mimetype, mut content) = (false, false, false, false);
    for n in &mut names {
        types |= n == "[Content_Types].xml";
        ooxml_dir |= n.starts_with("word/") || n.starts_with("xl/") || n.starts_with("ppt/");
        mimetype |= n == "mimetype";
        content |= n == "content.xml";
    }
    if types && ooxml_dir {
        Some(Kind::Ooxml)
    } else if mimetype && content {
        Some(Kind::Odf)
    } else {
        None
    }
}

/// True for the members of an office document that carry user text.
pub fn is_text_part(kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Odf => name == "content.xml",
        Kind::Ooxml => {
            name.ends_with(".xml")
                && (name == "word/document.xml"
                    || name.starts_with("word/header")
                    || name.starts_with("word/footer")
                    || name == "word/footnotes.xml"
                    || name == "word/comments.xml"
                    || name == "xl/sharedStrings.xml"
                    || name.starts_with("xl/worksheets/sheet")
                    || name.starts_with("ppt/slides/slide")
                    || name.starts_with("ppt/notesSlides/"))
        }
    }
}

/// What a tag (its name, with `<` or `</`) becomes in the text.
fn tag_text(name: &[u8]) -> &'static [u8] {
    match name {
        b"</w:p" | b"</a:p" | b"</si" | b"</row" | b"<w:br" | b"<w:cr" | b"</text:p"
        | b"</text:h" | b"<text:line-break" | b"</table:table-row" => b"\n",
        b"</c" | b"<w:tab" | b"</table:table-cell" | b"<text:tab" => b"\t",
        b"<text:s" => b" ",
        _ => b"",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Tag,
}

/// Longest tag prefix kept to tell its name.
const TAG_KEEP: usize = 24;

/// A reader of the text inside the XML that `inner` yields.
pub type XmlText<R> = Transcoder<R, Xml>;

/// The text of XML, a chunk at a time.
pub struct Xml {
    out: Vec<u8>,
    state: State,
    tag: Vec<u8>,
    ent: Reference,
}

/// A reader of the text inside the XML that `inner` yields.
pub fn xml_text<R: Read>(inner: R) -> XmlText<R> {
    Transcoder::new(
        inner,
        Xml {
            out: Vec::with_capacity(64 << 10),
            state: State::Text,
            tag: Vec::with_capacity(TAG_KEEP),
            ent: Reference::default(),
        },
        64 << 10,
    )
}

impl Markup for Xml {
    fn markup(&mut self, b: u8) {
        match self.state {
            State::Text => match b {
                b'<' => {
                    self.tag.clear();
                    self.tag.push(b);
                    self.state = State::Tag;
                }
                b'&' => self.ent.start(),
                _ => self.out.push(b),
            },
            State::Tag => {
                if b == b'>' {
                    // The name runs to a space, '>' or a self-closing '/'
                    // (the '/' of a closing tag is at index 1).
                    let t = &self.tag;
                    let end = t
                        .iter()
                        .skip(2)
                        .position(|&c| c == b' ' || c == b'/' || c == b'\n' || c == b'\t')
                        .map_or(t.len(), |p| p + 2);
                    self.out.extend_from_slice(tag_text(&t[..end]));
                    self.state = State::Text;
                } else if self.tag.len() < TAG_KEEP {
                    self.tag.push(b);
                }
            }
        }
    }

    fn out_and_reference(&mut self) -> (&mut Vec<u8>, &mut Reference) {
        (&mut self.out, &mut self.ent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(xml: &[u8], read_size: usize) -> Vec<u8> {
        let mut r = xml_text(xml);
        let mut out = Vec::new();
        let mut buf = vec![0; read_size];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn strips_word_and_opendocument_markup() {
        let x = br#"<w:document><w:body><w:p><w:r><w:t>SSN&#58; 536-22-8726</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">a &amp; b &bogus; c & d</w:t></w:r></w:p></w:body></w:document>"#;
        for n in [1, 3, 4096] {
            assert_eq!(text(x, n), b"SSN: 536-22-8726\na & b &bogus; c & d\n");
        }
        let odt = br#"<office:text><text:h>Staff</text:h><text:p>SSN<text:tab/>536-22-8726<text:line-break/>x<text:s/>y</text:p></office:text>"#;
        assert_eq!(text(odt, 7), b"Staff\nSSN\t536-22-8726\nx y\n");
        let ods = br#"<table:table-row><table:table-cell><text:p>a</text:p></table:table-cell><table:table-cell><text:p>b</text:p></table:table-cell></table:table-row>"#;
        assert_eq!(text(ods, 5), b"a\n\tb\n\t\n");
        assert!(is_text_part(Kind::Ooxml, "word/document.xml"));
        assert!(!is_text_part(Kind::Ooxml, "word/styles.xml"));
        assert!(is_text_part(Kind::Odf, "content.xml"));
    }
}
