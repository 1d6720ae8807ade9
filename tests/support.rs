//! Helpers for the end-to-end tests: start nf-emulator and nf-webhook on
//! free loopback ports and wait until they listen.

use std::path::Path;
use std::time::Duration;

use testkit::{bin, cmd, Spawned, TempDir};

pub use testkit::{Received, Receiver};

/// The signing secret shared by the emulator and the receiver in tests.
pub const SECRET: &str = "e2e-signing-secret";
/// The API key nf-upload sends and the emulator requires.
pub const KEY: &str = "NF-e2e-test-key";

/// A running nf-emulator.
pub struct Emulator {
    pub proc: Spawned,
    pub port: u16,
}

impl Emulator {
    /// Starts the emulator with extra arguments.
    pub fn start(args: &[&str]) -> Emulator {
        let mut proc = cmd(bin("nf-emulator"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("NIGHTFALL_SIGNING_SECRET", SECRET)
            .env("NIGHTFALL_API_KEY", KEY)
            .spawn();
        let port = proc.listening_port(Duration::from_secs(20));
        Emulator { proc, port }
    }

    /// Base URL for NIGHTFALL_API_URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A running nf-webhook with its own spool.
pub struct Webhook {
    pub proc: Spawned,
    pub port: u16,
    pub _spool: TempDir,
}

impl Webhook {
    /// Starts nf-webhook on a free port.
    pub fn start() -> Webhook {
        let spool = TempDir::new("e2e-spool");
        let mut proc = cmd(bin("nf-webhook"))
            .args(["--listen", "127.0.0.1:0"])
            .arg("--spool")
            .arg(spool.path())
            .env("NIGHTFALL_SIGNING_SECRET", SECRET)
            .spawn();
        let port = proc.listening_port(Duration::from_secs(20));
        Webhook {
            proc,
            port,
            _spool: spool,
        }
    }

    /// The `/ingest` URL for scan requests.
    pub fn ingest(&self) -> String {
        format!("http://127.0.0.1:{}/ingest", self.port)
    }
}

/// Runs nf-upload against `emu` with results sent to `webhook_url`.
pub fn nf_upload(
    emu: &Emulator,
    webhook_url: &str,
    args: &[&str],
    stdin: impl Into<Vec<u8>>,
) -> testkit::Output {
    cmd(bin("nf-upload"))
        .args(["--webhook-url", webhook_url])
        .args(args)
        .env("NIGHTFALL_API_KEY", KEY)
        .env("NIGHTFALL_API_URL", emu.url())
        .stdin(stdin)
        .run()
}

/// One FsEvent line about `path`.
pub fn event(kind: &str, path: &Path) -> String {
    serde_json::json!({"event_type": kind, "src_path": path, "dest_path": "", "is_directory": false,
                       "is_synthetic": false, "timestamp": "2026-11-22T10:15:03.120511Z"})
    .to_string()
        + "\n"
}

/// Text with planted card numbers and an SSN (all valid, well-known test values
/// excluded), line 2 holding the first card at bytes 36..55.
pub const PLANTED: &str = "Name\tCredit Card\nRep. Viviana Hintz\t5433-9502-3725-7862\nEloisa Champlin\t3457-389808-83234\nSSN of record: 536-22-8726\n";

/// Every tool, as dlp-docgen lists them (its own test keeps the list equal
/// to the crates under tools/).
pub fn tool_names() -> Vec<String> {
    let list = cmd(bin("dlp-docgen"))
        .arg("--list")
        .run()
        .expect_code(0)
        .stdout_str();
    let tools: Vec<String> = list.lines().map(str::to_owned).collect();
    assert!(tools.len() >= 12, "{list}");
    tools
}

/// Runs an installed `local-dlp` script (`script`) once over a directory
/// holding [`PLANTED`], with only the system's PATH (no cargo, no checkout
/// binaries, no DLP_BIN_DIR) and `home` as HOME; checks it reports the
/// three findings and returns what it said on stdout and stderr.
pub fn run_installed_local_dlp(script: &Path, work: &Path, home: &Path) -> String {
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.txt"), PLANTED).unwrap();
    let out = cmd(script)
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("DLP_BIN_DIR", "")
        .env("XDG_STATE_HOME", work.join("state"))
        .args(["--once", "-o"])
        .arg(work.join("r.csv"))
        .arg(&data)
        .run()
        .expect_code(0);
    let said = out.stdout_str() + &out.stderr_str();
    assert!(said.contains("3 finding(s)"), "{said}");
    said
}

/// The Python with the official Nightfall SDK (created once by
/// tests/py/ensure-venv.sh from PyPI).
pub fn sdk_python() -> std::path::PathBuf {
    testkit::setup_script("tests/py/ensure-venv.sh").into()
}
