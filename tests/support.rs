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

/// Process `pid` and its descendants, parents before children, as (pid,
/// command name from `/proc/PID/stat`): what a `--stage` run has become
/// (its first command, the rest of the pipe below it, no shell).
pub fn process_tree(pid: u32) -> Vec<(u32, String)> {
    let mut procs = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((ppid, comm, _)) = proc_stat(n) {
            procs.push((n, ppid, comm));
        }
    }
    let mut tree = Vec::new();
    let mut next = vec![pid];
    while !next.is_empty() {
        let mut children = Vec::new();
        for p in &next {
            if let Some((n, _, comm)) = procs.iter().find(|(n, _, _)| n == p) {
                tree.push((*n, comm.clone()));
            }
            children.extend(
                procs
                    .iter()
                    .filter(|(_, pp, _)| pp == p)
                    .map(|(n, _, _)| *n),
            );
        }
        next = children;
    }
    tree
}

/// Waits until process `pid` has become `want` (its command and the rest of
/// its pipe below it: [`process_tree`]'s names); returns their pids, or
/// panics with what it is after 10 s.
pub fn wait_process_tree(pid: u32, want: &[&str]) -> Vec<u32> {
    let t0 = std::time::Instant::now();
    loop {
        let tree = process_tree(pid);
        if tree
            .iter()
            .map(|(_, c)| c.as_str())
            .eq(want.iter().copied())
        {
            return tree.into_iter().map(|(p, _)| p).collect();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "process {pid} is {tree:?}, not {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether every process of `pids` has ended (is gone, or a zombie not yet
/// reaped).
pub fn processes_ended(pids: &[u32]) -> bool {
    pids.iter()
        .all(|p| proc_stat(*p).is_none_or(|(_, _, state)| state == "Z"))
}

/// Asserts that every process of `pids` ends within 5 s: nothing of a
/// stopped stage is left behind.
pub fn assert_processes_end(pids: &[u32]) {
    let t0 = std::time::Instant::now();
    while !processes_ended(pids) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "left running: {:?}",
            pids.iter().map(|p| process_tree(*p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (parent pid, command name, state) of a live process.
fn proc_stat(pid: u32) -> Option<(u32, String, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID ...": COMM may hold blanks and parentheses.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.to_owned();
    let ppid = rest.next()?.parse().ok()?;
    Some((ppid, stat[open + 1..close].to_owned(), state))
}
