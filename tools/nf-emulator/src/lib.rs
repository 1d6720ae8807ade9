//! `nf-emulator`: a local stand-in for Nightfall's v3 file-scan API.
//!
//! It follows the contract in the project's API notes to the letter where
//! Nightfall is strict (bearer auth, chunk offsets and lengths, finish
//! before scan, a webhook challenge before a scan is accepted, signed
//! result notifications in Nightfall's key order, pre-signed findings
//! URLs, rate-limit headers) and finds with the project's own detection
//! engine, so the whole Nightfall flow can be run and tested offline.

mod api;
mod limits;
mod scan;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dlp_runtime::ExitCode;

const TOOL: &str = "nf-emulator";

const LONG_ABOUT: &str = "\
A faithful local stand-in for Nightfall's v3 file-scan API, for tests,
demos and CI without an account or network.

Endpoints: POST /v3/upload, PATCH /v3/upload/{id} (X-Upload-Offset),
POST /v3/upload/{id}/finish, POST /v3/upload/{id}/scan, and the findings
documents at GET /findings/{token}.json (the notification's findingsURL).

Requests need `Authorization: Bearer <key>`; when NIGHTFALL_API_KEY is set
in the emulator's environment only that key is accepted. Results are sent
to the scan's webhook (policy.webhookURL or policy.alertConfig.url.address)
after a challenge handshake, signed with NIGHTFALL_SIGNING_SECRET exactly
as Nightfall signs them. Findings come from the project's detection engine
(the scan's inline detectionRules; referenced policy or rule UUIDs, which
only Nightfall knows, are scanned with the default rules or --uuid-rules).

Examples:
  NIGHTFALL_SIGNING_SECRET=s nf-emulator --listen 127.0.0.1:8001
  NIGHTFALL_API_URL=http://127.0.0.1:8001 nf-upload < events.ndjson
  nf-emulator --inject-429-every 3 --chunk-size 1024     # exercise a client";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = TOOL, version, about = "Local stand-in for Nightfall's v3 file-scan API", long_about = LONG_ABOUT)]
pub struct Cli {
    /// Address to listen on (port 0 picks a free port; the address is printed)
    #[arg(long, default_value = "127.0.0.1:8001", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Base URL that findingsURL links use (default: http://<listen address>)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// chunkSize returned by POST /v3/upload (e.g. 64K, 500M, 1G; bare number: bytes)
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = dlp_runtime::units::size)]
    pub chunk_size: u64,
    /// Largest fileSizeBytes accepted (e.g. 64K, 500M, 1G; bare number: bytes)
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = dlp_runtime::units::size)]
    pub max_file_size: u64,
    /// Requests per second allowed per API key and endpoint (0: unlimited)
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub rate: f64,
    /// Burst allowed above --rate
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub burst: f64,
    /// Answer every Nth API request with 429 and Retry-After
    #[arg(long, value_name = "N")]
    pub inject_429_every: Option<u64>,
    /// Answer every Nth API request with 500
    #[arg(long, value_name = "N")]
    pub inject_500_every: Option<u64>,
    /// Retry-After sent with injected 429s, in whole seconds rounded up (e.g. 30s, 5m; bare number: seconds)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = dlp_runtime::units::secs)]
    pub retry_after: std::time::Duration,
    /// Detection rules (Nightfall JSON) used for scans that reference policy or rule UUIDs
    #[arg(long, value_name = "FILE")]
    pub uuid_rules: Option<PathBuf>,
    /// Where uploaded bytes are kept (default: a new temporary directory)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Webhook for scans by policyUUID (stands in for the policy's alert configuration)
    #[arg(long, value_name = "URL")]
    pub default_webhook: Option<String>,
    /// How often a failed result delivery is retried
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub webhook_retries: u32,
    /// Event-loop threads (request handlers run on a separate blocking pool)
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threads: usize,
}

/// Most open connections (the idlest is closed for a new one).
const MAX_CONNECTIONS: usize = 1024;

