//! Who may post a result: Nightfall's HMAC signature over
//! `"<timestamp>:<raw body>"` (checked in constant time by `nfapi::signature`), a
//! freshness window around our clock, and a replay cache so a captured
//! request cannot be delivered twice inside that window. The SDKs do none
//! of the last three (docs/nightfall-api.md §4.3).

use std::collections::HashMap;
use std::sync::Mutex;

/// Why a request was refused: the HTTP status and a log line (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    /// A short fixed name for the kind of refusal (for log summaries).
    pub kind: &'static str,
    pub reason: String,
}

fn reject(status: u16, kind: &'static str, reason: impl Into<String>) -> Rejection {
    Rejection {
        status,
        kind,
        reason: reason.into(),
    }
}

/// Signature, freshness and replay checks for one signing secret.
pub struct Verifier {
    secret: Vec<u8>,
    tolerance: u64,
    future_skew: u64,
    seen: Mutex<ReplayCache>,
}

impl Verifier {
    /// `tolerance`: oldest accepted timestamp age in seconds; `future_skew`:
    /// how far ahead of our clock a sender's may be; `capacity`: replay
    /// cache entries.
    pub fn new(secret: Vec<u8>, tolerance: u64, future_skew: u64, capacity: usize) -> Self {
        Verifier {
            secret,
            tolerance,
            future_skew,
            seen: Mutex::new(ReplayCache::new(capacity)),
        }
    }

    /// Checks the two headers against `body` at time `now` (Unix seconds)
    /// and records the signature as used. Returns the signature bytes (to
    /// [`Verifier::forget`] them if the request cannot be stored) and when
    /// the record of them expires (Unix seconds).
    pub fn check(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: u64,
    ) -> Result<([u8; 32], u64), Rejection> {
        let (Some(sig), Some(ts)) = (signature, timestamp) else {
            return Err(reject(
                401,
                "missing headers",
                "missing X-Nightfall-Signature or X-Nightfall-Timestamp header",
            ));
        };
        let ts_text = ts.trim();
        let ts: u64 = match ts_text.parse() {
            Ok(t) if !ts_text.is_empty() && ts_text.bytes().all(|b| b.is_ascii_digit()) => t,
            _ => {
                return Err(reject(
                    400,
                    "malformed timestamp",
                    "malformed X-Nightfall-Timestamp (want Unix seconds)",
                ))
            }
        };
        if now > ts && now - ts > self.tolerance {
            return Err(reject(
                401,
                "stale timestamp",
                format!(
                    "stale timestamp: {}s old, tolerance {}s",
                    now - ts,
                    self.tolerance
                ),
            ));
        }
        if ts > now + self.future_skew {
            return Err(reject(
                401,
                "future timestamp",
                format!("timestamp {}s in the future", ts - now),
            ));
        }
        let key: [u8; 32] = match dlp_record::hash::unhex(sig.trim()).map(<[u8; 32]>::try_from) {
            Some(Ok(k)) => k,
            _ => {
                return Err(reject(
                    401,
                    "malformed signature",
                    "malformed X-Nightfall-Signature (want 64 hex digits)",
                ))
            }
        };
        if !nfapi::signature::verify(&self.secret, ts_text, body, sig.trim()) {
            return Err(reject(401, "signature mismatch", "signature mismatch"));
        }
        // Kept until the timestamp itself would be refused as stale.
        let expires = ts
            .saturating_add(self.tolerance)
            .saturating_add(1)
            .max(now + 1);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(key, expires, now)?;
        Ok((key, expires))
    }

    /// Loads signatures remembered by an earlier run (the persisted cache).
    pub fn seed(&self, entries: &[([u8; 32], u64)]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for &(key, expires) in entries {
            if seen.map.len() >= seen.capacity {
                break;
            }
            seen.map.insert(key, expires);
        }
    }

    /// The signatures still remembered at `now`, with their expiry.
    pub fn live(&self, now: u64) -> Vec<([u8; 32], u64)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.map
            .iter()
            .filter(|(_, &e)| e > now)
            .map(|(k, &e)| (*k, e))
            .collect()
    }

    /// Forgets a recorded signature (the request was not stored, so the
    /// sender may legitimately try again).
    pub fn forget(&self, key: &[u8; 32]) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .remove(key);
    }
}

