//! The time chart as inline SVG: per bucket, findings raised (by first
//! seen) and resolved, side by side. At most 120 buckets
//! ([`crate::chart`]), so at most 240 bars whatever the input.

use std::fmt::Write as _;

use super::Context;
use crate::chart::Chart;

/// The "Findings over time" section.
pub fn timeline(h: &mut String, c: &Context<'_>) {
    h.push_str(
        "<section id=\"timeline-section\"><h2>Findings raised and resolved over time</h2>\n",
    );
    match &c.summary.chart {
        None => h.push_str("<p class=\"note\">No finding carries a trusted timestamp.</p>"),
        Some(chart) => svg(h, chart),
    }
    h.push_str("</section>\n");
}

fn svg(h: &mut String, chart: &Chart) {
    let n = chart.buckets.len();
    let max = chart
        .buckets
        .iter()
        .flat_map(|b| b.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, ht, left, top, bottom) = (960.0, 250.0, 52.0, 24.0, 34.0);
    let pw = w - left - 10.0;
    let ph = ht - top - bottom;
    let bw = pw / n as f64;
    let unit = chart.unit.name();
    let _ = writeln!(
        h,
        "<svg id=\"timeline\" role=\"img\" aria-label=\"findings raised and resolved per {unit}\" viewBox=\"0 0 {w} {ht}\" width=\"100%\" data-buckets=\"{n}\" data-max=\"{max}\" data-unit=\"{unit}\">\
<line class=\"axis\" x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\"/><line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y0}\"/>\
<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{y0}\" text-anchor=\"end\">0</text>\
<rect class=\"bar raised\" x=\"{left}\" y=\"4\" width=\"10\" height=\"10\"/><text x=\"{l1}\" y=\"13\">raised (first seen)</text>\
<rect class=\"bar resolved\" x=\"{l2}\" y=\"4\" width=\"10\" height=\"10\"/><text x=\"{l3}\" y=\"13\">resolved</text>\
<text x=\"{x1}\" y=\"13\" text-anchor=\"end\">per {unit}, UTC</text>",
        y0 = top + ph,
        x1 = left + pw,
        lx = left - 6.0,
        ty = top + 10.0,
        l1 = left + 14.0,
        l2 = left + 140.0,
        l3 = left + 154.0,
    );
    for (i, b) in chart.buckets.iter().enumerate() {
        let lab = chart.label(i);
        for (j, (class, count)) in [("raised", b[0]), ("resolved", b[1])]
            .into_iter()
            .enumerate()
        {
            let bh = count as f64 / max as f64 * ph;
            let _ = writeln!(
                h,
                "<rect class=\"bar {class}\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{bwid:.2}\" height=\"{bh:.2}\" data-bucket=\"{lab}\" data-count=\"{count}\"><title>{lab}: {count} {class}</title></rect>",
                x = left + i as f64 * bw + j as f64 * bw * 0.42,
                y = top + ph - bh,
                bwid = (bw * 0.4).max(0.5),
            );
        }
    }
    ticks(h, chart, left, bw, top + ph + 18.0);
    h.push_str("</svg>");
}

fn ticks(h: &mut String, chart: &Chart, left: f64, bw: f64, y: f64) {
    let n = chart.buckets.len();
    let mut at = vec![0, n - 1];
    if n > 2 {
        at.insert(1, n / 2);
    }
    at.dedup();
    for (j, &i) in at.iter().enumerate() {
        let (anchor, x) = match (j, at.len()) {
            (0, _) => ("start", left + i as f64 * bw),
            (j, l) if j + 1 == l => ("end", left + (i + 1) as f64 * bw),
            _ => ("middle", left + (i as f64 + 0.5) * bw),
        };
        let _ = writeln!(
            h,
            "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"{anchor}\">{}</text>",
            chart.label(i)
        );
    }
}
