//! Streams made seekable or readable more than once: a zip member that is
//! itself a zip, a PDF or an image handed to an external program (once for
//! its text, again for each page rendered for OCR). Small ones stay in
//! memory, larger ones go to an unlinked temporary file.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Up to this size a spooled stream is kept in memory.
pub const IN_MEMORY: usize = 16 << 20;

/// Bytes that can be read from the start any number of times.
#[derive(Clone)]
pub enum Spooled {
    Memory(Arc<Vec<u8>>),
    Disk(Arc<File>),
}

impl Spooled {
    /// `head` then the rest of `rest`, in memory up to [`IN_MEMORY`].
    pub fn new(head: Vec<u8>, rest: &mut dyn Read) -> io::Result<Spooled> {
        let mut buf = head;
        let want = IN_MEMORY.saturating_sub(buf.len()) as u64 + 1;
        rest.take(want).read_to_end(&mut buf)?;
        if buf.len() <= IN_MEMORY {
            return Ok(Spooled::Memory(Arc::new(buf)));
        }
        let mut f = unlinked_temp("spool")?;
        f.write_all(&buf)?;
        drop(buf);
        io::copy(rest, &mut f)?;
        Ok(Spooled::Disk(Arc::new(f)))
    }

    /// A file on disk, read in place.
    pub fn file(f: File) -> Spooled {
        Spooled::Disk(Arc::new(f))
    }

    /// The number of bytes.
    pub fn len(&self) -> io::Result<u64> {
        Ok(match self {
            Spooled::Memory(v) => v.len() as u64,
            Spooled::Disk(f) => f.metadata()?.len(),
        })
    }

    /// A reader from the start, independent of any other.
    pub fn reader(&self) -> Reader {
        Reader {
            src: self.clone(),
            pos: 0,
        }
    }
}

/// A reader of spooled bytes (seekable; sendable to a feeding thread).
pub struct Reader {
    src: Spooled,
    pos: u64,
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &self.src {
            Spooled::Memory(v) => {
                let mut c = Cursor::new(&v[..]);
                c.set_position(self.pos);
                c.read(buf)?
            }
            Spooled::Disk(f) => f.read_at(buf, self.pos)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Reader {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let len = self.src.len()?;
        let to = match pos {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => len.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            to.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// A new temporary file, already unlinked (gone when closed).
pub fn unlinked_temp(what: &str) -> io::Result<File> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "dlp-extract-{}-{}.{what}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_independent_and_seekable() {
        let s = Spooled::new(b"ab".to_vec(), &mut &b"cdef"[..]).unwrap();
        let (mut a, mut b) = (s.reader(), s.reader());
        let mut x = [0u8; 3];
        a.read_exact(&mut x).unwrap();
        assert_eq!(&x, b"abc");
        b.seek(io::SeekFrom::End(-2)).unwrap();
        let mut rest = String::new();
        b.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "ef");
        assert_eq!(s.len().unwrap(), 6);
    }
}
