//! Test hook: inject a kernel-queue overflow.
//!
//! An overflow cannot be provoked reliably from a test, so when the
//! environment variable `FSWATCH_JSON_DEBUG_OVERFLOW=1` is set, SIGUSR1
//! toggles "overflowed" mode: the first SIGUSR1 makes the backends discard
//! every event (as the kernel does once its queue is full) and prints
//! `fswatch-json: debug: discarding events`; the second stops discarding and
//! delivers an overflow notice (as IN_Q_OVERFLOW does), which triggers the
//! rescan. Without the variable SIGUSR1 keeps its default action.
//!
//! Test builds only (feature `test-hooks`, which the package's tests turn
//! on): in any other build the variable is ignored and nothing is ever
//! discarded.

#[cfg(feature = "test-hooks")]
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;

use crate::Msg;

#[cfg(feature = "test-hooks")]
static DROPPING: AtomicBool = AtomicBool::new(false);

/// True while injected-overflow mode discards events.
#[cfg(feature = "test-hooks")]
pub fn dropping() -> bool {
    DROPPING.load(Ordering::Relaxed)
}

/// Release builds have no hook: never discarding.
#[cfg(not(feature = "test-hooks"))]
pub fn dropping() -> bool {
    false
}

/// Release builds have no hook.
#[cfg(not(feature = "test-hooks"))]
pub fn install(_tx: Sender<Msg>) -> anyhow::Result<()> {
    Ok(())
}

/// Installs the SIGUSR1 hook when `FSWATCH_JSON_DEBUG_OVERFLOW=1`.
#[cfg(feature = "test-hooks")]
pub fn install(tx: Sender<Msg>) -> anyhow::Result<()> {
    if std::env::var("FSWATCH_JSON_DEBUG_OVERFLOW").ok().as_deref() != Some("1") {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR1])?;
    std::thread::Builder::new()
        .name("debug-overflow".into())
        .spawn(move || {
            for _ in signals.forever() {
                if !DROPPING.swap(true, Ordering::SeqCst) {
                    eprintln!("fswatch-json: debug: discarding events");
                } else {
                    DROPPING.store(false, Ordering::SeqCst);
                    eprintln!("fswatch-json: debug: injecting overflow");
                    let _ = tx.send(Msg::Overflow);
                }
            }
        })?;
    Ok(())
}
