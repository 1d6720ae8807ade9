//! nf-webhook: the receiving half of Nightfall's endpoint-DLP design.
//!
//! Nightfall POSTs a signed notification to `/ingest` when a file scan
//! completes. We verify it (signature, freshness, replay), store it durably
//! in a spool, answer 200, and let fetch workers turn its findings into
//! Finding records on stdout, so `nf-webhook | findings-csv >> results.csv`
//! replaces the tutorial's Flask app. Module map: [`server`] (HTTP),
//! [`verify`] (who may post), [`commit`] (group commit to the spool),
//! [`batch`] (a spool entry's items), [`worker`] (spool item to records),
//! [`fetch`] (findings URL), [`dlp_runtime::SharedOutput`] (the single stdout writer).

pub mod batch;
pub mod commit;
pub mod fetch;
pub mod rejectlog;
pub mod replay;
pub mod server;
pub mod verify;
pub mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dlp_runtime::ExitCode;
use dlp_store::spool::Spool;

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
than 30 s in the future, and signatures already seen, are refused; seen
signatures are kept in <spool>/replay-cache, so a replay after a restart is
refused too. Refusals are logged in full for the first --log-burst per
source address and --log-interval, then counted in one summary line.

Slow clients cannot starve the server: connections are served by a small
event loop, at most --max-connections are open (the idlest is closed for a
new one), and a request's head must arrive within --head-timeout of the
connect and its body within --body-timeout of the head. On SIGTERM/SIGINT
the listening socket is closed, idle connections are closed at once, and
requests and fetches in progress get --drain-timeout to finish.

An accepted result is stored in the spool directory before it is answered
200 (results arriving together share one fsync'd spool file: group commit);
workers then fetch its findings (https only; plain http to loopback
hosts for local testing), write the records, and only then delete the entry.
Entries left by a crash or kill are replayed on start. Entries that can never
succeed (expired URL, bad document) move to <spool>/failed. One instance per
spool: a second one on the same directory fails at start (a lock).

Examples:
  NIGHTFALL_SIGNING_SECRET=... nf-webhook | findings-csv >> results.csv
  nf-webhook --listen 0.0.0.0:8000 --spool /var/lib/dlp-pipes/nf-webhook > findings.ndjson
  curl -s localhost:8000/ping";

/// Command line.
#[derive(Debug, clap::Parser)]
#[command(name = TOOL, version, about = "Verified, durable receiver for Nightfall scan-result webhooks", long_about = LONG_ABOUT)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,
    /// Spool directory for accepted results [default: $XDG_STATE_HOME/dlp-pipes/nf-webhook].
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Oldest accepted X-Nightfall-Timestamp before now (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = dlp_runtime::units::secs)]
    pub tolerance: std::time::Duration,
    /// Largest accepted request body; larger gets 413 (e.g. 64K, 500M, 1G; bare number: bytes).
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = dlp_runtime::units::size_usize)]
    pub max_body: usize,
    /// Largest findings document fetched (e.g. 64K, 500M, 1G; bare number: bytes).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = dlp_runtime::units::size)]
    pub max_findings_bytes: u64,
    /// Event-loop threads serving connections.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// Most open connections; at the cap the idlest one is closed for a new one.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Time a client has from connecting to the end of its request head (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = dlp_runtime::units::secs_nonzero)]
    pub head_timeout: std::time::Duration,
    /// Time a client has from the end of the head to the end of the body (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = dlp_runtime::units::secs_nonzero)]
    pub body_timeout: std::time::Duration,
    /// Rejected requests logged in full per source address and interval (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub log_burst: u32,
    /// Interval of the rejection summary lines (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_runtime::units::secs_nonzero)]
    pub log_interval: std::time::Duration,
    /// Findings fetch workers.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,
    /// Time limit for one findings fetch attempt (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = dlp_runtime::units::secs)]
    pub fetch_timeout: std::time::Duration,
    /// Signatures remembered for replay detection (when full, new results get 503).
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub replay_cache: usize,
    /// On SIGTERM/SIGINT, how long requests and fetches in progress may take to finish (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = dlp_runtime::units::secs)]
    pub drain_timeout: std::time::Duration,
    /// Test hook (feature `test-hooks`, which the package's tests turn
    /// on): one spool writer, which waits (up to 10 s) for this many
    /// results before a write. Other builds have no such flag (clap
    /// refuses it, exit 2).
    #[cfg_attr(
        feature = "test-hooks",
        arg(long, value_name = "N", default_value_t = 1, hide = true)
    )]
    #[cfg_attr(not(feature = "test-hooks"), arg(skip = 1usize))]
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

