//! External programs (poppler's `pdftotext` and `pdftoppm`, Tesseract) run
//! as adapters, each in a small sandbox: the program is found on `PATH`
//! once and run by its full path with a fixed argv (no shell), an empty
//! environment (plus the few fixed variables an adapter sets), its input
//! on stdin, limits on address space and CPU time (`prlimit`), a wall-time
//! limit (the process is killed at it), caps on what it may write, and no
//! network (a fresh network namespace, `unshare --net`, or with a user
//! namespace when not run as root; where neither is allowed the program
//! runs with the machine's network, said once with `-v`). A program that
//! is not installed is reported as such, naming its Debian package.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A program an adapter runs, and the Debian package that installs it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
}

/// Limits for one run.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Wall time; the process is killed at it.
    pub time: Duration,
    /// Address space (`RLIMIT_AS`).
    pub memory: u64,
    /// Bytes of standard output read; the process is killed past them.
    pub output: u64,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status (after a kill too).
    pub status: ExitStatus,
    /// Killed at the wall-time limit.
    pub timed_out: bool,
    /// Stopped past the output cap or because the reader stopped.
    pub cut: bool,
    /// The first 16 KiB of standard error.
    pub stderr: Vec<u8>,
}

/// Standard error kept.
const STDERR_MAX: u64 = 16 << 10;

/// Why a program could not be run.
#[derive(Debug)]
pub enum Failure {
    /// Not found on `PATH`.
    Missing(Tool),
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// The full path of `program` on `PATH` (default `/usr/local/bin:/usr/bin:/bin`).
pub fn find(program: &str) -> Option<PathBuf> {
    static FOUND: OnceLock<Mutex<HashMap<String, Option<PathBuf>>>> = OnceLock::new();
    let found = FOUND.get_or_init(Mutex::default);
    let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
    found
        .entry(program.to_owned())
        .or_insert_with(|| {
            let path =
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
            std::env::split_paths(&path)
                .map(|d| d.join(program))
                .find(|p| is_executable(p))
        })
        .clone()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The argv prefix that runs a program without network, if this machine
/// allows one (probed once).
fn isolation() -> Option<&'static [String]> {
    static PREFIX: OnceLock<Option<Vec<String>>> = OnceLock::new();
    PREFIX
        .get_or_init(|| {
            let unshare = find("unshare")?;
            let unshare = unshare.to_string_lossy().into_owned();
            [
                vec![unshare.clone(), "--net".into()],
                vec![
                    unshare,
                    "--user".into(),
                    "--map-root-user".into(),
                    "--net".into(),
                ],
            ]
            .into_iter()
            .find(|p| {
                Command::new(&p[0])
                    .args(&p[1..])
                    .arg("--")
                    .arg(find("true").unwrap_or_else(|| "/bin/true".into()))
                    .env_clear()
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
        })
        .as_deref()
}

/// True when programs run without network here.
pub fn isolated() -> bool {
    isolation().is_some()
}

/// The command that runs `path` with `args` under the sandbox.
fn command(path: &Path, args: &[&str], env: &[(&str, &str)], b: &Bounds) -> Command {
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    if let Some(prefix) = isolation() {
        argv.extend(prefix.iter().map(Into::into));
        argv.push("--".into());
    }
    if let Some(prlimit) = find("prlimit") {
        argv.push(prlimit.into());
        argv.push(format!("--as={}", b.memory).into());
        argv.push(format!("--cpu={}", b.time.as_secs() + 1).into());
        argv.push("--core=0".into());
        argv.push("--".into());
    }
    argv.push(path.into());
    argv.extend(args.iter().map(Into::into));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env.iter().copied())
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `tool` with `args`, feeding `input` on stdin, and hands its
/// standard output (capped) to `read`, which may stop early. The process
/// is killed at the time limit, past the output cap, or when `read`
/// returns; its exit is always waited for.
pub fn run(
    tool: Tool,
    args: &[&str],
    env: &[(&str, &str)],
    input: impl Read + Send + 'static,
    b: Bounds,
    read: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>,
) -> Result<Outcome, Failure> {
    let path = find(tool.program).ok_or(Failure::Missing(tool))?;
    let mut child = command(&path, args, env, &b).spawn()?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let feeder = stdin.map(|mut w| {
        std::thread::spawn(move || {
            let mut input = input;
            let _ = io::copy(&mut input, &mut w).and_then(|_| w.flush());
        })
    });
    let errs = stderr.map(|e| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let mut e = e;
            let _ = (&mut e).take(STDERR_MAX).read_to_end(&mut v);
            let _ = io::copy(&mut e, &mut io::sink());
            v
        })
    });
    let child = Arc::new(Mutex::new(child));
    let timed_out = Arc::new(AtomicBool::new(false));
    let (done, watch) = mpsc::channel::<()>();
    let watchdog = {
        let (child, timed_out) = (Arc::clone(&child), Arc::clone(&timed_out));
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(b.time) {
                timed_out.store(true, Ordering::SeqCst);
                kill(&child);
            }
        })
    };
    let mut cut = false;
    let result = match stdout {
        Some(out) => {
            let mut capped = Ended {
                inner: out.take(b.output),
                ended: false,
            };
            let r = read(&mut capped);
            // Not read to its end (the reader stopped, or the cap): the
            // rest is not wanted.
            if !capped.ended || capped.inner.limit() == 0 {
                cut = true;
                kill(&child);
            }
            r
        }
        None => Ok(()),
    };
    drop(done);
    let _ = watchdog.join();
    let status = child.lock().unwrap_or_else(|e| e.into_inner()).wait()?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let stderr = errs.and_then(|t| t.join().ok()).unwrap_or_default();
    result?;
    Ok(Outcome {
        status,
        timed_out: timed_out.load(Ordering::SeqCst),
        cut,
        stderr,
    })
}

