//! Fetching a findings document from a notification's `findingsURL`:
//! https only (plain http just for loopback hosts, for local testing and
//! nf-emulator), no redirects, a bounded body, and retries with back-off
//! until the URL's `validUntil`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use dlp_runtime::backoff::Backoff;
use httpc::ureq;
use nfapi::FindingsDocument;

/// Why a fetch gave up.
#[derive(Debug)]
pub enum FetchError {
    /// Retrying cannot help (bad URL, 4xx, oversized or malformed body).
    Permanent(String),
    /// `validUntil` passed (or would pass before the next attempt).
    Expired(String),
    /// Shutdown was requested; the spool entry is left for the next start.
    Stopped,
}

/// Fetch settings.
pub struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
}

enum Attempt {
    Transient(String, Option<Duration>),
    Permanent(String),
}

/// Checks that a findings URL is https, or http to a loopback host.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("invalid findings URL: {e}"))?;
    let host = uri.host().unwrap_or("");
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => {
            Err("findings URL is plain http to a non-loopback host; only https is fetched".into())
        }
        _ => Err("findings URL is not an https URL".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
        || h.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback())
}

impl Fetcher {
    /// A fetcher with a per-attempt time limit and a body size limit.
    pub fn new(timeout: Duration, max_bytes: u64) -> Self {
        Fetcher {
            agent: httpc::agent(concat!("nf-webhook/", env!("CARGO_PKG_VERSION")), timeout),
            max_bytes,
        }
    }

    /// Fetches and parses the document, retrying transient failures until
    /// `deadline`. `log` reports each retry; `sleep` waits and returns
    /// false when shutdown interrupts the wait.
    pub fn fetch(
        &self,
        url: &str,
        deadline: SystemTime,
        mut log: impl FnMut(&str),
        mut sleep: impl FnMut(Duration) -> bool,
        stopping: impl Fn() -> bool,
    ) -> Result<FindingsDocument, FetchError> {
        check_url(url).map_err(FetchError::Permanent)?;
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
        loop {
            if SystemTime::now() >= deadline {
                return Err(FetchError::Expired(
                    "findings URL expired (validUntil passed) before a successful fetch".into(),
                ));
            }
            let (why, retry_after) = match self.attempt(url) {
                Ok(doc) => return Ok(doc),
                Err(Attempt::Permanent(why)) => return Err(FetchError::Permanent(why)),
                Err(Attempt::Transient(why, ra)) => (why, ra),
            };
            if stopping() {
                return Err(FetchError::Stopped);
            }
            let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
            if SystemTime::now() + delay >= deadline {
                return Err(FetchError::Expired(format!(
                    "{why}; findings URL expires before the next attempt"
                )));
            }
            log(&format!("{why}; retrying in {:.1}s", delay.as_secs_f64()));
            if !sleep(delay) {
                return Err(FetchError::Stopped);
            }
        }
    }

    fn attempt(&self, url: &str) -> Result<FindingsDocument, Attempt> {
        let mut resp = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(e) => return Err(Attempt::Transient(format!("fetching findings: {e}"), None)),
        };
        let status = resp.status().as_u16();
        if status != 200 {
            let why = format!("fetching findings: HTTP {status}");
            return match status {
                300..=399 => Err(Attempt::Permanent(
                    "findings URL redirects; not followed".into(),
                )),
                408 | 425 | 429 | 500..=599 => {
                    Err(Attempt::Transient(why, httpc::retry_after(&resp)))
                }
                _ => Err(Attempt::Permanent(why)),
            };
        }
        let body = match httpc::body(&mut resp, self.max_bytes) {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                return Err(Attempt::Permanent(format!(
                    "findings document larger than {} bytes",
                    self.max_bytes
                )))
            }
            Err(e) => return Err(Attempt::Transient(format!("reading findings: {e}"), None)),
        };
        serde_json::from_slice(&body)
            .map_err(|e| Attempt::Permanent(format!("findings document is not valid JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        assert!(check_url("https://files.nightfall.ai/x.json?Expires=1&Signature=a").is_ok());
        assert!(check_url("http://127.0.0.1:8080/f.json").is_ok());
        assert!(check_url("http://127.9.0.1/f.json").is_ok());
        assert!(check_url("http://localhost:9/f").is_ok());
        assert!(check_url("http://[::1]:9/f").is_ok());
        assert!(check_url("http://files.nightfall.ai/x.json").is_err());
        assert!(check_url("http://10.0.0.1/x.json").is_err());
        assert!(check_url("http://127.0.0.1.evil.com/x").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("ftp://127.0.0.1/x").is_err());
        assert!(check_url("").is_err());
        assert!(check_url("not a url").is_err());
    }
}
