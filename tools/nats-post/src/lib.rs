//! `nats-post`: NDJSON records to a NATS JetStream stream, the fleet
//! transport from every endpoint to the centre.
//!
//! The [`input`] thread reads records, stamps each with its host and
//! works out its subject and message id once ([`subject`]), and spools them
//! with those in batches ([`entry`]); the outbox (`crates/outbox`)
//! delivers the spooled batches in order through the [`jetstream`]
//! transport, which connects ([`dlp_nats`]), makes sure the stream exists
//! ([`link`]) and publishes each batch ([`publish`]). A batch leaves the spool once
//! JetStream has acknowledged all of its records (the spool keeps only
//! those not acknowledged), and one delivery record per outcome is logged
//! on stdout. Flags are validated in [`cli`].

pub mod cli;
pub mod entry;
pub mod input;
pub mod jetstream;
pub mod link;
pub mod publish;
pub mod subject;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context as _};
use crossbeam_channel::Receiver;
use dlp_runtime::{signals, ExitCode, SharedOutput};
use outbox::finish::{Budget, Words};

use crate::cli::Config;
use crate::input::Msg;

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: cli::Args = dlp_runtime::cli::parse("nats-post", command());
    dlp_runtime::run_main("nats-post", || {
        let input = dlp_runtime::cli::Inputs::open(&args.files)?;
        let cfg = args.into_config(|k| std::env::var(k).ok())?;
        run(cfg, input)
    })
}

/// How nats-post's messages name it and its deliveries.
const WORDS: Words = Words {
    tool: "nats-post",
    doing: "publishing",
    not_done: "acknowledged",
};

/// Why the main loop stopped waiting for the end of input.
enum Stop {
    Eof,
    Fatal(String),
    /// A signal or a closed stdout.
    Interrupted,
    /// Delivery stopped on a configuration error.
    Delivery,
}

/// Runs the tool over `input` with a validated configuration: open the
/// spool, start delivery and the reader, wait for the end of input, let
/// the outbox deliver what is spooled (`--max-retry-time`, or `--grace`
/// after a signal), and turn the outcome into an exit status.
pub fn run(cfg: Config, input: impl std::io::Read + Send + 'static) -> anyhow::Result<ExitCode> {
    signals::install().context("installing signal handlers")?;
    let (spool, pending) = outbox::finish::open(&cfg.spool, WORDS)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let wake = tx.clone();
    signals::on_signal(move || {
        let _ = wake.send(Msg::Wake);
    });
    let wake = tx.clone();
    let out = Arc::new(SharedOutput::stdout().on_stop(move || {
        let _ = wake.send(Msg::Wake);
    }));
    let cfg = Arc::new(cfg);
    let stopped = Arc::new(AtomicBool::new(false));
    let transport = jetstream::Jetstream::connect(
        cfg.clone(),
        out.clone(),
        spool.dir().to_owned(),
        stopped.clone(),
        tx.clone(),
    )?;
    let (ctl, worker) = outbox::spawn(spool.clone(), transport, pending, jetstream::options());
    let rejects = dlp_runtime::Rejects::new("nats-post", cfg.strict);
    input::spawn(
        input,
        cfg.clone(),
        spool.clone(),
        ctl.clone(),
        tx,
        rejects.clone(),
    );

    let stop = wait(&rx, &out, &stopped, &worker);
    let budget = Budget {
        retry: cfg.max_retry_time,
        grace: cfg.grace,
        // Making sure of the stream, then the acknowledgements.
        in_flight: cfg.timeout * 2 + Duration::from_secs(3),
    };
    let interrupted = matches!(stop, Stop::Interrupted);
    let (report, interrupted) = outbox::finish::drain(&ctl, worker, budget, interrupted, || {
        signals::requested() || out.stopped()
    });
    if let Some(e) = out.error() {
        bail!("writing output: {e}");
    }
    let mut code = rejects.exit_code();
    if outbox::finish::left_behind(WORDS, spool.dir(), report.as_ref(), interrupted) {
        code = ExitCode::Rejected;
    }
    if let Some(why) = report.and_then(|r| r.stopped) {
        bail!("{why}");
    }
    if let Stop::Fatal(why) = stop {
        bail!("{why}");
    }
    if out.stopped() {
        return Ok(ExitCode::Ok);
    }
    Ok(code)
}

/// Waits for the end of input, a signal, a closed stdout or delivery
/// stopping, whichever comes first.
fn wait(
    rx: &Receiver<Msg>,
    out: &SharedOutput,
    stopped: &AtomicBool,
    worker: &JoinHandle<outbox::Report>,
) -> Stop {
    loop {
        if signals::requested() || out.stopped() {
            return Stop::Interrupted;
        }
        if stopped.load(Ordering::SeqCst) || worker.is_finished() {
            return Stop::Delivery;
        }
        match rx.recv() {
            Ok(Msg::Eof) | Err(_) => return Stop::Eof,
            Ok(Msg::Fatal(why)) => return Stop::Fatal(why),
            Ok(Msg::Wake) => {}
        }
    }
}
