//! `webhook-post`: POST NDJSON records to a webhook, for file-integrity
//! alerts (Upsun's FIM article: watchdog events to Slack or any endpoint)
//! and any other stage's output.
//!
//! The main loop reads records (from the [`input`] thread), applies the
//! per-minute cap ([`limit`]), groups records into batches ([`batch`]),
//! renders each batch ([`render`], [`template`]) and stores it durably in
//! the spool before handing its key to the [`delivery`] thread, which posts
//! ([`http`]) with retries and logs each outcome on stdout ([`report`]).
//! Flags are validated up front in [`cli`].

pub mod batch;
pub mod cli;
pub mod delivery;
pub mod http;
pub mod input;
pub mod limit;
pub mod render;
pub mod report;
pub mod template;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use crossbeam_channel::RecvTimeoutError;
use dlp_core::spool::Spool;
use dlp_core::{signals, ExitCode};

use crate::batch::{summarise, Batcher};
use crate::cli::Config;
use crate::delivery::Ctl;
use crate::input::Msg;
use crate::limit::Limiter;
use crate::report::Out;

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: cli::Args = dlp_core::cli::parse("webhook-post", command());
    dlp_core::run_main("webhook-post", || {
        let input = dlp_core::cli::Inputs::open(&args.files)?;
        let cfg = args.into_config(|k| std::env::var(k).ok())?;
        run(cfg, input)
    })
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why the read loop ended.
enum Stop {
    Eof,
    Fatal(String),
    Interrupted,
}

