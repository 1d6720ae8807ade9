//! Text out of Office Open XML (docx, xlsx, pptx): the XML parts that hold
//! document text, with tags stripped, paragraph/row ends as newlines, cell
//! ends as tabs and entities decoded. Offsets of findings are offsets in
//! this extracted text, as for any archive member.

/// True for the members of an Office file that carry user text.
pub fn is_text_part(name: &str) -> bool {
    let xml = name.ends_with(".xml");
    xml && (name == "word/document.xml"
        || name.starts_with("word/header")
        || name.starts_with("word/footer")
        || name == "word/footnotes.xml"
        || name == "word/comments.xml"
        || name == "xl/sharedStrings.xml"
        || name.starts_with("xl/worksheets/sheet")
        || name.starts_with("ppt/slides/slide")
        || name.starts_with("ppt/notesSlides/"))
}

/// True when the zip's member names say it is an Office Open XML file.
pub fn is_office(names: &[String]) -> bool {
    names.iter().any(|n| n == "[Content_Types].xml")
        && names
            .iter()
            .any(|n| n.starts_with("word/") || n.starts_with("xl/") || n.starts_with("ppt/"))
}

/// Strips tags from WordprocessingML / SpreadsheetML / DrawingML.
pub fn xml_text(xml: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() / 4);
    let mut i = 0;
    while i < xml.len() {
        if xml[i] == b'<' {
            let end = xml[i..]
                .iter()
                .position(|&b| b == b'>')
                .map_or(xml.len(), |p| i + p + 1);
            let tag = &xml[i..end];
            // The tag name runs to a space, '>' or a self-closing '/'
            // (the '/' of a closing tag is at index 1).
            let name_end = tag
                .iter()
                .skip(2)
                .position(|&b| b == b' ' || b == b'>' || b == b'/')
                .map_or(tag.len(), |p| p + 2);
            let name = &tag[..name_end.max(1)];
            match name {
                b"</w:p" | b"</a:p" | b"</si" | b"</row" | b"<w:br" | b"<w:cr" => out.push(b'\n'),
                b"</c" | b"<w:tab" => out.push(b'\t'),
                _ => {}
            }
            i = end;
        } else if xml[i] == b'&' {
            let end = xml[i..]
                .iter()
                .take(12)
                .position(|&b| b == b';')
                .map(|p| i + p);
            match end.and_then(|e| entity(&xml[i + 1..e]).map(|c| (e, c))) {
                Some((e, c)) => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                    i = e + 1;
                }
                None => {
                    out.push(b'&');
                    i += 1;
                }
            }
        } else {
            out.push(xml[i]);
            i += 1;
        }
    }
    out
}

fn entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x', hex @ ..] => u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_word_markup() {
        let x = br#"<w:document><w:body><w:p><w:r><w:t>SSN&#58; 536-22-8726</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">a &amp; b</w:t></w:r></w:p></w:body></w:document>"#;
        assert_eq!(xml_text(x), b"SSN: 536-22-8726\na & b\n");
        assert!(is_text_part("word/document.xml"));
        assert!(!is_text_part("word/styles.xml"));
    }
}
