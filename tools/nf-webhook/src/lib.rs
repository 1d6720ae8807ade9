//! nf-webhook: the receiving half of Nightfall's endpoint-DLP design.
//!
//! Nightfall POSTs a signed notification to `/ingest` when a file scan
//! completes. We verify it (signature, freshness, replay), store it durably
//! in a spool, answer 200, and let fetch workers turn its findings into
//! Finding records on stdout, so `nf-webhook | findings-csv >> results.csv`
//! replaces the tutorial's Flask app. Module map: [`server`] (HTTP),
//! [`verify`] (who may post), [`commit`] (group commit to the spool),
//! [`batch`] (a spool entry's items), [`worker`] (spool item to records),
//! [`fetch`] (findings URL), [`output`] (the single stdout writer).

pub mod batch;
pub mod commit;
pub mod fetch;
pub mod http;
pub mod output;
pub mod server;
pub mod verify;
pub mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use dlp_core::spool::Spool;
use dlp_core::ExitCode;

const TOOL: &str = "nf-webhook";

/// How far ahead of our clock a sender's timestamp may be (clock skew).
const FUTURE_SKEW_SECS: u64 = 30;

const LONG_ABOUT: &str = "\
Receive Nightfall's file-scan result webhooks and emit one Finding record per finding.

Serves GET /ping (health check) and POST /ingest. The challenge handshake is
answered with the bare challenge value. Every other POST must carry a valid
X-Nightfall-Signature over \"<X-Nightfall-Timestamp>:<body>\" made with the
signing secret in NIGHTFALL_SIGNING_SECRET (required; read from the
environment only, never printed). Timestamps older than --tolerance or more
than 30 s in the future, and signatures already seen, are refused.

An accepted result is stored in the spool directory before it is answered
200 (results arriving together share one fsync'd spool file: group commit);
workers then fetch its findings (https only; plain http to loopback
hosts for local testing), write the records, and only then delete the entry.
Entries left by a crash or kill are replayed on start. Entries that can never
succeed (expired URL, bad document) move to <spool>/failed.

Examples:
  NIGHTFALL_SIGNING_SECRET=... nf-webhook | findings-csv >> results.csv
  nf-webhook --listen 0.0.0.0:8000 --spool /var/lib/dlp-pipes/nf-webhook > findings.ndjson
  curl -s localhost:8000/ping";

/// Command line.
#[derive(Debug, Parser)]
#[command(name = TOOL, version, about = "Verified, durable receiver for Nightfall scan-result webhooks", long_about = LONG_ABOUT)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,
    /// Spool directory for accepted results [default: $XDG_STATE_HOME/dlp-pipes/nf-webhook].
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Oldest accepted X-Nightfall-Timestamp, in seconds before now.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub tolerance: u64,
    /// Largest accepted request body in bytes (larger gets 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,
    /// Largest findings document fetched, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_findings_bytes: u64,
    /// Request handler threads.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Findings fetch workers.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,
    /// Time limit for one findings fetch attempt, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub fetch_timeout: u64,
    /// Signatures remembered for replay detection (when full, new results get 503).
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub replay_cache: usize,
    /// On SIGTERM/SIGINT, how long to wait for fetches in progress, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub drain_timeout: u64,
    /// Test hook: one spool writer, which waits (up to 10 s) for this many
    /// results before a write.
    #[arg(long, value_name = "N", default_value_t = 1, hide = true)]
    pub commit_min_batch: usize,
}

/// Most results written to the spool with one fsync.
const COMMIT_MAX_ITEMS: usize = 256;

/// Bytes of results written to the spool with one fsync (one result more
/// may go over, so a single result up to --max-body always fits).
const COMMIT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Spool writer threads. Two let one batch be written while the previous
/// one waits for its fsync (ext4 folds both into one journal commit when
/// they overlap): ~40% more webhooks/s than one on this project's 2-core
/// benchmark machine, and a third added nothing.
const COMMITTERS: usize = 2;

/// Queued results waiting for the committer, per handler thread.
const COMMIT_QUEUE_PER_HANDLER: usize = 64;

/// State shared by the handler threads and the fetch workers.
pub struct Ctx {
    pub verifier: verify::Verifier,
    pub spool: Spool,
    pub dead: Spool,
    pub jobs: crossbeam_channel::Sender<worker::Job>,
    pub out: output::Output,
    pub fetcher: fetch::Fetcher,
    pub max_body: usize,
    stop: AtomicBool,
    drain: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
}

impl Ctx {
    /// Prints a diagnostic line on stderr.
    pub fn log(&self, msg: &str) {
        eprintln!("{TOOL}: {msg}");
    }

    /// True once the server should stop accepting requests.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// True once workers should finish the job in hand and take no more.
    pub fn draining(&self) -> bool {
        self.drain.load(Ordering::SeqCst)
    }

    /// Records a fatal error (e.g. stdout failed) and starts shutdown.
    pub fn fail(&self, err: anyhow::Error) {
        let mut f = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert(err);
        self.stop.store(true, Ordering::SeqCst);
        self.drain.store(true, Ordering::SeqCst);
    }

    /// Sleeps up to `d`; false if shutdown began meanwhile.
    pub fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while !self.draining() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        false
    }
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Entry point for the binary.
pub fn main() -> std::process::ExitCode {
    dlp_core::run_main(TOOL, || run(Args::parse()))
}

