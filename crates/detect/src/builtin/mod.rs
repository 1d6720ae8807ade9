//! The built-in detectors, named by Nightfall's `nightfallDetector` enum,
//! as one table ([`DETECTORS`]): a row says how a detector finds its
//! candidates, how it checks their shape, and which evidence counts for it.
//!
//! Detection is a one-way flow:
//!
//! 1. **Candidates**: runs of digits (one cheap pass shared by the digit
//!    detectors), a regex, or the detector's own finder (vendor tokens,
//!    PEM blocks, IBANs).
//! 2. **Shape**: the detector checks the candidate alone, with no context:
//!    boundaries, checksums, issuer and length tables, vendor formats. It
//!    returns a [`Shape`]: the exact range, a [`Form`] (how strong the
//!    format is on its own) and what evidence it needs to be a finding at
//!    all ([`Needs`]).
//! 3. **Evidence**: the engine gathers it once per candidate
//!    (`crate::evidence`): the label bound to the value, its column
//!    header, keywords nearby, the values around it, and the detector's
//!    probe (published test values, placeholder shapes, tables of
//!    numbers).
//! 4. **Confidence**: one place turns shape and evidence into a level
//!    (`crate::decide`, whose docs hold the table).
//!
//! Adding a detector is one line of the `detectors!` list, which declares
//! the [`Kind`] variant and its row of [`DETECTORS`] together; the row (a
//! [`Detector`]: name, UUID, how candidates are found, labels, probe) sits
//! in the detector's module beside its shape check.

mod apikey;
mod bank;
mod card;
mod contact;
mod ip;
mod keyform;
mod pem;
mod ssn;
pub(crate) mod vendors;

use dlp_record::Confidence;

use crate::evidence::Labels;

pub(crate) use apikey::{jwt_claims, token_kind, PUBLISHED_KEYS};
pub(crate) use card::luhn;

/// One validated detection in a buffer (byte offsets into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    /// The level before a table column's vote and the caps.
    pub confidence: Confidence,
    /// The highest level the value and its evidence allow.
    pub cap: Confidence,
}

impl Hit {
    /// The reported level: `confidence`, raised by a column vote, within `cap`.
    pub(crate) fn level(&self, voted: bool) -> Confidence {
        let c = if voted {
            self.confidence.shift(1)
        } else {
            self.confidence
        };
        c.min(self.cap)
    }
}

/// How strong a value's format is on its own, and with positive evidence
/// (a bound label or a keyword nearby); see `crate::decide` for the levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Proven by its structure: a printed card layout, an IBAN's mod-97, a
    /// token checksum that holds, a whole PEM block.
    Proven,
    /// Passes its format's checks (Luhn and issuer, the SSA's rules, NANP).
    Valid,
    /// Valid, but a shape many other numbers share (12-digit Maestro, a bare
    /// 10-digit NANP number).
    Weak,
    /// A bare digit run that only a label makes sure (a 9-digit SSN).
    Bare,
    /// A checksum many numbers pass by chance, sure once labelled (ABA
    /// routing numbers), or a value that says little alone (`1.2.3.4`).
    Keyed,
    /// Shaped like one but doubtful (a redacted or non-random token).
    Doubtful,
}

/// Evidence a shape needs to be a finding at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    Nothing,
    /// A bound label or a keyword nearby naming the detector's kind.
    Keyword,
    /// A label bound to the value (key, field, column header) naming it.
    Label,
}

/// A candidate as its detector's shape check sees it.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub start: usize,
    pub end: usize,
    pub form: Form,
    pub needs: Needs,
    /// Provisional: this check (costlier) completes the shape, and runs
    /// only once the evidence in `needs` is there.
    pub finish: Option<ShapeFn>,
    /// Another reading of the same candidate (a shorter one that needs no
    /// evidence) for when this one lacks the evidence it needs.
    pub alt: Option<Alt>,
}

/// A second reading of a candidate: same start, its own end and form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alt {
    pub end: usize,
    pub form: Form,
}

impl Shape {
    pub(crate) fn new(start: usize, end: usize, form: Form) -> Shape {
        Shape {
            start,
            end,
            form,
            needs: Needs::Nothing,
            finish: None,
            alt: None,
        }
    }

