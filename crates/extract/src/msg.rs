//! Outlook `.msg` messages (OLE compound files) read with `msg_parser`:
//! sender, recipients and subject, the body (its HTML when it has no
//! plain text), and each attachment handed back to the container walk as
//! a member one level down (an attached Outlook message as a message).
//! The file is held in memory while it is read: up to
//! [`mail::MAX_MESSAGE`] bytes. Other OLE files (legacy .doc, .xls, .ppt,
//! Thumbs.db) are skipped with a note.

use std::io::{self, Cursor, Read};

use msg_parser::{Outlook, Person};

use crate::mail;
use crate::nest::{join, Nest};
use crate::Form;

/// The first bytes of an OLE compound file.
pub const MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Reads an OLE file at `chain`: `head`, then the rest of `rest`.
pub fn read(
    nest: &mut Nest,
    head: Vec<u8>,
    rest: &mut dyn Read,
    chain: &str,
    depth: u32,
) -> io::Result<()> {
    let buf = mail::gather(head, rest)?;
    if buf.len() > mail::MAX_MESSAGE {
        let why = format!("OLE file larger than {} MiB", mail::MAX_MESSAGE >> 20);
        nest.skip(chain, &why);
        return Ok(());
    }
    match Outlook::from_slice(&buf) {
        Ok(m) if m.message_class.starts_with("IPM") => message(nest, &m, chain, depth),
        _ => {
            nest.skip(chain, "binary (an OLE file that is not an Outlook message: legacy .doc, .xls and .ppt are not read)");
            Ok(())
        }
    }
}

/// Reads a parsed message found at `chain`, `depth` containers deep.
fn message(nest: &mut Nest, m: &Outlook, chain: &str, depth: u32) -> io::Result<()> {
    let name = nest.name(chain, depth);
    let people = |list: &[Person]| {
        let all: Vec<String> = list.iter().map(ToString::to_string).collect();
        Some(all.join(", "))
    };
    let fields = [
        ("From", Some(m.sender.to_string())),
        ("To", people(&m.to)),
        ("Cc", people(&m.cc)),
        ("Subject", Some(m.subject.clone())),
    ];
    mail::headers(nest, &name, fields)?;
    if !m.body.is_empty() {
        nest.text(
            &mut Cursor::new(m.body.as_bytes()),
            &name,
            None,
            Form::Extracted,
        )?;
    } else if !m.html.is_empty() {
        nest.parts(crate::html::html_text(m.html.as_bytes()), &name)?;
    }
    for (i, a) in m.attachments.iter().enumerate() {
        let named = [&a.long_file_name, &a.file_name, &a.display_name]
            .into_iter()
            .find(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("part-{i}"));
        let member = join(chain, &named);
        match a.as_message() {
            Some(Ok(_)) if depth + 1 >= nest.limits.max_depth => {
                let why = format!(
                    "container nested deeper than --max-depth {}",
                    nest.limits.max_depth
                );
                nest.skip(&member, &why);
            }
            Some(Ok(inner)) => {
                if nest.entry(&member) {
                    message(nest, &inner, &member, depth + 1)?;
                }
            }
            Some(Err(e)) => nest.corrupt(&member, e),
            None => mail::attachment(nest, &a.payload_bytes, &member, depth)?,
        }
        if nest.guard.spent() {
            nest.note_limits(chain);
            break;
        }
    }
    Ok(())
}
