//! The open findings, most severe first, then most recently seen: what to
//! deal with today. At most --rows rows; the page says how many more. Each
//! row names the host, the file (and the member of a container), line,
//! detector, confidence, first and last seen, status, the finding
//! (masked), a `new` badge when it was not open at the previous report and
//! a `removable` badge (with the watched file it was copied from) for
//! files on removable media.

use std::fmt::Write as _;

use dlp_record::Severity;

use super::{esc, time_cell, Context};
use crate::intern::EMPTY;
use crate::ledger::Details;
use crate::rec::Status;
use crate::summary::Row;

const CONFIDENCE: [&str; 5] = [
    "VERY_UNLIKELY",
    "UNLIKELY",
    "POSSIBLE",
    "LIKELY",
    "VERY_LIKELY",
];

fn severity_rank(s: Severity) -> u8 {
    s as u8 + 1
}

fn controls(h: &mut String, with_since: bool) {
    h.push_str(
        "<div class=\"controls\" hidden><input type=\"search\" id=\"open-filter\" data-table=\"open-findings\" placeholder=\"Filter: host, file, detector…\" aria-label=\"Filter open findings\">\
<select id=\"open-sev\" data-table=\"open-findings\" aria-label=\"Severity\"><option value=\"\">All severities</option>",
    );
    for s in crate::summary::SEVERITIES {
        let _ = write!(h, "<option value=\"sev:{0}\">{0}</option>", s.as_str());
    }
    h.push_str("</select><select id=\"open-status\" data-table=\"open-findings\" aria-label=\"Status\"><option value=\"\">All statuses</option><option value=\"status:new\">new</option><option value=\"status:open\">open (no status)</option>");
    if with_since {
        h.push_str("<option value=\"since:1\">new since the previous report</option>");
    }
    h.push_str("</select><span id=\"open-findings-shown\" class=\"note\"></span></div>\n");
}

/// The open-findings table.
pub fn open_table(h: &mut String, c: &Context<'_>) {
    let s = c.summary;
    h.push_str("<section id=\"open\"><h2>Open findings</h2>\n");
    if s.rows.is_empty() {
        h.push_str("<p class=\"note\" id=\"no-open\">No open findings.</p></section>\n");
        return;
    }
    controls(h, c.previous.is_some());
    h.push_str(
        "<table id=\"open-findings\" class=\"sortable\"><thead><tr>\
<th data-type=\"num\">Severity</th><th data-type=\"text\">Host</th><th data-type=\"text\">File</th>\
<th class=\"n\" data-type=\"num\">Line</th><th data-type=\"text\">Detector</th><th data-type=\"num\">Confidence</th>\
<th data-type=\"num\">First seen (UTC)</th><th data-type=\"num\" id=\"th-last\">Last seen (UTC)</th>\
<th data-type=\"text\">Status</th><th data-type=\"text\">Finding</th></tr></thead><tbody>\n",
    );
    for r in &s.rows {
        row(h, c, r);
    }
    h.push_str("</tbody></table>");
    let more = s.counts.open.saturating_sub(s.rows.len() as u64);
    let _ = writeln!(
        h,
        "<p class=\"note\" id=\"open-more\" data-value=\"{more}\">{} of {} open finding(s) listed{}.</p>",
        s.rows.len(),
        s.counts.open,
        if more > 0 {
            format!("; {more} more not listed (raise --rows)")
        } else {
            String::new()
        }
    );
    h.push_str("</section>\n");
}

fn row(h: &mut String, c: &Context<'_>, r: &Row<'_>) {
    let d = &r.e.d;
    let sev = r.severity.as_str();
    let status = if d.status == Status::New {
        "new"
    } else {
        "open"
    };
    let _ = write!(
        h,
        "<tr data-sev=\"{sev}\" data-status=\"{status}\" data-since=\"{}\">\
<td data-sort=\"{}\"><span class=\"sev {sev}\">{sev}</span></td><td>{}</td>{}",
        u8::from(r.new_since),
        severity_rank(r.severity),
        esc(c.agg.host_name(d.host)),
        file_cell(c, d),
    );
    let line = if d.line == 0 {
        String::new()
    } else {
        d.line.to_string()
    };
    let conf = c.agg.labels.name(u32::from(d.confidence));
    let rank = CONFIDENCE
        .iter()
        .position(|x| *x == conf)
        .map_or(0, |i| i + 1);
    let _ = write!(
        h,
        "<td class=\"n\" data-sort=\"{}\">{line}</td><td>{}</td><td data-sort=\"{rank}\">{}</td>{}{}",
        d.line,
        esc(c.agg.labels.name(u32::from(d.detector))),
        esc(conf),
        time_cell(r.e.first),
        time_cell(r.e.at),
    );
    let badge = if r.new_since {
        "<span class=\"tag since\" title=\"not open at the previous report\">new</span>"
    } else {
        ""
    };
    let _ = writeln!(
        h,
        "<td>{status}{badge}</td><td class=\"mono finding\">{}</td></tr>",
        esc(&d.shown.text()),
    );
}

fn file_cell(c: &Context<'_>, d: &Details) -> String {
    let p = &c.agg.paths;
    let mut s = format!("<td class=\"path\">{}", esc(p.name(d.path)));
    if d.archive != EMPTY {
        let _ = write!(
            s,
            "<span class=\"member\"> ▸ {}</span>",
            esc(p.name(d.archive))
        );
    }
    if d.removable || d.copied_from != EMPTY {
        s.push_str("<span class=\"tag removable\">removable</span>");
    }
    if d.copied_from != EMPTY {
        let _ = write!(
            s,
            "<div class=\"from\">copied from <span class=\"path\">{}</span></div>",
            esc(p.name(d.copied_from))
        );
    }
    s.push_str("</td>");
    s
}