/// Runs the tool over `input` with a validated configuration.
pub fn run(cfg: Config, input: impl std::io::Read + Send + 'static) -> anyhow::Result<ExitCode> {
    signals::install().context("installing signal handlers")?;
    // Opening the spool locks it, so two instances never deliver the same entries.
    let spool = Spool::open(&cfg.spool).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => anyhow::anyhow!("{e}"),
        _ => anyhow::anyhow!("opening spool {}: {e}", cfg.spool.display()),
    })?;
    let pending = spool
        .list()
        .with_context(|| format!("listing spool {}", cfg.spool.display()))?;
    if !pending.is_empty() {
        eprintln!(
            "webhook-post: {} from an earlier run pending in {}; delivering them first",
            count(pending.len() as u64, "batch", "batches"),
            cfg.spool.display()
        );
    }

    let (tx, rx) = crossbeam_channel::bounded::<Msg>(1024);
    let wake = tx.clone();
    signals::on_signal(move || {
        let _ = wake.try_send(Msg::Wake);
    });
    let wake = tx.clone();
    let out = Arc::new(Out::stdout(move || {
        let _ = wake.try_send(Msg::Wake);
    }));
    let rejected = Arc::new(AtomicBool::new(false));
    let stopping = Arc::new(AtomicBool::new(false));
    let reader_idle = Arc::new(AtomicBool::new(false));
    input::spawn(
        input,
        tx,
        cfg.strict,
        rejected.clone(),
        stopping.clone(),
        reader_idle.clone(),
    );

    let poster = http::Poster::new(&cfg);
    let (ctl, worker) = delivery::spawn(
        spool.clone(),
        poster,
        out.clone(),
        pending,
        delivery::Settings::from_config(&cfg),
    );
    let mut limiter = cfg.max_per_minute.map(Limiter::new);
    let mut b = Batcher::new(&cfg, &spool, &ctl);

    // A record enters the current batch unless the per-minute cap holds it back.
    let take =
        |b: &mut Batcher, limiter: &mut Option<Limiter>, rec: input::Rec| -> anyhow::Result<()> {
            let now = Instant::now();
            let admitted = match limiter.as_mut() {
                Some(l) => l.admit(now, rec.path.as_deref()),
                None => true,
            };
            if admitted {
                b.push(rec.raw, now)?;
            }
            Ok(())
        };
    let stop = loop {
        if signals::requested() || out.stopped() {
            break Stop::Interrupted;
        }
        let now = Instant::now();
        if let Some(s) = limiter.as_mut().and_then(|l| l.poll(now, false)) {
            summarise(&mut b, &out, s)?;
        }
        if b.due().is_some_and(|d| d <= now) {
            b.flush()?;
        }
        let wake_at = [b.due(), limiter.as_ref().and_then(Limiter::due)]
            .into_iter()
            .flatten()
            .min();
        let msg = match wake_at {
            Some(t) => rx.recv_timeout(t.saturating_duration_since(now)),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Err(RecvTimeoutError::Timeout) | Ok(Msg::Wake | Msg::Drained) => {}
            Err(RecvTimeoutError::Disconnected) | Ok(Msg::Eof) => break Stop::Eof,
            Ok(Msg::Fatal(why)) => break Stop::Fatal(why),
            Ok(Msg::Record(item)) => take(&mut b, &mut limiter, item)?,
        }
    };

    // Nothing read is dropped: records already parsed when a signal or a
    // closed stdout stopped the loop, the partial batch and any pending
    // summary go to the spool.
    if matches!(stop, Stop::Interrupted) {
        // The reader hands over what it has read; a reader waiting on a
        // quiet input with everything sent holds nothing more.
        stopping.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(10)) {
                Ok(Msg::Record(item)) => take(&mut b, &mut limiter, item)?,
                Ok(Msg::Wake) => {}
                Ok(Msg::Drained | Msg::Eof | Msg::Fatal(_))
                | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout)
                    if reader_idle.load(Ordering::SeqCst) && rx.is_empty() =>
                {
                    break
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
    b.flush()?;
    if let Some(s) = limiter.as_mut().and_then(|l| l.poll(Instant::now(), true)) {
        summarise(&mut b, &out, s)?;
    }
    let mut interrupted = matches!(stop, Stop::Interrupted);
    let drain_for = |budget: Duration, interrupted: bool| {
        let deadline = Instant::now() + budget;
        let _ = ctl.send(Ctl::Drain(deadline));
        // An attempt in flight at the deadline may take up to --timeout (not waited for after a signal).
        deadline
            + if interrupted {
                Duration::from_millis(500)
            } else {
                cfg.timeout + Duration::from_secs(1)
            }
    };
    let mut hard = drain_for(
        if interrupted {
            cfg.grace
        } else {
            cfg.max_retry_time
        },
        interrupted,
    );
    let report = loop {
        if worker.is_finished() {
            break worker.join().ok();
        }
        if !interrupted && (signals::requested() || out.stopped()) {
            // A signal while delivering the rest at end of input: only the grace period is left.
            interrupted = true;
            hard = hard.min(drain_for(cfg.grace, true));
        }
        if Instant::now() >= hard {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };

    if let Some(e) = out.error() {
        bail!("writing output: {e}");
    }
    let mut code = ExitCode::from_rejected(rejected.load(Ordering::SeqCst));
    match &report {
        Some(r) => {
            if r.left_batches > 0 {
                eprintln!(
                    "webhook-post: {} in {} not delivered{}; they stay in {} and are sent first on the next start",
                    count(r.left_records, "record", "records"),
                    count(r.left_batches, "batch", "batches"),
                    if interrupted { "" } else { " within --max-retry-time" },
                    spool.dir().display()
                );
                if !interrupted {
                    code = ExitCode::Rejected;
                }
            }
            if r.failed_batches > 0 {
                code = ExitCode::Rejected;
            }
        }
        None => {
            eprintln!(
                "webhook-post: a delivery was still in progress at exit; undelivered batches stay in {}",
                spool.dir().display()
            );
            if !interrupted {
                code = ExitCode::Rejected;
            }
        }
    }
    if let Stop::Fatal(why) = stop {
        bail!("{why}");
    }
    if out.stopped() {
        return Ok(ExitCode::Ok);
    }
    Ok(code)
}
