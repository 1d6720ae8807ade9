//! nats-post refuses a bad configuration at start, before it reads input or
//! connects anywhere, with a `nats-post: …` message and status 2; a
//! credential put in a server URL is refused without being printed.
//! (Publishing against real JetStream servers is tested end to end in
//! `tests/fleet.rs`.)

use testkit::cmd;

const BIN: &str = env!("CARGO_BIN_EXE_nats-post");

#[test]
fn bad_settings_are_refused_up_front() {
    for (args, env, want) in [
        (
            vec!["--stream", "a.b"],
            None,
            "stream name 'a.b' must be letters, digits",
        ),
        (vec!["--host", " "], None, "a host name must not be empty"),
        (
            vec!["--host", "web\u{202e}01"],
            None,
            "control or invisible characters",
        ),
        (
            vec![],
            Some(("NATS_USER", "u")),
            "$NATS_USER is set but $NATS_PASSWORD is not",
        ),
    ] {
        let mut c = cmd(BIN).args(&args).env("NATS_URL", "nats://127.0.0.1:9");
        if let Some((k, v)) = env {
            c = c.env(k, v);
        }
        let err = c.stdin("").run().expect_code(2).stderr_str();
        assert!(err.starts_with("nats-post: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_password_in_a_server_url_is_refused_and_never_printed() {
    let out = cmd(BIN)
        .args(["--servers", "nats://ana:s3cr3t-pw@127.0.0.1:4222"])
        .stdin("")
        .run()
        .expect_code(2);
    let err = out.stderr_str();
    assert!(err.contains("carries credentials"), "{err}");
    assert!(!err.contains("s3cr3t-pw") && !err.contains("ana:"), "{err}");
    assert!(out.stdout_str().is_empty());
}

#[test]
fn unknown_flags_are_usage_errors() {
    let err = cmd(BIN).arg("--bogus").run().expect_code(2).stderr_str();
    assert!(err.contains("--bogus"), "{err}");
}
