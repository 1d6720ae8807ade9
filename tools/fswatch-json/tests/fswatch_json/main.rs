//! fswatch-json's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod fswatch_json;
mod hardening;
mod mounts;
mod rescan;
mod startup;
