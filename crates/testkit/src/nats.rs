//! A real NATS JetStream server or cluster for a test, run with
//! `dev/nats-dev.sh` (which installs Debian's nats-server on first
//! use) on ports of its own, stopped when dropped.
//!
//! Ports: each server set takes 2×N consecutive ports below the kernel's
//! ephemeral range (20000–32000), chosen from the process id and a counter
//! and checked free by binding them first; a start that still loses a port
//! race is retried on another base. So tests can run in parallel, in one
//! test binary or several.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::TempDir;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A running server set.
pub struct Nats {
    dir: TempDir,
    /// First client port (node I listens on `port + I`).
    pub port: u16,
    /// Number of nodes.
    pub nodes: usize,
    script: PathBuf,
}

fn ports_free(base: u16, n: u16) -> bool {
    (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

impl Nats {
    /// Starts `nodes` servers (1: a single server; 3: a cluster) and waits
    /// for their JetStream API. `root` is the repository checkout.
    pub fn start(root: &Path, nodes: usize) -> Nats {
        let script = root.join("dev/nats-dev.sh");
        let span = 2 * nodes as u64;
        let mut last = String::new();
        for _ in 0..8 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let slot = (u64::from(std::process::id()) * 7 + n * 13) % ((32000 - 20000) / 8);
            let base = (20000 + slot * 8) as u16;
            if !ports_free(base, span as u16) {
                continue;
            }
            let dir = TempDir::new("nats");
            let out = Command::new(&script)
                .args(["start", "--cluster", &nodes.to_string()])
                .env("NATS_PORT", base.to_string())
                .env("NATS_DIR", dir.path())
                .output()
                .expect("running dev/nats-dev.sh");
            let nats = Nats {
                dir,
                port: base,
                nodes,
                script: script.clone(),
            };
            if out.status.success() {
                return nats;
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            drop(nats);
        }
        panic!("could not start a NATS server set: {last}");
    }

    /// Client URLs of every node, comma-separated.
    pub fn url(&self) -> String {
        (0..self.nodes)
            .map(|i| format!("nats://127.0.0.1:{}", self.port + i as u16))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Runs `nats-dev.sh ARGS` against this server set; its messages on failure.
    pub fn ctl(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new(&self.script)
            .args(args)
            .env("NATS_PORT", self.port.to_string())
            .env("NATS_DIR", self.dir.path())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Stops every node (they can be started again with `start_node`).
    pub fn stop(&self) {
        self.ctl(&["stop"]).expect("nats-dev.sh stop");
    }

    /// Kills node `i` at once (SIGKILL).
    pub fn kill_node(&self, i: usize) {
        self.ctl(&["kill-node", &i.to_string()])
            .expect("nats-dev.sh kill-node");
    }

    /// Starts node `i` again and waits for its JetStream API.
    pub fn start_node(&self, i: usize) {
        self.ctl(&["start-node", &i.to_string()])
            .expect("nats-dev.sh start-node");
    }

    /// The directory holding configuration, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop"]);
    }
}
