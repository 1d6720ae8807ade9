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
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use dlp_record::{Confidence, FsEvent, ScanStatus};
use dlp_runtime::{ExitCode, RecordReader, Rejects};
use nfapi::{FileScanRequest, ScanPolicy};

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
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = dlp_runtime::units::size)]
    pub max_size: u64,
    /// Upload identical (path, sha256) pairs only once within (0: off) (e.g. 30s, 5m; bare number: seconds)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = dlp_runtime::units::secs)]
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
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_runtime::units::secs)]
    pub timeout: std::time::Duration,
    /// Treat a malformed input line as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// Check that the API answers and accepts the key (one request), say so, and exit 0 or 2; reads no input
    #[arg(long)]
    pub preflight: bool,
    #[command(flatten)]
    pub host: dlp_runtime::cli::HostArg,
}

/// The scan request, without `requestMetadata`, from the command line:
/// a saved policy's UUID, or an inline policy with the webhook and the
/// rules (`--rules`, `--detector`, or the tutorial's rule).
fn scan_request(cli: &Cli) -> anyhow::Result<FileScanRequest> {
    if let Some(uuid) = &cli.policy_uuid {
        // A policyUUID request carries no policy of its own (the API takes
        // exactly one of the two): the policy's alert configuration applies.
        if let Some(url) = webhook(cli)? {
            eprintln!("{TOOL}: --policy-uuid given: results go where the policy's alert configuration says, not to {url}");
        }
        return Ok(FileScanRequest {
            policy_uuid: Some(uuid.clone()),
            ..FileScanRequest::default()
        });
    }
    let url = webhook(cli)?.context(
        "no webhook for results: set NIGHTFALL_SERVER_URL (the public URL of nf-webhook; /ingest is appended) or pass --webhook-url",
    )?;
    let rules = match (&cli.rules, cli.detector.is_empty()) {
        (Some(path), _) => nfapi::load_rules(path)?,
        // Nightfall runs every documented detector, not only those
        // pii-scan implements offline.
        (None, false) => nfapi::shorthand_rules(
            &cli.detector,
            cli.min_confidence,
            nfapi::NIGHTFALL_DETECTORS,
        )?,
        (None, true) => vec![nfapi::tutorial_rule()],
    };
    anyhow::ensure!(
        rules.len() <= nfapi::MAX_FILE_SCAN_RULES,
        "a file scan policy takes at most {} detection rules ({} given)",
        nfapi::MAX_FILE_SCAN_RULES,
        rules.len()
    );
    Ok(FileScanRequest {
        policy: Some(ScanPolicy::inline(url, rules)),
        ..FileScanRequest::default()
    })
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

/// Turns one input line (a path with `--paths`) into a job, a skip
/// record, or a reject reason.
fn to_job(paths: bool, line: &[u8]) -> Result<Result<Job, (Job, String)>, String> {
    if paths {
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

/// What the input loop and the workers share: the record writer, whether
/// a file failed, and the first output error (fatal).
struct Shared {
    out: dlp_runtime::SharedOutput,
    failed: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
}

impl Shared {
    /// Writes and flushes one record; an error once output has failed.
    fn emit(&self, rec: &dlp_record::ScanRequest) -> anyhow::Result<()> {
        match self.out.batch(|w| w.record(rec))? {
            dlp_runtime::Emitted::Done => Ok(()),
            dlp_runtime::Emitted::Closed => anyhow::bail!("output closed"),
        }
    }

    fn has_fatal(&self) -> bool {
        self.fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

/// What the input thread hands over: a file to upload, an event to report
/// as skipped, or why the input ended early (a read error, a rejected line
/// under `--strict`).
enum Item {
    Upload(Job),
    Skip(Job, String),
    Fatal(anyhow::Error),
}

/// Runs the uploader over `input`, in phases: the context (credentials,
/// scan request), the input thread, the upload workers, the loop that
/// feeds them, and the drain that waits for them and reports.
pub fn run(cli: &Cli, input: impl Read + Send + 'static) -> anyhow::Result<ExitCode> {
    let ctx = Arc::new(context(cli)?);
    dlp_runtime::signals::install()?;
    let shared = Arc::new(Shared {
        out: dlp_runtime::SharedOutput::stdout(),
        failed: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    let rejects = Rejects::new(TOOL, cli.strict);
    let items = read_input(cli, input, rejects.clone());
    let (jobs, workers) = start_workers(cli, &ctx, &shared);
    feed(&items, &jobs, &shared)?;
    drop(jobs);
    drain(workers, &shared, rejects.count() > 0)
}

/// The API client: the key from the environment, the base URL (or
/// `NIGHTFALL_API_URL`), the flags' limits.
fn client(cli: &Cli) -> anyhow::Result<api::Api> {
    let key = std::env::var("NIGHTFALL_API_KEY")
        .ok()
        .filter(|s| !s.is_empty())
        .context("NIGHTFALL_API_KEY is not set (it is read from the environment only)")?;
    let base = std::env::var("NIGHTFALL_API_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "https://api.nightfall.ai".into());
    Ok(api::Api::new(
        &base,
        key,
        cli.timeout.max(Duration::from_secs(1)),
        cli.attempts,
        cli.rate,
        cli.burst,
    ))
}

/// `--preflight`: one test request, its verdict on stderr.
pub fn preflight(cli: &Cli) -> anyhow::Result<ExitCode> {
    let verdict = client(cli)?
        .preflight()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("{TOOL}: {verdict}");
    Ok(ExitCode::Ok)
}

/// Phase 1: the API client and the scan request every upload shares.
fn context(cli: &Cli) -> anyhow::Result<Ctx> {
    let request = scan_request(cli)?;
    Ok(Ctx {
        api: client(cli)?,
        request,
        max_size: cli.max_size,
        dedupe_window: cli.dedupe_window,
        seen: Mutex::default(),
        host: dlp_record::host::this().unwrap_or_default().to_owned(),
    })
}

/// Phase 2: input on its own thread, so a signal is noticed while stdin
/// is quiet: records (ended by NUL with `--paths -0`) become jobs, skip
/// records or rejected lines.
fn read_input(cli: &Cli, input: impl Read + Send + 'static, rejects: Rejects) -> Receiver<Item> {
    let (tx, rx) = bounded::<Item>(64);
    let paths = cli.paths;
    let terminator = if cli.null { b'\0' } else { b'\n' };
    std::thread::spawn(move || {
        let mut reader = RecordReader::new(input, rejects).with_terminator(terminator);
        let fatal = loop {
            let line = match reader.next_record() {
                Ok(Some(line)) => line,
                Ok(None) => return,
                Err(e) => break e,
            };
            let item = match to_job(paths, line) {
                Ok(Ok(job)) => Item::Upload(job),
                Ok(Err((job, reason))) => Item::Skip(job, reason),
                Err(why) => match reader.reject(&why) {
                    Ok(()) => continue,
                    Err(e) => break e,
                },
            };
            if tx.send(item).is_err() {
                return;
            }
        };
        let _ = tx.send(Item::Fatal(fatal));
    });
    rx
}

/// Phase 3: `--concurrency` workers, each taking files from the returned
/// channel through the whole upload flow and writing one record per file.
fn start_workers(
    cli: &Cli,
    ctx: &Arc<Ctx>,
    shared: &Arc<Shared>,
) -> (Sender<Job>, Vec<JoinHandle<()>>) {
    let (job_tx, job_rx) = bounded::<Job>(cli.concurrency.max(1));
    let workers = (0..cli.concurrency.max(1))
        .map(|_| {
            let (ctx, shared, rx) = (ctx.clone(), shared.clone(), job_rx.clone());
            std::thread::spawn(move || {
                for job in rx {
                    let rec = if dlp_runtime::signals::requested() {
                        upload::skipped(&job, "interrupted before upload; feed it again")
                    } else {
                        upload::process(&ctx, &job)
                    };
                    if rec.status == ScanStatus::Failed {
                        shared.failed.store(true, Ordering::SeqCst);
                        eprintln!(
                            "{TOOL}: {}: {}",
                            rec.path,
                            rec.error.as_deref().unwrap_or("")
                        );
                    }
                    if let Err(e) = shared.emit(&rec) {
                        // The first output error is the one reported.
                        shared
                            .fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        return;
                    }
                }
            })
        })
        .collect();
    (job_tx, workers)
}

/// Phase 4: hands the input's jobs to the workers (and writes its skip
/// records) until the input ends, a signal arrives or output fails.
fn feed(items: &Receiver<Item>, jobs: &Sender<Job>, shared: &Shared) -> anyhow::Result<()> {
    loop {
        if dlp_runtime::signals::requested() || shared.has_fatal() {
            return Ok(());
        }
        let item = match items.recv_timeout(Duration::from_millis(200)) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        match item {
            Item::Upload(job) => {
                if jobs.send(job).is_err() {
                    return Ok(());
                }
            }
            Item::Skip(job, reason) => shared.emit(&upload::skipped(&job, reason))?,
            Item::Fatal(e) => return Err(e),
        }
    }
}

/// Phase 5: waits for the workers to finish the files in hand, then
/// reports an output error or the exit status.
fn drain(
    workers: Vec<JoinHandle<()>>,
    shared: &Shared,
    rejected: bool,
) -> anyhow::Result<ExitCode> {
    for w in workers {
        let _ = w.join();
    }
    if let Some(e) = shared
        .fatal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    shared.out.close()?;
    Ok(ExitCode::from_rejected(
        rejected || shared.failed.load(Ordering::SeqCst),
    ))
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `nf-upload` binary.
pub fn main() -> std::process::ExitCode {
    let cli: Cli = dlp_runtime::cli::parse(TOOL, command());
    cli.host.apply();
    dlp_runtime::run_main(TOOL, || {
        if cli.preflight {
            return preflight(&cli);
        }
        let terminator = if cli.null { b'\0' } else { b'\n' };
        run(
            &cli,
            dlp_runtime::cli::Inputs::open_with(&cli.files, terminator)?,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn request(args: &[&str]) -> anyhow::Result<FileScanRequest> {
        let cli = Cli::try_parse_from(
            ["nf-upload", "--webhook-url", "https://h.example/ingest"]
                .iter()
                .chain(args),
        )
        .unwrap();
        scan_request(&cli)
    }

    #[test]
    fn the_scan_request_follows_the_flags() {
        let tutorial = request(&[]).unwrap();
        let policy = tutorial.policy.as_ref().unwrap();
        assert_eq!(policy.webhook(), Some("https://h.example/ingest"));
        assert_eq!(policy.detection_rules, [nfapi::tutorial_rule()]);
        assert_eq!(tutorial.validate(), Ok(()));
        // Any documented Nightfall detector, also one pii-scan lacks.
        let r = request(&[
            "--detector",
            "person_name,API_KEY",
            "--min-confidence",
            "possible",
        ])
        .unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["policy"]["detectionRules"][0]["detectors"][0],
            serde_json::json!({"minNumFindings": 1, "minConfidence": "POSSIBLE",
                               "detectorType": "NIGHTFALL_DETECTOR", "nightfallDetector": "PERSON_NAME"})
        );
        let e = request(&["--detector", "NOT_A_DETECTOR"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown detector \"NOT_A_DETECTOR\""),
            "{e}"
        );
        let by_uuid = request(&["--policy-uuid", "p-1"]).unwrap();
        assert_eq!(
            serde_json::to_value(&by_uuid).unwrap(),
            serde_json::json!({"policyUUID": "p-1"})
        );
    }
}
