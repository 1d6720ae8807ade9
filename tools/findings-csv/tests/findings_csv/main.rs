//! findings-csv's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod append_summary;
mod findings_csv;
