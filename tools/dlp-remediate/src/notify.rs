//! Telling the file's owner: a desktop notification.
//!
//! Linux: a freedesktop notification (`org.freedesktop.Notifications`) on
//! the session bus in `DBUS_SESSION_BUS_ADDRESS`, or, when that is unset
//! (a system service), on the file owner's bus `/run/user/UID/bus`. The
//! call is made by a helper process, this binary's hidden `__notify`
//! subcommand, which
//!
//! * runs as the file's owner when we are root and the owner is not
//!   (`setpriv --reuid UID --regid GID --clear-groups`, util-linux): root
//!   never connects to a socket that a user controls (and a session bus
//!   admits only its own user anyway);
//! * starts with an empty environment but `PATH`, so nothing of ours (API
//!   keys, webhook URLs) can be read in its `/proc/PID/environ` by that
//!   user, and inherits none of our descriptors (all are close-on-exec);
//! * gives up at `--notify-timeout`: its D-Bus client bounds every read and
//!   write by that deadline and caps what it reads ([`crate::dbus`]); the
//!   helper is killed shortly after the deadline whatever it is doing, and
//!   at most 4 KiB of its stderr (the reason it gives) is read.
//!
//! macOS: `osascript -e 'display notification ...'`. The text names the
//! file and the detectors, never the finding itself.

use std::path::Path;
use std::time::Duration;

/// Sends one notification to the session of `uid`; `Err` says why not.
#[cfg(target_os = "macos")]
pub fn send(_uid: u32, _gid: u32, summary: &str, body: &str, _t: Duration) -> Result<(), String> {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let script = format!(
        "display notification \"{}\" with title \"{}\"",
        q(body),
        q(summary)
    );
    let st = std::process::Command::new("osascript")
        .args(["-e", &script])
        .env_clear()
        .status()
        .map_err(|e| format!("osascript: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("osascript: {st}"))
    }
}

/// Sends one notification to the session of `uid`; `Err` says why not.
#[cfg(not(target_os = "macos"))]
pub fn send(
    uid: u32,
    gid: u32,
    summary: &str,
    body: &str,
    timeout: Duration,
) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let address = match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        Ok(a) if !a.is_empty() => a,
        _ => {
            let p = format!("/run/user/{uid}/bus");
            if !Path::new(&p).exists() {
                return Err(format!(
                    "no session bus: DBUS_SESSION_BUS_ADDRESS is unset and {p} does not exist (is uid {uid} logged in?)"
                ));
            }
            format!("unix:path={p}")
        }
    };
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let switch = crate::safefs::euid() == 0 && uid != 0;
    let mut cmd = if switch {
        let setpriv = [
            "/usr/bin/setpriv",
            "/bin/setpriv",
            "/usr/sbin/setpriv",
            "/sbin/setpriv",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("setpriv (util-linux) not found: cannot notify as the file's owner")?;
        let mut c = Command::new(setpriv);
        c.args([
            "--reuid",
            &uid.to_string(),
            "--regid",
            &gid.to_string(),
            "--clear-groups",
            "--",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args([
        "__notify",
        "--timeout-ms",
        &timeout.as_millis().to_string(),
        "--",
    ])
    .args([&address, summary, body])
    .env_clear()
    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    .current_dir("/")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let prefix = if switch {
        format!("as uid {uid}: ")
    } else {
        String::new()
    };
    run_helper(cmd, timeout).map_err(|e| prefix + &e)
}

/// Runs the helper, killing it a second after `timeout`; its reason for
/// failing is the first line of its stderr (at most 4 KiB is read).
#[cfg(not(target_os = "macos"))]
fn run_helper(mut cmd: std::process::Command, timeout: Duration) -> Result<(), String> {
    use std::io::Read;
    use std::time::Instant;
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting the notification helper: {e}"))?;
    let mut err = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut err).take(4096).read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    let deadline = Instant::now() + timeout + Duration::from_secs(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for the notification helper: {e}")),
        }
    };
    let text = rx
        .recv_timeout(Duration::from_millis(200))
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let reason: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches("dlp-remediate: ")
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(300)
        .collect();
    match status {
        Some(st) if st.success() => Ok(()),
        Some(st) if reason.is_empty() => Err(format!("the notification helper failed ({st})")),
        Some(_) => Err(reason),
        None => Err(format!(
            "gave up after {}: the session bus did not answer",
            crate::dbus::secs(timeout)
        )),
    }
}

/// Sends the notification on `address` with this process's credentials,
/// giving up after `timeout`.
pub fn direct(address: &str, summary: &str, body: &str, timeout: Duration) -> Result<(), String> {
    let mut bus =
        crate::dbus::Bus::connect(address, timeout).map_err(|e| format!("session bus: {e}"))?;
    bus.notify("dlp-remediate", summary, body)
        .map(|_| ())
        .map_err(|e| format!("Notify: {e}"))
}

/// The summary and body of a notification about `path`.
pub fn text(action: &str, path: &Path, detectors: &[String], id: Option<&str>) -> (String, String) {
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let what = if detectors.is_empty() {
        "sensitive data".to_owned()
    } else {
        detectors.join(", ")
    };
    match (action, id) {
        ("quarantined", Some(id)) => (
            format!("Sensitive file quarantined: {name}"),
            format!(
                "{} appears to hold {what}. It was moved to quarantine (id {id}); ask your security team if you need it back.",
                path.display()
            ),
        ),
        ("deleted", _) => (
            format!("Sensitive file deleted: {name}"),
            format!("{} appears to hold {what} and was deleted by policy.", path.display()),
        ),
        _ => (
            format!("Sensitive data found: {name}"),
            format!(
                "{} appears to hold {what}. Remove it or move it somewhere approved.",
                path.display()
            ),
        ),
    }
}
