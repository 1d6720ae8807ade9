//! The one place where a value's shape and its evidence become a
//! confidence level. Nightfall's scale: VERY_UNLIKELY, UNLIKELY, POSSIBLE,
//! LIKELY, VERY_LIKELY; the default rule reports LIKELY and above.
//!
//! # How confidence is decided
//!
//! 1. **The form** of the value (its detector's shape check, no context)
//!    sets two levels: alone, and with positive evidence (a label bound to
//!    the value naming the detector's kind, or failing a negative label, a
//!    keyword of its kind nearby on the same line):
//!
//!    | form | alone | with positive evidence | examples |
//!    |---|---|---|---|
//!    | Proven | VERY_LIKELY | VERY_LIKELY | printed card layout `5433-9502-3725-7862`, IBAN as the registry prints it (structure, mod-97, national check), GitHub token whose CRC32 holds, PEM private key block |
//!    | Valid | LIKELY | VERY_LIKELY | Luhn- and issuer-valid card run, `536-22-8726`, email address, `(415) 555-2671`, random-looking vendor token, IBAN in lower case or other groups or whose national check fails |
//!    | Weak | POSSIBLE | LIKELY | 12-digit Maestro, UATP `1…` card, bare 10-digit NANP number |
//!    | Bare | UNLIKELY | LIKELY | 9-digit SSN `536228726` |
//!    | Keyed | POSSIBLE | VERY_LIKELY | ABA routing number (3-7-1 checksum), IPv4 of single digits |
//!    | Doubtful | UNLIKELY | UNLIKELY | redacted or non-random vendor token |
//!
//!    Some shapes are findings only with evidence: a Luhn-valid number
//!    whose issuer prefix no scheme in the table has, or a number printed
//!    like a phone in no region's rules, only under a label naming the
//!    kind (then LIKELY).
//! 2. **A negative label** (bound to the value, naming another identifier:
//!    `order`, `invoice`, `tracking`, `serial`, `isbn`, …, and per detector
//!    e.g. `phone` for a card) lowers the value two levels from alone,
//!    unless a positive label is bound too. Words nearby never lower.
//! 3. **A table column** where at least four rows in five (and five or
//!    more) hold a valid card, SSN or phone raises each of them one level.
//! 4. **Doubts** cap the level whatever the label (`crate::evidence`):
//!
//!    | doubt | at most | examples |
//!    |---|---|---|
//!    | a published test or sandbox value | POSSIBLE | the payment networks' and processors' test cards (`4111 1111 1111 1111`, Braintree's `4009 3488 8888 1881`) |
//!    | a number among numbers that mostly fail its check | POSSIBLE | a Luhn-valid limb in an array of curve constants; `5352 5354 5353 5351` inside a row of hex codes |
//!    | a token past its expiry | POSSIBLE | a JSON Web Token whose `exp` has passed |
//!    | a hex secret of a test vector | POSSIBLE | `SECRET = 6c82…` above `PUBLIC =`, `MESSAGE =`, `SIGNATURE =` (three or more named public hex values around it) |
//!    | a placeholder, advertising or degenerate value | UNLIKELY | `078-05-1120`, `111-22-3333`, `123-45-6789`, `5555 5555 5555 4444`, `AKIAIOSFODNN7EXAMPLE`, `abcd1234defg5678` |
//!    | a documentation sample | UNLIKELY | a reference page's example invocation, a value saying `EXAMPLE`, an elided `eyJ2Ijoi…`, a secret beside `AKIDEXAMPLE` |
//!    | no credential by its name or content | UNLIKELY | `"NextToken": "…"`, `ChangeToken`, base64 of a JSON cursor |
//!    | an identifier | UNLIKELY | `x25519_check_private_key_bytes`, `rsa-2048-private-key.pk8`, `AccessKeyId=…`, an ARN's `:secret:name` |

use dlp_record::Confidence;

use crate::builtin::{Form, Hit, Shape};
use crate::evidence::{Doubt, Evidence};

impl Form {
    /// (alone, with positive evidence).
    pub(crate) const fn levels(self) -> (Confidence, Confidence) {
        use Confidence::*;
        match self {
            Form::Proven => (VeryLikely, VeryLikely),
            Form::Valid => (Likely, VeryLikely),
            Form::Weak => (Possible, Likely),
            Form::Bare => (Unlikely, Likely),
            Form::Keyed => (Possible, VeryLikely),
            Form::Doubtful => (Unlikely, Unlikely),
        }
    }
}

/// The highest level a doubt allows.
fn cap(doubt: Option<Doubt>) -> Confidence {
    match doubt {
        None => Confidence::VeryLikely,
        Some(
            Doubt::TestValue
            | Doubt::NumberTable
            | Doubt::Expired
            | Doubt::Unissued
            | Doubt::TestVector,
        ) => Confidence::Possible,
        Some(Doubt::Placeholder | Doubt::Sample | Doubt::NotSecret | Doubt::Identifier) => {
            Confidence::Unlikely
        }
    }
}

/// The hit for `shape` given its evidence (before a column vote).
pub(crate) fn decide(shape: &Shape, ev: &Evidence) -> Hit {
    let (alone, with) = shape.form.levels();
    let confidence = if ev.up() {
        with
    } else if ev.down() {
        alone.shift(-2)
    } else {
        alone
    };
    Hit {
        start: shape.start,
        end: shape.end,
        confidence,
        cap: cap(ev.doubt),
    }
}
