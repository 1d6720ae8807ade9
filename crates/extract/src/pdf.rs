//! PDF text with poppler's `pdftotext`, run as a sandboxed adapter
//! ([`crate::sandbox`]): the PDF on stdin, UTF-8 text back a page at a
//! time (pages end with a form feed), each page a stream of its own with
//! its number. Pages that carry no text (a scan: the page is one image)
//! are rendered by `pdftoppm` (at most [`RENDER_SIDE`] pixels on the long
//! side, whatever the page's size) and read by OCR. An encrypted PDF
//! that needs a password is skipped with a note; a PDF poppler cannot
//! read is reported as corrupt.

use std::io::{self, Cursor};
use std::rc::Rc;
use std::time::Duration;

use crate::budget::Budgeted;
use crate::nest::Nest;
use crate::ocr::{self, missing};
use crate::pages::{self, Split};
use crate::sandbox::{self, Bounds, Failure, Outcome, Tool};
use crate::spool::Spooled;
use crate::{Form, Ocr};

pub const PDFTOTEXT: Tool = Tool {
    program: "pdftotext",
    package: "poppler-utils",
};
pub const PDFTOPPM: Tool = Tool {
    program: "pdftoppm",
    package: "poppler-utils",
};
/// Address space poppler may use.
const MEMORY: u64 = 1 << 30;
/// Longest run when the file has no time limit.
const TIME: Duration = Duration::from_secs(600);
/// Pixels on the long side of a page rendered for OCR (300 dpi for a US
/// Letter page).
pub const RENDER_SIDE: u32 = 3300;
/// Most bytes of one rendered page.
const RENDER_OUTPUT: u64 = 64 << 20;

/// Reads the PDF in `s` (found at `chain`, its text called `name`).
pub fn read(nest: &mut Nest, s: &Spooled, chain: &str, name: &str) -> io::Result<()> {
    let bounds = Bounds {
        time: time_left(nest),
        memory: MEMORY,
        output: nest.guard.left().max(1),
    };
    let args = ["-enc", "UTF-8", "-eol", "unix", "-", "-"];
    let mut split = Split::default();
    let run = {
        let guard = Rc::clone(&nest.guard);
        sandbox::run(PDFTOTEXT, &args, &[], s.reader(), bounds, &mut |out| {
            let out = Budgeted {
                inner: out,
                guard: Rc::clone(&guard),
            };
            split = pages::split(out, &mut |page, n| {
                nest.text(page, name, Some(n), Form::Extracted)
            })?;
            Ok(())
        })
    };
    let outcome = match run {
        Ok(o) => o,
        Err(Failure::Missing(t)) => {
            nest.skip(chain, &missing(t, "PDF text"));
            return Ok(());
        }
        Err(Failure::Io(e)) => return Err(e),
    };
    if !ended_well(nest, &outcome, chain, split.pages) {
        return Ok(());
    }
    ocr_pages(nest, s, chain, name, &split.blank)
}

/// Says how pdftotext ended when it did not end well; false then (and
/// nothing more is read).
fn ended_well(nest: &mut Nest, o: &Outcome, chain: &str, pages: u32) -> bool {
    if o.timed_out {
        nest.note_limits(chain);
        if !nest.guard.late() {
            nest.skip(
                chain,
                &format!(
                    "pdftotext took longer than {}s; the rest was not scanned",
                    TIME.as_secs()
                ),
            );
        }
        return false;
    }
    if o.cut {
        nest.note_limits(chain);
        return false;
    }
    if o.status.success() {
        return true;
    }
    let why = ocr::first_line(&o.stderr);
    if why.to_ascii_lowercase().contains("password") {
        nest.skip(chain, "encrypted PDF (a password is needed to read it)");
    } else if pages == 0 {
        nest.corrupt(chain, format!("pdftotext could not read it: {why}"));
    } else {
        let msg = format!(
            "{}: pdftotext stopped after page {pages}: {why}",
            nest.at(chain)
        );
        nest.sink.reject(msg);
    }
    false
}

/// Reads by OCR the pages that had no text, as far as `--ocr` allows.
fn ocr_pages(
    nest: &mut Nest,
    s: &Spooled,
    chain: &str,
    name: &str,
    blank: &[u32],
) -> io::Result<()> {
    let cap = match nest.limits.ocr {
        Ocr::Never => return Ok(()),
        Ocr::Auto => ocr::AUTO_MAX_PAGES as usize,
        Ocr::Always => usize::MAX,
    };
    for (i, &page) in blank.iter().enumerate() {
        if i == cap {
            let why = format!(
                "{} more pages without text not read by OCR (--ocr auto reads {} a PDF; --ocr always reads all)",
                blank.len() - cap,
                cap
            );
            let msg = format!("{}: {why}", nest.at(chain));
            nest.sink.note(msg);
            break;
        }
        if nest.guard.spent() {
            nest.note_limits(chain);
            break;
        }
        let at = format!("{chain}#page={page}");
        let Some(png) = render(nest, s, page, &at)? else {
            break;
        };
        if let Some(p) = ocr::recognise(nest, Cursor::new(png), &at)? {
            nest.text(
                &mut Cursor::new(p.text.as_bytes()),
                name,
                Some(page),
                Form::Ocr(&p.words),
            )?;
        }
    }
    Ok(())
}

/// Page `page` as a grey PNG, or `None` (with a note) when it cannot be
/// rendered.
fn render(nest: &mut Nest, s: &Spooled, page: u32, at: &str) -> io::Result<Option<Vec<u8>>> {
    let (p, side) = (page.to_string(), RENDER_SIDE.to_string());
    let args = ["-f", &p, "-l", &p, "-scale-to", &side, "-gray", "-png", "-"];
    let bounds = Bounds {
        time: time_left(nest),
        memory: MEMORY,
        output: RENDER_OUTPUT,
    };
    let mut png = Vec::new();
    let run = sandbox::run(PDFTOPPM, &args, &[], s.reader(), bounds, &mut |r| {
        r.read_to_end(&mut png).map(drop)
    });
    match run {
        Ok(o) if o.status.success() && !o.cut => Ok(Some(png)),
        Ok(o) if o.timed_out => {
            nest.note_limits(at);
            Ok(None)
        }
        Ok(o) => {
            let why = format!(
                "pdftoppm could not render it: {}",
                ocr::first_line(&o.stderr)
            );
            nest.skip(at, &why);
            Ok(None)
        }
        Err(Failure::Missing(t)) => {
            nest.skip(at, &missing(t, "OCR of a page without text"));
            Ok(None)
        }
        Err(Failure::Io(e)) => Err(e),
    }
}

fn time_left(nest: &Nest) -> Duration {
    nest.guard.time_left().map_or(TIME, |t| t.min(TIME))
}
