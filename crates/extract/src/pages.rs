//! Text in pages: `pdftotext` ends each PDF page with a form feed, and an
//! OpenDocument body is given with one between its tables, so that each
//! page (or sheet) is a stream of its own. [`split`] hands each to a
//! callback as it is read, never holding more than a buffer of it.

use std::io::{self, BufRead, BufReader, Read};

/// Page numbers of pages without text remembered.
const MAX_BLANK: usize = 10_000;

/// What a split read.
#[derive(Debug, Default)]
pub struct Split {
    /// Pages read (a last page without its form feed counts when it has
    /// text).
    pub pages: u32,
    /// The pages (1-based) that held only white space.
    pub blank: Vec<u32>,
}

/// Calls `each(page, n)` for each form-feed-separated page of `r`, `n`
/// from 1; what `each` leaves unread of a page is skipped.
pub fn split(
    r: impl Read,
    each: &mut dyn FnMut(&mut dyn Read, u32) -> io::Result<()>,
) -> io::Result<Split> {
    let mut r = BufReader::with_capacity(64 << 10, r);
    let mut done = Split::default();
    loop {
        let n = done.pages + 1;
        let mut page = Page {
            inner: &mut r,
            text: false,
            ended: false,
        };
        each(&mut page, n)?;
        io::copy(&mut page, &mut io::sink())?;
        if !page.ended {
            if page.text {
                done.pages = n;
            }
            return Ok(done);
        }
        done.pages = n;
        if !page.text && done.blank.len() < MAX_BLANK {
            done.blank.push(n);
        }
    }
}

/// Reads one page: up to (not including) its form feed.
struct Page<'a, R> {
    inner: &'a mut R,
    /// Anything but white space was read.
    text: bool,
    /// Its form feed was read.
    ended: bool,
}

impl<R: BufRead> Read for Page<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let avail = self.inner.fill_buf()?;
        let (n, ff) = match memchr::memchr(b'\x0c', avail) {
            Some(i) => (i.min(buf.len()), i < buf.len()),
            None => (avail.len().min(buf.len()), false),
        };
        buf[..n].copy_from_slice(&avail[..n]);
        self.text |= buf[..n].iter().any(|b| !b.is_ascii_whitespace());
        self.inner.consume(n + usize::from(ff));
        self.ended = ff;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_at_form_feeds() {
        let mut seen = Vec::new();
        let s = split(&b"one\n\x0c \n\x0cthree\n\x0c"[..], &mut |r, n| {
            let mut t = String::new();
            r.read_to_string(&mut t)?;
            seen.push((n, t));
            Ok(())
        })
        .unwrap();
        assert_eq!(s.pages, 3);
        assert_eq!(s.blank, [2]);
        assert_eq!(seen[0], (1, "one\n".to_owned()));
        assert_eq!(seen[2], (3, "three\n".to_owned()));
        // A reader that stops early loses nothing of the next page.
        let s = split(&b"aaaa\x0cbb"[..], &mut |r, n| {
            let mut one = [0u8; 1];
            r.read_exact(&mut one)?;
            assert_eq!(one[0], if n == 1 { b'a' } else { b'b' });
            Ok(())
        })
        .unwrap();
        assert_eq!(s.pages, 2);
    }
}
