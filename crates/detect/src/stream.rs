//! Scanning inputs larger than memory in overlapping windows.
//!
//! Each window owns the findings that *start* in its owned part; the
//! overlap after it lets a finding that starts there end (and have its
//! after-context) inside the same buffer, and the next window starts a
//! little before its owned part (at a line start when there is one) so
//! boundary checks, hotword windows and before-context see the same bytes
//! as a whole-file scan. So a finding across a window edge is reported
//! exactly once, with global offsets and line numbers.

use std::io::{self, Read};

use crate::engine::{Candidate, Engine, Position};
use crate::structure::ScanState;
use crate::Match;

/// Window sizes for [`Engine::scan_reader`].
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// Bytes read per window (at least 4 × `overlap`).
    pub window: usize,
    /// Bytes after a window's owned part that it may look into.
    pub overlap: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            window: 8 << 20,
            overlap: 64 << 10,
        }
    }
}

/// Reads until `buf` holds `want` bytes or the input ends (true at EOF).
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let mut len = buf.len();
    buf.resize(want.max(len), 0);
    let result = loop {
        if len >= want {
            break Ok(false);
        }
        match r.read(&mut buf[len..]) {
            Ok(0) => break Ok(true),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(len);
    result
}

impl Engine {
    /// Scans everything `r` yields, a window at a time, and applies the
    /// rules once at the end. Memory is bounded by the window size plus
    /// the findings.
    pub fn scan_reader(&self, mut r: impl Read, opts: StreamOptions) -> io::Result<Vec<Match>> {
        let overlap = opts
            .overlap
            .max(self.max_finding_len() + 2 * 1024)
            .max(1024);
        let window = opts.window.max(4 * overlap);
        let mut buf: Vec<u8> = Vec::with_capacity(window);
        let mut base = Position::default();
        let mut owned_start = 0usize;
        let mut cands: Vec<Candidate> = Vec::new();
        let mut state = ScanState::new();
        loop {
            let eof = fill(&mut r, &mut buf, window)?;
            let owned_end = if eof { buf.len() } else { buf.len() - overlap };
            cands.extend(self.candidates_with(&buf, base, owned_start..owned_end, &mut state));
            if eof {
                break;
            }
            // Start the next window at a line start between overlap/2 and
            // overlap/4 before its owned part.
            let lo = owned_end - overlap / 2;
            let hi = owned_end - overlap / 4;
            let cut = buf[lo..hi]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(lo, |i| lo + i + 1);
            base = base.advanced(&buf[..cut]);
            state.advance(&buf[..cut]);
            buf.drain(..cut);
            owned_start = owned_end - cut;
        }
        Ok(self.finish(cands))
    }
}
