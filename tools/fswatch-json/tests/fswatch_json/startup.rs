//! Start-up checks: a --state file that could never be saved is refused
//! before anything is watched, not when the watcher stops.

use std::time::{Duration, Instant};

use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_fswatch-json");

#[test]
fn state_in_a_missing_directory_is_refused_before_watching() {
    let d = TempDir::new("fsj-startup");
    let started = Instant::now();
    let out = cmd(BIN)
        .args(["--state", "/no/such/dir/base.state"])
        .arg(d.path())
        .run()
        .expect_code(2);
    assert!(started.elapsed() < Duration::from_secs(10), "exits at once");
    let err = out.stderr_str();
    assert!(
        err.contains(
            "fswatch-json: --state /no/such/dir/base.state: directory /no/such/dir does not exist"
        ),
        "{err}"
    );
    assert!(!err.contains("watching"), "{err}");
    assert!(out.records().is_empty());
}
