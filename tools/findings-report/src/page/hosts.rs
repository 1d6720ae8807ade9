//! Per host: open findings by severity and when the host was last heard
//! from (the newest trusted timestamp of any of its records). A host whose
//! last record is older than --silent-after before the report's time is
//! flagged `silent`: an endpoint that stopped reporting shows, instead of
//! looking clean.

use std::fmt::Write as _;

use super::{esc, time_cell, Context};
use crate::summary::{HostOpen, SEVERITIES};
use crate::when::{Micros, NO_TIME};

struct HostRow<'a> {
    open: HostOpen,
    last: Micros,
    silent: bool,
    name: &'a str,
}

fn is_silent(c: &Context<'_>, last: Micros) -> bool {
    last != NO_TIME && last < c.cfg.now.saturating_sub(c.cfg.silent_after)
}

/// Hosts whose newest record is older than --silent-after.
pub fn silent_count(c: &Context<'_>) -> u64 {
    c.agg
        .host_last
        .iter()
        .flatten()
        .filter(|&&t| is_silent(c, t))
        .count() as u64
}

fn rows<'a>(c: &'a Context<'_>) -> Vec<HostRow<'a>> {
    let mut v: Vec<HostRow<'a>> = c
        .agg
        .host_last
        .iter()
        .enumerate()
        .filter_map(|(id, last)| {
            let last = (*last)?;
            let id = id as u32;
            Some(HostRow {
                open: c.summary.host_open.get(&id).cloned().unwrap_or_default(),
                last,
                silent: is_silent(c, last),
                name: c.agg.host_name(id),
            })
        })
        .collect();
    v.sort_by(|a, b| {
        b.open
            .by_severity
            .cmp(&a.open.by_severity)
            .then(b.silent.cmp(&a.silent))
            .then(a.name.cmp(b.name))
    });
    v
}

/// The host table, most severe open findings first.
pub fn host_table(h: &mut String, c: &Context<'_>) {
    let rows = rows(c);
    let _ = write!(
        h,
        "<section id=\"hosts-section\"><h2>Hosts</h2>\n\
<div class=\"controls\" hidden><input type=\"search\" data-table=\"hosts\" placeholder=\"Filter hosts\" aria-label=\"Filter hosts\">\
<select data-table=\"hosts\" aria-label=\"Host state\"><option value=\"\">All hosts</option><option value=\"silent:1\">Silent only</option></select>\
<span id=\"hosts-shown\" class=\"note\"></span></div>\n\
<table id=\"hosts\" class=\"sortable\"><thead><tr><th data-type=\"text\">Host</th>"
    );
    for s in SEVERITIES {
        let _ = write!(h, "<th class=\"n\" data-type=\"num\">{}</th>", s.as_str());
    }
    let _ = writeln!(
        h,
        "<th class=\"n\" data-type=\"num\">Open</th><th data-type=\"num\">Last seen (UTC)</th><th data-type=\"text\">State</th></tr></thead><tbody>"
    );
    let shown = rows.len().min(c.cfg.rows);
    for r in &rows[..shown] {
        let total: u64 = r.open.by_severity.iter().sum();
        let _ = write!(
            h,
            "<tr data-host=\"{name}\" data-open=\"{total}\" data-silent=\"{s}\"><td>{name}</td>",
            name = esc(r.name),
            s = u8::from(r.silent)
        );
        for n in r.open.by_severity {
            let _ = write!(h, "<td class=\"n\">{n}</td>");
        }
        let state = if r.silent {
            "<span class=\"tag silent\">silent</span>"
        } else if r.last == NO_TIME {
            "no trusted time"
        } else {
            "reporting"
        };
        let _ = writeln!(
            h,
            "<td class=\"n\">{total}</td>{}<td>{state}</td></tr>",
            time_cell(r.last)
        );
    }
    h.push_str("</tbody></table>");
    if rows.len() > shown {
        let _ = write!(
            h,
            "<p class=\"note\" id=\"hosts-more\" data-value=\"{}\">{} more host(s) not listed (--rows).</p>",
            rows.len() - shown,
            rows.len() - shown
        );
    }
    h.push_str("</section>\n");
}
