//! Counting in bounded memory.
//!
//! A fleet's findings can name millions of files; the report shows the
//! top ones. [`Lossy`] is Manku and Motwani's lossy counting: keys are
//! counted exactly until the map holds `cap` keys; from then on, after
//! every `cap` records the keys whose count cannot reach the current
//! bucket are dropped. Memory stays O(cap · log(n / cap)); a reported
//! count is at most n / cap below the true one, and only when pruning
//! happened ([`Lossy::approximate`]), which the report says.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// A bounded counter of string keys.
#[derive(Debug)]
pub struct Lossy {
    map: HashMap<String, (u64, u64)>,
    cap: u64,
    n: u64,
    pruned: bool,
}

impl Lossy {
    /// A counter that is exact up to `cap` distinct keys.
    pub fn new(cap: usize) -> Lossy {
        Lossy {
            map: HashMap::new(),
            cap: cap.max(1) as u64,
            n: 0,
            pruned: false,
        }
    }

    /// Counts one occurrence of `key`.
    pub fn add(&mut self, key: &str) {
        self.n += 1;
        let bucket = self.n.div_ceil(self.cap);
        match self.map.get_mut(key) {
            Some(e) => e.0 += 1,
            None => {
                self.map.insert(key.to_owned(), (1, bucket - 1));
            }
        }
        if self.n.is_multiple_of(self.cap) && self.map.len() as u64 > self.cap {
            let before = self.map.len();
            self.map.retain(|_, (c, d)| *c + *d > bucket);
            self.pruned |= self.map.len() < before;
        }
    }

    /// Keys seen so far (a lower bound once pruned).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// True when rare keys were dropped and counts may be low by up to n / cap.
    pub fn approximate(&self) -> bool {
        self.pruned
    }

    /// The `k` most frequent keys, most frequent first (ties by key).
    pub fn top(&self, k: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .map
            .iter()
            .map(|(k, (c, _))| (k.as_str(), *c))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(k);
        v
    }

    /// The count of `key` (0 when unseen or dropped).
    pub fn get(&self, key: &str) -> u64 {
        self.map.get(key).map_or(0, |e| e.0)
    }
}

/// How many distinct keys: exact up to `cap`, then a HyperLogLog
/// estimate (4,096 registers, about 1.6% standard error).
#[derive(Debug)]
pub struct Distinct {
    exact: Option<HashSet<String>>,
    cap: usize,
    regs: Vec<u8>,
}

const P: u32 = 12;

impl Distinct {
    /// A counter that is exact up to `cap` distinct keys.
    pub fn new(cap: usize) -> Distinct {
        Distinct {
            exact: Some(HashSet::new()),
            cap,
            regs: vec![0; 1 << P],
        }
    }

    /// Notes one key.
    pub fn add(&mut self, key: &str) {
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        let idx = (h >> (64 - P)) as usize;
        let rank = ((h << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
        if rank > self.regs[idx] {
            self.regs[idx] = rank;
        }
        if let Some(s) = &mut self.exact {
            if !s.contains(key) {
                if s.len() >= self.cap {
                    self.exact = None;
                } else {
                    s.insert(key.to_owned());
                }
            }
        }
    }

    /// The number of distinct keys, and whether it is an estimate.
    pub fn count(&self) -> (u64, bool) {
        if let Some(s) = &self.exact {
            return (s.len() as u64, false);
        }
        let m = self.regs.len() as f64;
        let sum: f64 = self.regs.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let mut e = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = self.regs.iter().filter(|&&r| r == 0).count();
        if e <= 2.5 * m && zeros > 0 {
            e = m * (m / zeros as f64).ln();
        }
        (e.round() as u64, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_exact_then_estimated() {
        let mut d = Distinct::new(100);
        for i in 0..50 {
            d.add(&format!("k{}", i % 40));
        }
        assert_eq!(d.count(), (40, false));
        for i in 0..100_000 {
            d.add(&format!("k{i}"));
        }
        let (n, est) = d.count();
        assert!(est);
        assert!((95_000..=105_000).contains(&n), "{n}");
    }

    #[test]
    fn exact_below_the_cap() {
        let mut c = Lossy::new(10);
        for k in ["a", "b", "a", "c", "a", "b"] {
            c.add(k);
        }
        assert_eq!(c.top(2), vec![("a", 3), ("b", 2)]);
        assert!(!c.approximate());
    }

    #[test]
    fn bounded_and_keeps_heavy_hitters_with_many_rare_keys() {
        let mut c = Lossy::new(100);
        for i in 0..200_000u64 {
            if i % 10 == 0 {
                c.add("hot");
            } else {
                c.add(&format!("rare{i}"));
            }
        }
        assert!(c.len() < 2_000, "{} keys kept", c.len());
        assert!(c.approximate());
        let (k, n) = c.top(1)[0];
        assert_eq!(k, "hot");
        assert!((20_000 - 200_000 / 100..=20_000).contains(&n), "{n}");
    }
}
