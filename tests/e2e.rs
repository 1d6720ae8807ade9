//! The end-to-end tests across the tools, in one test binary (one link
//! step): a module per concern, with the shared fixtures in `support.rs`
//! (the `e2e` library). README.md, "Development", says how to run one.

mod cli;
mod cloud_pipeline;
mod deb;
mod fleet;
mod install;
mod msrv;
mod pipelines;
mod readme;
mod remediation;
mod sdk_conformance;
mod systemd;
mod upload;
