//! Computes the Content-Security-Policy source that allows the page's one
//! inline script: `'sha256-…'` of `src/page/report.js`, the exact text the
//! page embeds. Any other script, or an edited copy, is refused by the
//! browser.

use base64::Engine as _;
use sha2::{Digest, Sha256};

fn main() {
    let script = "src/page/report.js";
    println!("cargo:rerun-if-changed={script}");
    let text = std::fs::read(script).expect("reading the page script");
    let digest = Sha256::digest(&text);
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("script_csp.rs");
    std::fs::write(
        out,
        format!("/// `'sha256-…'` of the inline script.\npub const SCRIPT_SOURCE: &str = \"'sha256-{b64}'\";\n"),
    )
    .expect("writing script_csp.rs");
}
