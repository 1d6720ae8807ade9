//! httpc: the one place HTTP clients are made and their answers read,
//! for every tool that calls out (webhook-post, nf-upload, nf-webhook,
//! nf-emulator).
//!
//! A client ([`agent`]) never follows a redirect: a 3xx is an answer like
//! any other, for the caller to judge (webhook-post follows same-origin
//! 307/308 itself; the others refuse them). Error statuses are answers
//! too, not errors. Every request has an overall time-out, connecting a
//! shorter one, and the tool's name as its user agent. Bodies are read
//! with a bound ([`body`], [`body_head`]), and a server's `Retry-After`
//! is read in one way ([`retry_after`]).
//!
//! It is a crate of its own so that ureq (and rustls under it) is built
//! only into the tools that speak HTTP, never into the shared core; it
//! re-exports [`ureq`] so those tools need no dependency of their own.

use std::io::Read;
use std::time::Duration;

pub use ureq;

/// A response with its body still to be read.
pub type Response = ureq::http::Response<ureq::Body>;

/// Connecting never takes longer than this (less when the request's own
/// time-out is shorter).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An idle pooled connection is not reused after this long: servers often
/// drop idle keep-alive connections after about 5 s, and a request sent on
/// a connection the server is closing fails and costs a retry.
pub const MAX_IDLE_AGE: Duration = Duration::from_secs(4);

/// A client named `user_agent` (e.g. `webhook-post/0.1.0`) whose requests
/// give up after `timeout`; see the crate documentation.
pub fn agent(user_agent: &str, timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .max_idle_age(MAX_IDLE_AGE)
        .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
        .timeout_global(Some(timeout))
        .user_agent(user_agent)
        .build()
        .into()
}

/// The whole body, refused with [`ureq::Error::BodyExceedsLimit`] when it
/// is longer than `limit` bytes.
pub fn body(resp: &mut Response, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    resp.body_mut().with_config().limit(limit).read_to_vec()
}

/// At most the first `limit` bytes of the body, for an error message; a
/// body that ends within them is read to its end, so the connection can be
/// reused. A read error ends it early.
pub fn body_head(resp: &mut Response, limit: u64) -> Vec<u8> {
    let mut head = Vec::new();
    let _ = resp
        .body_mut()
        .as_reader()
        .take(limit)
        .read_to_end(&mut head);
    head
}

/// How long the server asks the client to wait (`Retry-After` in seconds,
/// capped at an hour); `None` without one, or for an HTTP date (which no
/// server these tools talk to sends).
pub fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?;
    parse_retry_after(v)
}

/// A `Retry-After` value in seconds, capped at one hour.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
    }
}
