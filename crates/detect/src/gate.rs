//! Nightfall's rule semantics while streaming: a finding is passed on as
//! soon as one of its rules has fired, so memory does not grow with the
//! number of findings. A rule that needs more than one finding
//! (`minNumFindings` > 1, or ALL across detectors) holds its findings until
//! it fires; ANY rules hold fewer than `minNumFindings` per detector, and
//! what ALL rules hold is capped at [`HELD_LIMIT`] per input.
//!
//! The findings passed on are those of [`Engine::finish`] on the whole
//! input; only `matched_rules` (and the confidence merged across rules) can
//! differ, when one finding belongs to several rules that fire at
//! different points: it lists the rules that had fired when it was passed
//! on.

use std::io;

use dlp_record::Confidence;

use crate::engine::{Candidate, Engine};
use crate::Match;

/// Findings that [`Engine::scan_stream`] holds per input for rules that
/// have not fired yet, at most; those past it are counted in
/// [`StreamSummary::withheld`](crate::StreamSummary::withheld).
pub const HELD_LIMIT: usize = 10_000;

struct Held {
    m: Match,
    /// (rule, confidence) of each candidate merged into this finding.
    rules: Vec<(usize, Confidence)>,
}

/// Applies the rules to one input's candidates as they are found.
pub struct Gate<'e> {
    engine: &'e Engine,
    counts: Vec<u32>,
    fired: Vec<bool>,
    held: Vec<Held>,
    /// Findings dropped at the held limit, per pending rule.
    dropped: Vec<u64>,
    /// The (rule, confidence) of the candidates of the range at hand.
    rules: Vec<(usize, Confidence)>,
}

impl<'e> Gate<'e> {
    /// A gate for one input.
    pub fn new(engine: &'e Engine) -> Self {
        Gate {
            engine,
            counts: vec![0; engine.spec_count()],
            fired: vec![false; engine.rule_count()],
            held: Vec::new(),
            dropped: vec![0; engine.rule_count()],
            rules: Vec::new(),
        }
    }

    /// Takes one step's candidates (in input order), found in `text`,
    /// and passes the findings of fired rules to `emit`, in order.
    pub fn push(
        &mut self,
        cands: Vec<Candidate>,
        text: &[u8],
        emit: &mut impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut it = cands.into_iter().peekable();
        // Reused for every range: a dense window has a range per finding.
        let (mut same_range, mut group) = (Vec::new(), Vec::new());
        while let Some(first) = it.next() {
            let key = first.m.byte_range;
            let alone = it.peek().is_none_or(|c| c.m.byte_range != key);
            if alone {
                // Most ranges hold one candidate: it is its own group.
                self.count(&first, emit)?;
                self.rules.clear();
                self.rules
                    .push((self.engine.spec_rule(first.spec), first.m.confidence));
                self.pass(first, text, emit)?;
                continue;
            }
            same_range.push(first);
            while let Some(c) = it.next_if(|c| c.m.byte_range == key) {
                same_range.push(c);
            }
            // One finding per detector name at this range, as `finish`.
            // Most ranges hold one detector's candidates: no split needed.
            let name = |c: &Candidate| self.engine.detector_name(c.spec);
            if same_range.iter().all(|c| name(c) == name(&same_range[0])) {
                self.group(&mut same_range, text, emit)?;
                continue;
            }
            while !same_range.is_empty() {
                let first = name(&same_range[0]);
                let (named, rest): (Vec<_>, Vec<_>) =
                    same_range.drain(..).partition(|c| name(c) == first);
                group.extend(named);
                same_range = rest;
                self.group(&mut group, text, emit)?;
            }
        }
        Ok(())
    }

