//! A client for Nightfall's v3 upload API with the resilience its SDKs
//! lack: 429s wait for `Retry-After`, 5xx, time-outs and connection errors
//! retry with exponential back-off and jitter (bounded in attempts), every
//! request passes a client-side rate limit shared by all workers, and a
//! permanent failure carries Nightfall's own error message.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use dlp_runtime::backoff::Backoff;
use httpc::ureq;
use nfapi::{ErrorBody, FileScanRequest, FileUpload, ScanResponse};

/// Why a call failed for good.
#[derive(Debug)]
pub struct ApiError(pub String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Client-side token bucket (Nightfall limits each key per endpoint; we
/// stay under the documented rate instead of collecting 429s).
pub struct RateLimit {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    /// `rate` requests per second with a burst of `burst`; `rate <= 0` is unlimited.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimit {
            rate,
            state: Mutex::new((burst.max(1.0), Instant::now())),
        }
    }

    fn acquire(&self, burst: f64) {
        if self.rate <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(burst);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.rate)
            };
            std::thread::sleep(wait);
        }
    }
}

/// Client configuration.
pub struct Api {
    agent: ureq::Agent,
    base: String,
    key: String,
    attempts: u32,
    limit: RateLimit,
    burst: f64,
}

/// A request body.
pub enum Body<'a> {
    Json(String),
    Bytes(&'a [u8]),
}

impl Api {
    /// A client for `base` (e.g. `https://api.nightfall.ai`) with `key`.
    pub fn new(
        base: &str,
        key: String,
        timeout: Duration,
        attempts: u32,
        rate: f64,
        burst: f64,
    ) -> Self {
        Api {
            agent: httpc::agent(
                concat!("dlp-pipes-nf-upload/", env!("CARGO_PKG_VERSION")),
                timeout,
            ),
            base: base.trim_end_matches('/').to_owned(),
            key,
            attempts: attempts.max(1),
            limit: RateLimit::new(rate, burst),
            burst: burst.max(1.0),
        }
    }

    /// One API call with retries; returns the status and body of a 2xx.
    fn call(
        &self,
        method: &str,
        path: &str,
        offset: Option<u64>,
        body: Body<'_>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let url = format!("{}{path}", self.base);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            self.limit.acquire(self.burst);
            let auth = format!("Bearer {}", self.key);
            let result = match method {
                "PATCH" => {
                    let mut req = self
                        .agent
                        .patch(&url)
                        .header("Authorization", &auth)
                        .header("Content-Type", "application/octet-stream");
                    if let Some(o) = offset {
                        req = req.header("X-Upload-Offset", &o.to_string());
                    }
                    match &body {
                        Body::Bytes(b) => req.send(*b),
                        Body::Json(s) => req.send(s.as_bytes()),
                    }
                }
                _ => {
                    let req = self
                        .agent
                        .post(&url)
                        .header("Authorization", &auth)
                        .header("Content-Type", "application/json");
                    match &body {
                        Body::Json(s) => req.send(s.as_bytes()),
                        Body::Bytes(b) => req.send(*b),
                    }
                }
            };
            let retry_after = match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let bytes = httpc::body(&mut resp, 4 << 20).unwrap_or_default();
                    if (200..300).contains(&status) {
                        return Ok((status, bytes));
                    }
                    last = describe(method, path, status, &bytes);
                    match status {
                        429 => httpc::retry_after(&resp),
                        408 | 500..=599 => None,
                        _ => return Err(ApiError(last)),
                    }
                }
                Err(e) => {
                    last = format!("{method} {path}: {e}");
                    None
                }
            };
            if attempt == self.attempts {
                break;
            }
            let delay = retry_after.unwrap_or_else(|| backoff.next_delay());
            eprintln!(
                "nf-upload: {last}; retrying in {:.1}s (attempt {attempt} of {})",
                delay.as_secs_f64(),
                self.attempts
            );
            std::thread::sleep(delay);
        }
        Err(ApiError(format!(
            "{last} (gave up after {} attempts)",
            self.attempts
        )))
    }

    /// `POST /v3/upload`.
    pub fn init(&self, size: u64) -> Result<FileUpload, ApiError> {
        let body = serde_json::to_string(&nfapi::InitUpload {
            file_size_bytes: size,
            mime_type: None,
        })
        .expect("serialises");
        let (_, bytes) = self.call("POST", "/v3/upload", None, Body::Json(body))?;
        let up: FileUpload = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError(format!("POST /v3/upload: unexpected response: {e}")))?;
        if up.id.is_empty() || up.chunk_size == 0 {
            return Err(ApiError(
                "POST /v3/upload: response lacks an id or a positive chunkSize".into(),
            ));
        }
        Ok(up)
    }

    /// `PATCH /v3/upload/{id}` with one chunk.
    pub fn chunk(&self, id: &str, offset: u64, data: &[u8]) -> Result<(), ApiError> {
        self.call(
            "PATCH",
            &format!("/v3/upload/{id}"),
            Some(offset),
            Body::Bytes(data),
        )
        .map(|_| ())
    }

    /// `POST /v3/upload/{id}/finish`.
    pub fn finish(&self, id: &str) -> Result<(), ApiError> {
        self.call(
            "POST",
            &format!("/v3/upload/{id}/finish"),
            None,
            Body::Json("{}".into()),
        )
        .map(|_| ())
    }

    /// `POST /v3/upload/{id}/scan`; returns the id Nightfall reports.
    pub fn scan(&self, id: &str, request: &FileScanRequest) -> Result<String, ApiError> {
        let body = serde_json::to_string(request).expect("scan request serialises");
        let (_, bytes) = self.call(
            "POST",
            &format!("/v3/upload/{id}/scan"),
            None,
            Body::Json(body),
        )?;
        let r: ScanResponse = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError(format!("POST scan: unexpected response: {e}")))?;
        Ok(if r.id.is_empty() { id.to_owned() } else { r.id })
    }
}

impl Api {
    /// Checks, with one request and no retry, that the API answers and
    /// accepts the key: `POST /v3/upload` with an empty body, which
    /// Nightfall authenticates before it validates (a 400 for the missing
    /// size means the key was accepted; 401/403 that it was not).
    pub fn preflight(&self) -> Result<String, ApiError> {
        let url = format!("{}/v3/upload", self.base);
        let host = self.base.clone();
        let resp = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.key))
            .header("Content-Type", "application/json")
            .send(b"{}".as_slice())
            .map_err(|e| ApiError(format!("cannot reach the Nightfall API at {host}: {e}")))?;
        match resp.status().as_u16() {
            200..=299 | 400 | 422 => Ok(format!("the Nightfall API at {host} answers and accepts the API key")),
            429 => Ok(format!("the Nightfall API at {host} accepts the API key (and asks to slow down: rate limit or monthly quota)")),
            401 | 403 => Err(ApiError(format!(
                "the Nightfall API at {host} refused the API key (HTTP {}): check NIGHTFALL_API_KEY (Nightfall dashboard: Overview → API keys)",
                resp.status().as_u16()
            ))),
            s => Err(ApiError(format!(
                "the Nightfall API at {host} answered HTTP {s} to a test request; try again later"
            ))),
        }
    }
}

/// `POST /v3/upload: HTTP 400 Invalid Request: fileSizeBytes must be ...`
fn describe(method: &str, path: &str, status: u16, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|e| {
            let msg = e.message.unwrap_or_default();
            match e.description.filter(|d| !d.is_empty()) {
                Some(d) => format!("{msg}: {d}"),
                None => msg,
            }
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned()
        });
    format!("{method} {path}: HTTP {status} {detail}")
}
