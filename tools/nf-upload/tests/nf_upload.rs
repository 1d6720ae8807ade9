//! nf-upload on its own: configuration errors and the records it writes
//! without talking to any server. Uploads against nf-emulator are tested
//! end to end in tests/upload.rs (the e2e package).

use std::path::Path;

use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_nf-upload");

fn event(kind: &str, path: &Path, is_dir: bool) -> String {
    serde_json::json!({"event_type": kind, "src_path": path, "dest_path": "", "is_directory": is_dir}).to_string() + "\n"
}

/// An nf-upload whose API cannot be reached (port 9 on loopback is closed).
fn offline() -> testkit::Cmd {
    cmd(BIN)
        .env("NIGHTFALL_API_KEY", "NF-test-key")
        .env("NIGHTFALL_API_URL", "http://127.0.0.1:9")
        .args([
            "--webhook-url",
            "http://127.0.0.1:9/ingest",
            "--attempts",
            "1",
        ])
}

#[test]
fn configuration_errors_exit_2_and_never_print_the_key() {
    let out = cmd(BIN)
        .args(["--webhook-url", "https://x.example/ingest"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("NIGHTFALL_API_KEY is not set"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .env("NIGHTFALL_API_KEY", "NF-secret-value")
        .env("NIGHTFALL_SERVER_URL", "")
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("NIGHTFALL_SERVER_URL"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stderr_str().contains("NF-secret-value"));
    let out = offline()
        .args(["--detector", "NOT_A_DETECTOR"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("NOT_A_DETECTOR"),
        "{}",
        out.stderr_str()
    );
    let out = offline()
        .args(["--rules", "/nonexistent/rules.json"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("/nonexistent/rules.json"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .env("NIGHTFALL_API_KEY", "k")
        .args(["--webhook-url", "ftp://x/ingest"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("http(s) URL"),
        "{}",
        out.stderr_str()
    );
    cmd(BIN).arg("--help").run().expect_code(0);
    assert!(cmd(BIN)
        .arg("--version")
        .run()
        .expect_code(0)
        .stdout_str()
        .starts_with("nf-upload "));
}

#[test]
fn skips_need_no_server_and_unreachable_api_fails_cleanly() {
    let dir = TempDir::new("nfu");
    std::fs::write(dir.join("empty.txt"), b"").unwrap();
    std::fs::write(dir.join("data.txt"), b"card 5433-9502-3725-7862\n").unwrap();
    let input = [
        event("deleted", &dir.join("gone.txt"), false),
        event("created", dir.path(), true),
        event("modified", &dir.join("empty.txt"), false),
        event("modified", &dir.join("vanished.txt"), false),
        "not a record\n".to_string(),
        event("modified", &dir.join("data.txt"), false),
    ]
    .concat();
    let out = offline().stdin(input).run().expect_code(1);
    let recs = out.records();
    let got: Vec<(String, String)> = recs
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["reason"]
                    .as_str()
                    .or(r["error"].as_str())
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5, "{got:?}");
    // Files are handled concurrently: records come in completion order.
    let mut skipped: Vec<&str> = got
        .iter()
        .filter(|(status, _)| status == "skipped")
        .map(|(_, reason)| reason.as_str())
        .collect();
    skipped.sort_unstable();
    assert_eq!(
        skipped,
        ["directory", "empty", "event_type deleted", "vanished"],
        "{got:?}"
    );
    let failed = recs
        .iter()
        .find(|r| r["status"] == "failed")
        .expect("a failed record");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("POST /v3/upload"),
        "{got:?}"
    );
    assert_eq!(
        failed["sha256"].as_str().unwrap().len(),
        64,
        "a failed record can be fed again"
    );
    assert!(
        out.stderr_str()
            .contains("nf-upload: line 5: not an FsEvent record"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn closed_stdout_ends_quietly_and_stops_the_workers() {
    // Skip records need no server: a stream of deleted-file events, and a
    // reader that goes away after the first record.
    let line = event("deleted", Path::new("/gone/x.txt"), false);
    let (first, out) = testkit::first_line_then_close_env(
        BIN,
        &["--webhook-url", "http://127.0.0.1:9/ingest"],
        &[
            ("NIGHTFALL_API_KEY", "NF-test-key"),
            ("NIGHTFALL_API_URL", "http://127.0.0.1:9"),
        ],
        &line,
        200_000,
    );
    assert!(first.contains("event_type deleted"), "{first}");
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert_eq!(out.stderr_str(), "");
}
