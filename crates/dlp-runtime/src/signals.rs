//! SIGINT/SIGTERM handling: finish the record in hand, flush, exit.
//!
//! [`install`] starts a thread that waits for the signals. A tool marks the
//! moments when it is blocked on input with everything flushed by holding
//! an [`idle`] guard; a signal that arrives then ends the process at once
//! (nothing is in hand). A signal that arrives while the tool is busy only
//! sets a flag: the tool finishes the record, flushes, sees [`requested`]
//! and returns normally.
//!
//! Either way a tool ended by a signal exits with 128 + the signal number
//! (130 for SIGINT, 143 for SIGTERM), as a shell reports a process killed by
//! it, so `while …; do tool; done` stops on Ctrl-C: the idle path exits so
//! here, and [`crate::run_main`] maps a normal return after a signal to it
//! via [`exit_status`]. A second signal exits at once, with the same rule.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static IDLE: Mutex<bool> = Mutex::new(false);
static INSTALLED: OnceLock<()> = OnceLock::new();

type Hook = Box<dyn Fn() + Send + Sync>;
static ON_SIGNAL: OnceLock<Hook> = OnceLock::new();

/// Installs the SIGINT/SIGTERM handler thread (idempotent).
pub fn install() -> std::io::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let _ = INSTALLED.set(());
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for (n, sig) in signals.forever().enumerate() {
                if n > 0 {
                    // A second signal: the user does not want to wait.
                    std::process::exit(status_of(sig));
                }
                SIGNAL.store(sig, Ordering::SeqCst);
                REQUESTED.store(true, Ordering::SeqCst);
                if let Some(hook) = ON_SIGNAL.get() {
                    hook();
                }
                let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
                if *idle {
                    std::process::exit(status_of(sig));
                }
            }
        })?;
    Ok(())
}

/// Registers a function run on the first signal, before the idle check
/// (e.g. to wake a thread blocked on a channel). Only the first call counts.
pub fn on_signal(hook: impl Fn() + Send + Sync + 'static) {
    let _ = ON_SIGNAL.set(Box::new(hook));
}

/// 128 + the signal number: what a shell reports for a process the signal
/// ended.
fn status_of(sig: i32) -> i32 {
    128 + sig
}

/// The exit status for a tool ended by the signal it received (130 after
/// SIGINT, 143 after SIGTERM), or `None` when no signal was received.
pub fn exit_status() -> Option<u8> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => u8::try_from(status_of(sig)).ok(),
    }
}

/// True once SIGINT or SIGTERM has been received.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Marks the process as idle (blocked on input, output flushed) until the
/// guard is dropped. Returns `None` when a signal has already been
/// received: the caller should stop instead of blocking.
pub fn idle() -> Option<IdleGuard> {
    let mut g = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    if requested() {
        return None;
    }
    *g = true;
    Some(IdleGuard(()))
}

/// See [`idle`].
pub struct IdleGuard(());

impl Drop for IdleGuard {
    fn drop(&mut self) {
        let mut g: MutexGuard<'_, bool> = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        *g = false;
    }
}
