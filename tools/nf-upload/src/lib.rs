//! `nf-upload`: FsEvent records in, Nightfall file scans out.
//!
//! For each event about a regular file with possibly new content it runs
//! Nightfall's upload flow (init, chunks, finish, scan with a webhook) and
//! writes one ScanRequest record: `scan_initiated` with the upload id,
//! `skipped` with a reason, or `failed` with the error, so that nothing is
//! lost silently and failures can be fed again.

mod api;
mod upload;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{bounded, RecvTimeoutError};
use dlp_core::ndjson::Line;
use dlp_core::{Confidence, ExitCode, FsEvent, LineReader, RecordWriter, ScanStatus};

use upload::{Ctx, Job};

const TOOL: &str = "nf-upload";

const LONG_ABOUT: &str = "\
Upload files named by FsEvent records to Nightfall and request a scan whose
results are delivered to your webhook (receive them with nf-webhook).

For each created, modified, moved or closed event about a regular file it
runs POST /v3/upload, PATCH chunks of the returned chunkSize, POST finish
and POST scan, and writes a ScanRequest record: status scan_initiated (with
upload_id), skipped (with reason: deleted, directory, FIFO, empty, vanished,
unreadable, too large, duplicate) or failed (with error), so failures can be
fed again: jq -c 'select(.status==\"failed\") | {event_type:\"modified\",src_path:.path}'.

Environment:
  NIGHTFALL_API_KEY     API key (required; never printed)
  NIGHTFALL_SERVER_URL  public base URL of your nf-webhook; /ingest is appended
  NIGHTFALL_API_URL     API base URL (default https://api.nightfall.ai; nf-emulator for tests)

The scan policy is the endpoint-DLP tutorial's rule (CREDIT_CARD_NUMBER,
US_SOCIAL_SECURITY_NUMBER, API_KEY at LIKELY) unless --detector, --rules or
--policy-uuid say otherwise. requestMetadata carries the file's path, sha256,
size and host name, so the webhook side knows which file findings belong to.

Examples:
  fswatch-json ~/Downloads | path-filter --preset ignore-temp | nf-upload
  find ~/Documents -type f -print0 | nf-upload --paths -0 --concurrency 4
  nf-upload --max-size 100M --timeout 2m events-1.ndjson events-2.ndjson
  nf-upload --rules rules.json --webhook-url https://hooks.example.com/ingest < events.ndjson";

/// Command-line arguments.
#[derive(Debug, clap::Parser)]
#[command(name = TOOL, version, about = "Upload changed files to Nightfall for scanning", long_about = LONG_ABOUT)]
pub struct Cli {
    /// Files to read, in order: FsEvent records, or path lists with --paths (- or none: stdin)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read one file path per line instead of FsEvent records
    #[arg(long)]
    pub paths: bool,
    /// With --paths: paths are separated by NUL bytes (find -print0)
    #[arg(short = '0', long, requires = "paths")]
    pub null: bool,
    /// Webhook for results (default: $NIGHTFALL_SERVER_URL/ingest)
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Scan with this Nightfall detector (repeatable or comma-separated)
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub detector: Vec<String>,
    /// Minimum confidence for --detector rules
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "LIKELY",
        value_enum,
        ignore_case = true
    )]
    pub min_confidence: Confidence,
    /// Nightfall detectionRules JSON (the same file pii-scan --rules reads)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["detector", "policy_uuid"])]
    pub rules: Option<PathBuf>,
    /// Use a policy configured in Nightfall instead of inline rules
    #[arg(long, value_name = "UUID", conflicts_with = "detector")]
    pub policy_uuid: Option<String>,
    /// Skip files larger than (e.g. 64K, 500M, 1G; bare number: bytes)
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = dlp_core::units::size)]
    pub max_size: u64,
    /// Upload identical (path, sha256) pairs only once within (0: off) (e.g. 30s, 5m; bare number: seconds)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = dlp_core::units::secs)]
    pub dedupe_window: std::time::Duration,
    /// Files uploaded in parallel
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// API requests per second across all uploads (Nightfall's free plan: 5; 0: no limit)
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    pub rate: f64,
    /// Requests allowed in a burst above --rate (Nightfall's free plan: 15)
    #[arg(long, value_name = "N", default_value_t = 15.0)]
    pub burst: f64,
    /// Attempts per API request before the file is reported failed
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub attempts: u32,
    /// Time-out of one HTTP request (e.g. 30s, 5m; bare number: seconds)
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_core::units::secs)]
    pub timeout: std::time::Duration,
    /// Treat a malformed input line as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
}