    /// A shape whose form is given as the level the detector's own checks
    /// reached (vendor tokens, PEM blocks), with no label weighed.
    pub(crate) fn at(start: usize, end: usize, level: Confidence) -> Shape {
        let form = match level {
            Confidence::VeryLikely => Form::Proven,
            Confidence::Likely => Form::Valid,
            Confidence::Possible => Form::Weak,
            _ => Form::Doubtful,
        };
        Shape::new(start, end, form)
    }

    pub(crate) fn needs(mut self, n: Needs) -> Shape {
        self.needs = self.needs.max(n);
        self
    }

    /// A provisional shape: `finish` completes it once `needs` is met.
    pub(crate) fn provisional(start: usize, end: usize, needs: Needs, finish: ShapeFn) -> Shape {
        let mut s = Shape::new(start, end, Form::Weak).needs(needs);
        s.finish = Some(finish);
        s
    }
}

/// The shape check of a candidate `buf[s..e]`.
pub(crate) type ShapeFn = fn(&[u8], usize, usize) -> Option<Shape>;

/// Turns a shape into a hit (evidence and confidence; `None`: rejected).
pub(crate) type Judge<'a> = dyn FnMut(Shape) -> Option<Hit> + 'a;

/// A detector's own candidate finder: judges the shapes of candidates
/// starting in `lo..hi` and appends the hits.
pub(crate) type FindFn = fn(&[u8], usize, usize, &mut Judge<'_>, &mut Vec<Hit>);

/// How a detector finds candidates.
pub(crate) enum Find {
    /// Inside runs of digits and `space ( ) + . - /` holding at least 4
    /// digits, found once for all such detectors: `may` says whether a run
    /// can hold one, `regex` finds the candidates (when `regex_if` admits
    /// the run), `fallback` reads the whole run when no candidate passed,
    /// and `also` is a second finder of the detector's own (IPv6).
    Digits {
        pattern: &'static str,
        shape: ShapeFn,
        may: fn(&RunStats) -> bool,
        regex_if: fn(&RunStats) -> bool,
        fallback: Option<ShapeFn>,
        also: Option<FindFn>,
    },
    /// The detector's own finder.
    Own(FindFn),
}

/// A row of the detector table.
pub(crate) struct Detector {
    /// The `nightfallDetector` enum name.
    pub name: &'static str,
    /// Stable detector UUID (Nightfall's where known, fixed otherwise).
    pub uuid: &'static str,
    pub find: Find,
    /// The labels and keywords weighed for it (none: labels are ignored).
    pub labels: Labels,
    /// What else makes a value of its shape doubtful.
    pub probe: Option<crate::evidence::Probe>,
    /// A table column where most rows hold one raises each of them.
    pub votes: bool,
    /// Longest finding (for stream windows).
    pub max_len: usize,
    /// Work done once per process before the first scan.
    pub prepare: Option<fn()>,
}

/// Declares [`Kind`] and the detector table together from one list of
/// `Variant => row`, so a variant and its row cannot drift apart.
macro_rules! detectors {
    ($($(#[doc = $doc:literal])* $kind:ident => $row:expr,)+) => {
        /// A built-in detector; its row of the detector table is at its
        /// discriminant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($(#[doc = $doc])* $kind,)+
        }

        impl Kind {
            /// Every variant, in table order.
            const ALL: [Kind; [$(Kind::$kind),+].len()] = [$(Kind::$kind),+];
        }

        /// The detector table, one row per [`Kind`] in its order.
        pub(crate) static DETECTORS: [Detector; Kind::ALL.len()] = [$($row),+];
    };
}

// The built-in detectors. Adding one is a line here, naming its row (a
// `Detector` in its module, beside its shape check).
detectors! {
    /// Payment card numbers (Luhn, issuer and length tables).
    CreditCard => card::DETECTOR,
    /// US Social Security numbers (the SSA's rules).
    Ssn => ssn::DETECTOR,
    /// Email addresses.
    Email => contact::EMAIL,
    /// Phone numbers (NANP rules, libphonenumber's metadata).
    Phone => contact::PHONE,
    /// IBANs (mod-97 and each country's BBAN structure).
    Iban => bank::IBAN,
    /// US bank routing numbers (the ABA checksum).
    Routing => bank::ROUTING,
    /// IPv4 and IPv6 addresses.
    Ip => ip::DETECTOR,
    /// API keys and tokens (vendor formats and checksums, assignments).
    ApiKey => apikey::DETECTOR,
    /// Private-key blocks (PEM and OpenSSH, plain or wrapped).
    CryptoKey => pem::DETECTOR,
}

impl Kind {
    /// Every implemented detector, in table order.
    pub fn all() -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter()
    }

    pub(crate) fn row(self) -> &'static Detector {
        &DETECTORS[self as usize]
    }

    /// The `nightfallDetector` enum name.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Parses a `nightfallDetector` name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::all().find(|k| k.name() == name)
    }

    /// Stable detector UUID (Nightfall's where known, fixed otherwise).
    pub fn uuid(self) -> &'static str {
        self.row().uuid
    }

    /// Longest finding this detector can report (for stream windows).
    pub fn max_len(self) -> usize {
        self.row().max_len
    }
}

