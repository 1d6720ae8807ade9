//! pii-scan's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod faker_exports;
mod formats;
mod pii_scan;
mod state;
