//! Scanning inputs larger than memory in overlapping windows.
//!
//! Each window owns the findings that *start* in its owned part; the
//! overlap after it lets a finding that starts there end (and have its
//! after-context) inside the same buffer, and the buffer keeps at least a
//! quarter of the overlap before the owned part (cut at a line start when
//! there is one) so boundary checks, hotword windows and before-context see
//! the same bytes as a whole-file scan. So a finding across a window edge
//! is reported exactly once, with global offsets and line numbers.

use std::io::{self, Read};

use crate::engine::{Candidate, Engine, Position, SCAN_MARGIN};
use crate::gate::Gate;
use crate::structure::ScanState;
use crate::Match;

/// What [`Engine::scan_stream`] saw besides the findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes read.
    pub bytes: u64,
    /// Findings of rules that fired but were not passed on: more than
    /// [`crate::gate::HELD_LIMIT`] findings were waiting for an ALL rule.
    pub withheld: u64,
}

/// Window sizes for [`Engine::scan_reader`].
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// Bytes owned per window (any size from 1; small windows only cost
    /// time, never findings).
    pub window: usize,
    /// Bytes after a window's owned part that it may look into (raised to
    /// the engine's minimum, see [`Engine::min_overlap`]).
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

/// Bytes of a window whose candidates are built at once.
const STEP: usize = 256 << 10;

/// Reads until `buf` holds `want` bytes or the input ends (true at EOF).
/// The buffer grows with what is read (never zero-filled ahead), so a
/// small input costs a small buffer.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    while buf.len() < want {
        let need = (want - buf.len()) as u64;
        match (&mut *r).take(need).read_to_end(buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

impl Engine {
    /// The overlap a stream window needs: the longest finding plus room
    /// for boundary and context checks on either side.
    pub fn min_overlap(&self) -> usize {
        (self.max_finding_len() + 2 * 1024).max(4 * (self.context_bytes() + SCAN_MARGIN + 1024))
    }

    /// Scans everything `r` yields, a window at a time, and applies the
    /// rules once at the end (exactly [`Engine::finish`]). Memory grows
    /// with the findings; [`Engine::scan_stream`] does not.
    pub fn scan_reader(&self, r: impl Read, opts: StreamOptions) -> io::Result<Vec<Match>> {
        let mut cands: Vec<Candidate> = Vec::new();
        self.windows(r, opts, |c| {
            cands.extend(c);
            Ok(())
        })?;
        Ok(self.finish(cands))
    }

    /// Scans everything `r` yields, a window at a time, and passes each
    /// finding of a firing rule to `emit` as soon as it is known (see
    /// [`crate::gate`]). Memory is bounded by the window and overlap, not
    /// by the input's size or its number of findings.
    pub fn scan_stream(
        &self,
        r: impl Read,
        opts: StreamOptions,
        mut emit: impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<StreamSummary> {
        let mut gate = Gate::new(self);
        let bytes = self.windows(r, opts, |c| gate.push(c, &mut emit))?;
        Ok(StreamSummary {
            bytes,
            withheld: gate.finish(),
        })
    }

    /// The window loop: calls `each` with the candidates of each window, in
    /// input order, and returns the number of bytes read.
    fn windows(
        &self,
        mut r: impl Read,
        opts: StreamOptions,
        mut each: impl FnMut(Vec<Candidate>) -> io::Result<()>,
    ) -> io::Result<u64> {
        let overlap = opts.overlap.max(self.min_overlap());
        let window = opts.window.max(1);
        let mut buf: Vec<u8> = Vec::new();
        let mut base = Position::default();
        let mut owned_start = 0usize;
        // Structural context (a table's header and delimiter, the parser
        // position) at the first byte of `buf`.
        let mut state = ScanState::new();
        loop {
            let eof = fill(&mut r, &mut buf, owned_start + window + overlap)?;
            let owned_end = if eof { buf.len() } else { owned_start + window };
            state.prepare(&buf, base.byte == 0);
            // Candidates a step at a time: a dense window holds hundreds of
            // thousands of findings, which must not be built all at once.
            // Each step sees `overlap / 4` bytes before it and `overlap`
            // after it, as a window does (so per-step work, including the
            // table parser's, stays proportional to the step).
            let (mut at, mut at_pos, mut at_state) = (0, base, state.clone());
            let mut step = owned_start;
            while step < owned_end {
                let step_end = (step + STEP).min(owned_end);
                let lo = step.saturating_sub(overlap / 4);
                let hi = (step_end + overlap).min(buf.len());
                at_pos = at_pos.advanced(&buf[at..lo]);
                at_state.advance(&buf[at..lo]);
                at = lo;
                each(self.candidates_with(
                    &buf[lo..hi],
                    at_pos,
                    step - lo..step_end - lo,
                    &mut at_state,
                ))?;
                step = step_end;
            }
            if eof {
                return Ok(base.byte + buf.len() as u64);
            }
            // Keep between overlap/4 and overlap/2 (plus one window, so
            // small windows do not move the buffer at every step) before
            // the next owned part, cut after a newline when there is one.
            if owned_end < overlap / 2 + window {
                owned_start = owned_end;
                continue;
            }
            let lo = owned_end - overlap / 2;
            let hi = owned_end - overlap / 4;
            let cut = memchr::memchr(b'\n', &buf[lo..hi]).map_or(lo, |i| lo + i + 1);
            base = base.advanced(&buf[..cut]);
            state.advance(&buf[..cut]);
            buf.drain(..cut);
            owned_start = owned_end - cut;
        }
    }
}
