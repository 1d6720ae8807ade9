//! One POST and the classification of its outcome.
//!
//! 2xx is delivered. 408, 429, 5xx, time-outs and connection errors are
//! worth retrying (with the server's `Retry-After` when it sends one). 413
//! says the batch is too large (the caller splits it). A 307 or 308 to the
//! same origin (scheme, host and port) is followed with the same POST, up
//! to [`MAX_HOPS`] times; a redirect to another origin, or a 301/302/303
//! (which would turn the POST into a GET), is never followed. Anything else
//! (other 4xx, an unfollowed redirect) will not get better by repetition
//! and is permanent (the caller keeps the batch in the dead-letter
//! directory). Error texts carry a bounded snippet of the response body and
//! never the URL, which may hold a token.

use std::time::Duration;

use httpc::ureq;

use crate::cli::{Config, Signer};

/// How one attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    Retry {
        status: Option<u16>,
        retry_after: Option<Duration>,
        error: String,
    },
    /// 413: the receiver wants smaller batches.
    TooLarge {
        error: String,
    },
    Permanent {
        status: u16,
        error: String,
    },
}

/// Same-origin 307/308 redirects followed for one POST.
pub const MAX_HOPS: usize = 3;

/// `location` resolved against `base` if it stays on `base`'s origin.
pub fn same_origin(base: &str, location: &str) -> Option<String> {
    let base_uri: ureq::http::Uri = base.parse().ok()?;
    let scheme = base_uri.scheme_str()?;
    let authority = base_uri.authority()?.as_str();
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let loc: ureq::http::Uri = location.parse().ok()?;
    let same = loc
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && loc
            .authority()
            .is_some_and(|a| a.as_str().eq_ignore_ascii_case(authority));
    same.then(|| location.to_owned())
}

/// Sends bodies to the configured URL.
pub struct Poster {
    agent: ureq::Agent,
    url: String,
    shown_url: String,
    headers: Vec<(String, String)>,
    content_type: String,
    signer: Option<Signer>,
}

const SNIPPET: usize = 300;

impl Poster {
    /// A poster with a connection pool and the configured time-outs.
    pub fn new(cfg: &Config) -> Self {
        Poster {
            agent: httpc::agent(
                concat!("webhook-post/", env!("CARGO_PKG_VERSION")),
                cfg.timeout,
            ),
            url: cfg.url.clone(),
            shown_url: cfg.shown_url.clone(),
            headers: cfg.headers.clone(),
            content_type: cfg.content_type.clone(),
            signer: cfg.signer.clone(),
        }
    }

    /// Makes one attempt (following same-origin 307/308 redirects).
    pub fn post(&self, body: &[u8]) -> Outcome {
        let mut url = self.url.clone();
        let mut hops = 0;
        loop {
            match self.post_to(&url, body) {
                (Outcome::Permanent { status, error }, Some(next))
                    if matches!(status, 307 | 308) && hops < MAX_HOPS =>
                {
                    match same_origin(&url, &next) {
                        Some(u) => {
                            url = u;
                            hops += 1;
                        }
                        None => {
                            return Outcome::Permanent {
                                status,
                                error: format!("{error} (another origin)"),
                            }
                        }
                    }
                }
                (outcome, _) => return outcome,
            }
        }
    }

    /// One POST to `url`; the raw Location of a redirect.
    fn post_to(&self, url: &str, body: &[u8]) -> (Outcome, Option<String>) {
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", &self.content_type);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(s) = &self.signer {
            let ts = dlp_record::time::unix_now().to_string();
            let sig = nfapi::signature::sign(&s.secret, &ts, body);
            req = req
                .header(&s.timestamp_header, &ts)
                .header(&s.signature_header, &sig);
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                let msg = e
                    .to_string()
                    .replace(url, &self.shown_url)
                    .replace(&self.url, &self.shown_url);
                return (
                    Outcome::Retry {
                        status: None,
                        retry_after: None,
                        error: msg,
                    },
                    None,
                );
            }
        };
        let status = resp.status().as_u16();
        let retry_after = httpc::retry_after(&resp);
        let raw_location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let location = raw_location.as_deref().map(crate::cli::redact_url);
        // Read (a bounded part of) the body: the connection can then be reused.
        let mut snippet = httpc::body_head(&mut resp, 64 * 1024);
        snippet.truncate(SNIPPET);
        let text = String::from_utf8_lossy(&snippet)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let reason = resp.status().canonical_reason().unwrap_or("");
        let error = match location {
            Some(l) if (300..400).contains(&status) => {
                format!("HTTP {status} {reason}: redirect to {l} not followed")
            }
            _ if text.is_empty() => format!("HTTP {status} {reason}"),
            _ => format!("HTTP {status} {reason}: {text}"),
        };
        let outcome = match status {
            200..=299 => Outcome::Delivered { status },
            408 | 429 | 500..=599 => Outcome::Retry {
                status: Some(status),
                retry_after,
                error,
            },
            413 => Outcome::TooLarge { error },
            _ => Outcome::Permanent { status, error },
        };
        (outcome, raw_location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_redirects_resolve() {
        let base = "http://127.0.0.1:8080/hook?t=1";
        assert_eq!(
            same_origin(base, "/v2/hook").as_deref(),
            Some("http://127.0.0.1:8080/v2/hook")
        );
        assert_eq!(
            same_origin(base, "http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080/x")
        );
        for other in [
            "http://127.0.0.1:8081/x",
            "https://127.0.0.1:8080/x",
            "http://evil.example/x",
            "//evil.example/x",
            "relative/x",
        ] {
            assert_eq!(same_origin(base, other), None, "{other}");
        }
    }
}
