//! The asynchronous half of a file scan: the webhook challenge, scanning
//! the stored bytes with the detection engine, serving the findings at a
//! pre-signed URL, and delivering the signed result notification.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nfapi::signature;
use nfapi::{
    Challenge, Detector, ErrorBody, FindingsDocument, Location, NfFinding, WebhookNotification,
};

use crate::api::error;
use crate::store::{Phase, Served};
use crate::Emulator;

type Resp = httpd::Response;

const VALIDITY: u64 = 24 * 3600;

/// A scan to run after the scan request was accepted.
pub struct Job {
    pub id: String,
    /// The scan's rules, compiled when the request was accepted.
    pub engine: Arc<detect::Engine>,
    pub webhook: String,
    pub metadata: String,
}

/// The challenge handshake (docs/nightfall-api.md §4.1): POST
/// `{"challenge": "..."}` and expect 200 with exactly the challenge as the
/// body. A URL that passed is trusted for 24 hours.
pub fn validate_webhook(emu: &Emulator, url: &str) -> Result<(), Resp> {
    {
        let seen = emu.validated.lock().unwrap_or_else(|e| e.into_inner());
        if seen
            .get(url)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(VALIDITY))
        {
            return Ok(());
        }
    }
    let challenge = dlp_record::hash::hex(&crate::random_bytes::<15>());
    let body = serde_json::to_string(&Challenge {
        challenge: challenge.clone(),
    })
    .expect("challenge serialises");
    let unreachable = |why: String| {
        eprintln!("nf-emulator: webhook {url} failed validation: {why}");
        error(400, 40012, "Webhook URL validation failed", &why)
    };
    let mut resp = match emu
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
    {
        Ok(r) => r,
        Err(e) => return Err(unreachable(format!("cannot reach the webhook: {e}"))),
    };
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(unreachable(format!(
            "the webhook answered the challenge with HTTP {status}"
        )));
    }
    let answer = httpc::body(&mut resp, 4096)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    if answer != challenge {
        eprintln!("nf-emulator: webhook {url} answered the challenge wrongly");
        return Err(error(
            422,
            42201,
            "Webhook returned incorrect challenge response",
            "the response body must be exactly the challenge value",
        ));
    }
    emu.validated
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(url.to_owned(), Instant::now());
    Ok(())
}

/// Starts two scan workers fed by `rx`.
pub fn start_workers(emu: Arc<Emulator>, rx: Receiver<Job>) {
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..2 {
        let (emu, rx) = (emu.clone(), rx.clone());
        std::thread::spawn(move || loop {
            let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                Ok(j) => j,
                Err(_) => return,
            };
            run(&emu, job);
        });
    }
}

fn to_nf(m: &detect::Match, archive_path: &str) -> NfFinding {
    NfFinding {
        path: archive_path.to_owned(),
        detector: Detector::new(m.detector.clone(), m.detector_uuid.clone()),
        finding: m.finding.clone(),
        before_context: m.before_context.clone(),
        after_context: m.after_context.clone(),
        confidence: m.confidence.as_str().to_owned(),
        location: Location {
            byte_range: m.byte_range,
            codepoint_range: m.codepoint_range,
            line_range: Some(m.line_range),
            ..Default::default()
        },
        matched_detection_rules: m.matched_rules.clone(),
        ..Default::default()
    }
}

/// Scans an upload as Nightfall reads files: what `extract` gets out of
/// it (archive members, Office and PDF text, images by OCR, mail), each
/// finding named by its path inside the file.
struct Upload<'a> {
    engine: &'a detect::Engine,
    id: &'a str,
    found: Vec<NfFinding>,
}

impl extract::Sink for Upload<'_> {
    fn text(&mut self, r: &mut dyn std::io::Read, s: &extract::Stream) -> std::io::Result<()> {
        let found = &mut self.found;
        self.engine
            .scan_stream(r, detect::StreamOptions::default(), |mut m| {
                m.byte_range = s.locate(m.byte_range, m.codepoint_range);
                m.confidence = extract::recognised(m.confidence, s.ocr_confidence(m.byte_range));
                found.push(to_nf(&m, s.archive_path));
                Ok(())
            })
            .map(drop)
    }

    fn note(&mut self, msg: String) {
        eprintln!("nf-emulator: upload {}: {msg}", self.id);
    }

    fn reject(&mut self, msg: String) {
        eprintln!("nf-emulator: upload {}: {msg}", self.id);
    }
}

