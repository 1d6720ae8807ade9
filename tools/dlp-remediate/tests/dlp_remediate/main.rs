//! dlp-remediate's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod common;
mod dlp_remediate;
mod hostile_bus;
mod hostile_tree;