    /// Takes the candidates of one detector at one range (and leaves
    /// `group` empty).
    fn group(
        &mut self,
        group: &mut Vec<Candidate>,
        text: &[u8],
        emit: &mut impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<()> {
        for c in group.iter() {
            self.count(c, emit)?;
        }
        self.rules.clear();
        self.rules.extend(
            group
                .iter()
                .map(|c| (self.engine.spec_rule(c.spec), c.m.confidence)),
        );
        let fired = self.rules.iter().position(|&(r, _)| self.fired[r]);
        let c = group.swap_remove(fired.unwrap_or(0));
        group.clear();
        self.pass(c, text, emit)
    }

    /// Counts `c` for its rule, and passes on what the rule held if that
    /// makes it fire.
    fn count(
        &mut self,
        c: &Candidate,
        emit: &mut impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<()> {
        self.counts[c.spec] += 1;
        let r = self.engine.spec_rule(c.spec);
        if !self.fired[r] && self.engine.rule_fires(r, &self.counts) {
            self.fired[r] = true;
            self.release(r, emit)?;
        }
        Ok(())
    }

    /// Passes on `c` (found in `text`), the finding of a group whose
    /// candidates' rules and confidences are in `self.rules` (a candidate
    /// of a fired rule when there is one), or holds it until one of them
    /// fires.
    fn pass(
        &mut self,
        mut c: Candidate,
        text: &[u8],
        emit: &mut impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<()> {
        let fired = self.rules.iter().any(|&(r, _)| self.fired[r]);
        c.fill(text);
        let m = self.engine.named(c);
        if fired {
            let mut m = m;
            self.merge(&mut m, &self.rules);
            emit(m)
        } else if self.held.len() < HELD_LIMIT {
            let rules = self.rules.clone();
            self.held.push(Held { m, rules });
            Ok(())
        } else {
            for &(r, _) in &self.rules {
                self.dropped[r] += 1;
            }
            Ok(())
        }
    }

    /// Passes on, in order, what `rule` held now that it fired.
    fn release(
        &mut self,
        rule: usize,
        emit: &mut impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        for h in held {
            if h.rules.iter().any(|&(r, _)| r == rule) {
                emit(self.merged(h))?;
            } else {
                self.held.push(h);
            }
        }
        Ok(())
    }

    /// The finding with the fired rules' names and their best confidence.
    fn merged(&self, h: Held) -> Match {
        let mut m = h.m;
        self.merge(&mut m, &h.rules);
        m
    }

    /// Gives `m` the names of the fired rules among `rules` (the rule and
    /// confidence of each candidate merged into it) and their best
    /// confidence.
    fn merge(&self, m: &mut Match, rules: &[(usize, Confidence)]) {
        m.matched_rules.clear();
        let mut conf = None;
        for &(r, c) in rules.iter().filter(|&&(r, _)| self.fired[r]) {
            conf = conf.max(Some(c));
            let name = self.engine.rule_name(r);
            if !m.matched_rules.iter().any(|n| n == name) {
                m.matched_rules.push(name.to_owned());
            }
        }
        m.confidence = conf.unwrap_or(m.confidence);
    }

    /// Ends the input: findings still held belong to rules that never
    /// fired and are dropped. Returns how many findings of rules that did
    /// fire were not passed on because of [`HELD_LIMIT`].
    pub fn finish(self) -> u64 {
        self.dropped
            .iter()
            .zip(&self.fired)
            .filter(|(_, &f)| f)
            .map(|(d, _)| d)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Match, StreamOptions};
    use nfapi::load::parse_rules;

    fn streamed(e: &Engine, text: &[u8]) -> Vec<Match> {
        let mut out = Vec::new();
        let opts = StreamOptions {
            window: 7,
            overlap: 0,
            ..StreamOptions::default()
        };
        e.scan_stream(text, opts, |m| {
            out.push(m);
            Ok(())
        })
        .unwrap();
        out
    }

    fn found(ms: &[Match]) -> Vec<(&str, Vec<&str>)> {
        ms.iter()
            .map(|m| {
                (
                    m.finding.as_str(),
                    m.matched_rules.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn min_num_findings_holds_until_the_rule_fires() {
        let rules = parse_rules(
            br#"[{"name":"two cards","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minNumFindings":2,"minConfidence":"LIKELY"}]}]"#,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        assert!(streamed(&e, b"card 5433-9502-3725-7862\n").is_empty());
        let text = b"card 5433-9502-3725-7862\nand 4916-6734-7572-5015\nthen 4532015112830366\n";
        let got = streamed(&e, text);
        assert_eq!(got, e.scan(text));
        assert_eq!(
            found(&got),
            [
                ("5433-9502-3725-7862", vec!["two cards"]),
                ("4916-6734-7572-5015", vec!["two cards"]),
                ("4532015112830366", vec!["two cards"]),
            ]
        );
    }

    #[test]
    fn all_rule_releases_in_order_when_its_last_detector_appears() {
        let rules = parse_rules(
            br#"[{"name":"both","logicalOp":"ALL","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minConfidence":"LIKELY"},
                 {"nightfallDetector":"EMAIL_ADDRESS","minConfidence":"LIKELY"}]},
                {"name":"ssn","detectors":[{"nightfallDetector":"US_SOCIAL_SECURITY_NUMBER","minConfidence":"LIKELY"}]}]"#,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        let text = "card 5433-9502-3725-7862\nssn 536-22-8726\nand 4916-6734-7572-5015\n"
            .repeat(50)
            + "mail a@b.io\n";
        let mut got = streamed(&e, text.as_bytes());
        // SSNs go out at once; the cards when the email fires the ALL rule.
        assert_eq!(got[0].finding, "536-22-8726");
        assert_eq!(got[50].finding, "5433-9502-3725-7862");
        assert_eq!(got.len(), 151);
        got.sort_by_key(|m| m.byte_range.start);
        assert!(got == e.scan(text.as_bytes()));
        // Without the email the ALL rule never fires: SSNs only.
        let text = text.replace("a@b.io", "nobody");
        let got = streamed(&e, text.as_bytes());
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(|m| m.matched_rules == ["ssn"]));
    }

    #[test]
    fn a_finding_of_two_rules_lists_those_fired_when_it_is_passed_on() {
        let rules = parse_rules(
            br#"[{"name":"two cards","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minNumFindings":2,"minConfidence":"LIKELY"}]},
                {"name":"any card","detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minConfidence":"LIKELY"}]}]"#,
        )
        .unwrap();
        let e = Engine::new(&rules).unwrap();
        let text = b"card 5433-9502-3725-7862\nand 4916-6734-7572-5015\n";
        assert_eq!(
            found(&streamed(&e, text)),
            [
                ("5433-9502-3725-7862", vec!["any card"]),
                ("4916-6734-7572-5015", vec!["two cards", "any card"]),
            ]
        );
        // The whole-input semantics list both rules on both.
        assert_eq!(e.scan(text)[0].matched_rules, ["two cards", "any card"]);
    }
}