fn scan_file(emu: &Emulator, job: &Job) -> Result<Vec<NfFinding>, String> {
    let path = emu.store.path(&job.id);
    std::fs::metadata(&path).map_err(|e| format!("reading upload: {e}"))?;
    let mut upload = Upload {
        engine: &job.engine,
        id: &job.id,
        found: Vec::new(),
    };
    extract::file(&path, &extract::Limits::default(), &mut upload);
    Ok(upload.found)
}

fn run(emu: &Emulator, job: Job) {
    let mut errors = Vec::new();
    let findings = scan_file(emu, &job).unwrap_or_else(|why| {
        errors.push(ErrorBody {
            code: Some(50000),
            message: Some("Internal Nightfall Error".into()),
            description: Some(why),
            ..Default::default()
        });
        Vec::new()
    });
    let now = SystemTime::now();
    let expires = dlp_record::time::unix_now() + VALIDITY;
    let mut findings_url = String::new();
    if !findings.is_empty() {
        let token = crate::uuid4();
        let body = serde_json::to_vec(&FindingsDocument {
            findings: findings.clone(),
        })
        .expect("findings serialise");
        let sig = signature::sign(&emu.signing_secret, &expires.to_string(), token.as_bytes());
        findings_url = format!(
            "{}/findings/{token}.json?Expires={expires}&Signature={sig}",
            emu.public_url
        );
        emu.store
            .findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, Served { body, expires });
    }
    let note = WebhookNotification {
        findings_url,
        valid_until: dlp_record::time::format_rfc3339(now + Duration::from_secs(VALIDITY)),
        upload_id: job.id.clone(),
        findings_present: !findings.is_empty(),
        request_metadata: job.metadata.clone(),
        errors,
    };
    deliver(emu, &job.webhook, &note.to_body(), &job.id, findings.len());
    if let Some(u) = emu
        .store
        .uploads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&job.id)
    {
        u.phase = Phase::Done;
    }
    let _ = std::fs::remove_file(emu.store.path(&job.id));
}

/// POSTs the signed notification, retrying a failed delivery a few times.
fn deliver(emu: &Emulator, url: &str, body: &str, id: &str, n: usize) {
    let mut backoff =
        dlp_runtime::backoff::Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    for attempt in 0..=emu.cli.webhook_retries {
        // Never stamp a time ahead of the receiver's clock (docs/nightfall-api.md §4.3).
        let ts = dlp_record::time::unix_now().to_string();
        let sig = signature::sign(&emu.signing_secret, &ts, body.as_bytes());
        let result = emu
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Nightfall-Timestamp", &ts)
            .header("X-Nightfall-Signature", &sig)
            .send(body.as_bytes());
        match result {
            Ok(r) if r.status().is_success() => {
                eprintln!("nf-emulator: upload {id}: {n} finding(s) delivered to {url}");
                return;
            }
            Ok(r) => eprintln!(
                "nf-emulator: upload {id}: webhook answered HTTP {} (attempt {})",
                r.status().as_u16(),
                attempt + 1
            ),
            Err(e) => eprintln!(
                "nf-emulator: upload {id}: delivering to webhook: {e} (attempt {})",
                attempt + 1
            ),
        }
        if attempt < emu.cli.webhook_retries {
            std::thread::sleep(backoff.next_delay());
        }
    }
    eprintln!("nf-emulator: upload {id}: giving up delivering the result");
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

/// GET of a pre-signed findings URL: the signature must match and the URL
/// must not have expired (403 otherwise, as a pre-signed store does).
pub fn serve_findings(emu: &Emulator, token: &str, query: &str) -> Resp {
    let denied = |why: &str| error(403, 40300, "Access Denied", why);
    let (Some(expires), Some(sig)) = (
        query_param(query, "Expires"),
        query_param(query, "Signature"),
    ) else {
        return denied("missing Expires or Signature");
    };
    if !signature::verify(&emu.signing_secret, expires, token.as_bytes(), sig) {
        return denied("signature does not match");
    }
    let findings = emu.store.findings.lock().unwrap_or_else(|e| e.into_inner());
    match findings.get(token) {
        Some(s)
            if s.expires.to_string() == expires && dlp_record::time::unix_now() <= s.expires =>
        {
            httpd::Response::json(200, s.body.clone())
        }
        Some(_) => denied("the findings URL has expired"),
        None => error(404, 40400, "Not Found", "no such findings document"),
    }
}