/// A reader that remembers reaching its end.
struct Ended<R> {
    inner: R,
    ended: bool,
}

impl<R: Read> Read for Ended<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ended |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

fn kill(child: &Mutex<Child>) {
    let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAT: Tool = Tool {
        program: "cat",
        package: "coreutils",
    };

    fn bounds(ms: u64, output: u64) -> Bounds {
        Bounds {
            time: Duration::from_millis(ms),
            memory: 256 << 20,
            output,
        }
    }

    fn output(tool: Tool, args: &[&str], input: &'static [u8], b: Bounds) -> (Outcome, Vec<u8>) {
        let mut out = Vec::new();
        let o = run(tool, args, &[("A", "1")], input, b, &mut |r| {
            r.read_to_end(&mut out).map(drop)
        })
        .unwrap();
        (o, out)
    }

    #[test]
    fn input_on_stdin_output_capped_environment_cleared() {
        let (o, out) = output(CAT, &[], b"hello", bounds(10_000, 100));
        assert!(o.status.success() && !o.cut && !o.timed_out);
        assert_eq!(out, b"hello");
        let (o, out) = output(CAT, &[], &[b'x'; 300_000], bounds(10_000, 1000));
        assert!(o.cut);
        assert_eq!(out.len(), 1000);
        let env = Tool {
            program: "env",
            package: "coreutils",
        };
        let (_, out) = output(env, &[], b"", bounds(10_000, 1000));
        assert_eq!(out, b"A=1\n");
    }

    #[test]
    fn killed_at_the_time_limit() {
        let sleep = Tool {
            program: "sleep",
            package: "coreutils",
        };
        let t = std::time::Instant::now();
        let (o, _) = output(sleep, &["30"], b"", bounds(300, 100));
        assert!(o.timed_out && !o.status.success());
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn no_network_where_namespaces_are_allowed() {
        if !isolated() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root: unshare --net must work"
            );
            return;
        }
        let (_, out) = output(CAT, &["/proc/net/dev"], b"", bounds(10_000, 100_000));
        let ifaces: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next().map(|s| s.trim().to_owned()))
            .collect();
        assert_eq!(ifaces, ["lo"]);
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let t = Tool {
            program: "no-such-program-dlp",
            package: "no-such-package",
        };
        let r = run(t, &[], &[], &b""[..], bounds(1000, 10), &mut |_| Ok(()));
        assert!(matches!(r, Err(Failure::Missing(t)) if t.package == "no-such-package"));
    }
}
