//! The engine: compiles detection rules once, scans buffers, and applies
//! Nightfall's rule semantics (per-detector `minConfidence`, context and
//! exclusion rules, `minNumFindings`, ANY/ALL) to what the detectors find.
//!
//! Scanning is split in two so large inputs can be streamed: `candidates`
//! finds per-detector results in one window (global offsets), `finish`
//! decides which rules fire once the whole input has been seen.

use std::collections::BTreeMap;
use std::ops::Range as StdRange;

use dlp_record::{Confidence, Range};
use nfapi::rules::{DetectionRule, DetectorType, LogicalOp, RedactionConfig};
use regex::bytes::Regex;

use crate::builtin::{Find, Hit, Kind};
use crate::context::{ceil_char, floor_char};
use crate::custom::{self, CompiledContext, CompiledExclusion, CUSTOM_CONFIDENCE};
use crate::structure::ScanState;
use crate::Match;

/// Default bytes of context on each side of a finding (as Nightfall).
pub const DEFAULT_CONTEXT_BYTES: usize = 40;

/// Bytes before a stream window's owned part that detectors scan from
/// (at most a quarter of the minimum overlap, which the buffer keeps).
pub(crate) const SCAN_MARGIN: usize = 1024;

/// Bytes after the owned part in which run triggers are still looked for.
const TRIGGER_REACH: usize = 64;

/// Position of a buffer's first byte in the whole input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) byte: u64,
    pub(crate) codepoint: u64,
    /// 1-based line number.
    pub(crate) line: u64,
}

impl Default for Position {
    fn default() -> Self {
        Position {
            byte: 0,
            codepoint: 0,
            line: 1,
        }
    }
}

impl Position {
    /// The position just after `bytes`, which start at `self`.
    pub(crate) fn advanced(self, bytes: &[u8]) -> Self {
        let (cp, nl) = count(bytes);
        Position {
            byte: self.byte + bytes.len() as u64,
            codepoint: self.codepoint + cp,
            line: self.line + nl,
        }
    }
}

/// Code points (UTF-8 lead bytes) and newlines in `b`, eight bytes at a
/// time (this runs over every byte scanned, so it must be cheap).
pub(crate) fn count(b: &[u8]) -> (u64, u64) {
    const HI: u64 = 0x8080_8080_8080_8080;
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = b.chunks_exact(8);
    let (mut cont, mut nl) = (0u64, 0u64);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // Continuation bytes: bit 7 set, bit 6 clear.
        cont += u64::from((w & !(w << 1) & HI).count_ones());
        // Zero bytes of w ^ NL are newlines.
        let x = w ^ NL;
        let nonzero = ((x & LO7) + LO7) | x;
        nl += u64::from((!nonzero & HI).count_ones());
    }
    for &x in chunks.remainder() {
        cont += u64::from((x & 0xC0) == 0x80);
        nl += u64::from(x == b'\n');
    }
    (b.len() as u64 - cont, nl)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Builtin(usize),
    Custom(usize),
    Nothing,
}

#[derive(Debug, Clone)]
struct Spec {
    source: Source,
    rule: usize,
    min_conf: Confidence,
    min_num: u32,
    display: String,
    uuid: String,
    contexts: Vec<CompiledContext>,
    exclusions: Vec<CompiledExclusion>,
    redaction: Option<RedactionConfig>,
}

#[derive(Debug, Clone)]
struct RuleInfo {
    name: String,
    all: bool,
    specs: Vec<usize>,
}

/// A detector-level finding before rule semantics are applied.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) spec: usize,
    /// Without its detector's name and uuid (see [`Engine::named`]), and
    /// without its finding's and contexts' text while `cuts` is set.
    pub(crate) m: Match,
    /// Where the before-context, the finding and the after-context are in
    /// the buffer the candidate was found in, until [`Candidate::fill`]
    /// makes their text. Texts are made by the thread that passes
    /// candidates on (from the window it holds), not the one that builds
    /// them: a dense file makes hundreds of thousands a second, and text
    /// made on one thread and freed on another costs both threads.
    cuts: Option<[usize; 4]>,
}

