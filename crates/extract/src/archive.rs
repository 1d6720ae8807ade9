//! Archives: zip (office documents among them, see [`crate::document`])
//! and tar. A zip whose directory claims more members than are left under
//! `--max-entries` is skipped whole before its directory (about 600 bytes
//! a member) is read into memory.

use std::io::{self, Read, Seek};

use crate::document;
use crate::nest::{invalid, join, Nest};
use crate::office;

/// Walks a zip's members (or an office document's text parts).
pub fn zip<R: Read + Seek>(nest: &mut Nest, mut r: R, chain: &str, depth: u32) -> io::Result<()> {
    if let Some(n) = zip_members(&mut r)? {
        if n > nest.entries_left() {
            let why = format!(
                "{n} members exceeds --max-entries {} (left: {})",
                nest.limits.max_entries,
                nest.entries_left()
            );
            nest.skip(chain, &why);
            return Ok(());
        }
    }
    let mut zip = zip::ZipArchive::new(r).map_err(invalid)?;
    let office = office::kind(zip.file_names());
    let mut doc = match office {
        Some(kind) => Some(document::Document::open(nest, &mut zip, kind, chain)?),
        None => None,
    };
    for i in 0..zip.len() {
        if nest.guard.spent() {
            nest.note_limits(chain);
            break;
        }
        let raw = zip
            .by_index_raw(i)
            .map(|m| (m.name().to_owned(), m.is_dir(), m.encrypted(), m.size()));
        let (member, is_dir, encrypted, size) = match raw {
            Ok(x) => x,
            Err(e) => {
                let name = zip.name_for_index(i).unwrap_or("?").to_owned();
                nest.corrupt(&join(chain, &name), e);
                continue;
            }
        };
        let name = join(chain, &member);
        if is_dir || doc.as_ref().is_some_and(|d| !d.wants(i, &member)) {
            continue;
        }
        if !nest.entry(&name) {
            break;
        }
        if encrypted {
            nest.skip(&name, "encrypted");
            continue;
        }
        if nest.too_large(&name, size) {
            continue;
        }
        let mut m = match zip.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                nest.corrupt(&name, e);
                continue;
            }
        };
        let mut r = nest.budgeted(&mut m);
        match &mut doc {
            Some(d) => d.part(nest, &mut r, &member, &name)?,
            None => nest.member(&mut r, &name, depth)?,
        }
    }
    Ok(())
}

/// Walks a tar's regular files.
pub fn tar(nest: &mut Nest, r: impl Read, chain: &str, depth: u32) -> io::Result<()> {
    let mut archive = tar::Archive::new(r);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = join(chain, &entry.path_bytes().escape_ascii().to_string());
        if !nest.entry(&name) {
            break;
        }
        if nest.too_large(&name, entry.size()) {
            continue;
        }
        nest.member(&mut entry, &name, depth)?;
        if nest.guard.spent() {
            break;
        }
    }
    Ok(())
}

/// The member count a zip's end-of-central-directory record claims
/// (zip64 too), if it has one.
fn zip_members<R: Read + Seek>(r: &mut R) -> io::Result<Option<u64>> {
    let len = r.seek(io::SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65535);
    r.seek(io::SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    r.take(tail_len).read_to_end(&mut tail)?;
    r.rewind()?;
    let Some(at) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(None);
    };
    let Some(n) = tail.get(at + 10..at + 12) else {
        return Ok(None);
    };
    let n = u16::from_le_bytes([n[0], n[1]]);
    if n != u16::MAX {
        return Ok(Some(u64::from(n)));
    }
    // Zip64: the locator just before points at the zip64 record.
    let Some(loc) = at.checked_sub(20).and_then(|l| tail.get(l..l + 20)) else {
        return Ok(None);
    };
    if &loc[..4] != b"PK\x06\x07" {
        return Ok(None);
    }
    let off = u64::from_le_bytes(loc[8..16].try_into().expect("8 bytes"));
    let mut rec = [0u8; 40];
    r.seek(io::SeekFrom::Start(off))?;
    let got = r.read_exact(&mut rec);
    r.rewind()?;
    if got.is_err() || &rec[..4] != b"PK\x06\x06" {
        return Ok(None);
    }
    Ok(Some(u64::from_le_bytes(
        rec[32..40].try_into().expect("8 bytes"),
    )))
}
