//! Images (PNG, JPEG, TIFF, BMP, WebP) read by OCR ([`crate::ocr`]).
//! The size in the image's header is checked before anything is decoded:
//! `--ocr auto` reads images up to [`ocr::AUTO_MAX_BYTES`] and
//! [`ocr::AUTO_MAX_PIXELS`], and no image over [`ocr::MAX_PIXELS`] is ever
//! handed to Tesseract (an image bomb ends with a note, not a decode).

use std::io::{self, BufReader, Cursor};

use crate::nest::Nest;
use crate::ocr;
use crate::spool::Spooled;
use crate::{Form, Ocr};

/// True when `head` starts like an image OCR reads.
pub fn is_image(head: &[u8]) -> bool {
    head.starts_with(b"\x89PNG\r\n\x1a\n")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
        || (head.len() >= 16 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP")
        || is_bmp(head)
}

/// A BMP: `BM`, then a DIB header of a known size at byte 14.
fn is_bmp(head: &[u8]) -> bool {
    head.len() >= 18
        && head.starts_with(b"BM")
        && matches!(
            u32::from_le_bytes([head[14], head[15], head[16], head[17]]),
            12 | 40 | 52 | 56 | 64 | 108 | 124
        )
}

/// Reads the image in `s` (found at `chain`, its text called `name`) by
/// OCR, within the size limits.
pub fn read(nest: &mut Nest, s: &Spooled, chain: &str, name: &str) -> io::Result<()> {
    let mode = nest.limits.ocr;
    if mode == Ocr::Never {
        nest.skip(chain, "image (--ocr never)");
        return Ok(());
    }
    let (w, h) = match imagesize::reader_size(BufReader::new(s.reader())) {
        Ok(d) => (d.width as u64, d.height as u64),
        Err(e) => {
            nest.corrupt(chain, format!("image header unreadable: {e}"));
            return Ok(());
        }
    };
    let pixels = w.saturating_mul(h);
    if pixels > ocr::MAX_PIXELS {
        let why = format!(
            "image of {w} x {h} pixels exceeds the OCR limit of {} pixels",
            ocr::MAX_PIXELS
        );
        nest.skip(chain, &why);
        return Ok(());
    }
    let bytes = s.len()?;
    if mode == Ocr::Auto && (bytes > ocr::AUTO_MAX_BYTES || pixels > ocr::AUTO_MAX_PIXELS) {
        let why = format!(
            "image of {bytes} bytes, {w} x {h} pixels: over --ocr auto's {} MiB or {} pixels (--ocr always reads it)",
            ocr::AUTO_MAX_BYTES >> 20,
            ocr::AUTO_MAX_PIXELS
        );
        nest.skip(chain, &why);
        return Ok(());
    }
    if let Some(page) = ocr::recognise(nest, s.reader(), chain)? {
        nest.text(
            &mut Cursor::new(page.text.as_bytes()),
            name,
            None,
            Form::Ocr(&page.words),
        )?;
    }
    Ok(())
}
