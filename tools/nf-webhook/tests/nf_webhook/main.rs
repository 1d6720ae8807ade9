//! nf-webhook's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod hardening;
mod nf_webhook;
mod startup;