fn signing_secret() -> anyhow::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    match std::env::var_os("NIGHTFALL_SIGNING_SECRET") {
        Some(v) if !v.is_empty() => Ok(v.into_vec()),
        _ => bail!(
            "NIGHTFALL_SIGNING_SECRET is not set: export the webhook signing secret from the Nightfall \
             dashboard (Developer Platform > Manage API Keys > Webhook signing)"
        ),
    }
}

/// Runs the server until SIGINT/SIGTERM or a fatal output error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let secret = signing_secret()?;
    if let Some(dir) = &args.spool {
        // A spool named on the command line is not created as a whole tree.
        dlp_core::spool::check_spool_dir(dir, "--spool")?;
    }
    let spool_dir = args
        .spool
        .clone()
        .unwrap_or_else(|| dlp_core::spool::default_state_dir(TOOL));
    let spool = Spool::open(&spool_dir)
        .with_context(|| format!("opening spool {}", spool_dir.display()))?;
    let dead = Spool::open(spool_dir.join("failed"))
        .with_context(|| format!("opening {}/failed", spool_dir.display()))?;
    dlp_core::signals::install().context("installing signal handlers")?;
    let listener = std::net::TcpListener::bind(&args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr().context("listening socket")?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let ctx = Arc::new(Ctx {
        verifier: verify::Verifier::new(
            secret,
            args.tolerance,
            FUTURE_SKEW_SECS,
            args.replay_cache,
        ),
        spool,
        dead,
        jobs: tx,
        out: output::Output::stdout(),
        fetcher: fetch::Fetcher::new(
            Duration::from_secs(args.fetch_timeout.max(1)),
            args.max_findings_bytes,
        ),
        max_body: args.max_body,
        stop: AtomicBool::new(false),
        drain: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });

    let (pending, items) = worker::load_spool(&ctx).context("reading the spool")?;
    if items > 0 {
        ctx.log(&format!(
            "replaying {items} spooled result(s) from {} ({} file(s))",
            spool_dir.display(),
            pending.len()
        ));
    }
    for batch in pending {
        for index in 0..batch.len() {
            let _ = ctx.jobs.send(worker::Job {
                batch: batch.clone(),
                index,
            });
        }
    }
    let workers: Vec<_> = (0..args.workers)
        .map(|i| {
            let (ctx, rx) = (ctx.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("fetch-{i}"))
                .spawn(move || worker::run(&ctx, rx))
        })
        .collect::<Result<_, _>>()
        .context("starting fetch workers")?;
    let (commit_tx, commit_rx) =
        crossbeam_channel::bounded(usize::from(args.threads) * COMMIT_QUEUE_PER_HANDLER);
    let lim = commit::Limits {
        max_items: COMMIT_MAX_ITEMS,
        max_bytes: COMMIT_MAX_BYTES,
        min_items: args.commit_min_batch.max(1),
    };
    // The test hook needs one committer, or another would take part of
    // the batch it waits for.
    let ncommit = if lim.min_items > 1 { 1 } else { COMMITTERS };
    let committers: Vec<_> = (0..ncommit)
        .map(|i| {
            let (ctx, rx) = (ctx.clone(), commit_rx.clone());
            std::thread::Builder::new()
                .name(format!("commit-{i}"))
                .spawn(move || commit::run(&ctx, rx, lim))
        })
        .collect::<Result<_, _>>()
        .context("starting the spool writer")?;
    drop(commit_rx);
    let (conn_tx, conn_rx) = crossbeam_channel::bounded(usize::from(args.threads) * 64);
    let handlers: Vec<_> = (0..args.threads)
        .map(|i| {
            let (ctx, rx, commits) = (ctx.clone(), conn_rx.clone(), commit_tx.clone());
            std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || server::handler_loop(&ctx, rx, commits))
        })
        .collect::<Result<_, _>>()
        .context("starting request handlers")?;
    drop((conn_rx, commit_tx));
    let acceptor = {
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || server::accept_loop(&ctx, listener, conn_tx))
            .context("starting the acceptor")?
    };
    ctx.log(&format!(
        "listening on http://{addr} (spool {})",
        spool_dir.display()
    ));

    while !dlp_core::signals::requested() && !ctx.stopping() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stop accepting and close the listener; handlers answer every
    // connection already accepted (spooling what is valid), then exit.
    ctx.stop.store(true, Ordering::SeqCst);
    http::wake(addr);
    let _ = acceptor.join();
    for h in handlers {
        let _ = h.join();
    }
    // The handlers' senders are gone: the committer writes and answers
    // what is queued, then returns.
    let st = committers.into_iter().filter_map(|c| c.join().ok()).fold(
        commit::Stats::default(),
        |a, b| commit::Stats {
            items: a.items + b.items,
            writes: a.writes + b.writes,
            largest: a.largest.max(b.largest),
        },
    );
    {
        if st.writes > 0 {
            ctx.log(&format!(
                "spooled {} result(s) in {} write(s) (largest batch {})",
                st.items, st.writes, st.largest
            ));
        }
    }
    // Workers finish the fetch in hand; queued entries stay in the spool.
    ctx.drain.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    while workers.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if workers.iter().any(|w| !w.is_finished()) {
        ctx.log(
            "drain time-out: fetches still in progress are left in the spool for the next start",
        );
    }
    let closed = ctx.out.close();
    if let Some(err) = ctx.fatal.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(err);
    }
    closed?;
    Ok(ExitCode::Ok)
}
