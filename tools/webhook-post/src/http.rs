//! One POST and the classification of its outcome.
//!
//! 2xx is delivered. 408, 429, 5xx, time-outs and connection errors are
//! worth retrying (with the server's `Retry-After` when it sends one);
//! anything else (other 4xx, an unfollowed redirect) will not get better
//! by repetition and is permanent. Error texts carry a bounded snippet of
//! the response body and never the URL, which may hold a token.

use std::io::Read;
use std::time::Duration;

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
    Permanent {
        status: u16,
        error: String,
    },
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

const SNIPPET: u64 = 300;

impl Poster {
    /// A poster with a connection pool and the configured time-outs.
    pub fn new(cfg: &Config) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Servers often drop idle keep-alive connections after ~5 s; a POST on a
            // connection that the server is closing fails and costs a retry.
            .max_idle_age(Duration::from_secs(4))
            .timeout_connect(Some(cfg.timeout.min(Duration::from_secs(10))))
            .timeout_global(Some(cfg.timeout))
            .user_agent(concat!("webhook-post/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Poster {
            agent,
            url: cfg.url.clone(),
            shown_url: cfg.shown_url.clone(),
            headers: cfg.headers.clone(),
            content_type: cfg.content_type.clone(),
            signer: cfg.signer.clone(),
        }
    }

    /// Makes one attempt.
    pub fn post(&self, body: &[u8]) -> Outcome {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", &self.content_type);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(s) = &self.signer {
            let ts = dlp_core::time::unix_now().to_string();
            let sig = dlp_core::signature::sign(&s.secret, &ts, body);
            req = req
                .header(&s.timestamp_header, &ts)
                .header(&s.signature_header, &sig);
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.to_string().replace(&self.url, &self.shown_url);
                return Outcome::Retry {
                    status: None,
                    retry_after: None,
                    error: msg,
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(dlp_core::backoff::parse_retry_after);
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(crate::cli::redact_url);
        // Read (a bounded part of) the body: the connection can then be reused.
        let mut snippet = Vec::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(64 * 1024)
            .read_to_end(&mut snippet);
        snippet.truncate(SNIPPET as usize);
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
        match status {
            200..=299 => Outcome::Delivered { status },
            408 | 429 | 500..=599 => Outcome::Retry {
                status: Some(status),
                retry_after,
                error,
            },
            _ => Outcome::Permanent { status, error },
        }
    }
}
