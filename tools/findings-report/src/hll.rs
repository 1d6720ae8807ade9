//! How many distinct keys, in 4 KiB: HyperLogLog (4,096 registers, about
//! 1.6% standard error) over keys that are already uniform hashes. It
//! counts what is past the exact caps (findings beyond `--max-findings`,
//! hosts beyond 10,000), which the page then marks as an estimate.

/// A distinct-count estimator.
#[derive(Debug)]
pub struct Hll {
    regs: Vec<u8>,
}

const P: u32 = 12;

impl Default for Hll {
    fn default() -> Self {
        Hll {
            regs: vec![0; 1 << P],
        }
    }
}

impl Hll {
    /// Notes one key (a uniform 64-bit hash).
    pub fn add(&mut self, h: u64) {
        let idx = (h >> (64 - P)) as usize;
        let rank = ((h << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
        if rank > self.regs[idx] {
            self.regs[idx] = rank;
        }
    }

    /// The estimated number of distinct keys.
    pub fn estimate(&self) -> u64 {
        let m = self.regs.len() as f64;
        let sum: f64 = self.regs.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let mut e = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = self.regs.iter().filter(|&&r| r == 0).count();
        if e <= 2.5 * m && zeros > 0 {
            e = m * (m / zeros as f64).ln();
        }
        e.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn h(i: u64) -> u64 {
        u64::from_be_bytes(Sha256::digest(i.to_le_bytes())[..8].try_into().unwrap())
    }

    #[test]
    fn estimates_within_a_few_percent() {
        let mut d = Hll::default();
        for i in 0..100_000 {
            d.add(h(i % 50_000));
        }
        let n = d.estimate();
        assert!((48_000..=52_000).contains(&n), "{n}");
        let mut small = Hll::default();
        for i in 0..40 {
            small.add(h(i));
        }
        assert!(
            (39..=41).contains(&small.estimate()),
            "{}",
            small.estimate()
        );
    }
}
