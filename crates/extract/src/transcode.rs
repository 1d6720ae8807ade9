//! A `Read` adapter that passes its input through a byte transform a chunk
//! at a time: text decoding (`decode`) and the text of documents (Office
//! XML, sheets, RTF, HTML) share the read, end-of-input and serve loop
//! here.

use std::io::{self, Read};

/// A streaming byte transform with its own output buffer.
pub trait Transform {
    /// The output produced and not yet served.
    fn out(&mut self) -> &mut Vec<u8>;
    /// Appends to `out` what `chunk` (the next input bytes) produces.
    fn feed(&mut self, chunk: &[u8]);
    /// Appends to `out` what is left at the end of the input.
    fn finish(&mut self);
}

/// A transform that reads its input a byte at a time (a state machine).
pub trait Bytewise {
    /// The output produced and not yet served.
    fn out(&mut self) -> &mut Vec<u8>;
    /// Reads one input byte.
    fn byte(&mut self, b: u8);
    /// At the end of the input.
    fn end(&mut self);
}

impl<T: Bytewise> Transform for T {
    fn out(&mut self) -> &mut Vec<u8> {
        Bytewise::out(self)
    }

    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            self.byte(b);
        }
    }

    fn finish(&mut self) {
        self.end();
    }
}

/// A reader of `inner` transformed by `T`.
pub struct Transcoder<R, T> {
    inner: R,
    pub(crate) t: T,
    chunk: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read, T: Transform> Transcoder<R, T> {
    /// Reads `inner` `chunk` bytes at a time.
    pub fn new(inner: R, t: T, chunk: usize) -> Self {
        Transcoder {
            inner,
            t,
            chunk: vec![0; chunk],
            pos: 0,
            eof: false,
        }
    }
}

impl<R: Read, T: Transform> Read for Transcoder<R, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.t.out().len() {
            if self.eof {
                return Ok(0);
            }
            self.t.out().clear();
            self.pos = 0;
            let n = loop {
                match self.inner.read(&mut self.chunk) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => break r?,
                }
            };
            if n == 0 {
                self.eof = true;
                self.t.finish();
            } else {
                self.t.feed(&self.chunk[..n]);
            }
        }
        let out = self.t.out();
        let k = buf.len().min(out.len() - self.pos);
        buf[..k].copy_from_slice(&out[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{self, Read};

    /// Yields its bytes `n` at a time.
    pub struct Slow<'a>(pub &'a [u8], pub usize);

    impl Read for Slow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
}
