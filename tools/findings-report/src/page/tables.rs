//! Two small summaries of the open findings: per detector (with its
//! severity) and the files holding the most, so the worst files can be
//! cleaned first. Both at most --top rows.

use std::fmt::Write as _;

use super::{esc, Context};

fn meter(n: u64, max: u64) -> String {
    let pct = if max == 0 {
        0.0
    } else {
        n as f64 * 100.0 / max as f64
    };
    format!("<div class=\"meter\"><i style=\"width:{pct:.1}%\"></i></div>")
}

/// Open findings per detector, most first.
pub fn by_detector(h: &mut String, c: &Context<'_>) {
    let s = c.summary;
    let mut v: Vec<(u16, u64)> = s.by_detector.iter().map(|(&d, &n)| (d, n)).collect();
    v.sort_by(|a, b| {
        (s.detector_severity(b.0), b.1)
            .cmp(&(s.detector_severity(a.0), a.1))
            .then_with(|| {
                c.agg
                    .labels
                    .name(a.0.into())
                    .cmp(c.agg.labels.name(b.0.into()))
            })
    });
    v.truncate(c.cfg.top);
    let max = v.iter().map(|r| r.1).max().unwrap_or(0);
    h.push_str("<section><h2>Open findings by detector</h2><table id=\"by-detector\" class=\"sortable\"><thead><tr><th data-type=\"num\">Severity</th><th data-type=\"text\">Detector</th><th class=\"n\" data-type=\"num\">Open</th><th></th></tr></thead><tbody>\n");
    for (d, n) in v {
        let sev = s.detector_severity(d);
        let name = esc(c.agg.labels.name(d.into()));
        let _ = writeln!(
            h,
            "<tr data-key=\"{name}\" data-count=\"{n}\"><td data-sort=\"{r}\"><span class=\"sev {sev}\">{sev}</span></td><td>{name}</td><td class=\"n\">{n}</td><td>{m}</td></tr>",
            r = sev as u8 + 1,
            sev = sev.as_str(),
            m = meter(n, max)
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// The files with the most open findings.
pub fn by_file(h: &mut String, c: &Context<'_>) {
    let mut v: Vec<((u32, u32), u64)> = c.summary.by_file.iter().map(|(&k, &n)| (k, n)).collect();
    let name = |k: (u32, u32)| (c.agg.host_name(k.0), c.agg.paths.name(k.1));
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| name(a.0).cmp(&name(b.0))));
    v.truncate(c.cfg.top);
    let max = v.first().map_or(0, |r| r.1);
    h.push_str("<section><h2>Files with the most open findings</h2><table id=\"top-files\" class=\"sortable\"><thead><tr><th data-type=\"text\">Host</th><th data-type=\"text\">File</th><th class=\"n\" data-type=\"num\">Open</th><th></th></tr></thead><tbody>\n");
    for (k, n) in v {
        let (host, path) = name(k);
        let _ = writeln!(
            h,
            "<tr data-key=\"{hp}\" data-count=\"{n}\"><td>{host}</td><td class=\"path\">{path}</td><td class=\"n\">{n}</td><td>{m}</td></tr>",
            hp = esc(&format!("{host}:{path}")),
            host = esc(host),
            path = esc(path),
            m = meter(n, max)
        );
    }
    h.push_str("</tbody></table></section>\n");
}
