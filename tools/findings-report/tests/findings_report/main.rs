//! Integration tests: the real `findings-report` binary on inputs whose
//! numbers are known, its page read back as text and as the DOM a real
//! headless Chromium builds.

mod browser;
mod counts;
mod hostile;
mod state;
mod support;
