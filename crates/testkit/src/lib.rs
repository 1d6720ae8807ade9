//! Test harness shared by the tools' integration tests.
//!
//! Runs the real executables (`CARGO_BIN_EXE_*`), feeds stdin from a
//! thread so a test cannot deadlock on a full pipe, and parses NDJSON
//! output into values for comparison. [`Spawned`] runs a long-lived tool
//! (a watcher, a server) and reads its output lines with time-outs.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod nats;

/// A command under construction.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    stdout_redirected: bool,
}

/// Starts building a command for the binary at `bin`.
pub fn cmd(bin: impl AsRef<Path>) -> Cmd {
    let mut cmd = Command::new(bin.as_ref());
    cmd.env_remove("NIGHTFALL_API_KEY")
        .env_remove("NIGHTFALL_SIGNING_SECRET");
    Cmd {
        cmd,
        stdin: None,
        stdout_redirected: false,
    }
}

impl Cmd {
    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, d: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(d);
        self
    }

    /// Feeds these bytes on stdin (otherwise stdin is empty).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    /// Redirects stdout to a file instead of capturing it.
    pub fn stdout_file(mut self, f: std::fs::File) -> Self {
        self.cmd.stdout(f);
        self.stdout_redirected = true;
        self
    }

    /// Runs to completion and captures output.
    pub fn run(mut self) -> Output {
        if !self.stdout_redirected {
            self.cmd.stdout(Stdio::piped());
        }
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {:?}: {e}", self.cmd));
        let data = self.stdin.take().unwrap_or_default();
        let mut sin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        let _ = feeder.join();
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    /// Starts the command in the background with piped stdout/stderr.
    pub fn spawn(mut self) -> Spawned {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {:?}: {e}", self.cmd));
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let (etx, err_lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned {
            child,
            stdin,
            lines,
            err_lines,
            stderr_seen: Vec::new(),
        }
    }
}

/// A finished command's status and output.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// Exit code (-1 when killed by a signal).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Stdout as text.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Stdout parsed as NDJSON; panics on a malformed line.
    pub fn records(&self) -> Vec<Value> {
        parse_records(&self.stdout)
    }

    /// Asserts the exit code, showing stderr on failure.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit code; stderr:\n{}",
            self.stderr_str()
        );
        self
    }
}

/// Parses NDJSON bytes into values; panics on a malformed line.
pub fn parse_records(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
        .collect()
}

/// A running command.
pub struct Spawned {
    pub child: Child,
    pub stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    err_lines: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Spawned {
    /// The next stdout line within `timeout`, or `None`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Some(l),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next stdout line parsed as JSON within `timeout`.
    pub fn next_record(&mut self, timeout: Duration) -> Option<Value> {
        self.next_line(timeout).map(|l| {
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}"))
        })
    }

