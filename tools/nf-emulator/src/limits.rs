//! Nightfall's rate limits (per API key and per endpoint, token bucket,
//! `X-Rate-Limit-Remaining` on successes, 429 with `Retry-After`) and the
//! fault injection that lets a client's retry logic be exercised.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::Cli;

/// What the limiter decided for one request.
pub enum Verdict {
    /// Go ahead; this many requests remain in the current second.
    Allow(u64),
    /// 429 with this Retry-After (seconds).
    Limited(u64),
    /// An injected 500.
    Fault,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Rate limiter and fault injector.
pub struct Limits {
    rate: f64,
    burst: f64,
    every_429: Option<u64>,
    every_500: Option<u64>,
    retry_after: u64,
    count: AtomicU64,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
}

impl Limits {
    /// Limits from the command line.
    pub fn new(cli: &Cli) -> Self {
        Limits {
            rate: cli.rate,
            burst: cli.burst.max(1.0),
            every_429: cli.inject_429_every.filter(|&n| n > 0),
            every_500: cli.inject_500_every.filter(|&n| n > 0),
            retry_after: cli.retry_after.as_secs() + u64::from(cli.retry_after.subsec_nanos() > 0),
            count: AtomicU64::new(0),
            buckets: Mutex::default(),
        }
    }

    /// Decides a request by `key` to `endpoint`.
    pub fn check(&self, key: &str, endpoint: &'static str) -> Verdict {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if self.every_429.is_some_and(|e| n.is_multiple_of(e)) {
            return Verdict::Limited(self.retry_after);
        }
        if self.every_500.is_some_and(|e| n.is_multiple_of(e)) {
            return Verdict::Fault;
        }
        if self.rate <= 0.0 {
            return Verdict::Allow(self.burst as u64);
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = buckets.entry((key.to_owned(), endpoint)).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Verdict::Allow(b.tokens.floor() as u64)
        } else {
            Verdict::Limited(((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}