/// Verified results waiting for the committer (more get 503: the disk is behind).
const COMMIT_QUEUE: usize = 4096;

/// Request bytes held in memory by all connections together.
const MEMORY_BUDGET: usize = 256 * 1024 * 1024;

/// State shared by the handler threads and the fetch workers.
pub struct Ctx {
    pub verifier: verify::Verifier,
    pub spool: Spool,
    pub dead: Spool,
    pub replay: replay::ReplayLog,
    pub jobs: crossbeam_channel::Sender<worker::Job>,
    pub out: dlp_runtime::SharedOutput,
    pub fetcher: fetch::Fetcher,
    pub max_body: usize,
    pub rejects: rejectlog::RejectLog,
    stop: AtomicBool,
    drain: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
}

impl Ctx {
    /// Prints a diagnostic line on stderr.
    pub fn log(&self, msg: &str) {
        eprintln!("{TOOL}: {msg}");
    }

    /// Logs a refused request, rate-limited per source (see [`rejectlog`]).
    pub fn rejected(&self, ip: std::net::IpAddr, kind: &str, line: &str) {
        for l in self.rejects.note(ip, kind, line, Instant::now()) {
            self.log(&l);
        }
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
    let args: Args = dlp_runtime::cli::parse(TOOL, command());
    dlp_runtime::run_main(TOOL, || run(args))
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

/// Runs the server until SIGINT/SIGTERM or a fatal output error: open the
/// spool, queue what it holds, start the fetch workers, the spool writers
/// and the HTTP server, serve, then shut down within --drain-timeout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let secret = signing_secret()?;
    let state = open_state(&args)?;
    dlp_runtime::signals::install().context("installing signal handlers")?;
    let listener =
        httpd::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr().context("listening socket")?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let ctx = Arc::new(Ctx {
        verifier: verify::Verifier::new(
            secret,
            args.tolerance.as_secs(),
            FUTURE_SKEW_SECS,
            args.replay_cache,
        ),
        spool: state.spool,
        dead: state.dead,
        replay: state.replay,
        jobs: tx,
        out: dlp_runtime::SharedOutput::stdout(),
        fetcher: fetch::Fetcher::new(
            args.fetch_timeout.max(Duration::from_secs(1)),
            args.max_findings_bytes,
        ),
        max_body: args.max_body,
        rejects: rejectlog::RejectLog::new(args.log_burst, args.log_interval),
        stop: AtomicBool::new(false),
        drain: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    ctx.verifier.seed(&state.remembered);
    queue_spooled(&ctx, &state.dir)?;
    let workers = spawn_threads("fetch", args.workers.into(), |_| {
        let (ctx, rx) = (ctx.clone(), rx.clone());
        move || worker::run(&ctx, rx)
    })
    .context("starting fetch workers")?;
    let (commit_tx, commit_rx) = crossbeam_channel::bounded(COMMIT_QUEUE);
    let lim = commit::Limits {
        max_items: COMMIT_MAX_ITEMS,
        max_bytes: COMMIT_MAX_BYTES,
        min_items: args.commit_min_batch.max(1),
    };
    // The test hook needs one committer, or another would take part of
    // the batch it waits for.
    let ncommit = if lim.min_items > 1 { 1 } else { COMMITTERS };
    let committers = spawn_threads("commit", ncommit, |_| {
        let (ctx, rx) = (ctx.clone(), commit_rx.clone());
        move || commit::run(&ctx, rx, lim)
    })
    .context("starting the spool writer")?;
    drop(commit_rx);
    let server = httpd::Server::start(
        listener,
        httpd::Config {
            max_connections: args.max_connections as usize,
            head_timeout: args.head_timeout,
            body_timeout: args.body_timeout,
            memory_budget: MEMORY_BUDGET.max(args.max_body.saturating_mul(4)),
            threads: usize::from(args.threads),
        },
        Arc::new(server::Webhook {
            ctx: ctx.clone(),
            commits: commit_tx,
        }),
    )
    .context("starting the HTTP server")?;
    ctx.log(&format!(
        "listening on http://{addr} (spool {})",
        state.dir.display()
    ));

    while !dlp_runtime::signals::requested() && !ctx.stopping() {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(line) = ctx.rejects.tick(Instant::now()) {
            ctx.log(&line);
        }
    }
    shutdown(&ctx, &args, server, committers, &workers);
    let closed = ctx.out.close();
    if let Some(err) = ctx.fatal.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(err);
    }
    closed?;
    Ok(ExitCode::Ok)
}

/// What the spool directory holds.
struct State {
    dir: PathBuf,
    spool: Spool,
    /// Results refused for good (`failed/`).
    dead: Spool,
    replay: replay::ReplayLog,
    /// Signatures accepted before the last stop (the replay cache).
    remembered: Vec<replay::Seen>,
}

/// Opens (and so locks: one instance per spool) the spool, its dead-letter
/// directory and the persisted replay cache.
fn open_state(args: &Args) -> anyhow::Result<State> {
    if let Some(dir) = &args.spool {
        // A spool named on the command line is not created as a whole tree.
        dlp_store::spool::check_spool_dir(dir, "--spool")?;
    }
    let dir = args
        .spool
        .clone()
        .unwrap_or_else(|| dlp_store::spool::default_state_dir(TOOL));
    let spool = Spool::open(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => anyhow::anyhow!("{e}"),
        _ => anyhow::anyhow!("opening spool {}: {e}", dir.display()),
    })?;
    let dead = Spool::open(dir.join("failed"))
        .with_context(|| format!("opening {}/failed", dir.display()))?;
    let (replay, remembered) = replay::ReplayLog::open(&dir, dlp_record::time::unix_now())
        .with_context(|| format!("opening {}/{}", dir.display(), replay::FILE))?;
    Ok(State {
        dir,
        spool,
        dead,
        replay,
        remembered,
    })
}

/// Queues for the fetch workers every result an earlier run accepted but
/// did not finish.
fn queue_spooled(ctx: &Ctx, dir: &std::path::Path) -> anyhow::Result<()> {
    let (pending, items) = worker::load_spool(ctx).context("reading the spool")?;
    if items > 0 {
        ctx.log(&format!(
            "replaying {items} spooled result(s) from {} ({} file(s))",
            dir.display(),
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
    Ok(())
}

/// Starts `n` named threads, each running what `make(i)` returns.
fn spawn_threads<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
    name: &str,
    n: usize,
    make: impl Fn(usize) -> F,
) -> std::io::Result<Vec<std::thread::JoinHandle<T>>> {
    (0..n)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(make(i))
        })
        .collect()
}

/// One deadline for the whole shutdown: stop accepting, close idle
/// connections now, let requests in hand (and then fetches in hand) finish
/// until it, and leave the rest in the spool.
fn shutdown(
    ctx: &Ctx,
    args: &Args,
    server: httpd::Server,
    committers: Vec<std::thread::JoinHandle<commit::Stats>>,
    workers: &[std::thread::JoinHandle<()>],
) {
    let deadline = Instant::now() + args.drain_timeout;
    ctx.stop.store(true, Ordering::SeqCst);
    let cut = server.shutdown(deadline);
    if cut > 0 {
        ctx.log(&format!(
            "drain time-out: closed {cut} connection(s) with requests still in progress"
        ));
    }
    if let Some(line) = ctx.rejects.tick(Instant::now() + args.log_interval) {
        ctx.log(&line);
    }
    // The handlers' senders are gone: the committers write and answer
    // what is queued, then return.
    let st = committers.into_iter().filter_map(|c| c.join().ok()).fold(
        commit::Stats::default(),
        |a, b| commit::Stats {
            items: a.items + b.items,
            writes: a.writes + b.writes,
            largest: a.largest.max(b.largest),
        },
    );
    if st.writes > 0 {
        ctx.log(&format!(
            "spooled {} result(s) in {} write(s) (largest batch {})",
            st.items, st.writes, st.largest
        ));
    }
    // Workers finish the fetch in hand; queued entries stay in the spool.
    ctx.drain.store(true, Ordering::SeqCst);
    while workers.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if workers.iter().any(|w| !w.is_finished()) {
        ctx.log(
            "drain time-out: fetches still in progress are left in the spool for the next start",
        );
    }
}

#[cfg(test)]
mod tests {
    /// The `--commit-min-batch` test hook exists only with the feature
    /// `test-hooks` (on in this package's test builds); without it clap
    /// refuses the flag (`cargo test -p nf-webhook --lib` under a build
    /// without the dev-dependency's feature checks that side).
    #[test]
    fn commit_min_batch_is_a_flag_of_test_builds_only() {
        let mut cmd = super::command();
        let got = dlp_runtime::cli::try_parse_from::<super::Args>(
            &mut cmd,
            ["nf-webhook", "--commit-min-batch", "3"],
        );
        if cfg!(feature = "test-hooks") {
            assert_eq!(got.unwrap().commit_min_batch, 3);
        } else {
            let e = got.unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument, "{e}");
            assert_eq!(e.exit_code(), 2);
        }
        let defaults: super::Args =
            dlp_runtime::cli::try_parse_from(&mut cmd, ["nf-webhook"]).unwrap();
        assert_eq!(defaults.commit_min_batch, 1);
    }
}
