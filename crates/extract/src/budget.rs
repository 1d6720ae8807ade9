//! The bomb guards of one file's nest: the bytes it may still yield once
//! decompressed or extracted, and the moment its time is up. Readers of
//! decompressed or extracted data go through [`Budgeted`], which ends (as
//! at end of input) when either runs out.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What is left for one file.
#[derive(Debug)]
pub struct Guard {
    left: Cell<u64>,
    deadline: Option<Instant>,
    late: Cell<bool>,
}

impl Guard {
    pub fn new(bytes: u64, time: Option<Duration>) -> Rc<Guard> {
        Rc::new(Guard {
            left: Cell::new(bytes),
            deadline: time.and_then(|t| Instant::now().checked_add(t)),
            late: Cell::new(false),
        })
    }

    /// Bytes left.
    pub fn left(&self) -> u64 {
        self.left.get()
    }

    /// Takes `n` bytes from the budget (at most what is left).
    pub fn spend(&self, n: u64) {
        self.left.set(self.left.get().saturating_sub(n));
    }

    /// True once the file's time is up (and remembered).
    pub fn late(&self) -> bool {
        if !self.late.get() && self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.late.set(true);
        }
        self.late.get()
    }

    /// Time left, if the file has a time limit.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// True when reading must stop: no bytes or no time left.
    pub fn spent(&self) -> bool {
        self.left.get() == 0 || self.late()
    }
}

/// A reader that stops (as at end of input) when the guard is spent.
pub struct Budgeted<R> {
    pub inner: R,
    pub guard: Rc<Guard>,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.guard.late() {
            return Ok(0);
        }
        let left = self.guard.left();
        let max = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if max == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..max])?;
        self.guard.spend(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_byte_budget_and_at_the_deadline() {
        let g = Guard::new(5, None);
        let mut r = Budgeted {
            inner: &b"0123456789"[..],
            guard: Rc::clone(&g),
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"01234");
        assert!(g.spent());
        let g = Guard::new(100, Some(Duration::ZERO));
        let mut r = Budgeted {
            inner: &b"0123456789"[..],
            guard: Rc::clone(&g),
        };
        out.clear();
        r.read_to_end(&mut out).unwrap();
        assert!(out.is_empty() && g.late());
    }
}
