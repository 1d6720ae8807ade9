//! The headline (distinct findings, open, new since the previous report,
//! resolved, quarantined, hosts, silent hosts, files with open findings,
//! records read; open findings by severity) and the notes that say where
//! a figure is approximate or a timestamp was not used.

use std::fmt::Write as _;

use super::{esc, Context};
use crate::summary::SEVERITIES;

fn kpi(h: &mut String, id: &str, class: &str, label: &str, v: u64, estimate: bool) {
    let (pre, est) = if estimate {
        ("≈", " data-estimate=\"1\"")
    } else {
        ("", "")
    };
    let _ = writeln!(
        h,
        "<div class=\"kpi {class}\" id=\"kpi-{id}\" data-value=\"{v}\"{est}><b>{pre}{v}</b><span>{label}</span></div>"
    );
}

/// The headline figures.
pub fn kpis(h: &mut String, c: &Context<'_>) {
    let n = &c.summary.counts;
    h.push_str("<div class=\"kpis\">\n");
    let (distinct, est) = c.agg.ledger.distinct();
    kpi(h, "total", "", "distinct findings", distinct, est);
    kpi(h, "open", "open", "open", n.open, false);
    if let Some(p) = c.previous {
        let label = format!("new since {}", esc(&p.generated));
        kpi(h, "new", "new", &label, n.new_since, false);
    }
    kpi(h, "resolved", "resolved", "resolved", n.resolved, false);
    kpi(h, "quarantined", "", "quarantined", n.quarantined, false);
    if n.other > 0 {
        kpi(h, "other", "", "other status", n.other, false);
    }
    let (hosts, est) = c.agg.host_count();
    kpi(h, "hosts", "", "hosts", hosts, est);
    let silent = super::hosts::silent_count(c);
    kpi(
        h,
        "silent",
        if silent > 0 { "silent" } else { "" },
        "silent hosts",
        silent,
        false,
    );
    let files = c.summary.by_file.len() as u64;
    kpi(
        h,
        "files",
        "",
        "files with open findings",
        files,
        c.agg.paths_overflowed(),
    );
    kpi(h, "records", "", "records read", c.agg.records, false);
    h.push_str("</div>\n<p class=\"chips\">Open by severity: ");
    let mut by = [0u64; 4];
    for o in c.summary.host_open.values() {
        for (i, n) in o.by_severity.iter().enumerate() {
            by[i] += n;
        }
    }
    for (s, n) in SEVERITIES.iter().zip(by) {
        let s = s.as_str();
        let _ = write!(
            h,
            "<span class=\"sev {s}\" id=\"open-{s}\" data-value=\"{n}\">{s} {n}</span> "
        );
    }
    h.push_str("</p>\n");
    other_statuses(h, c);
}

/// The statuses this version does not know, as given, with their counts.
fn other_statuses(h: &mut String, c: &Context<'_>) {
    let mut v: Vec<(&str, u64)> = c
        .summary
        .other_statuses
        .iter()
        .map(|(&l, &n)| (c.agg.labels.name(l.into()), n))
        .collect();
    if v.is_empty() {
        return;
    }
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    h.push_str("<p class=\"chips\" id=\"other-statuses\">Other statuses (not open): ");
    for (name, n) in v.iter().take(20) {
        let _ = write!(h, "<code>{}</code> {n} ", esc(name));
    }
    h.push_str("</p>\n");
}

/// What the reader must know to trust the figures.
pub fn notes(h: &mut String, c: &Context<'_>) {
    let mut notes: Vec<String> = Vec::new();
    let w = &c.agg.window;
    if w.flagged() > 0 {
        let samples: Vec<String> = w
            .samples
            .iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect();
        notes.push(format!(
            "<span id=\"flagged\" data-far=\"{}\" data-unreadable=\"{}\">{} timestamp(s) not used</span>: {} more than a day after the report's time or before 2000, {} unreadable (for example {}). Their records count, but not for last seen, ordering or the chart.",
            w.far,
            w.unreadable,
            w.flagged(),
            w.far,
            w.unreadable,
            samples.join(", ")
        ));
    }
    let l = &c.agg.ledger;
    if l.untracked > 0 {
        notes.push(format!(
            "<span id=\"untracked\" data-value=\"{}\">Findings past the first {} are counted approximately</span>: {} record(s) of further findings are in the distinct count (an estimate) but not in the open, resolved or quarantined figures, the tables or the chart (raise --max-findings).",
            l.untracked,
            l.cap(),
            l.untracked
        ));
    }
    if c.agg.hosts.overflowed() {
        notes.push(format!(
            "More than {} hosts: the rest are counted together as \"(other hosts)\" and the host count is an estimate.",
            c.agg.hosts.max_items()
        ));
    }
    if c.agg.paths.overflowed() {
        notes.push(format!(
            "More than {} distinct paths: further paths are not kept for display and files with open findings is a lower bound.",
            c.agg.paths.max_items()
        ));
    }
    if c.cfg.state.is_some() && c.previous.is_none() {
        notes.push("First report with this state file: nothing to compare with yet; the next report marks what is new since this one.".to_owned());
    }
    if notes.is_empty() {
        return;
    }
    h.push_str("<section class=\"warn\" id=\"notes\"><h2>Notes</h2><ul>\n");
    for n in notes {
        let _ = writeln!(h, "<li class=\"note\">{n}</li>");
    }
    h.push_str("</ul></section>\n");
}
