//! `webhook-post`: POST NDJSON records to a webhook, for file-integrity
//! alerts (Upsun's FIM article: watchdog events to Slack or any endpoint)
//! and any other stage's output.
//!
//! The main loop reads records (from the [`input`] thread), applies the
//! per-minute cap ([`limit`]), groups records into batches ([`batch`]),
//! renders each batch ([`render`], [`template`]) and stores it durably in
//! the spool before handing its key to the outbox's delivery thread, which posts
//! ([`delivery`], [`http`]) with retries and logs each outcome on stdout ([`report`]).
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
use dlp_runtime::{signals, ExitCode};
use dlp_store::spool::Spool;

use crate::batch::{summarise, Batcher};
use crate::cli::Config;
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
    let args: cli::Args = dlp_runtime::cli::parse("webhook-post", command());
    dlp_runtime::run_main("webhook-post", || {
        let input = dlp_runtime::cli::Inputs::open(&args.files)?;
        let cfg = args.into_config(|k| std::env::var(k).ok())?;
        run(cfg, input)
    })
}

/// How webhook-post's messages name it and its deliveries.
const WORDS: outbox::finish::Words = outbox::finish::Words {
    tool: "webhook-post",
    doing: "delivering",
    not_done: "delivered",
};

/// Why the read loop ended.
enum Stop {
    Eof,
    Fatal(String),
    Interrupted,
}

/// Runs the tool over `input` with a validated configuration, in four
/// phases: open the spool, read records into spooled batches until end of
/// input or a stop, drain the delivery queue, and turn the outcome into an
/// exit status.
pub fn run(cfg: Config, input: impl std::io::Read + Send + 'static) -> anyhow::Result<ExitCode> {
    signals::install().context("installing signal handlers")?;
    let (spool, pending) = outbox::finish::open(&cfg.spool, WORDS)?;

    let (tx, rx) = crossbeam_channel::bounded::<Msg>(1024);
    let wake = tx.clone();
    signals::on_signal(move || {
        let _ = wake.try_send(Msg::Wake);
    });
    let wake = tx.clone();
    let out = Arc::new(Out::stdout().on_stop(move || {
        let _ = wake.try_send(Msg::Wake);
    }));
    let reader = ReaderFlags {
        rejects: dlp_runtime::Rejects::new("webhook-post", cfg.strict),
        stopping: Arc::default(),
        idle: Arc::default(),
    };
    input::spawn(
        input,
        tx,
        reader.rejects.clone(),
        reader.stopping.clone(),
        reader.idle.clone(),
    );
    let (ctl, worker) = outbox::spawn(
        spool.clone(),
        delivery::Webhook::new(&cfg, out.clone(), spool.dir().to_owned()),
        pending,
        delivery::options(&cfg),
    );

    let mut intake = Intake {
        batcher: Batcher::new(&cfg, &spool, &ctl),
        limiter: cfg.max_per_minute.map(Limiter::new),
        out: &out,
    };
    let stop = intake.read(&rx)?;
    if matches!(stop, Stop::Interrupted) {
        intake.take_rest(&rx, &reader)?;
    }
    intake.finish()?;

    let budget = outbox::finish::Budget {
        retry: cfg.max_retry_time,
        grace: cfg.grace,
        in_flight: cfg.timeout + Duration::from_secs(1),
    };
    let (report, interrupted) = outbox::finish::drain(
        &ctl,
        worker,
        budget,
        matches!(stop, Stop::Interrupted),
        || signals::requested() || out.stopped(),
    );
    if let Some(e) = out.error() {
        bail!("writing output: {e}");
    }
    let code = exit_status(&spool, report.as_ref(), interrupted, &reader);
    if let Stop::Fatal(why) = stop {
        bail!("{why}");
    }
    if out.stopped() {
        return Ok(ExitCode::Ok);
    }
    Ok(code)
}

