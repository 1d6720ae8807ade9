//! Names kept for display, each once, in bounded memory.
//!
//! A finding names a host, a path, a detector: millions of findings share
//! a few thousand of them, so each is kept once and findings hold a `u32`.
//! A name is looked up by a 64-bit hash of its full text (keyed at random
//! per run, [`Interner::hash`]), so two long paths that look alike once cut
//! stay two files, and kept cut to `max_len` bytes ([`cut_middle`]: start and end, `…`
//! between), so a megabyte path costs at most `max_len` bytes. Past
//! `max_items` names or `max_bytes` of text, new names all become one
//! placeholder ([`OVERFLOW`]) and [`Interner::overflowed`] says so.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use dlp_record::text::cut_middle;

/// The id of the empty name.
pub const EMPTY: u32 = 0;
/// The id every name past the caps gets.
pub const OVERFLOW: u32 = 1;

/// A bounded table of display names.
#[derive(Debug)]
pub struct Interner {
    keyed: RandomState,
    ids: HashMap<u64, u32>,
    names: Vec<Box<str>>,
    bytes: usize,
    max_len: usize,
    max_items: usize,
    max_bytes: usize,
    /// Lookups that got [`OVERFLOW`].
    overflowed: u64,
}

impl Interner {
    /// A table of at most `max_items` names of at most `max_len` bytes and
    /// `max_bytes` in all; `placeholder` is shown for the rest.
    pub fn new(placeholder: &str, max_len: usize, max_items: usize, max_bytes: usize) -> Self {
        Interner {
            keyed: RandomState::new(),
            ids: HashMap::new(),
            names: vec!["".into(), placeholder.into()],
            bytes: 0,
            max_len,
            max_items,
            max_bytes,
            overflowed: 0,
        }
    }

    /// The id of `text`.
    pub fn intern(&mut self, text: &str) -> u32 {
        if text.is_empty() {
            return EMPTY;
        }
        let hash = self.hash(text);
        if let Some(&id) = self.ids.get(&hash) {
            return id;
        }
        let shown = cut_middle(text, self.max_len);
        if self.ids.len() >= self.max_items || self.bytes + shown.len() > self.max_bytes {
            self.overflowed += 1;
            return OVERFLOW;
        }
        let id = self.names.len() as u32;
        self.bytes += shown.len();
        self.names.push(shown.into());
        self.ids.insert(hash, id);
        id
    }

    /// The 64-bit name of `text` in this table.
    pub fn hash(&self, text: &str) -> u64 {
        self.keyed.hash_one(text)
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Names kept (the empty name and the placeholder not counted).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// True when some name was not kept.
    pub fn overflowed(&self) -> bool {
        self.overflowed > 0
    }

    /// The most names kept.
    pub fn max_items(&self) -> usize {
        self.max_items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_once_and_cut() {
        let mut t = Interner::new("(other)", 16, 3, 1 << 20);
        let long = format!("/home/{}/x.csv", "a".repeat(1000));
        let a = t.intern(&long);
        assert_eq!(t.intern(&long), a);
        assert!(t.name(a).len() <= 16 && t.name(a).ends_with("x.csv"));
        assert_eq!(t.intern(""), EMPTY);
        assert_eq!(t.name(EMPTY), "");
        t.intern("b");
        t.intern("c");
        assert!(!t.overflowed());
        assert_eq!(t.intern("d"), OVERFLOW);
        assert_eq!(t.name(OVERFLOW), "(other)");
        assert!(t.overflowed());
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn bytes_are_capped() {
        let mut t = Interner::new("(other)", 10, 100, 25);
        assert_ne!(t.intern("0123456789"), OVERFLOW);
        assert_ne!(t.intern("1123456789"), OVERFLOW);
        assert_eq!(t.intern("2123456789"), OVERFLOW);
    }
}
