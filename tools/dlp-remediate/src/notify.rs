//! Telling the file's owner: a desktop notification.
//!
//! Linux: a freedesktop notification (`org.freedesktop.Notifications`) on
//! the session bus in `DBUS_SESSION_BUS_ADDRESS`, or, when that is unset
//! (a system service), on the file owner's bus `/run/user/UID/bus`. A
//! session bus admits only its own user, so when root is refused the call is
//! made as the file's owner: `setpriv --reuid UID` runs this binary's hidden
//! `__notify` helper, which connects with the owner's credentials.
//! macOS: `osascript -e 'display notification ...'`. The text names the
//! file and the detectors, never the finding itself.

use std::path::Path;

/// Sends one notification to the session of `uid`; `Err` says why not.
pub fn send(uid: u32, gid: u32, summary: &str, body: &str) -> Result<(), String> {
    platform_send(uid, gid, summary, body)
}

#[cfg(target_os = "macos")]
fn platform_send(_uid: u32, _gid: u32, summary: &str, body: &str) -> Result<(), String> {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let script = format!(
        "display notification \"{}\" with title \"{}\"",
        q(body),
        q(summary)
    );
    let st = std::process::Command::new("osascript")
        .args(["-e", &script])
        .status()
        .map_err(|e| format!("osascript: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("osascript: {st}"))
    }
}

#[cfg(not(target_os = "macos"))]
fn platform_send(uid: u32, gid: u32, summary: &str, body: &str) -> Result<(), String> {
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
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    match direct(&address, summary, body) {
        Err(e) if root && uid != 0 && e.starts_with("session bus:") => {
            // Refused (a user's bus admits only that user): as the owner.
            send_as(uid, gid, &address, summary, body)
        }
        r => r,
    }
}

/// Sends the notification on `address` with this process's credentials.
pub fn direct(address: &str, summary: &str, body: &str) -> Result<(), String> {
    let mut bus = crate::dbus::Bus::connect(address, std::time::Duration::from_secs(5))
        .map_err(|e| format!("session bus: {e}"))?;
    bus.notify("dlp-remediate", summary, body)
        .map(|_| ())
        .map_err(|e| format!("Notify: {e}"))
}

/// Runs `dlp-remediate __notify` as `uid`:`gid` (setpriv, util-linux).
#[cfg(not(target_os = "macos"))]
fn send_as(uid: u32, gid: u32, address: &str, summary: &str, body: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            &uid.to_string(),
            "--regid",
            &gid.to_string(),
            "--clear-groups",
            "--",
        ])
        .arg(exe)
        .args(["__notify", address, summary, body])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("setpriv (to notify as uid {uid}): {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let err = err.trim().trim_start_matches("dlp-remediate: ");
    Err(format!("as uid {uid}: {err}"))
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
