//! Helpers shared by the dlp-remediate integration tests.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::{json, Value};
use testkit::cmd;

pub const BIN: &str = env!("CARGO_BIN_EXE_dlp-remediate");
pub const CARD: &str = "4916-6734-7572-5015";

/// One Finding record about `path`.
pub fn finding(path: &Path, detector: &str, confidence: &str, start: u64) -> String {
    json!({"path": path, "index": 1, "detector": detector, "confidence": confidence,
           "finding": CARD, "before_context": "card ", "after_context": "\n",
           "byte_range": {"start": start, "end": start + 19}})
    .to_string()
}

/// SHA-256 via the system's sha256sum (independent of the tool's code).
pub use testkit::sha256_hex as sha256;

/// Our effective uid (the owner of /proc/self).
pub fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

/// The uid tests give planted files: 1000 when we are root (so restoring
/// the owner is tested), else our own.
pub fn owner() -> u32 {
    match euid() {
        0 => 1000,
        me => me,
    }
}

/// Writes a file with planted data, mode 0640, owned by [`owner`], an old mtime.
pub fn plant(path: &Path, body: &str) -> Vec<u8> {
    let bytes = format!("name,card\nAna,{CARD}\n{body}").into_bytes();
    std::fs::write(path, &bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
    if owner() == 1000 {
        std::os::unix::fs::chown(path, Some(1000), Some(1000)).unwrap();
    }
    cmd("touch")
        .args(["-d", "2021-03-04 05:06:07.123456789"])
        .arg(path)
        .run()
        .expect_code(0);
    bytes
}

/// The only record of `records`.
pub fn one(records: &[Value]) -> &Value {
    assert_eq!(records.len(), 1, "{records:?}");
    &records[0]
}

/// True when this machine lets us create mount namespaces and mounts (a
/// failure under CI, a skip elsewhere, when it does not).
pub fn mounts_available() -> bool {
    testkit::facility(
        testkit::can_mount(),
        "cannot create a private mount namespace and a tmpfs (needs root / CAP_SYS_ADMIN): cross-file-system tests not run",
    )
}

/// The one record of a run that delivered its notification: `action`,
/// `"notified": true`.
pub fn delivered(out: &testkit::Output, action: &str) -> Value {
    let recs = out.records();
    let r = one(&recs).clone();
    assert_eq!(
        (r["action"].as_str(), r["notified"].as_bool()),
        (Some(action), Some(true)),
        "{r}"
    );
    r
}