    /// Collects records until `done` says so or `timeout` passes overall.
    pub fn records_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut v = Vec::new();
        while !done(&v) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.next_record(left) {
                Some(r) => v.push(r),
                None => break,
            }
        }
        v
    }

    /// Records that arrive within `quiet` of each other, until a gap.
    pub fn drain_records(&mut self, quiet: Duration) -> Vec<Value> {
        let mut v = Vec::new();
        while let Some(r) = self.next_record(quiet) {
            v.push(r);
        }
        v
    }

    /// Waits until a stderr line contains `needle` (within `timeout`).
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> bool {
        if self.stderr_seen.iter().any(|l| l.contains(needle)) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.err_lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.stderr_seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Waits for a server's `listening on http://ADDR` line on stderr and
    /// returns the port. Servers started with port 0 pick a free port
    /// themselves, so tests never race each other for one.
    pub fn listening_port(&mut self, timeout: Duration) -> u16 {
        assert!(
            self.wait_stderr("listening on http://", timeout),
            "server did not start: {}",
            self.stderr_text()
        );
        let line = self
            .stderr_seen
            .iter()
            .rev()
            .find(|l| l.contains("listening on http://"))
            .unwrap();
        let addr = line.split("listening on http://").nth(1).unwrap();
        let addr = addr.split_whitespace().next().unwrap();
        addr.rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("port in {line:?}: {e}"))
    }

    /// All stderr seen so far plus whatever is queued now.
    pub fn stderr_text(&mut self) -> String {
        while let Ok(l) = self.err_lines.try_recv() {
            self.stderr_seen.push(l);
        }
        self.stderr_seen.join("\n")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by number (e.g. 15 for SIGTERM, 9 for SIGKILL).
    pub fn signal(&self, sig: i32) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Closes stdin.
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Writes a line to stdin.
    pub fn write_line(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(line.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        s.flush().unwrap();
    }

    /// Waits for exit up to `timeout`; kills the process if it overruns.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Spawned {
    /// A process still running when its test ends (passed or failed) gets
    /// SIGTERM first, so a pipeline script stops the jobs it started
    /// rather than leaving them running; SIGKILL after 5 seconds.
    ///
    /// What it started and left behind (a script killed while stopping its
    /// jobs, which run in process groups of their own) is killed too: a
    /// leftover holding the test's pipes or a lock would stall later tests.
    fn drop(&mut self) {
        let mut family = descendants(self.child.id());
        if let Ok(None) = self.child.try_wait() {
            self.signal(15);
            self.wait_timeout(Duration::from_secs(5));
            family.extend(descendants(self.child.id()));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !family.is_empty() {
            let _ = Command::new("kill")
                .arg("-9")
                .args(family.iter().map(u32::to_string))
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The processes below `pid` (children, theirs, ...), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let me: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // The fields after the command name, which is in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid = rest.split(' ').nth(1)?.parse().ok()?;
            Some((me, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|&&(_, pp)| pp == p).map(|&(c, _)| c));
        i += 1;
    }
    found.remove(0);
    found
}

/// Path of a workspace binary, for tests that run several tools. Test
/// executables live in `target/<profile>/deps/`, binaries one level up.
/// `cargo test --workspace` builds every binary before any test runs.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is not built; run the tests with `cargo test --workspace` (or `cargo build --workspace --bins` first)",
        p.display()
    );
    p
}

/// The repository checkout (the workspace root).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// Runs a setup script of the repository (`rel`, e.g.
/// `tests/py/ensure-venv.sh`: it installs what a test needs once) and
/// returns the trimmed line it prints, the path of what it set up; fails
/// the test with the script's stderr when it fails.
pub fn setup_script(rel: &str) -> String {
    let out = Command::new("bash")
        .arg(repo_root().join(rel))
        .output()
        .unwrap_or_else(|e| panic!("running {rel}: {e}"));
    assert!(
        out.status.success(),
        "{rel} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The SHA-256 of `bytes` in hex, from the system's `sha256sum`: a value
/// independent of the code under test.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let dir = TempDir::new("sha");
    std::fs::write(dir.join("f"), bytes).unwrap();
    let out = cmd("sha256sum").arg(dir.join("f")).run().expect_code(0);
    out.stdout_str()
        .split_whitespace()
        .next()
        .expect("sha256sum prints the hash")
        .to_owned()
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

static TMP_N: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new(tag: &str) -> Self {
        let n = TMP_N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("dlp-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        // Canonical path, so tools that resolve paths report the same string.
        TempDir(p.canonicalize().unwrap())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on, for "endpoint down"
/// cases: bound, read and released at once, so connections to it are
/// refused. Another process could take it meanwhile; a test that needs a live
/// server binds port 0 and reads the port back instead of using this.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub fn wait_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// (status, lowercase header pairs, body) of an HTTP response.
pub type HttpResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// Minimal blocking HTTP/1.1 client for tests: returns (status, headers, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    // A server may answer and close before the whole body is sent (413).
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let read = s.read_to_end(&mut resp);
    let text_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            let why = read
                .err()
                .map_or(String::new(), |e| format!(" (read: {e})"));
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no HTTP head in {} bytes{why}", resp.len()),
            )
        })?;
    let head = String::from_utf8_lossy(&resp[..text_end]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad status line"))?;
    let hdrs: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    let mut body = resp[text_end + 4..].to_vec();
    if hdrs
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Ok((status, hdrs, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if n == 0 || b.len() < i + 2 + n {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[(i + 4 + n).min(b.len())..];
    }
    out
}

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
                let challenge = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
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

/// Runs `bin args` as `... | head -1` would: feeds `line` up to `times`
/// times on stdin, reads the first output line, closes stdout, and waits.
/// Returns that first line and the finished process's output (stdout
/// empty, since it was closed).
pub fn first_line_then_close(
    bin: impl AsRef<Path>,
    args: &[&str],
    line: &str,
    times: usize,
) -> (String, Output) {
    first_line_then_close_env(bin, args, &[], line, times)
}

/// [`first_line_then_close`] with environment variables set for the tool.
pub fn first_line_then_close_env(
    bin: impl AsRef<Path>,
    args: &[&str],
    envs: &[(&str, &str)],
    line: &str,
    times: usize,
) -> (String, Output) {
    let mut child = Command::new(bin.as_ref())
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the tool");
    let mut stdin = child.stdin.take().unwrap();
    let line = format!("{}\n", line.trim_end_matches('\n'));
    let feeder = std::thread::spawn(move || {
        for _ in 0..times {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        first,
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
        },
    )
}

/// Whether a test can use a system facility it needs (`ok`). When it
/// cannot, `why` says what is missing, and the test fails: a green run
/// means the suite ran. Set `DLP_ALLOW_SKIP=1` to skip such tests instead
/// (each skipped one says `SKIPPED: why` on stderr), on a machine that
/// cannot provide the facility (not root, no mount namespaces). Commands
/// from Debian packages are installed by [`ensure_commands`] first, so a
/// fresh machine run as root needs nothing else. Returns `ok`.
pub fn facility(ok: bool, why: &str) -> bool {
    if !ok {
        assert!(
            std::env::var("DLP_ALLOW_SKIP").as_deref() == Ok("1"),
            "{why} (the suite must run whole: run it as root on Debian, which installs what it needs, or set DLP_ALLOW_SKIP=1 to skip this test)"
        );
        eprintln!("SKIPPED: {why}");
    }
    ok
}

/// The programs crates/extract runs (poppler's pdftotext and pdftoppm,
/// Tesseract with its English data), installed when missing and allowed;
/// false (the test skips) only with `DLP_ALLOW_SKIP=1`, else it fails.
pub fn extract_programs() -> bool {
    let ok = ensure_commands(&[
        ("pdftotext", "poppler-utils"),
        ("pdftoppm", "poppler-utils"),
        ("tesseract", "tesseract-ocr"),
    ]);
    facility(
        ok,
        "pdftotext, pdftoppm or tesseract missing (Debian: poppler-utils, tesseract-ocr)",
    )
}

/// Makes sure each `(command, Debian package)` is on PATH, installing the
/// missing packages with apt-get when running as root (once per test
/// process and serialised across processes: apt waits for its lock).
/// Returns whether every command is there now.
pub fn ensure_commands(wanted: &[(&str, &str)]) -> bool {
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let missing = |w: &[(&str, &str)]| -> Vec<String> {
        w.iter()
            .filter(|(c, _)| !has_command(c))
            .map(|(_, p)| p.to_string())
            .collect()
    };
    let need = missing(wanted);
    if need.is_empty() {
        return true;
    }
    if !is_root() || !has_command("apt-get") {
        return false;
    }
    let _one = APT.lock().unwrap_or_else(|p| p.into_inner());
    let need = missing(wanted);
    if need.is_empty() {
        return true;
    }
    eprintln!("testkit: installing {} (apt-get)", need.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(need.iter().map(String::as_str));
    if !apt(&args) {
        apt(&["update", "-qq"]);
        apt(&args);
    }
    missing(wanted).is_empty()
}

/// True when the tests run as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// True when `prog` is a command on PATH.
pub fn has_command(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// True when this machine lets a test create a private mount namespace and
/// mount a tmpfs in it (root, or CAP_SYS_ADMIN).
pub fn can_mount() -> bool {
    cmd("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs none /mnt",
        ])
        .run()
        .code()
        == 0
}

/// What [`measured`] saw of a run.
pub struct Measured {
    pub code: i32,
    /// Lines written on stdout.
    pub lines: u64,
    /// Peak resident memory (VmHWM).
    pub peak_kib: u64,
    /// User + system CPU time, in clock ticks (1/100 s on Linux).
    pub cpu_ticks: u64,
}

/// Runs `bin` with `args` (stderr discarded) and measures it from /proc while it runs
/// (read every 5 ms; a scan peaks while it reads, not as it exits).
pub fn measured(bin: &str, args: &[&std::ffi::OsStr]) -> Measured {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => return n,
                Ok(k) => n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64,
            }
        }
    });
    let status_file = format!("/proc/{}/status", child.id());
    let stat_file = format!("/proc/{}/stat", child.id());
    let (mut peak, mut cpu) = (0, 0);
    loop {
        if let Ok(s) = std::fs::read_to_string(&stat_file) {
            // Fields after the command name: state is 3rd, utime 14th, stime 15th.
            let f: Vec<&str> = s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            if f.len() > 12 {
                cpu = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
            }
        }
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            return Measured {
                code: st.code().unwrap_or(-1),
                lines: lines.join().unwrap(),
                peak_kib: peak,
                cpu_ticks: cpu,
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell killed by SIGTERM leaves its background jobs running; the
    /// Spawned that started it kills them when the test ends.
    #[test]
    fn what_a_spawned_process_leaves_behind_is_killed() {
        let mut sh = cmd("sh")
            .args([
                "-c",
                "sleep 300 & echo job $! >&2; sleep 301 & echo job $! >&2; echo ready >&2; wait",
            ])
            .spawn();
        assert!(sh.wait_stderr("ready", Duration::from_secs(10)));
        let jobs: Vec<String> = sh
            .stderr_text()
            .lines()
            .filter_map(|l| l.strip_prefix("job ").map(str::to_owned))
            .collect();
        assert_eq!(jobs.len(), 2);
        drop(sh);
        // SIGKILL is sent, not yet delivered, when kill(1) returns.
        let alive = |pid: &String| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
        };
        let t0 = std::time::Instant::now();
        while jobs.iter().any(alive) && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in &jobs {
            assert!(!alive(pid), "job {pid} still runs");
        }
    }
}