/// The scan request body (policy part) from the command line.
fn policy(cli: &Cli) -> anyhow::Result<serde_json::Value> {
    if let Some(uuid) = &cli.policy_uuid {
        // A policyUUID request carries no policy of its own (the API takes
        // exactly one of the two): the policy's alert configuration applies.
        if let Some(url) = webhook(cli)? {
            eprintln!("{TOOL}: --policy-uuid given: results go where the policy's alert configuration says, not to {url}");
        }
        return Ok(serde_json::json!({ "policyUUID": uuid }));
    }
    let url = webhook(cli)?.context(
        "no webhook for results: set NIGHTFALL_SERVER_URL (the public URL of nf-webhook; /ingest is appended) or pass --webhook-url",
    )?;
    let rules = match (&cli.rules, cli.detector.is_empty()) {
        (Some(path), _) => detect::load_rules(path)?,
        (None, false) => detect::shorthand_rules(&cli.detector, cli.min_confidence)?,
        (None, true) => vec![detect::tutorial_rule()],
    };
    anyhow::ensure!(
        rules.len() <= 10,
        "a file scan policy takes at most 10 detection rules ({} given)",
        rules.len()
    );
    Ok(serde_json::json!({ "policy": { "webhookURL": url, "detectionRules": rules } }))
}

fn webhook(cli: &Cli) -> anyhow::Result<Option<String>> {
    let url = match &cli.webhook_url {
        Some(u) => u.clone(),
        None => match std::env::var("NIGHTFALL_SERVER_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(base) => format!("{}/ingest", base.trim_end_matches('/')),
            None => return Ok(None),
        },
    };
    anyhow::ensure!(
        url.starts_with("https://") || url.starts_with("http://"),
        "webhook URL must be an http(s) URL (Nightfall requires https)"
    );
    Ok(Some(url))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Turns one input line into a job, a skip record, or a reject reason.
fn to_job(cli: &Cli, line: &[u8]) -> Result<Result<Job, (Job, String)>, String> {
    if cli.paths {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(line));
        return Ok(Ok(Job {
            path: p.to_path_buf(),
            event_type: None,
        }));
    }
    let ev: FsEvent =
        serde_json::from_slice(line).map_err(|e| format!("not an FsEvent record: {e}"))?;
    let job = Job {
        path: ev.subject(),
        event_type: Some(ev.event_type),
    };
    if !ev.event_type.may_have_new_content() {
        return Ok(Err((job, format!("event_type {}", ev.event_type.as_str()))));
    }
    if ev.is_directory {
        return Ok(Err((job, "directory".into())));
    }
    Ok(Ok(job))
}

type Out = Arc<Mutex<RecordWriter<std::io::Stdout>>>;

fn emit(out: &Out, rec: &dlp_core::ScanRequest) -> anyhow::Result<()> {
    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
    w.record(rec)?;
    w.flush()
}