/// Request bytes held in memory by all connections together.
const MEMORY_BUDGET: usize = 512 * 1024 * 1024;

/// The emulator as an [`httpd::Service`]: handlers touch the disk and
/// make outbound calls, so they run on the blocking pool.
struct Service(Arc<Emulator>);

impl httpd::Service for Service {
    fn max_body(&self, rq: &httpd::Request) -> (usize, &'static str) {
        (api::max_body(&self.0, rq), "the limit")
    }

    fn call(&self, rq: httpd::Request) -> httpd::Reply {
        let emu = self.0.clone();
        httpd::Reply::blocking(move || api::handle(&emu, rq))
    }

    fn refused(&self, peer: SocketAddr, status: u16, why: &str) {
        eprintln!("{TOOL}: refused request from {peer}: {status} {why}");
    }
}

/// Shared configuration and state of a running emulator.
pub struct Emulator {
    pub cli: Cli,
    pub public_url: String,
    pub signing_secret: Vec<u8>,
    pub api_key: Option<String>,
    pub store: store::Store,
    pub limits: limits::Limits,
    /// The rules scans by policy or rule UUID run with, compiled once.
    pub uuid_engine: Arc<detect::Engine>,
    pub scans: std::sync::mpsc::SyncSender<scan::Job>,
    pub http: httpc::ureq::Agent,
    pub validated: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let signing_secret = std::env::var("NIGHTFALL_SIGNING_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .context("NIGHTFALL_SIGNING_SECRET is not set: the emulator signs its webhooks with it")?
        .into_bytes();
    let api_key = std::env::var("NIGHTFALL_API_KEY")
        .ok()
        .filter(|s| !s.is_empty());
    anyhow::ensure!(cli.chunk_size > 0, "--chunk-size must be positive");
    let uuid_rules = match &cli.uuid_rules {
        Some(p) => nfapi::load_rules(p)?,
        None => detect::default_rules(),
    };
    let uuid_engine = Arc::new(detect::Engine::new(&uuid_rules).context("--uuid-rules")?);
    let listener =
        httpd::bind(cli.listen).with_context(|| format!("cannot listen on {}", cli.listen))?;
    let addr = listener.local_addr().context("listening address")?;
    let public_url = cli
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let store = store::Store::new(cli.data_dir.clone())?;
    let http = httpc::agent(
        concat!("nf-emulator/", env!("CARGO_PKG_VERSION")),
        Duration::from_secs(10),
    );
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let limits = limits::Limits::new(&cli);
    let emu = Arc::new(Emulator {
        public_url,
        signing_secret,
        api_key,
        store,
        limits,
        uuid_engine,
        scans: tx,
        http,
        validated: Default::default(),
        cli,
    });
    scan::start_workers(emu.clone(), rx);
    let server = httpd::Server::start(
        listener,
        httpd::Config {
            max_connections: MAX_CONNECTIONS,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            memory_budget: MEMORY_BUDGET.max(emu.cli.chunk_size.saturating_mul(4) as usize),
            threads: emu.cli.threads.clamp(1, 64),
        },
        Arc::new(Service(emu.clone())),
    )
    .context("starting the HTTP server")?;
    eprintln!("{TOOL}: listening on http://{addr}");
    dlp_runtime::signals::install()?;
    while !dlp_runtime::signals::requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.shutdown(std::time::Instant::now() + Duration::from_secs(2));
    eprintln!("{TOOL}: stopping");
    emu.store.cleanup();
    Ok(ExitCode::Ok)
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `nf-emulator` binary.
pub fn main() -> std::process::ExitCode {
    let cli: Cli = dlp_runtime::cli::parse(TOOL, command());
    dlp_runtime::run_main(TOOL, || run(cli))
}

/// A random version-4 UUID from the OS's random source.
pub fn uuid4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = dlp_record::hash::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `N` bytes from the OS's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the OS random source");
    b
}
