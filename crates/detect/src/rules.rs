//! Nightfall's detection-rule language. The wire types live in `nfapi`
//! (`nfapi::rules`), where the API client and the emulator read them too;
//! the engine maps them to its detectors (`engine`, `custom`).

pub use nfapi::rules::*;