/// The compiled candidate regex of a digit detector (once per process).
pub(crate) fn digits_regex(kind: Kind, pattern: &str) -> &'static regex::bytes::Regex {
    static RES: [std::sync::OnceLock<regex::bytes::Regex>; DETECTORS.len()] =
        [const { std::sync::OnceLock::new() }; DETECTORS.len()];
    RES[kind as usize].get_or_init(|| compile(pattern))
}

/// Compiles a built-in pattern (ASCII classes, no Unicode).
pub(crate) fn compile(pattern: &str) -> regex::bytes::Regex {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .expect("built-in pattern compiles")
}

/// Judges the candidates of `re` starting in `lo..hi` (none reaches past
/// `hi + max`): after a rejected candidate the search resumes inside it,
/// at the next token start.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_regex(
    re: &regex::bytes::Regex,
    max: usize,
    shape: ShapeFn,
    buf: &[u8],
    lo: usize,
    hi: usize,
    judge: &mut Judge<'_>,
    out: &mut Vec<Hit>,
) {
    // No candidate starting before `hi` reaches past this point, so a
    // search never runs ahead into the rest of the buffer.
    let hay = &buf[..(hi + max).min(buf.len())];
    let mut pos = lo;
    while pos < hi {
        let Some(m) = re.find_at(hay, pos) else {
            break;
        };
        if m.start() >= hi {
            break;
        }
        match shape(buf, m.start(), m.end()).and_then(&mut *judge) {
            Some(h) => {
                out.push(h);
                pos = h.end.max(m.start() + 1);
            }
            None => {
                // Retry inside the candidate, but only at token starts.
                let mut p = m.start() + 1;
                while p < m.end()
                    && crate::context::is_word(buf[p - 1])
                    && crate::context::is_word(buf[p])
                {
                    p += 1;
                }
                pos = p;
            }
        }
    }
}

/// Bytes that can appear inside a numeric candidate.
const fn numeric_class() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b' ' as usize] = true;
    t[b'(' as usize] = true;
    t[b')' as usize] = true;
    t[b'+' as usize] = true;
    t[b'.' as usize] = true;
    t[b'-' as usize] = true;
    t[b'/' as usize] = true;
    t
}

static NUMERIC: [bool; 256] = numeric_class();

/// What a numeric run holds, so detectors that cannot match skip it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunStats {
    pub digits: usize,
    /// Longest stretch of consecutive digits.
    pub longest: usize,
    /// Some stretch of exactly 9 consecutive digits.
    pub nine: bool,
    pub dots: usize,
    pub plus: bool,
}

