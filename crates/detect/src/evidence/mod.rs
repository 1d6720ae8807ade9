//! The evidence around a candidate, gathered once per candidate after its
//! detector has checked its shape, and handed to `crate::decide`.
//!
//! What counts:
//!
//! * the label bound to the value (the key, field or words right before
//!   it on its line, the key above a value alone on its line, or the
//!   header of the table column it sits in: `crate::context` and
//!   `crate::structure` find them) naming the detector's kind or another
//!   identifier, and a keyword of the detector's kind loosely nearby;
//! * a table column where most rows hold a valid value (counted by the
//!   engine over the whole column: `crate::structure::Cx::vote`);
//! * a [`Doubt`] from the detector's probe: the value is a published test
//!   or sample value or a placeholder shape (`published`), a number in a
//!   table of numbers that mostly fail the detector's check (`numbers`),
//!   a hex secret published with the public parts of its test vector
//!   (`vectors`).

mod numbers;
pub(crate) mod published;
mod secrets;
mod vectors;
mod words;

use crate::builtin::{luhn, Detector, Hit, Needs, Shape};
use crate::context;
use crate::structure::Cx;

/// Why a value that has the shape is doubted, whatever its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// A published test or sandbox value (payment networks' and
    /// processors' test cards).
    TestValue,
    /// A number among numbers that mostly fail the detector's check (a
    /// table or array of numbers), inside a longer run of groups, in a
    /// list of short integers, or an operand of a comparison.
    NumberTable,
    /// A placeholder, advertising or degenerate value (`078-05-1120`,
    /// `111-22-3333`, `1111 1111 1111 1117`, `abcd1234defg5678`).
    Placeholder,
    /// A documentation sample: in a reference page's or README's sample
    /// block, elided, or beside a published documentation credential.
    Sample,
    /// A token whose name says it is no credential (pagination, state,
    /// concurrency), or base64 of a JSON state.
    NotSecret,
    /// An identifier rather than a secret: words, a file name, a key's id.
    Identifier,
    /// A token past its expiry (a JSON Web Token's `exp`).
    Expired,
    /// A hex secret of a cryptographic test vector: published beside the
    /// message, ciphertext, signature, nonce or public key computed from
    /// it (`vectors`).
    TestVector,
    /// A JSON Web Token with no time claim (`exp`, `iat`, `nbf`), such as
    /// `{"foo":"bar"}`: written by hand for a test or a sample; issuers
    /// stamp the tokens they mint.
    Unissued,
}

/// A value whose shape passed, for a detector's probe.
pub(crate) struct Value<'a> {
    pub buf: &'a [u8],
    pub cx: &'a Cx<'a>,
    pub start: usize,
    pub end: usize,
    pub ev: Evidence,
}

impl Value<'_> {
    /// The value's digits, without separators (on the stack: every card
    /// and SSN candidate is probed).
    fn digits(&self) -> Digits {
        let mut d = Digits {
            short: [0; 32],
            len: 0,
            long: Vec::new(),
        };
        for &c in self.buf[self.start..self.end]
            .iter()
            .filter(|c| c.is_ascii_digit())
        {
            if d.len < d.short.len() {
                d.short[d.len] = c;
            } else {
                if d.long.is_empty() {
                    d.long.extend_from_slice(&d.short);
                }
                d.long.push(c);
            }
            d.len += 1;
        }
        d
    }
}

/// A value's digits: up to 32 on the stack, more in `long`.
struct Digits {
    short: [u8; 32],
    len: usize,
    long: Vec<u8>,
}

impl std::ops::Deref for Digits {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.long.is_empty() {
            &self.short[..self.len]
        } else {
            &self.long
        }
    }
}

/// Lines above a card or SSN looked through for the `>>>` line whose
/// expected output it may be. Numbers are checked by the hundred thousand
/// in a dense table, so only a short output is looked through (a
/// secret's sample block is searched further: `secrets`).
const DOCTEST_REACH: usize = 3;

/// A detector's probe: what makes a value of its shape doubtful.
pub(crate) type Probe = fn(&Value<'_>) -> Option<Doubt>;

/// Cards: a published test card, a degenerate number, a doctest's
/// example, or (unless a card
/// label is bound to it) a number in a table of numbers, or (unless a
/// card word is on its line too) in a list of short integers or compared
/// with something.
pub(crate) fn card_probe(v: &Value<'_>) -> Option<Doubt> {
    let d = v.digits();
    if published::degenerate(&d) {
        Some(Doubt::Placeholder)
    } else if secrets::in_doctest(v.buf, v.start, DOCTEST_REACH) {
        Some(Doubt::Sample)
    } else if published::test_card(&d) {
        Some(Doubt::TestValue)
    } else if !v.ev.label_pos && numbers::in_number_table(v.buf, v.cx, v.start, v.end, luhn)
        || !v.ev.label_pos && !v.ev.near_pos && numbers::in_arithmetic(v.buf, v.start, v.end)
    {
        Some(Doubt::NumberTable)
    } else {
        None
    }
}

/// SSNs: advertising numbers and placeholder shapes; a doctest's example.
pub(crate) fn ssn_probe(v: &Value<'_>) -> Option<Doubt> {
    if published::placeholder_ssn(&v.digits()) {
        Some(Doubt::Placeholder)
    } else if secrets::in_doctest(v.buf, v.start, DOCTEST_REACH) {
        Some(Doubt::Sample)
    } else {
        None
    }
}

/// API keys: documentation samples, tokens that are no credentials,
/// identifiers, placeholder patterns (see `secrets`).
pub(crate) fn secret_probe(v: &Value<'_>) -> Option<Doubt> {
    let t = &v.buf[v.start..v.end];
    let (vendor, proven) = crate::builtin::token_kind(t);
    secrets::doubt(v.buf, v.start, v.end, vendor, proven)
}

/// Private keys: a block whose body says `EXAMPLE` is a documentation
/// sample.
pub(crate) fn key_probe(v: &Value<'_>) -> Option<Doubt> {
    memchr::memmem::find(&v.buf[v.start..v.end], b"EXAMPLE").map(|_| Doubt::Sample)
}

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
    /// What the detector's probe found against the value.
    pub doubt: Option<Doubt>,
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
        doubt: None,
    }
}

/// The one path from a shape to a hit: the evidence is gathered once, a
/// shape that needs evidence it lacks is rejected (or read its shorter
/// way), a provisional shape is finished, and `crate::decide` sets the
/// level.
pub(crate) fn judge(row: &Detector, buf: &[u8], cx: &Cx, shape: Shape) -> Option<Hit> {
    let mut ev = gather(buf, cx, &row.labels, shape.start, shape.end);
    let mut shape = shape;
    if !ev.meets(shape.needs) {
        let alt = shape.alt?;
        shape = Shape::new(shape.start, alt.end, alt.form);
    }
    if let Some(finish) = shape.finish {
        shape = finish(buf, shape.start, shape.end)?;
        if !ev.meets(shape.needs) {
            return None;
        }
    }
    if let Some(probe) = row.probe {
        let value = Value {
            buf,
            cx,
            start: shape.start,
            end: shape.end,
            ev,
        };
        ev.doubt = probe(&value);
    }
    Some(crate::decide::decide(&shape, &ev))
}