/// What the reader thread tells the main loop besides records.
struct ReaderFlags {
    /// Rejected lines (exit status 1).
    rejects: dlp_runtime::Rejects,
    /// Set by the main loop: hand over what has been read and stop.
    stopping: Arc<AtomicBool>,
    /// The reader is waiting on input with everything read sent.
    idle: Arc<AtomicBool>,
}

/// The reading side: records into batches, under the per-minute cap.
struct Intake<'a> {
    batcher: Batcher<'a>,
    limiter: Option<Limiter>,
    out: &'a Out,
}

impl Intake<'_> {
    /// A record enters the current batch unless the per-minute cap holds it back.
    fn take(&mut self, rec: input::Rec) -> anyhow::Result<()> {
        let now = Instant::now();
        let admitted = match self.limiter.as_mut() {
            Some(l) => l.admit(now, rec.path.as_deref()),
            None => true,
        };
        if admitted {
            self.batcher.push(rec.raw, now)?;
        }
        Ok(())
    }

    /// Reads until end of input, a fatal reader error, a signal or a
    /// closed stdout, flushing batches and cap summaries as they fall due.
    fn read(&mut self, rx: &crossbeam_channel::Receiver<Msg>) -> anyhow::Result<Stop> {
        loop {
            if signals::requested() || self.out.stopped() {
                return Ok(Stop::Interrupted);
            }
            let now = Instant::now();
            if let Some(s) = self.limiter.as_mut().and_then(|l| l.poll(now, false)) {
                summarise(&mut self.batcher, self.out, s)?;
            }
            if self.batcher.due().is_some_and(|d| d <= now) {
                self.batcher.flush()?;
            }
            let wake_at = [
                self.batcher.due(),
                self.limiter.as_ref().and_then(Limiter::due),
            ]
            .into_iter()
            .flatten()
            .min();
            let msg = match wake_at {
                Some(t) => rx.recv_timeout(t.saturating_duration_since(now)),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Err(RecvTimeoutError::Timeout) | Ok(Msg::Wake | Msg::Drained) => {}
                Err(RecvTimeoutError::Disconnected) | Ok(Msg::Eof) => return Ok(Stop::Eof),
                Ok(Msg::Fatal(why)) => return Ok(Stop::Fatal(why)),
                Ok(Msg::Record(item)) => self.take(item)?,
            }
        }
    }

    /// After a signal or a closed stdout: nothing read is dropped. The
    /// reader hands over what it has read (a reader waiting on a quiet
    /// input with everything sent holds nothing more), and it is batched.
    fn take_rest(
        &mut self,
        rx: &crossbeam_channel::Receiver<Msg>,
        reader: &ReaderFlags,
    ) -> anyhow::Result<()> {
        reader.stopping.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(10)) {
                Ok(Msg::Record(item)) => self.take(item)?,
                Ok(Msg::Wake) => {}
                Ok(Msg::Drained | Msg::Eof | Msg::Fatal(_))
                | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout)
                    if reader.idle.load(Ordering::SeqCst) && rx.is_empty() =>
                {
                    break
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        Ok(())
    }

    /// Spools the partial batch and any pending cap summary.
    fn finish(mut self) -> anyhow::Result<()> {
        self.batcher.flush()?;
        if let Some(s) = self
            .limiter
            .as_mut()
            .and_then(|l| l.poll(Instant::now(), true))
        {
            summarise(&mut self.batcher, self.out, s)?;
        }
        Ok(())
    }
}

/// The exit status: 1 when a line was rejected, a batch failed for good,
/// or batches were left undelivered at end of input.
fn exit_status(
    spool: &Spool,
    report: Option<&outbox::Report>,
    interrupted: bool,
    reader: &ReaderFlags,
) -> ExitCode {
    if outbox::finish::left_behind(WORDS, spool.dir(), report, interrupted) {
        return ExitCode::Rejected;
    }
    reader.rejects.exit_code()
}
