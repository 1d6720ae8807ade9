//! nats-tail refuses a bad configuration at start, before it connects,
//! with a `nats-tail: …` message and status 2. (Reading real JetStream
//! servers is tested end to end in `tests/fleet.rs`.)

use testkit::cmd;

const BIN: &str = env!("CARGO_BIN_EXE_nats-tail");

#[test]
fn bad_settings_are_refused_up_front() {
    for (args, want) in [
        (
            vec!["--durable", "a.b"],
            "durable name 'a.b' must be letters, digits",
        ),
        (
            vec!["--ack-wait", "0"],
            "--ack-wait must be between 100ms and 1d",
        ),
        (
            vec!["--ack-wait", "25h"],
            "--ack-wait must be between 100ms and 1d",
        ),
        (vec!["--filter", "dlp..x"], "is not a NATS subject"),
    ] {
        let err = cmd(BIN)
            .args(&args)
            .env("NATS_URL", "nats://127.0.0.1:9")
            .run()
            .expect_code(2)
            .stderr_str();
        assert!(err.starts_with("nats-tail: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_password_in_a_server_url_is_refused_and_never_printed() {
    let err = cmd(BIN)
        .args(["--servers", "nats://ana:s3cr3t-pw@127.0.0.1:4222"])
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("carries credentials"), "{err}");
    assert!(!err.contains("s3cr3t-pw") && !err.contains("ana:"), "{err}");
}