/// Index of the first ASCII digit in `buf[i..end]`, or `end`; eight bytes
/// at a time (most text has no digit in most words).
pub(crate) fn next_digit(buf: &[u8], mut i: usize, end: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= end {
        let w = u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        // Bit hack "hasbetween(w, '/', ':')": a byte in 0x30..=0x39.
        let low = w & (ONES * 127);
        let t = (ONES * (127 + 0x3A) - low) & !w & (low + ONES * (127 - 0x2F)) & HI;
        if t != 0 {
            return i + (t.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < end && !buf[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Calls `f(start, end, stats)` for each maximal run of numeric-class
/// bytes with at least 4 digits that overlaps `lo..hi` (runs are extended
/// to their true start before `lo`). This hand loop is the cheap prefilter
/// for the digit detectors: most text never reaches a regex.
pub(crate) fn numeric_runs(
    buf: &[u8],
    lo: usize,
    hi: usize,
    mut f: impl FnMut(usize, usize, &RunStats),
) {
    let mut i = lo;
    let mut floor = 0;
    while i < hi {
        i = next_digit(buf, i, hi);
        if i >= hi {
            break;
        }
        let mut start = i;
        while start > floor && NUMERIC[buf[start - 1] as usize] {
            start -= 1;
        }
        let mut st = RunStats::default();
        let mut cur = 0usize;
        i = start;
        while i < buf.len() && NUMERIC[buf[i] as usize] {
            if buf[i].is_ascii_digit() {
                st.digits += 1;
                cur += 1;
            } else {
                st.nine |= cur == 9;
                st.longest = st.longest.max(cur);
                st.dots += usize::from(buf[i] == b'.');
                st.plus |= buf[i] == b'+';
                cur = 0;
            }
            i += 1;
        }
        st.nine |= cur == 9;
        st.longest = st.longest.max(cur);
        floor = i;
        if st.digits >= 4 {
            f(start, i, &st);
        }
    }
}

/// Any run.
pub(crate) fn always(_: &RunStats) -> bool {
    true
}

/// Test helper: what the engine reports for `kind` alone in `text`, at
/// every level, as (finding, confidence) in order.
#[cfg(test)]
pub(crate) fn found(kind: Kind, text: &str) -> Vec<(String, Confidence)> {
    let rules = crate::shorthand_rules(&[kind.name().into()], Confidence::VeryUnlikely).unwrap();
    crate::Engine::new(&rules)
        .unwrap()
        .scan(text.as_bytes())
        .into_iter()
        .map(|m| (m.finding, m.confidence))
        .collect()
}

/// Test helper: the first finding of `kind` in `text`.
#[cfg(test)]
pub(crate) fn first(kind: Kind, text: &str) -> Option<(String, Confidence)> {
    found(kind, text).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_kind_with_unique_names_and_uuids() {
        assert_eq!(Kind::all().count(), DETECTORS.len());
        for (i, k) in Kind::all().enumerate() {
            assert_eq!(k as usize, i);
            assert_eq!(Kind::parse(k.name()), Some(k), "{}", k.name());
        }
        let unique = |f: fn(Kind) -> &'static str| {
            let mut v: Vec<&str> = Kind::all().map(f).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        assert_eq!(unique(Kind::name), DETECTORS.len());
        assert_eq!(unique(Kind::uuid), DETECTORS.len());
    }

    /// Findings, state files and alerts record these: a row may be added,
    /// never renamed or given another UUID.
    #[test]
    fn shipped_names_and_uuids_are_kept() {
        let shipped = [
            ("CREDIT_CARD_NUMBER", "74c1815e-c0c3-4df5-8b1e-6cf98864a454"),
            (
                "US_SOCIAL_SECURITY_NUMBER",
                "e30d9a87-f6c7-46b9-a8f4-16547901e069",
            ),
            ("EMAIL_ADDRESS", "c1b3a6f0-5a7e-4f7c-9a43-2e1d8b6e0a11"),
            ("PHONE_NUMBER", "d2c4b7a1-6b8f-4a8d-8b54-3f2e9c7f1b22"),
            ("IBAN_CODE", "e3d5c8b2-7c9a-4b9e-9c65-4a3fad801c33"),
            (
                "US_BANK_ROUTING_MICR",
                "f4e6d9c3-8dab-4caf-ad76-5b4abe912d44",
            ),
            ("IP_ADDRESS", "a5f7eac4-9ebc-4dba-be87-6c5bcfa23e55"),
            ("API_KEY", "0e95732f-bc5c-448f-9d15-bd1417177360"),
            ("CRYPTOGRAPHIC_KEY", "b6a8fbd5-afcd-4ecb-8f98-7d6cd0b34f66"),
        ];
        for (name, uuid) in shipped {
            assert_eq!(Kind::parse(name).map(Kind::uuid), Some(uuid), "{name}");
        }
    }
}
