//! Request routing and the four upload endpoints, strict where Nightfall
//! is strict: bearer auth, chunk offsets that are multiples of chunkSize,
//! chunk lengths equal to chunkSize except the last, all bytes present
//! before finish, finish before scan, a passed challenge before a scan is
//! accepted. Errors carry Nightfall's `{code,message,description}` body.

use std::io::Read;
use std::sync::Arc;

use httpd::{Request, Response};
use nfapi::{FileScanRequest, FileUpload, InitUpload, ScanResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::limits::Verdict;
use crate::store::{Phase, Upload};
use crate::{scan, Emulator};

type Resp = Response;

/// Largest JSON request body.
pub const MAX_JSON_BODY: u64 = 1 << 20;

/// A JSON response.
pub fn json_resp(status: u16, body: &impl Serialize) -> Resp {
    Response::json(
        status,
        serde_json::to_vec(body).expect("response body serialises"),
    )
}

/// A JSON request body as its wire type; anything else is the service's
/// 400 "Invalid Request" (unknown fields are ignored, as the service does:
/// docs/nightfall-api.md §2.4).
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Resp> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(bad_request(
            "Invalid request payload: expected a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad_request(&format!("Invalid request payload: {e}")))
}

/// A Nightfall error response.
pub fn error(status: u16, code: i64, message: &str, description: &str) -> Resp {
    json_resp(
        status,
        &json!({"code": code, "message": message, "description": description, "additionalData": {}}),
    )
}

fn bad_request(description: &str) -> Resp {
    error(400, 40000, "Invalid Request", description)
}

fn not_found_upload() -> Resp {
    error(
        404,
        40400,
        "Invalid File ID",
        "no upload with that id for this API key",
    )
}

fn wrong_state(phase: Phase) -> Resp {
    error(
        409,
        40900,
        "File Upload in Incorrect State",
        &format!("the upload is {phase:?}"),
    )
}

/// The body limit for a request, from its head: a chunk for a PATCH, a
/// JSON document for anything else.
pub fn max_body(emu: &Emulator, req: &Request) -> usize {
    if req.method == "PATCH" {
        emu.cli.chunk_size.max(MAX_JSON_BODY) as usize
    } else {
        MAX_JSON_BODY as usize
    }
}

/// Answers one request (blocking: disk, outbound challenge).
pub fn handle(emu: &Emulator, req: Request) -> Resp {
    let path = req.path.clone();
    let query = req.query.clone();
    route(emu, &req, &path, &query)
}

fn route(emu: &Emulator, req: &Request, path: &str, query: &str) -> Resp {
    let method = req.method.as_str();
    if let Some(token) = path
        .strip_prefix("/findings/")
        .and_then(|t| t.strip_suffix(".json"))
    {
        return match method {
            "GET" | "HEAD" => scan::serve_findings(emu, token, query),
            _ => error(
                405,
                40500,
                "Method Not Allowed",
                "findings documents are read with GET",
            ),
        };
    }
    let Some(rest) = path.strip_prefix("/v3/upload") else {
        return error(404, 40400, "Not Found", "unknown path");
    };
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let endpoint: &'static str = match (parts.as_slice(), method) {
        ([], "POST") => "upload",
        ([_], "PATCH") => "upload_chunk",
        ([_, "finish"], "POST") => "finish",
        ([_, "scan"], "POST") => "scan",
        ([], _) | ([_], _) | ([_, "finish" | "scan"], _) => {
            return error(
                405,
                40500,
                "Method Not Allowed",
                "method not allowed on this path",
            )
        }
        _ => return error(404, 40400, "Not Found", "unknown path"),
    };
    let key = match bearer(req) {
        Some(k) if emu.api_key.as_deref().is_none_or(|want| want == k) => k,
        _ => {
            return error(
                401,
                40100,
                "Authentication failure",
                "missing or invalid Authorization: Bearer <API key>",
            )
        }
    };
    let remaining = match emu.limits.check(&key, endpoint) {
        Verdict::Allow(r) => r,
        Verdict::Limited(secs) => {
            return error(
                429,
                42900,
                "Too Many Requests",
                "Rate Limit Exceeded or Monthly Quota Exceeded",
            )
            .with_header("Retry-After", secs.to_string())
        }
        Verdict::Fault => return error(500, 50000, "Internal Nightfall Error", "injected fault"),
    };
    let resp = match endpoint {
        "upload" => init(emu, req, &key),
        "upload_chunk" => chunk(emu, req, &key, parts[0]),
        "finish" => finish(emu, &key, parts[0]),
        _ => start_scan(emu, req, &key, parts[0]),
    };
    if resp.status < 300 {
        resp.with_header("X-Rate-Limit-Remaining", remaining.to_string())
    } else {
        resp
    }
}

fn bearer(req: &Request) -> Option<String> {
    let v = req.header("Authorization")?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn read_body(req: &Request, limit: u64) -> Result<&[u8], Resp> {
    if req.body.len() as u64 > limit {
        return Err(error(
            413,
            41300,
            "Payload Too Large",
            &format!("request body over {limit} bytes"),
        ));
    }
    Ok(&req.body)
}

fn file_upload(id: &str, u: &Upload) -> FileUpload {
    FileUpload {
        id: id.to_owned(),
        file_size_bytes: u.size,
        chunk_size: u.chunk_size,
        mime_type: u.mime.clone(),
    }
}

fn init(emu: &Emulator, req: &Request, key: &str) -> Resp {
    let body = match read_body(req, MAX_JSON_BODY) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let InitUpload {
        file_size_bytes: size,
        mime_type,
    } = match parse_json(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if size == 0 {
        return bad_request("fileSizeBytes must be greater than 0");
    }
    if size > emu.cli.max_file_size {
        return bad_request(&format!(
            "fileSizeBytes {size} exceeds the plan's limit of {}",
            emu.cli.max_file_size
        ));
    }
    let mime = mime_type.unwrap_or_default();
    let id = crate::uuid4();
    if let Err(e) = emu.store.create(&id, size) {
        return error(
            500,
            50000,
            "Internal Nightfall Error",
            &format!("storing upload: {e}"),
        );
    }
    let u = Upload {
        key: key.to_owned(),
        size,
        chunk_size: emu.cli.chunk_size,
        mime,
        received: Vec::new(),
        phase: Phase::Uploading,
    };
    let mut u = u;
    u.received = vec![false; u.chunks()];
    let resp = file_upload(&id, &u);
    emu.store
        .uploads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, u);
    json_resp(200, &resp)
}

fn chunk(emu: &Emulator, req: &Request, key: &str, id: &str) -> Resp {
    let (size, chunk_size) = {
        let uploads = emu.store.uploads.lock().unwrap_or_else(|e| e.into_inner());
        match uploads.get(id) {
            Some(u) if u.key == key && u.phase == Phase::Uploading => (u.size, u.chunk_size),
            Some(u) if u.key == key => return wrong_state(u.phase),
            _ => return not_found_upload(),
        }
    };
    let offset = req
        .header("X-Upload-Offset")
        .map(|v| v.trim().parse::<u64>());
    let offset = match offset {
        Some(Ok(o)) => o,
        Some(Err(_)) => return bad_request("X-Upload-Offset must be a decimal byte offset"),
        None => return bad_request("missing X-Upload-Offset header"),
    };
    if offset % chunk_size != 0 {
        return bad_request(&format!(
            "offset {offset} is not a multiple of the chunk size {chunk_size}"
        ));
    }
    if offset >= size {
        return bad_request(&format!("offset {offset} is beyond the file size {size}"));
    }
    let expected = chunk_size.min(size - offset);
    let body = match read_body(req, chunk_size) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.len() as u64 != expected {
        return bad_request(&format!(
            "chunk at offset {offset} has {} bytes; it must have {expected} (chunkSize, or the rest of the file for the last chunk)",
            body.len()
        ));
    }
    if let Err(e) = emu.store.write_chunk(id, offset, body) {
        return error(
            500,
            50000,
            "Internal Nightfall Error",
            &format!("storing chunk: {e}"),
        );
    }
    let mut uploads = emu.store.uploads.lock().unwrap_or_else(|e| e.into_inner());
    match uploads.get_mut(id) {
        Some(u) if u.phase == Phase::Uploading => {
            u.received[(offset / chunk_size) as usize] = true;
            Response::json(204, Vec::new())
        }
        Some(u) => wrong_state(u.phase),
        None => not_found_upload(),
    }
}

fn finish(emu: &Emulator, key: &str, id: &str) -> Resp {
    let mut uploads = emu.store.uploads.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = uploads.get_mut(id).filter(|u| u.key == key) else {
        return not_found_upload();
    };
    match u.phase {
        Phase::Uploading => {
            let have = u.received.iter().filter(|&&r| r).count();
            if have != u.received.len() {
                return bad_request(&format!(
                    "upload incomplete: {have} of {} chunks received",
                    u.received.len()
                ));
            }
            if u.mime.is_empty() {
                u.mime = sniff(&emu.store.path(id));
            }
            u.phase = Phase::Finished;
        }
        Phase::Finished => {} // a retried finish is answered the same way
        other => return wrong_state(other),
    }
    json_resp(200, &file_upload(id, u))
}

/// A MIME type from the first bytes, as Nightfall determines one when the
/// client sent none.
fn sniff(path: &std::path::Path) -> String {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        "application/zip".into()
    } else if head.starts_with(&[0x1f, 0x8b]) {
        "application/gzip".into()
    } else if head.starts_with(b"%PDF") {
        "application/pdf".into()
    } else if !head.contains(&0) {
        "text/plain".into()
    } else {
        "application/octet-stream".into()
    }
}

fn start_scan(emu: &Emulator, req: &Request, key: &str, id: &str) -> Resp {
    let body = match read_body(req, MAX_JSON_BODY) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: FileScanRequest = match parse_json(body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(why) = request.validate() {
        return bad_request(&why);
    }
    let FileScanRequest {
        policy,
        policy_uuid,
        request_metadata,
    } = request;
    let engine = match policy.as_ref().map(|p| &p.detection_rules) {
        Some(rules) if !rules.is_empty() => match detect::Engine::new(rules) {
            Ok(e) => Arc::new(e),
            Err(e) => return bad_request(&format!("invalid detectionRules: {e:#}")),
        },
        // Rule UUIDs or a policy UUID: only Nightfall knows what they hold.
        _ => emu.uuid_engine.clone(),
    };
    let webhook = match &policy {
        Some(p) => p.webhook(),
        None => emu
            .cli
            .default_webhook
            .as_deref()
            .filter(|_| policy_uuid.is_some()),
    };
    let Some(webhook) = webhook.map(str::to_owned) else {
        return bad_request("no webhook URL (policy.webhookURL or policy.alertConfig.url.address; for policyUUID scans start the emulator with --default-webhook): file scan results are delivered by webhook");
    };
    {
        let uploads = emu.store.uploads.lock().unwrap_or_else(|e| e.into_inner());
        match uploads.get(id) {
            Some(u) if u.key == key && u.phase == Phase::Finished => {}
            Some(u) if u.key == key => return wrong_state(u.phase),
            _ => return not_found_upload(),
        }
    }
    if let Err(resp) = scan::validate_webhook(emu, &webhook) {
        return resp;
    }
    {
        let mut uploads = emu.store.uploads.lock().unwrap_or_else(|e| e.into_inner());
        match uploads.get_mut(id) {
            Some(u) if u.phase == Phase::Finished => u.phase = Phase::Scanning,
            Some(u) => return wrong_state(u.phase),
            None => return not_found_upload(),
        }
    }
    let job = scan::Job {
        id: id.to_owned(),
        engine,
        webhook,
        metadata: request_metadata.unwrap_or_default(),
    };
    if emu.scans.try_send(job).is_err() {
        return error(
            503,
            50300,
            "Service Unavailable",
            "scan queue is full; retry later",
        );
    }
    json_resp(
        200,
        &ScanResponse {
            id: id.to_owned(),
            message: "scan initiated".into(),
        },
    )
}
