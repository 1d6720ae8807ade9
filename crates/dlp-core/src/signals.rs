//! SIGINT/SIGTERM handling: finish the record in hand, flush, exit.
//!
//! [`install`] starts a thread that waits for the signals. A tool marks the
//! moments when it is blocked on input with everything flushed by holding
//! an [`idle`] guard; a signal that arrives then ends the process at once
//! with status 0 (nothing is in hand). A signal that arrives while the tool
//! is busy only sets a flag: the tool finishes the record, flushes, sees
//! [`requested`] and returns normally.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static REQUESTED: AtomicBool = AtomicBool::new(false);
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
            for (n, _) in signals.forever().enumerate() {
                if n > 0 {
                    // A second signal: the user does not want to wait.
                    std::process::exit(130);
                }
                REQUESTED.store(true, Ordering::SeqCst);
                if let Some(hook) = ON_SIGNAL.get() {
                    hook();
                }
                let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
                if *idle {
                    std::process::exit(0);
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
