//! The HTML page: one file with inline CSS and an inline SVG chart, no
//! scripts, no fonts, no network (a Content-Security-Policy forbids any
//! fetch), so it can be mailed, served statically or opened offline.
//!
//! Numbers carry `data-*` attributes (`data-count`, `data-value`,
//! `data-bucket`) so tests and scrapers read them without parsing text.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use crate::agg::Agg;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
header{background:#1d2329;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b8c0c8;font-size:12px}
main{padding:20px 28px;max-width:1100px}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}
.kpi{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;min-width:120px}
.kpi b{display:block;font-size:24px}
.kpi span{color:#5f6b76;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi.open b{color:#c92a2a}.kpi.resolved b{color:#2b8a3e}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 18px;margin-bottom:18px}
h2{font-size:15px;margin:0 0 10px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:18px}
.grid section{margin:0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f2;vertical-align:top}
th{color:#5f6b76;font-weight:600;font-size:12px}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.path{word-break:break-all;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
td.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.meter{background:#eef0f2;height:8px;border-radius:4px;min-width:60px}
.meter i{display:block;height:8px;border-radius:4px;background:#d9480f}
.note{color:#5f6b76;font-size:12px}
svg text{font-size:11px;fill:#5f6b76}
.bar{fill:#1971c2}
.axis{stroke:#c3c9cf;stroke-width:1}
";

/// Renders the whole page.
pub fn page(a: &Agg, title: &str, top: usize, sources: &str) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head><body>\n\
<header><h1>{t}</h1><p>Generated {now} by findings-report from {src}. Findings are {masked}.</p></header>\n<main>\n",
        t = esc(title),
        now = esc(&dlp_core::time::now_rfc3339()),
        src = esc(sources),
        masked = if a.latest().iter().all(|l| l.finding.contains('*') || l.finding.is_empty()) {
            "masked (all but the last 4 characters)"
        } else {
            "shown in full (--unmasked)"
        },
    );
    kpis(&mut h, a);
    timeline(&mut h, a);
    h.push_str("<div class=\"grid\">\n");
    counts(
        &mut h,
        "by-host",
        "Findings by host",
        "Host",
        a,
        &host_rows(a, top),
        a.hosts.approximate(),
    );
    let det: Vec<(String, u64)> = a
        .detectors
        .top(top)
        .into_iter()
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
    counts(
        &mut h,
        "by-detector",
        "Findings by detector",
        "Detector",
        a,
        &det,
        a.detectors.approximate(),
    );
    counts(
        &mut h,
        "by-confidence",
        "Findings by confidence",
        "Confidence",
        a,
        &confidence_rows(a),
        false,
    );
    if a.has_status() {
        lifecycle(&mut h, a, top);
    }
    h.push_str("</div>\n");
    files(&mut h, a, top);
    latest(&mut h, a);
    h.push_str("</main></body></html>\n");
    h
}

fn kpi(h: &mut String, id: &str, class: &str, label: &str, v: u64, estimate: bool) {
    let (pre, post) = if estimate {
        ("≈", " (estimate)")
    } else {
        ("", "")
    };
    let _ = writeln!(
        h,
        "<div class=\"kpi {class}\" id=\"kpi-{id}\" data-value=\"{v}\"><b>{pre}{v}</b><span>{label}{post}</span></div>"
    );
}

fn kpis(h: &mut String, a: &Agg) {
    h.push_str("<div class=\"kpis\">\n");
    kpi(h, "total", "", "findings", a.total, false);
    let (hosts, est) = a.distinct_hosts.count();
    kpi(h, "hosts", "", "hosts", hosts, est);
    let (files, est) = a.distinct_files.count();
    kpi(h, "files", "", "files", files, est);
    let detectors = a.detectors.len() as u64;
    kpi(
        h,
        "detectors",
        "",
        "detectors",
        detectors,
        a.detectors.approximate(),
    );
    if a.has_status() {
        kpi(h, "open", "open", "open", a.open, false);
        kpi(h, "resolved", "resolved", "resolved", a.resolved, false);
    }
    h.push_str("</div>\n");
}

fn host_rows(a: &Agg, top: usize) -> Vec<(String, u64)> {
    a.hosts
        .top(top)
        .into_iter()
        .map(|(k, n)| (k.to_owned(), n))
        .collect()
}

fn confidence_rows(a: &Agg) -> Vec<(String, u64)> {
    const ORDER: [&str; 5] = [
        "VERY_LIKELY",
        "LIKELY",
        "POSSIBLE",
        "UNLIKELY",
        "VERY_UNLIKELY",
    ];
    let mut v: Vec<(String, u64)> = a
        .confidences
        .top(64)
        .into_iter()
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
    v.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    v
}

fn meter(n: u64, max: u64) -> String {
    let pct = if max == 0 {
        0.0
    } else {
        n as f64 * 100.0 / max as f64
    };
    format!("<div class=\"meter\"><i style=\"width:{pct:.1}%\"></i></div>")
}

fn counts(
    h: &mut String,
    id: &str,
    title: &str,
    what: &str,
    a: &Agg,
    rows: &[(String, u64)],
    approx: bool,
) {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let _ = writeln!(
        h,
        "<section><h2>{title}</h2><table id=\"{id}\"><thead><tr><th>{what}</th><th>Findings</th><th>Share</th><th></th></tr></thead><tbody>"
    );
    for (k, n) in rows {
        let share = if a.total == 0 {
            0.0
        } else {
            *n as f64 * 100.0 / a.total as f64
        };
        let _ = writeln!(
            h,
            "<tr data-key=\"{k}\" data-count=\"{n}\"><td>{k}</td><td class=\"n\">{n}</td><td class=\"n\">{share:.1}%</td><td>{m}</td></tr>",
            k = esc(k),
            m = meter(*n, max)
        );
    }
    h.push_str("</tbody></table>");
    if approx {
        h.push_str(
            "<p class=\"note\">Counts of rare keys are approximate (bounded-memory counting).</p>",
        );
    }
    h.push_str("</section>\n");
}

fn lifecycle(h: &mut String, a: &Agg, top: usize) {
    let mut v: Vec<(&String, u64, u64)> = a
        .host_state
        .iter()
        .map(|(k, s)| (k, s.open, s.resolved))
        .collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    v.truncate(top);
    h.push_str("<section><h2>Open and resolved by host</h2><table id=\"lifecycle\"><thead><tr><th>Host</th><th>Open</th><th>Resolved</th></tr></thead><tbody>\n");
    for (k, o, r) in v {
        let _ = writeln!(
            h,
            "<tr data-key=\"{k}\" data-open=\"{o}\" data-resolved=\"{r}\"><td>{k}</td><td class=\"n\">{o}</td><td class=\"n\">{r}</td></tr>",
            k = esc(k)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

fn files(h: &mut String, a: &Agg, top: usize) {
    let rows = a.files.top(top);
    let max = rows.first().map_or(0, |r| r.1);
    h.push_str("<section><h2>Files with the most findings</h2><table id=\"top-files\"><thead><tr><th>Host</th><th>File</th><th>Findings</th><th></th></tr></thead><tbody>\n");
    for (k, n) in rows {
        let (host, path) = k.split_once('\x1f').unwrap_or(("", k));
        let _ = writeln!(
            h,
            "<tr data-key=\"{hp}\" data-count=\"{n}\"><td>{host}</td><td class=\"path\">{path}</td><td class=\"n\">{n}</td><td>{m}</td></tr>",
            hp = esc(&format!("{host}:{path}")),
            host = esc(host),
            path = esc(path),
            m = meter(n, max)
        );
    }
    h.push_str("</tbody></table>");
    if a.files.approximate() {
        h.push_str(
            "<p class=\"note\">Counts of rare files are approximate (bounded-memory counting).</p>",
        );
    }
    h.push_str("</section>\n");
}

fn latest(h: &mut String, a: &Agg) {
    let rows = a.latest();
    if rows.is_empty() {
        return;
    }
    h.push_str("<section><h2>Latest findings</h2><table id=\"latest\"><thead><tr><th>Time (UTC)</th><th>Host</th><th>File</th><th>Detector</th><th>Confidence</th><th>Finding</th></tr></thead><tbody>\n");
    for l in rows {
        let status = if l.status.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(&l.status))
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"path\">{}</td><td>{}</td><td>{}{status}</td><td class=\"mono finding\">{}</td></tr>",
            esc(&l.timestamp),
            esc(&l.host),
            esc(&l.path),
            esc(&l.detector),
            esc(&l.confidence),
            esc(&l.finding),
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// Bucket size for a span of hours: hours up to 3 days, then days up to
/// 400 days, then weeks.
fn bucket_secs(span_hours: i64) -> i64 {
    if span_hours <= 72 {
        3600
    } else if span_hours <= 400 * 24 {
        86_400
    } else {
        7 * 86_400
    }
}

fn label(secs: i64, step: i64) -> String {
    let t = dlp_core::time::format_rfc3339(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64));
    if step < 86_400 {
        format!("{} {}:00", &t[..10], &t[11..13])
    } else {
        t[..10].to_owned()
    }
}

fn timeline(h: &mut String, a: &Agg) {
    h.push_str("<section><h2>Findings over time</h2>\n");
    let (Some((&first, _)), Some((&last, _))) =
        (a.hours.first_key_value(), a.hours.last_key_value())
    else {
        h.push_str("<p class=\"note\">No finding carries a timestamp.</p></section>\n");
        return;
    };
    let step = bucket_secs(last - first + 1);
    let start = first * 3600 / step * step;
    let n = ((last * 3600 - start) / step + 1) as usize;
    let mut buckets = vec![0u64; n];
    for (&hour, &c) in &a.hours {
        buckets[((hour * 3600 - start) / step) as usize] += c;
    }
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let (w, ht, left, top, bottom) = (960.0, 240.0, 52.0, 14.0, 34.0);
    let pw = w - left - 10.0;
    let ph = ht - top - bottom;
    let bw = pw / n as f64;
    let _ = writeln!(
        h,
        "<svg id=\"timeline\" role=\"img\" aria-label=\"findings per {unit}\" viewBox=\"0 0 {w} {ht}\" width=\"100%\" data-buckets=\"{n}\" data-max=\"{max}\" data-unit=\"{unit}\">",
        unit = match step {
            3600 => "hour",
            86_400 => "day",
            _ => "week",
        }
    );
    let _ = writeln!(
        h,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\"/><line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y0}\"/>\
<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{y0}\" text-anchor=\"end\">0</text>",
        y0 = top + ph,
        x1 = left + pw,
        lx = left - 6.0,
        ty = top + 10.0,
    );
    for (i, &c) in buckets.iter().enumerate() {
        let bh = c as f64 / max as f64 * ph;
        let x = left + i as f64 * bw;
        let lab = label(start + i as i64 * step, step);
        let _ = writeln!(
            h,
            "<rect class=\"bar\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{bwid:.2}\" height=\"{bh:.2}\" data-bucket=\"{lab}\" data-count=\"{c}\"><title>{lab}: {c}</title></rect>",
            y = top + ph - bh,
            bwid = (bw * 0.85).max(0.5),
        );
    }
    let mut ticks = vec![0, n - 1];
    if n > 2 {
        ticks.insert(1, n / 2);
    }
    ticks.dedup();
    for (j, i) in ticks.iter().enumerate() {
        let anchor = match (j, ticks.len()) {
            (0, _) => "start",
            (j, l) if j + 1 == l => "end",
            _ => "middle",
        };
        let x = match anchor {
            "start" => left + *i as f64 * bw,
            "end" => left + (*i + 1) as f64 * bw,
            _ => left + (*i as f64 + 0.5) * bw,
        };
        let _ = writeln!(
            h,
            "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"{anchor}\">{}</text>",
            label(start + *i as i64 * step, step),
            y = top + ph + 18.0
        );
    }
    h.push_str("</svg>");
    if a.untimed > 0 {
        let _ = write!(h, "<p class=\"note\">{} finding(s) without a readable timestamp are not in the chart.</p>", a.untimed);
    }
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn buckets_by_span() {
        assert_eq!(bucket_secs(10), 3600);
        assert_eq!(bucket_secs(30 * 24), 86_400);
        assert_eq!(bucket_secs(1000 * 24), 7 * 86_400);
    }
}
