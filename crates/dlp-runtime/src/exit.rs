//! One exit-code table for every tool, and the `main` wrapper that maps
//! errors onto it: a closed stdout is a quiet success, anything else fatal
//! is printed as `tool: message` and exits 2.

use std::io;

/// Exit status shared by every tool (0 ok, 1 some input rejected, 2 fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything read was processed.
    Ok = 0,
    /// Some input records were rejected (reported on stderr), the rest processed.
    Rejected = 1,
    /// Usage, configuration or fatal I/O error.
    Fatal = 2,
}

impl ExitCode {
    /// `Rejected` when `rejected` is true, else `Ok`.
    pub fn from_rejected(rejected: bool) -> Self {
        if rejected {
            ExitCode::Rejected
        } else {
            ExitCode::Ok
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

/// True when the error, or anything in its chain, is a broken pipe: the
/// reader of our stdout went away (`| head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs a tool body and turns its result into a process exit code.
///
/// Errors are printed once as `tool: error: cause: cause`; a broken pipe on
/// stdout ends the tool quietly with status 0. A tool that returns after
/// SIGINT/SIGTERM (see [`crate::signals`]) exits 128 + the signal number
/// (130, 143) instead of its own status, unless it failed (2).
pub fn run_main(
    tool: &str,
    body: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> std::process::ExitCode {
    let by_signal = |code: ExitCode| match crate::signals::exit_status() {
        Some(status) => std::process::ExitCode::from(status),
        None => code.into(),
    };
    match body() {
        Ok(ExitCode::Fatal) => ExitCode::Fatal.into(),
        Ok(code) => by_signal(code),
        Err(err) if is_broken_pipe(&err) => by_signal(ExitCode::Ok),
        Err(err) => {
            eprintln!("{tool}: {err:#}");
            ExitCode::Fatal.into()
        }
    }
}

/// The `main` of a filter that stops cleanly on SIGINT/SIGTERM from its
/// first record: the arguments parsed into `C` with `cmd` (the tool's
/// `command()`, see [`crate::cli::parse`]), the signal handlers installed
/// ([`crate::signals::install`]), then `body` under [`run_main`].
pub fn filter_main<C: clap::FromArgMatches>(
    tool: &str,
    cmd: clap::Command,
    body: impl FnOnce(C) -> anyhow::Result<ExitCode>,
) -> std::process::ExitCode {
    let args: C = crate::cli::parse(tool, cmd);
    run_main(tool, || {
        crate::signals::install()?;
        body(args)
    })
}