/// Runs the uploader over `input`.
pub fn run(cli: &Cli, input: impl Read + Send + 'static) -> anyhow::Result<ExitCode> {
    let key = std::env::var("NIGHTFALL_API_KEY")
        .ok()
        .filter(|s| !s.is_empty())
        .context("NIGHTFALL_API_KEY is not set (it is read from the environment only)")?;
    let base = std::env::var("NIGHTFALL_API_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "https://api.nightfall.ai".into());
    let policy = policy(cli)?;
    let ctx = Arc::new(Ctx {
        api: api::Api::new(
            &base,
            key,
            cli.timeout.max(Duration::from_secs(1)),
            cli.attempts,
            cli.rate,
            cli.burst,
        ),
        policy,
        max_size: cli.max_size,
        dedupe_window: cli.dedupe_window,
        seen: Mutex::default(),
        host: host_name(),
    });
    dlp_core::signals::install()?;
    let out: Out = Arc::new(Mutex::new(RecordWriter::new(std::io::stdout())));
    let failed = Arc::new(AtomicBool::new(false));
    let fatal: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();

    let terminator = if cli.null { b'\0' } else { b'\n' };
    // Input on its own thread, so a signal is noticed while stdin is quiet.
    let (line_tx, line_rx) = bounded::<Result<Option<Vec<u8>>, String>>(64);
    std::thread::spawn(move || {
        let mut reader = LineReader::new(input).with_terminator(terminator);
        loop {
            let msg = match reader.next_line() {
                Ok(Some(Line::Text(t))) => Ok(Some(t.to_vec())),
                Ok(Some(Line::TooLong(n))) => {
                    Err(format!("line of {n} bytes exceeds the line-length limit"))
                }
                Ok(None) => break,
                Err(e) => Err(format!("reading input: {e}")),
            };
            if line_tx.send(msg).is_err() {
                return;
            }
        }
    });

    let (job_tx, job_rx) = bounded::<Job>(cli.concurrency.max(1));
    let mut workers = Vec::new();
    for _ in 0..cli.concurrency.max(1) {
        let (ctx, out, rx, failed, fatal) = (
            ctx.clone(),
            out.clone(),
            job_rx.clone(),
            failed.clone(),
            fatal.clone(),
        );
        workers.push(std::thread::spawn(move || {
            for job in rx {
                let rec = if dlp_core::signals::requested() {
                    upload::skipped(&job, "interrupted before upload; feed it again")
                } else {
                    upload::process(&ctx, &job)
                };
                if rec.status == ScanStatus::Failed {
                    failed.store(true, Ordering::SeqCst);
                    eprintln!(
                        "{TOOL}: {}: {}",
                        rec.path,
                        rec.error.as_deref().unwrap_or("")
                    );
                }
                if let Err(e) = emit(&out, &rec) {
                    *fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    return;
                }
            }
        }));
    }

    let mut line_no = 0u64;
    let mut rejected = false;
    loop {
        if dlp_core::signals::requested()
            || fatal.lock().unwrap_or_else(|p| p.into_inner()).is_some()
        {
            break;
        }
        let msg = match line_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        line_no += 1;
        let line = match msg {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(why) => {
                if cli.strict {
                    anyhow::bail!("line {line_no}: {why}");
                }
                eprintln!("{TOOL}: line {line_no}: {why}");
                rejected = true;
                continue;
            }
        };
        if line.is_empty() || (!cli.null && line.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        match to_job(cli, &line) {
            Ok(Ok(job)) => {
                if job_tx.send(job).is_err() {
                    break;
                }
            }
            Ok(Err((job, reason))) => emit(&out, &upload::skipped(&job, reason))?,
            Err(why) => {
                if cli.strict {
                    anyhow::bail!("line {line_no}: {why}");
                }
                eprintln!("{TOOL}: line {line_no}: {why}");
                rejected = true;
            }
        }
    }
    drop(job_tx);
    for w in workers {
        let _ = w.join();
    }
    if let Some(e) = fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    out.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
    Ok(ExitCode::from_rejected(
        rejected || failed.load(Ordering::SeqCst),
    ))
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `nf-upload` binary.
pub fn main() -> std::process::ExitCode {
    let cli: Cli = dlp_core::cli::parse(TOOL, command());
    dlp_core::run_main(TOOL, || {
        let terminator = if cli.null { b'\0' } else { b'\n' };
        run(
            &cli,
            dlp_core::cli::Inputs::open_with(&cli.files, terminator)?,
        )
    })
}
