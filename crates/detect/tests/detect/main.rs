//! detect's integration tests: one test binary (one link step), a module
//! per concern (README.md, "Development", says how to run one).

mod context_cases;
mod faker_floor;
mod key_cases;
mod peer_cases;
mod window_edges;
