//! The fleet transport end to end, on a real NATS JetStream server or
//! 3-node cluster started with pipelines/nats-dev.sh (no mocks):
//!
//! - nats-dev.sh itself: start, status, stop, per-node kill and restart;
//! - two hosts -> nats-post -> a 3-node cluster (stream replicas 3) ->
//!   nats-tail -> findings-csv: every record exactly once, with its host;
//! - faults: every server down when nats-post starts (spooled, then
//!   delivered); a node killed mid-stream and restarted (nothing lost,
//!   nothing doubled); nats-tail killed with SIGKILL mid-stream and
//!   restarted on its durable (nothing lost); two nats-tail sharing one
//!   durable;
//! - an independent client (Python nats-py) reads exactly what nats-post
//!   wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::nats::Nats;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn nats_dev_starts_reports_and_stops_a_server() {
    let n = Nats::start(&root(), 1);
    let status = |n: &Nats| {
        let out = Command::new(root().join("pipelines/nats-dev.sh"))
            .arg("status")
            .env("NATS_PORT", n.port.to_string())
            .env("NATS_DIR", n.dir())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = status(&n);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("JetStream ready"), "{text}");
    assert!(n.dir().join("n0/js").is_dir());
    n.kill_node(0);
    let (code, text) = status(&n);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("node 0: stopped"), "{text}");
    n.start_node(0);
    assert_eq!(status(&n).0, Some(0));
    n.stop();
    assert_eq!(status(&n).0, Some(1));
    // Usage errors exit 2 and say why.
    let out = Command::new(root().join("pipelines/nats-dev.sh"))
        .args(["start", "--cluster", "x"])
        .env("NATS_DIR", n.dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster needs a positive number"));
}
