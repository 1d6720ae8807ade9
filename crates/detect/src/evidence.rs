//! The evidence around a candidate, gathered once per candidate after its
//! detector has checked its shape, and handed to `crate::decide`.
//!
//! What counts: the label bound to the value (the key, field or words
//! right before it on its line, the key above a value alone on its line,
//! or the header of the table column it sits in: `crate::context` and
//! `crate::structure` find them) naming the detector's kind or another
//! identifier, and a keyword of the detector's kind loosely nearby.
//! A table column where most rows hold a valid value is counted by the
//! engine over the whole column (`crate::structure::Cx::vote`).

use crate::builtin::{Detector, Hit, Needs, Shape};
use crate::context;
use crate::structure::Cx;

/// The labels and keywords a detector weighs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels {
    /// Words naming the detector's kind (`ssn`, `card`, `phone`).
    pub hot: &'static [&'static str],
    /// Words naming another kind of identifier, for this detector.
    pub neg: &'static [&'static str],
    /// Also the identifiers only digit runs can be (order, invoice,
    /// tracking numbers: [`context::NEGATIVE`]).
    pub generic: bool,
    /// Bytes before the value searched for a loose keyword.
    pub window: usize,
}

impl Labels {
    /// Labels are not weighed (the format alone decides).
    pub const NONE: Labels = Labels {
        hot: &[],
        neg: &[],
        generic: false,
        window: 0,
    };

    fn weighed(&self) -> bool {
        !self.hot.is_empty() || !self.neg.is_empty() || self.generic
    }
}

/// The evidence for one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The bound label names this detector's kind (`ssn`, `card`, `phone`).
    pub label_pos: bool,
    /// The bound label names another kind of identifier (`order`, `isbn`).
    pub label_neg: bool,
    /// A keyword of this detector's kind within the window on the same line.
    pub near_pos: bool,
}

impl Evidence {
    /// Positive evidence: a bound keyword, or a loose one when the label
    /// does not say otherwise.
    pub fn up(self) -> bool {
        self.label_pos || (self.near_pos && !self.label_neg)
    }

    /// Negative evidence: a bound label naming another identifier, and no
    /// bound keyword of this kind (a bound positive outranks it).
    pub fn down(self) -> bool {
        self.label_neg && !self.label_pos
    }

    /// True when the evidence a shape needs is there.
    fn meets(self, needs: Needs) -> bool {
        match needs {
            Needs::Nothing => true,
            Needs::Keyword => self.up(),
            Needs::Label => self.label_pos,
        }
    }
}

/// Gathers the evidence for the value at `buf[s..e]` as `labels` weigh it.
pub(crate) fn gather(buf: &[u8], cx: &Cx, labels: &Labels, s: usize, e: usize) -> Evidence {
    if !labels.weighed() {
        return Evidence::default();
    }
    let (label_pos, label_neg) =
        context::bound_label(buf, s, cx.header(s), labels.hot, labels.neg, labels.generic);
    Evidence {
        label_pos,
        label_neg,
        near_pos: !label_pos && context::near(buf, s, e, labels.window, 0, labels.hot),
    }
}

/// The one path from a shape to a hit: the evidence is gathered once, a
/// shape that needs evidence it lacks is rejected (or read its shorter
/// way), a provisional shape is finished, and `crate::decide` sets the
/// level.
pub(crate) fn judge(row: &Detector, buf: &[u8], cx: &Cx, shape: Shape) -> Option<Hit> {
    let ev = gather(buf, cx, &row.labels, shape.start, shape.end);
    let mut shape = shape;
    if !ev.meets(shape.needs) {
        let alt = shape.alt?;
        shape = Shape::new(shape.start, alt.end, alt.form).facts(alt.facts);
    }
    if let Some(finish) = shape.finish {
        shape = finish(buf, shape.start, shape.end)?;
        if !ev.meets(shape.needs) {
            return None;
        }
    }
    Some(crate::decide::decide(&shape, &ev))
}
