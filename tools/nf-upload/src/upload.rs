//! One file through Nightfall's flow: checks that end in a `skipped`
//! record (never a hang on a FIFO, never silence), the chunked upload,
//! detection of a file that changes while it is uploaded, and the scan
//! request whose `requestMetadata` names the file for the webhook side.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dlp_record::path_field;
use dlp_record::{EventType, ScanRequest, ScanStatus};
use nfapi::RequestMetadata;
use sha2::Digest;

use crate::api::{Api, ApiError};

/// What the workers share.
pub struct Ctx {
    pub api: Api,
    /// The scan request without `requestMetadata`.
    pub request: nfapi::FileScanRequest,
    pub max_size: u64,
    pub dedupe_window: Duration,
    pub seen: Mutex<HashMap<(Vec<u8>, String), Instant>>,
    pub host: String,
}

/// One file to consider.
pub struct Job {
    pub path: std::path::PathBuf,
    pub event_type: Option<EventType>,
}

fn record(job: &Job, status: ScanStatus) -> ScanRequest {
    let (path, path_b64) = path_field(&job.path);
    ScanRequest {
        status,
        upload_id: None,
        path,
        path_b64,
        size: None,
        sha256: None,
        timestamp: dlp_record::time::now_rfc3339(),
        reason: None,
        error: None,
        event_type: job.event_type,
    }
}

/// A `skipped` record with `reason`.
pub fn skipped(job: &Job, reason: impl Into<String>) -> ScanRequest {
    ScanRequest {
        reason: Some(reason.into()),
        ..record(job, ScanStatus::Skipped)
    }
}

fn failed(
    job: &Job,
    size: Option<u64>,
    sha: Option<String>,
    error: impl Into<String>,
) -> ScanRequest {
    ScanRequest {
        size,
        sha256: sha,
        error: Some(error.into()),
        ..record(job, ScanStatus::Failed)
    }
}

fn kind_name(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "not a regular file"
    }
}

/// Hash of the file's current content, streamed.
fn hash(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = dlp_record::hash::open_regular(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, dlp_record::hash::hex(&h.finalize())))
}

/// Runs the whole flow for one file and returns its record.
pub fn process(ctx: &Ctx, job: &Job) -> ScanRequest {
    let meta = match std::fs::metadata(&job.path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return skipped(job, "vanished"),
        Err(e) => return skipped(job, format!("unreadable: {e}")),
    };
    if !meta.is_file() {
        return skipped(job, kind_name(meta.file_type()));
    }
    if meta.len() == 0 {
        return skipped(job, "empty");
    }
    if meta.len() > ctx.max_size {
        return skipped(
            job,
            format!(
                "larger than --max-size ({} > {} bytes)",
                meta.len(),
                ctx.max_size
            ),
        );
    }
    let (mut size, mut sha) = match hash(&job.path) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return skipped(job, "vanished"),
        Err(e) => return skipped(job, format!("unreadable: {e}")),
    };
    if size == 0 {
        return skipped(job, "empty");
    }
    if is_duplicate(ctx, job, &sha) {
        return ScanRequest {
            size: Some(size),
            sha256: Some(sha),
            ..skipped(
                job,
                "duplicate: same content uploaded within --dedupe-window",
            )
        };
    }
    // A file that changes while it is uploaded is hashed and uploaded again
    // (twice at most); what Nightfall scans is then exactly what the record
    // describes.
    for attempt in 1..=3 {
        let why = match upload(ctx, job, size, &sha) {
            Ok(Outcome::Scanned(id)) => {
                return ScanRequest {
                    upload_id: Some(id),
                    size: Some(size),
                    sha256: Some(sha),
                    ..record(job, ScanStatus::ScanInitiated)
                }
            }
            Ok(Outcome::Changed(why)) => why,
            Err(e) => return failed(job, Some(size), Some(sha), e.0),
        };
        forget(ctx, job, &sha);
        if attempt == 3 {
            return failed(
                job,
                Some(size),
                Some(sha),
                format!("file kept changing during upload ({why})"),
            );
        }
        eprintln!(
            "nf-upload: {}: changed during upload ({why}); uploading it again",
            job.path.display()
        );
        (size, sha) = match hash(&job.path) {
            Ok(v) if v.0 > 0 => v,
            Ok(_) => return skipped(job, "empty"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return skipped(job, "vanished"),
            Err(e) => return skipped(job, format!("unreadable: {e}")),
        };
        if size > ctx.max_size {
            return skipped(
                job,
                format!("larger than --max-size ({size} > {} bytes)", ctx.max_size),
            );
        }
        is_duplicate(ctx, job, &sha);
    }
    unreachable!("the loop returns on its last attempt")
}

/// Records (path, sha256) as uploaded now; true when it already was
/// within the dedupe window.
fn is_duplicate(ctx: &Ctx, job: &Job, sha: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if ctx.dedupe_window.is_zero() {
        return false;
    }
    let key = (job.path.as_os_str().as_bytes().to_vec(), sha.to_owned());
    let mut seen = ctx.seen.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    seen.retain(|_, t| now.duration_since(*t) < ctx.dedupe_window);
    seen.insert(key, now).is_some()
}

fn forget(ctx: &Ctx, job: &Job, sha: &str) {
    use std::os::unix::ffi::OsStrExt;
    let key = (job.path.as_os_str().as_bytes().to_vec(), sha.to_owned());
    ctx.seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key);
}

enum Outcome {
    Scanned(String),
    Changed(String),
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn upload(ctx: &Ctx, job: &Job, size: u64, sha: &str) -> Result<Outcome, ApiError> {
    let io = |e: std::io::Error| ApiError(format!("reading {}: {e}", job.path.display()));
    let mut f = dlp_record::hash::open_regular(&job.path).map_err(io)?;
    let up = ctx.api.init(size)?;
    let chunk = usize::try_from(up.chunk_size)
        .unwrap_or(usize::MAX)
        .clamp(1, 64 << 20);
    if (chunk as u64) < up.chunk_size {
        return Err(ApiError(format!(
            "chunkSize {} is larger than this client supports",
            up.chunk_size
        )));
    }
    let mut buf = vec![0u8; chunk.min(size as usize)];
    let mut h = sha2::Sha256::new();
    let mut offset = 0u64;
    while offset < size {
        let want = (size - offset).min(chunk as u64) as usize;
        let n = read_full(&mut f, &mut buf[..want]).map_err(io)?;
        if n < want {
            return Ok(Outcome::Changed(format!("it shrank below {size} bytes")));
        }
        h.update(&buf[..n]);
        ctx.api.chunk(&up.id, offset, &buf[..n])?;
        offset += n as u64;
    }
    let mut probe = [0u8; 1];
    if read_full(&mut f, &mut probe).map_err(io)? > 0 {
        return Ok(Outcome::Changed(format!("it grew beyond {size} bytes")));
    }
    if dlp_record::hash::hex(&h.finalize()) != sha {
        return Ok(Outcome::Changed("its content changed".into()));
    }
    ctx.api.finish(&up.id)?;
    let (path, path_b64) = path_field(&job.path);
    let mut meta = RequestMetadata {
        path,
        path_b64,
        sha256: sha.to_owned(),
        size,
        host: ctx.host.clone(),
    };
    let encoded = meta.encode().or_else(|| {
        meta.path_b64 = None;
        meta.encode()
    });
    let request = nfapi::FileScanRequest {
        request_metadata: encoded,
        ..ctx.request.clone()
    };
    ctx.api.scan(&up.id, &request).map(Outcome::Scanned)
}
