//! Helpers for the end-to-end tests: start nf-emulator and nf-webhook on
//! free loopback ports and wait until they listen.

use std::path::Path;
use std::time::Duration;

use testkit::{bin, cmd, free_port, wait_port, Spawned, TempDir};

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
        let port = free_port();
        let mut proc = cmd(bin("nf-emulator"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("NIGHTFALL_SIGNING_SECRET", SECRET)
            .env("NIGHTFALL_API_KEY", KEY)
            .spawn();
        assert!(
            proc.wait_stderr("listening on", Duration::from_secs(20)),
            "emulator did not start: {}",
            proc.stderr_text()
        );
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
        let port = free_port();
        let spool = TempDir::new("e2e-spool");
        let proc = cmd(bin("nf-webhook"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--spool")
            .arg(spool.path())
            .env("NIGHTFALL_SIGNING_SECRET", SECRET)
            .spawn();
        assert!(
            wait_port(port, Duration::from_secs(20)),
            "nf-webhook did not start"
        );
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

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal webhook receiver on 127.0.0.1 that answers Nightfall's
/// challenge and records every other POST with its raw bytes.
pub struct Receiver {
    pub port: u16,
    pub got: std::sync::mpsc::Receiver<Received>,
}

impl Receiver {
    /// Starts the receiver thread.
    pub fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut headers = Vec::new();
                let mut line = String::new();
                r.read_line(&mut line).unwrap_or(0);
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let challenge = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("challenge")
                            .and_then(|c| c.as_str())
                            .map(str::to_owned)
                    });
                let reply = challenge.clone().unwrap_or_default();
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                if challenge.is_none() {
                    let _ = tx.send(Received { headers, body });
                }
            }
        });
        Receiver { port, got }
    }

    /// The URL to give as a webhook.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ingest", self.port)
    }

    /// The next recorded POST within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Received> {
        self.got.recv_timeout(timeout).ok()
    }
}

/// The Python with the official Nightfall SDK (created once by
/// tests/py/ensure-venv.sh from PyPI).
pub fn sdk_python() -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/ensure-venv.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("running ensure-venv.sh");
    assert!(
        out.status.success(),
        "ensure-venv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