impl Candidate {
    /// Makes the finding's and contexts' text from `buf`, the buffer the
    /// candidate was found in, if they are not made yet.
    pub(crate) fn fill(&mut self, buf: &[u8]) {
        if let Some(cuts) = self.cuts.take() {
            let [before, text, after] = three_texts(buf, cuts);
            self.m.before_context = before;
            self.m.finding = text;
            self.m.after_context = after;
        }
    }
}

/// A compiled set of detection rules.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The built-in detectors the rules use, each once.
    builtins: Vec<Kind>,
    customs: Vec<Regex>,
    specs: Vec<Spec>,
    rules: Vec<RuleInfo>,
    context_bytes: usize,
    warnings: Vec<String>,
}

impl Engine {
    /// Compiles `rules`. Detectors this engine does not implement find
    /// nothing (see [`Engine::warnings`]).
    pub fn new(rules: &[DetectionRule]) -> anyhow::Result<Engine> {
        let mut e = Engine {
            builtins: Vec::new(),
            customs: Vec::new(),
            specs: Vec::new(),
            rules: Vec::new(),
            context_bytes: DEFAULT_CONTEXT_BYTES,
            warnings: crate::load::rule_warnings(rules),
        };
        for (ri, rule) in rules.iter().enumerate() {
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| format!("Inline Detection Rule #{}", ri + 1));
            let all = rule.logical_op == Some(LogicalOp::All);
            let mut specs = Vec::new();
            for d in &rule.detectors {
                let (source, default_name, uuid) = match d.kind() {
                    Some(DetectorType::NightfallDetector) => {
                        let n = d.nightfall_detector.clone().unwrap_or_default();
                        match Kind::parse(&n) {
                            Some(k) => {
                                let i = match e.builtins.iter().position(|&b| b == k) {
                                    Some(i) => i,
                                    None => {
                                        if let Some(prepare) = k.row().prepare {
                                            prepare();
                                        }
                                        e.builtins.push(k);
                                        e.builtins.len() - 1
                                    }
                                };
                                (Source::Builtin(i), n, k.uuid().to_owned())
                            }
                            None => (Source::Nothing, n, custom::derived_uuid(d)),
                        }
                    }
                    Some(DetectorType::Regex) => {
                        let r = d
                            .regex
                            .as_ref()
                            .ok_or_else(|| anyhow::anyhow!("REGEX detector without regex"))?;
                        e.customs
                            .push(custom::compile(&r.pattern, r.is_case_sensitive)?);
                        (
                            Source::Custom(e.customs.len() - 1),
                            "REGEX".to_owned(),
                            custom::derived_uuid(d),
                        )
                    }
                    Some(DetectorType::WordList) => {
                        let w = d.word_list.as_ref().ok_or_else(|| {
                            anyhow::anyhow!("WORD_LIST detector without wordList")
                        })?;
                        e.customs.push(custom::word_list_regex(w)?);
                        (
                            Source::Custom(e.customs.len() - 1),
                            "WORD_LIST".to_owned(),
                            custom::derived_uuid(d),
                        )
                    }
                    None => (
                        Source::Nothing,
                        "DETECTOR".to_owned(),
                        d.detector_uuid.clone().unwrap_or_default(),
                    ),
                };
                let mut contexts = Vec::new();
                for c in d.context_rules.iter().flatten() {
                    let Some(re) = &c.regex else { continue };
                    let p = c.proximity.unwrap_or_default();
                    contexts.push(CompiledContext {
                        re: custom::compile(&re.pattern, re.is_case_sensitive)?,
                        before: p.window_before as usize,
                        after: p.window_after as usize,
                        fixed: c.confidence_adjustment.and_then(|a| a.fixed_confidence),
                    });
                }
                let exclusions = d
                    .exclusion_rules
                    .iter()
                    .flatten()
                    .map(CompiledExclusion::compile)
                    .collect::<anyhow::Result<Vec<_>>>()?;
                specs.push(e.specs.len());
                e.specs.push(Spec {
                    source,
                    rule: ri,
                    min_conf: d.min_confidence.unwrap_or(Confidence::Likely),
                    min_num: d.min_num_findings.unwrap_or(1).max(1),
                    display: d.display_name.clone().unwrap_or(default_name),
                    uuid,
                    contexts,
                    exclusions,
                    redaction: d.redaction_config.clone(),
                });
            }
            e.rules.push(RuleInfo { name, all, specs });
        }
        Ok(e)
    }

    /// Bytes of context on each side of a finding (default 40).
    pub fn with_context_bytes(mut self, n: usize) -> Self {
        self.context_bytes = n;
        self
    }

    /// Bytes of context on each side of a finding.
    pub fn context_bytes(&self) -> usize {
        self.context_bytes
    }

    /// Problems found while compiling (unimplemented detectors, limits).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Longest finding any enabled detector can report.
    pub fn max_finding_len(&self) -> usize {
        self.builtins
            .iter()
            .map(|k| k.max_len())
            .max()
            .unwrap_or(0)
            .max(4096)
    }

    /// Scans one buffer and applies the rules.
    pub fn scan(&self, buf: &[u8]) -> Vec<Match> {
        let mut cands = self.candidates(buf, Position::default(), 0..buf.len());
        for c in &mut cands {
            c.fill(buf);
        }
        self.finish(cands)
    }

    /// Detector-level findings starting in `owned` of `buf`, whose first
    /// byte is at `base` in the whole input (a window with no structural
    /// context carried from earlier windows; see [`Engine::candidates_with`]).
    pub(crate) fn candidates(
        &self,
        buf: &[u8],
        base: Position,
        owned: StdRange<usize>,
    ) -> Vec<Candidate> {
        self.candidates_with(buf, base, owned, &mut ScanState::new())
    }

    /// [`Engine::candidates`] with the structural context (a table's
    /// header and delimiter) that `state` carries from earlier windows of
    /// the same input. A window loop calls [`ScanState::advance`] with the
    /// bytes it drops before the next window.
    pub(crate) fn candidates_with(
        &self,
        buf: &[u8],
        base: Position,
        owned: StdRange<usize>,
        state: &mut ScanState,
    ) -> Vec<Candidate> {
        state.prepare(buf, base.byte == 0);
        let cx = state.view(buf);
        let mut found = self.builtin_hits(buf, owned.clone(), &cx);
        found.retain(|(_, h)| owned.contains(&h.start));
        let voted = if cx.is_table() {
            let rows = cx.records(owned.clone());
            cx.vote(&found, rows, |src| match src {
                Source::Builtin(i) => self.builtins[i].row().votes,
                _ => false,
            })
        } else {
            vec![false; found.len()]
        };
        let mut raw: Vec<(Source, Hit)> = found
            .into_iter()
            .zip(voted)
            .map(|((src, h), v)| {
                let c = h.level(v);
                (
                    src,
                    Hit {
                        confidence: c,
                        cap: c,
                        ..h
                    },
                )
            })
            .collect();
        self.custom_hits(buf, owned, &mut raw);
        let src_key = |s: &Source| match *s {
            Source::Builtin(i) => i,
            Source::Custom(i) => 1000 + i,
            Source::Nothing => usize::MAX,
        };
        raw.sort_by_key(|(src, h)| (h.start, h.end, src_key(src)));
        raw.dedup_by(|a, b| {
            a.1.start == b.1.start && a.1.end == b.1.end && src_key(&a.0) == src_key(&b.0)
        });
        self.to_candidates(buf, base, raw)
    }

    /// Phase 1: the built-in detectors' hits around the owned part.
    /// Detectors start scanning a little before it, so a finding whose
    /// trigger (an `=`, a colon, a digit) lies before the window edge is
    /// still seen, and their scanning has settled on the same candidates as
    /// a scan from the start; hits are kept by their start afterwards.
    /// Each candidate's shape goes to [`crate::evidence::judge`], the one
    /// path from a shape to a hit.
    fn builtin_hits(
        &self,
        buf: &[u8],
        owned: StdRange<usize>,
        cx: &crate::structure::Cx<'_>,
    ) -> Vec<(Source, Hit)> {
        let lo = owned.start.saturating_sub(SCAN_MARGIN);
        // Runs of digits and IPv6 groups are found from a digit or colon
        // that may come a little after the finding's start (`+1 (415)`,
        // `2001:db8`), so their triggers are looked for a little past the
        // owned part.
        let reach = (owned.end + TRIGGER_REACH).min(buf.len());
        let mut raw: Vec<(Source, Hit)> = Vec::new();
        let mut hits = Vec::new();
        let mut digits = Vec::new();
        for (i, &kind) in self.builtins.iter().enumerate() {
            let row = kind.row();
            let mut judge = |s| crate::evidence::judge(row, buf, cx, s);
            hits.clear();
            match row.find {
                Find::Digits { also, .. } => {
                    digits.push(i);
                    if let Some(find) = also {
                        find(buf, lo, reach, &mut judge, &mut hits);
                    }
                }
                Find::Own(find) => find(buf, lo, owned.end, &mut judge, &mut hits),
            }
            raw.extend(hits.iter().map(|&h| (Source::Builtin(i), h)));
        }
        if !digits.is_empty() {
            crate::builtin::numeric_runs(buf, lo, reach, |lo, hi, st| {
                for &i in &digits {
                    let row = self.builtins[i].row();
                    let Find::Digits {
                        pattern,
                        shape,
                        may,
                        regex_if,
                        fallback,
                        ..
                    } = row.find
                    else {
                        continue;
                    };
                    if !may(st) {
                        continue;
                    }
                    let mut judge = |s| crate::evidence::judge(row, buf, cx, s);
                    hits.clear();
                    if regex_if(st) {
                        crate::builtin::scan_regex(
                            crate::builtin::digits_regex(self.builtins[i], pattern),
                            128,
                            shape,
                            buf,
                            lo,
                            hi,
                            &mut judge,
                            &mut hits,
                        );
                    }
                    if let (Some(f), true) = (fallback, hits.is_empty()) {
                        hits.extend(f(buf, lo, hi).and_then(&mut judge));
                    }
                    raw.extend(hits.iter().map(|&h| (Source::Builtin(i), h)));
                }
            });
        }
        raw
    }

    /// Phase 2: the rules' REGEX detectors' matches starting in the owned
    /// part (searched from a little before it, like the built-ins).
    fn custom_hits(&self, buf: &[u8], owned: StdRange<usize>, raw: &mut Vec<(Source, Hit)>) {
        let lo = owned.start.saturating_sub(SCAN_MARGIN);
        for (i, re) in self.customs.iter().enumerate() {
            let mut pos = lo;
            while let Some(m) = re.find_at(buf, pos) {
                if m.start() >= owned.end {
                    break;
                }
                if m.end() > m.start() && m.start() >= owned.start {
                    raw.push((
                        Source::Custom(i),
                        Hit {
                            start: m.start(),
                            end: m.end(),
                            confidence: CUSTOM_CONFIDENCE,
                            cap: CUSTOM_CONFIDENCE,
                        },
                    ));
                }
                pos = m.end().max(m.start() + 1);
            }
        }
    }

    /// Phase 3: each hit (in order) as a candidate of every detector spec
    /// it belongs to, with its positions, context and the spec's context
    /// and exclusion rules applied.
    fn to_candidates(&self, buf: &[u8], base: Position, raw: Vec<(Source, Hit)>) -> Vec<Candidate> {
        let mut out = Vec::new();
        let mut cursor = (0usize, base);
        for (src, hit) in raw {
            let start_pos = cursor.1.advanced(&buf[cursor.0..hit.start]);
            cursor = (hit.start, start_pos);
            let end_pos = start_pos.advanced(&buf[hit.start..hit.end]);
            let last_line = if buf[hit.start..hit.end].ends_with(b"\n") {
                end_pos.line - 1
            } else {
                end_pos.line
            };
            let n = self.context_bytes;
            let before_start = ceil_char(buf, hit.start.saturating_sub(n));
            let after_end = floor_char(buf, (hit.end + n).min(buf.len())).max(hit.end);
            for (si, spec) in self.specs.iter().enumerate() {
                let Some(conf) = spec_confidence(spec, src, hit, buf) else {
                    continue;
                };
                let cuts = [before_start, hit.start, hit.end, after_end];
                let mut c = Candidate {
                    spec: si,
                    m: Match {
                        // Named when passed on: a dense file's candidates
                        // are built on other threads than the one that
                        // frees them, and each string made here is freed
                        // across threads.
                        detector: String::new(),
                        detector_uuid: String::new(),
                        finding: String::new(),
                        redacted_finding: None,
                        confidence: conf,
                        byte_range: Range {
                            start: start_pos.byte,
                            end: end_pos.byte,
                        },
                        codepoint_range: Range {
                            start: start_pos.codepoint,
                            end: end_pos.codepoint,
                        },
                        line_range: Range {
                            start: start_pos.line,
                            end: last_line.max(start_pos.line),
                        },
                        before_context: String::new(),
                        after_context: String::new(),
                        matched_rules: Vec::new(),
                    },
                    cuts: Some(cuts),
                };
                if let Some(r) = &spec.redaction {
                    // Redacting needs the text now (custom rules only).
                    c.fill(buf);
                    c.m.redacted_finding = custom::redact(r, &c.m.finding, &spec.display);
                }
                out.push(c);
            }
        }
        out
    }

    /// Number of detector specs (one per detector of each rule).
    pub(crate) fn spec_count(&self) -> usize {
        self.specs.len()
    }

    /// The detector name a spec reports (`displayName`, else the
    /// detector's enum name).
    pub(crate) fn detector_name(&self, spec: usize) -> &str {
        &self.specs[spec].display
    }

    /// A candidate's match with its detector's name and uuid.
    pub(crate) fn named(&self, c: Candidate) -> Match {
        let spec = &self.specs[c.spec];
        let mut m = c.m;
        m.detector.push_str(&spec.display);
        m.detector_uuid.push_str(&spec.uuid);
        m
    }

    /// Number of rules.
    pub(crate) fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The rule a detector spec belongs to.
    pub(crate) fn spec_rule(&self, spec: usize) -> usize {
        self.specs[spec].rule
    }

    /// A rule's name as reported in `matched_rules`.
    pub(crate) fn rule_name(&self, rule: usize) -> &str {
        &self.rules[rule].name
    }

    /// True when `rule` fires given the candidates counted per spec
    /// (`minNumFindings` per detector, ANY/ALL across them).
    pub(crate) fn rule_fires(&self, rule: usize, counts: &[u32]) -> bool {
        let r = &self.rules[rule];
        let ok = |&s: &usize| counts[s] >= self.specs[s].min_num;
        if r.all {
            r.specs.iter().all(ok)
        } else {
            r.specs.iter().any(ok)
        }
    }

    /// Applies `minNumFindings` and ANY/ALL to all candidates of one input
    /// and returns the findings of firing rules, deduplicated by
    /// (detector, range), in input order.
    pub(crate) fn finish(&self, cands: Vec<Candidate>) -> Vec<Match> {
        let mut counts = vec![0u32; self.specs.len()];
        for c in &cands {
            counts[c.spec] += 1;
        }
        let fires: Vec<bool> = (0..self.rules.len())
            .map(|r| self.rule_fires(r, &counts))
            .collect();
        let mut merged: BTreeMap<(u64, u64, String), Match> = BTreeMap::new();
        for c in cands {
            let rule = self.specs[c.spec].rule;
            if !fires[rule] {
                continue;
            }
            let name = &self.rules[rule].name;
            let key = (
                c.m.byte_range.start,
                c.m.byte_range.end,
                self.detector_name(c.spec).to_owned(),
            );
            let conf = c.m.confidence;
            let entry = merged.entry(key).or_insert_with(|| self.named(c));
            entry.confidence = entry.confidence.max(conf);
            if !entry.matched_rules.contains(name) {
                entry.matched_rules.push(name.clone());
            }
        }
        merged.into_values().collect()
    }
}

