//! Office documents inside a zip: which parts carry the user's text, and
//! how each is read. A workbook's shared strings are read first (its
//! sheets' text cells point into them); an Excel sheet is a table
//! ([`crate::xlsx`]), an OpenDocument body has its tables as tables
//! ([`crate::ods`]), any other part is document text ([`crate::office`]).
//! A part is never opened as a member that may be a container.

use std::io::{self, Read, Seek};

use crate::nest::{invalid, join, Nest};
use crate::office::{self, Kind};
use crate::xlsx;
use crate::Form;

/// An office document being walked.
pub struct Document {
    kind: Kind,
    /// The index of the workbook's shared strings, read up front.
    strings_at: Option<usize>,
    strings: Option<xlsx::SharedStrings>,
}

impl Document {
    /// Opens a document of `kind` (reading a workbook's shared strings).
    pub fn open<R: Read + Seek>(
        nest: &mut Nest,
        zip: &mut zip::ZipArchive<R>,
        kind: Kind,
        chain: &str,
    ) -> io::Result<Document> {
        let strings_at = match kind {
            Kind::Ooxml => (0..zip.len()).find(|&i| {
                zip.name_for_index(i)
                    .is_some_and(|n| n.eq_ignore_ascii_case(xlsx::SHARED_STRINGS))
            }),
            Kind::Odf => None,
        };
        let strings = match strings_at {
            Some(i) => shared_strings(nest, zip, i, chain)?,
            None => None,
        };
        Ok(Document {
            kind,
            strings_at,
            strings,
        })
    }

    /// True for member `i`, named `member`, when it is read as a part.
    pub fn wants(&self, i: usize, member: &str) -> bool {
        office::is_text_part(self.kind, member) && self.strings_at != Some(i)
    }

    /// Scans one text part.
    pub fn part(
        &mut self,
        nest: &mut Nest,
        r: &mut dyn Read,
        member: &str,
        name: &str,
    ) -> io::Result<()> {
        match self.kind {
            Kind::Ooxml if xlsx::is_sheet(member) => {
                let mut text = xlsx::sheet_text(r, self.strings.as_ref());
                nest.text(&mut text, name, None, Form::Extracted)?;
                if let Some(e) = text.take_error() {
                    let msg = format!("{}: shared strings unreadable: {e}", nest.at(name));
                    nest.sink.reject(msg);
                }
                Ok(())
            }
            Kind::Odf => nest.parts(crate::ods::content_text(r), name),
            Kind::Ooxml => {
                let mut text = office::xml_text(r);
                nest.text(&mut text, name, None, Form::Extracted)
            }
        }
    }
}

/// Reads a workbook's shared strings (member `i`), counted as a member
/// and against the decompression budget like any other; `None`, with a
/// note, when they cannot be read (the sheets' text cells are then
/// empty).
fn shared_strings<R: Read + Seek>(
    nest: &mut Nest,
    zip: &mut zip::ZipArchive<R>,
    i: usize,
    chain: &str,
) -> io::Result<Option<xlsx::SharedStrings>> {
    let name = join(chain, zip.name_for_index(i).unwrap_or(xlsx::SHARED_STRINGS));
    let meta = zip.by_index_raw(i).map(|m| (m.encrypted(), m.size()));
    let (encrypted, size) = match meta {
        Ok(x) => x,
        Err(e) => {
            nest.corrupt(&name, e);
            return Ok(None);
        }
    };
    if !nest.entry(&name) || nest.too_large(&name, size) {
        return Ok(None);
    }
    if encrypted {
        nest.skip(&name, "encrypted");
        return Ok(None);
    }
    let read = match zip.by_index(i) {
        Ok(mut m) => xlsx::SharedStrings::read(nest.budgeted(&mut m)),
        Err(e) => Err(invalid(e)),
    };
    nest.note_limits(&name);
    match read {
        Ok(s) => {
            if s.dropped > 0 {
                let msg = format!(
                    "{}: {} shared strings past the first {} not kept; the cells that use them are scanned empty",
                    nest.at(&name),
                    s.dropped,
                    xlsx::MAX_STRINGS
                );
                nest.sink.note(msg);
            }
            Ok(Some(s))
        }
        Err(e) if crate::output_closed(&e) => Err(e),
        Err(e) => {
            nest.corrupt(&name, e);
            Ok(None)
        }
    }
}
