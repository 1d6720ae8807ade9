//! Start-up checks: a bad --spool is refused before the server listens.

use std::time::{Duration, Instant};

use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_nf-webhook");

#[test]
fn spool_with_a_missing_parent_is_refused_at_once_and_nothing_is_created() {
    let t = TempDir::new("nfw-startup");
    let spool = t.join("nonexistent/x/y");
    let started = Instant::now();
    let out = cmd(BIN)
        .arg("--spool")
        .arg(&spool)
        .args(["--listen", "127.0.0.1:0"])
        .env("NIGHTFALL_SIGNING_SECRET", "s")
        .run()
        .expect_code(2);
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "nf-webhook: --spool {}: parent directory {} does not exist",
            spool.display(),
            t.join("nonexistent/x").display()
        )),
        "{err}"
    );
    assert!(!err.contains("listening"), "{err}");
    assert!(!t.join("nonexistent").exists(), "no tree was created");

    // A file where the spool should be is refused too.
    let file = t.join("file");
    std::fs::write(&file, "x").unwrap();
    let out = cmd(BIN)
        .arg("--spool")
        .arg(&file)
        .env("NIGHTFALL_SIGNING_SECRET", "s")
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("not a directory"),
        "{}",
        out.stderr_str()
    );
}
