//! The HTML page: one file, inline CSS, an inline SVG chart and one inline
//! script, nothing fetched. The Content-Security-Policy is `default-src
//! 'none'` and allows the script by its SHA-256 only (computed by
//! build.rs from `report.js`, the exact text embedded), so an injected or
//! altered script does not run. Every name from the input is shown through
//! [`esc`]: hidden and bidirectional characters as visible `\uXXXX`
//! escapes, then HTML-escaped.
//!
//! Numbers carry `data-*` attributes (`data-value`, `data-count`,
//! `data-sort`) so tests, scrapers and the script read them without
//! parsing text.

mod chart;
mod findings;
mod hosts;
mod kpis;
mod tables;

use std::fmt::Write as _;

use dlp_record::text::escape_hidden;

use crate::agg::Agg;
use crate::cli::Config;
use crate::state::Previous;
use crate::summary::Summary;
use crate::when::{self, Micros, NO_TIME};

mod csp {
    include!(concat!(env!("OUT_DIR"), "/script_csp.rs"));
}

/// The page's script, exactly as the CSP hash was computed over it.
pub const SCRIPT: &str = include_str!("report.js");
/// The CSP source allowing [`SCRIPT`] (`'sha256-…'`).
pub const SCRIPT_SOURCE: &str = csp::SCRIPT_SOURCE;
const STYLE: &str = include_str!("report.css");

/// What the page is made of.
pub struct Context<'a> {
    pub agg: &'a Agg,
    pub summary: &'a Summary<'a>,
    pub cfg: &'a Config,
    pub previous: Option<&'a Previous>,
    pub sources: &'a str,
}

/// Text from the input, safe to show: hidden characters escaped visibly,
/// then HTML-escaped (content and attribute values).
pub fn esc(s: &str) -> String {
    let s = escape_hidden(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A table cell for a time: shown to the minute, sorted by seconds.
pub fn time_cell(t: Micros) -> String {
    if t == NO_TIME {
        return "<td class=\"t\" data-sort=\"0\">—</td>".to_owned();
    }
    let s = when::format(t);
    format!(
        "<td class=\"t\" data-sort=\"{}\"><time datetime=\"{s}\">{} {}</time></td>",
        t / 1_000_000,
        &s[..10],
        &s[11..16]
    )
}

/// Renders the whole page.
pub fn render(c: &Context<'_>) -> String {
    let mut h = String::with_capacity(256 * 1024);
    head(&mut h, c);
    kpis::kpis(&mut h, c);
    kpis::notes(&mut h, c);
    findings::open_table(&mut h, c);
    hosts::host_table(&mut h, c);
    chart::timeline(&mut h, c);
    h.push_str("<div class=\"grid\">\n");
    tables::by_detector(&mut h, c);
    tables::by_file(&mut h, c);
    h.push_str("</div>\n</main>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body></html>\n");
    h
}

fn head(h: &mut String, c: &Context<'_>) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src {SCRIPT_SOURCE}; base-uri 'none'; form-action 'none'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head><body>\n\
<header><h1>{t}</h1><p>Generated <time id=\"generated\" datetime=\"{now}\">{now}</time> by findings-report from {src}. Findings are {masked}.{prev}</p></header>\n<main>\n",
        t = esc(&c.cfg.title),
        now = when::format(c.cfg.now),
        src = esc(c.sources),
        masked = if c.cfg.unmasked {
            "shown in full (--unmasked)"
        } else {
            "masked (all but the last 4 characters)"
        },
        prev = previous_line(c.previous),
    );
}

fn previous_line(p: Option<&Previous>) -> String {
    match p {
        Some(p) => format!(" Previous report: {}.", esc(&p.generated)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_hidden_characters() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("invoice\u{202e}fdp.exe"), "invoice\\u202efdp.exe");
        assert_eq!(esc("a\nb\u{0}"), "a\\u000ab\\u0000");
    }

    #[test]
    fn the_script_is_allowed_by_its_hash_only() {
        assert!(SCRIPT_SOURCE.starts_with("'sha256-") && SCRIPT_SOURCE.ends_with('\''));
        assert!(!SCRIPT.contains("</script"));
        assert!(!SCRIPT.contains("eval(") && !SCRIPT.contains("innerHTML"));
    }
}