/// `buf[cuts[0]..cuts[1]]`, `[cuts[1]..cuts[2]]` and `[cuts[2]..cuts[3]]`
/// as text, invalid UTF-8 replaced. The three are checked as one when
/// they are valid and cut at character boundaries, as they nearly always
/// are (a context, a finding and a context: three checks per finding cost
/// a dense file more than one).
fn three_texts(buf: &[u8], cuts: [usize; 4]) -> [String; 3] {
    let [a, b, c, d] = cuts;
    if a <= b && b <= c && c <= d {
        if let Ok(s) = std::str::from_utf8(&buf[a..d]) {
            if let (Some(x), Some(y), Some(z)) =
                (s.get(..b - a), s.get(b - a..c - a), s.get(c - a..))
            {
                return [x.to_owned(), y.to_owned(), z.to_owned()];
            }
        }
    }
    [a..b, b..c, c..d].map(|r| String::from_utf8_lossy(&buf[r]).into_owned())
}

/// The confidence `spec` gives a hit from `src`: `None` when the hit is
/// not the spec's detector, falls below its minimum confidence after its
/// context rules, or is excluded.
fn spec_confidence(spec: &Spec, src: Source, hit: Hit, buf: &[u8]) -> Option<Confidence> {
    let same = match (spec.source, src) {
        (Source::Builtin(a), Source::Builtin(b)) | (Source::Custom(a), Source::Custom(b)) => a == b,
        _ => false,
    };
    if !same {
        return None;
    }
    let mut conf = hit.confidence;
    for c in &spec.contexts {
        let lo = hit.start.saturating_sub(c.before);
        let hi = (hit.end + c.after).min(buf.len());
        if c.re.is_match(&buf[lo..hit.start]) || c.re.is_match(&buf[hit.end..hi]) {
            if let Some(f) = c.fixed {
                conf = f;
            }
        }
    }
    let finding = &buf[hit.start..hit.end];
    if conf < spec.min_conf || spec.exclusions.iter().any(|x| x.excludes(finding)) {
        return None;
    }
    Some(conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{default_rules, StreamOptions};
    use nfapi::load::parse_rules;

    #[test]
    fn counting_matches_the_simple_definition() {
        let text = "héllo\nwörld 😀\n\nabc\ndef ghi\njklmnop\n€".repeat(7);
        for end in 0..text.len() {
            let b = &text.as_bytes()[..end];
            let cp = b.iter().filter(|&&x| (x & 0xC0) != 0x80).count() as u64;
            let nl = b.iter().filter(|&&x| x == b'\n').count() as u64;
            assert_eq!(count(b), (cp, nl), "{end}");
        }
    }

    #[test]
    fn offsets_lines_contexts_and_rule_names() {
        let text =
            "Name\tCredit Card\nRep. Viviana Hintz\t5433-9502-3725-7862\nÉloïse\t536-22-8726\n";
        let e = Engine::new(&default_rules()).unwrap();
        let m = e.scan(text.as_bytes());
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0].finding, "5433-9502-3725-7862");
        assert_eq!((m[0].byte_range.start, m[0].byte_range.end), (36, 55));
        assert_eq!(m[0].line_range, Range { start: 2, end: 2 });
        assert_eq!(
            m[0].before_context,
            "Name\tCredit Card\nRep. Viviana Hintz\t"
        );
        assert_eq!(m[0].matched_rules, ["Inline Detection Rule #1"]);
        assert_eq!(m[0].detector_uuid, "74c1815e-c0c3-4df5-8b1e-6cf98864a454");
        // Code points lag bytes after the accented name.
        assert_eq!(m[1].byte_range.start - m[1].codepoint_range.start, 2);
        assert_eq!(m[1].line_range.start, 3);
    }

    #[test]
    fn decoys_stay_quiet_with_every_detector() {
        let rules = crate::shorthand_rules(&["ALL".into()], Confidence::Likely).unwrap();
        let e = Engine::new(&rules).unwrap();
        let decoys = "\
luhn fails 5433-9502-3725-7863; ms timestamp 1699999999999; digits 12345678901234567890123
ssn 000-12-3456 666-12-3456 912-34-5678 536-00-8726 536-22-0000
sha1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b uuid 123e4567-e89b-12d3-a456-426614174000
date 2024-01-15 10:15:03 version 1.2.3 build 10.0.19041.1 oid 1.3.6.1.4.1.311
docs AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY api_key = \"your-api-key-here\"
test card 4111 1111 1111 1111, icon logo@2x.png, IBAN DE89370400440532013001
-----BEGIN RSA PRIVATE KEY-----
...
-----END RSA PRIVATE KEY-----
";
        let m = e.scan(decoys.as_bytes());
        assert!(
            m.is_empty(),
            "{:?}",
            m.iter()
                .map(|m| (&m.detector, &m.finding))
                .collect::<Vec<_>>()
        );
        let m = e.scan(b"AWS_ACCESS_KEY_ID=ASIAEL2CL2WLF2ZFWWNV\n");
        assert_eq!(m.len(), 1, "random key with low-ish entropy is still a key");
    }

    #[test]
    fn min_num_findings_and_all() {
        let rules = parse_rules(
            br#"[{"name":"two cards","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minNumFindings":2,"minConfidence":"LIKELY"}]},
                {"name":"both","logicalOp":"ALL","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minConfidence":"LIKELY"},
                 {"nightfallDetector":"EMAIL_ADDRESS","minConfidence":"LIKELY"}]}]"#,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        assert!(e.scan(b"card 5433-9502-3725-7862").is_empty());
        let m = e.scan(b"card 5433-9502-3725-7862 a@b.io");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].matched_rules, ["both"]);
        let m = e.scan(b"card 5433-9502-3725-7862 and 4916-6734-7572-5015 a@b.io");
        assert_eq!(m[0].matched_rules, ["two cards", "both"]);
    }

    #[test]
    fn custom_detectors_context_and_exclusions() {
        let rules = parse_rules(
            br#"[{"detectors":[{"displayName":"Emp","regex":{"pattern":"EMP-[0-9]{4}"},"minConfidence":"LIKELY",
                 "exclusionRules":[{"matchType":"FULL","exclusionType":"WORD_LIST","wordList":{"values":["EMP-0000"]}}],
                 "contextRules":[{"regex":{"pattern":"draft"},"proximity":{"windowBefore":10,"windowAfter":0},"confidenceAdjustment":{"fixedConfidence":"UNLIKELY"}}],
                 "redactionConfig":{"substitutionConfig":{"substitutionPhrase":"[EMP]"}}},
                {"wordList":{"values":["falcon"]},"minConfidence":"POSSIBLE"}]}]"#,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        let m = e.scan(b"emp-1234 EMP-0000 draft EMP-5678 Falcon");
        let got: Vec<(&str, &str)> = m
            .iter()
            .map(|m| (m.detector.as_str(), m.finding.as_str()))
            .collect();
        assert_eq!(got, [("Emp", "emp-1234"), ("WORD_LIST", "Falcon")]);
        assert_eq!(m[0].redacted_finding.as_deref(), Some("[EMP]"));
    }

    #[test]
    fn window_edges_neither_lose_nor_double() {
        let rules = crate::shorthand_rules(
            &["CREDIT_CARD_NUMBER,EMAIL_ADDRESS".into()],
            Confidence::Likely,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        // Window 64 KiB with 8 KiB overlap: the first window owns [0, 56 KiB).
        let opts = StreamOptions {
            window: 64 * 1024,
            overlap: 8 * 1024,
            ..StreamOptions::default()
        };
        let edge = 56 * 1024;
        let card = "5433-9502-3725-7862";
        // Sweep the card across the first window edges.
        for shift in (0..300).step_by(7) {
            let mut text = String::new();
            let filler = "lorem ipsum dolor sit amet\n";
            while text.len() < edge - 150 + shift {
                text.push_str(filler);
            }
            text.truncate(edge - 150 + shift);
            text.push_str("card ");
            text.push_str(card);
            text.push(' ');
            while text.len() < 300 * 1024 {
                text.push_str(filler);
            }
            text.push_str("last a@b.io\n");
            let whole = e.scan(text.as_bytes());
            let streamed = e.scan_reader(text.as_bytes(), opts).unwrap();
            assert_eq!(whole, streamed, "shift {shift}");
            assert_eq!(streamed.iter().filter(|m| m.finding == card).count(), 1);
        }
    }
}