/// Signatures seen recently, with their expiry; bounded in size.
struct ReplayCache {
    map: HashMap<[u8; 32], u64>,
    capacity: usize,
    last_purge: u64,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        ReplayCache {
            map: HashMap::new(),
            capacity: capacity.max(1),
            last_purge: 0,
        }
    }

    fn insert(&mut self, key: [u8; 32], expires: u64, now: u64) -> Result<(), Rejection> {
        if self.map.get(&key).is_some_and(|&e| e > now) {
            return Err(reject(409, "replayed", "replayed signature"));
        }
        if self.map.len() >= self.capacity || now >= self.last_purge + 10 {
            self.map.retain(|_, &mut e| e > now);
            self.last_purge = now;
        }
        if self.map.len() >= self.capacity {
            // Without room we could not recognise a replay: refuse rather
            // than accept blind. Nightfall-side retries get through later.
            return Err(reject(
                503,
                "replay cache full",
                "replay cache full; try again later",
            ));
        }
        self.map.insert(key, expires);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfapi::signature::sign;

    const NOW: u64 = 1_700_000_000;

    fn v() -> Verifier {
        Verifier::new(b"s3cret".to_vec(), 300, 30, 3)
    }

    fn signed(ts: u64, body: &str) -> (String, String) {
        (
            sign(b"s3cret", &ts.to_string(), body.as_bytes()),
            ts.to_string(),
        )
    }

    #[test]
    fn accepts_fresh_signed_body_once() {
        let v = v();
        let (s, t) = signed(NOW - 5, "{}");
        assert!(v.check(Some(&s), Some(&t), b"{}", NOW).is_ok());
        assert_eq!(
            v.check(Some(&s), Some(&t), b"{}", NOW).unwrap_err().status,
            409
        );
        let (s2, t2) = signed(NOW - 4, "{}");
        let (key, expires) = v.check(Some(&s2), Some(&t2), b"{}", NOW).unwrap();
        assert_eq!(expires, NOW - 4 + 300 + 1);
        v.forget(&key);
        assert!(v.check(Some(&s2), Some(&t2), b"{}", NOW).is_ok());
    }

    #[test]
    fn rejects_what_it_must() {
        let v = v();
        let (s, t) = signed(NOW, "{}");
        let status = |sig: Option<&str>, ts: Option<&str>, body: &[u8], now| {
            v.check(sig, ts, body, now).unwrap_err().status
        };
        assert_eq!(status(None, Some(&t), b"{}", NOW), 401);
        assert_eq!(status(Some(&s), None, b"{}", NOW), 401);
        assert_eq!(status(Some(&s), Some("12ab"), b"{}", NOW), 400);
        assert_eq!(status(Some(&s), Some("-5"), b"{}", NOW), 400);
        assert_eq!(status(Some(&s), Some(&t), b"{ }", NOW), 401);
        assert_eq!(status(Some("abcd"), Some(&t), b"{}", NOW), 401);
        assert_eq!(status(Some(&s), Some(&t), b"{}", NOW + 301), 401);
        let (fs, ft) = signed(NOW + 31, "{}");
        assert_eq!(status(Some(&fs), Some(&ft), b"{}", NOW), 401);
        let (ok_s, ok_t) = signed(NOW + 30, "{}");
        assert!(v.check(Some(&ok_s), Some(&ok_t), b"{}", NOW).is_ok());
    }

    #[test]
    fn cache_is_bounded_and_expires() {
        let v = v();
        for i in 0..3 {
            let (s, t) = signed(NOW - i, "x");
            v.check(Some(&s), Some(&t), b"x", NOW).unwrap();
        }
        let (s, t) = signed(NOW - 10, "x");
        assert_eq!(
            v.check(Some(&s), Some(&t), b"x", NOW).unwrap_err().status,
            503
        );
        // Once the old entries expire there is room again.
        let later = NOW + 302;
        let (s, t) = signed(later, "x");
        assert!(v.check(Some(&s), Some(&t), b"x", later).is_ok());
    }
}
