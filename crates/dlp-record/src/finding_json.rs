//! A [`Finding`] written as one JSON object without going through serde:
//! the same bytes `serde_json::to_writer` writes for it (field order,
//! skipped fields, escapes), at a fraction of the cost. A dense file's scan
//! writes hundreds of thousands of findings a second, and serde's
//! byte-at-a-time string escaping was a third of pii-scan's time there.
//! The tests compare the two writers on findings of every shape.

use crate::{Finding, Range};

impl Finding {
    /// Appends this finding as one JSON object (no newline) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Obj::new(out);
        self.head(&mut o);
        self.index(&mut o);
        self.mid(&mut o);
        self.body(&mut o);
        self.tail(&mut o);
    }

    /// [`Finding::write_json`], copying what this finding shares with
    /// findings written before with `memo` (the file, the detector, the
    /// rules and what the input event said) instead of escaping it again:
    /// a file's findings differ only in their value, context and place.
    pub fn write_json_with(&self, out: &mut Vec<u8>, memo: &mut JsonMemo) {
        copy(&mut memo.head, self, Part::Head, out);
        self.index(&mut Obj::after(out));
        copy(&mut memo.mid, self, Part::Mid, out);
        self.body(&mut Obj::after(out));
        copy(&mut memo.tail, self, Part::Tail, out);
    }

    /// The fields before `index` (which is always written).
    fn head(&self, o: &mut Obj) {
        if !self.upload_id.is_empty() {
            o.str(k!("upload_id"), &self.upload_id);
        }
        o.str(k!("path"), &self.path);
        if let Some(v) = &self.path_b64 {
            o.str(k!("path_b64"), v);
        }
    }

    fn index(&self, o: &mut Obj) {
        o.num(k!("index"), self.index);
    }

    /// The fields from `timestamp` to `confidence`.
    fn mid(&self, o: &mut Obj) {
        o.str(k!("timestamp"), &self.timestamp);
        o.str(k!("detector"), &self.detector);
        if !self.detector_uuid.is_empty() {
            o.str(k!("detector_uuid"), &self.detector_uuid);
        }
        o.str(k!("confidence"), self.confidence.as_str());
    }

    /// The value, its context and where it is.
    fn body(&self, o: &mut Obj) {
        o.str(k!("finding"), &self.finding);
        if let Some(v) = &self.redacted_finding {
            o.str(k!("redacted_finding"), v);
        }
        o.str(k!("before_context"), &self.before_context);
        o.str(k!("after_context"), &self.after_context);
        o.range(k!("byte_range"), self.byte_range);
        o.range(k!("codepoint_range"), self.codepoint_range);
        for (key, r) in [
            (k!("line_range"), self.line_range),
            (k!("row_range"), self.row_range),
            (k!("column_range"), self.column_range),
        ] {
            if let Some(r) = r {
                o.range(key, r);
            }
        }
    }

    /// The fields from `archive_path` on, and the closing brace.
    fn tail(&self, o: &mut Obj) {
        o.str(k!("archive_path"), &self.archive_path);
        o.key(k!("detection_rules"));
        o.out.push(b'[');
        for (i, rule) in self.detection_rules.iter().enumerate() {
            if i > 0 {
                o.out.push(b',');
            }
            escape(rule, o.out);
        }
        o.out.push(b']');
        for (key, v) in [(k!("sha256"), &self.sha256), (k!("host"), &self.host)] {
            if let Some(v) = v {
                o.str(key, v);
            }
        }
        if let Some(s) = self.status {
            o.str(k!("status"), s.as_str());
        }
        for (key, v) in [
            (k!("finding_id"), &self.finding_id),
            (k!("first_seen"), &self.first_seen),
        ] {
            if let Some(v) = v {
                o.str(key, v);
            }
        }
        if let Some(b) = self.removable {
            o.key(k!("removable"));
            o.out.extend_from_slice(if b { b"true" } else { b"false" });
        }
        if let Some(v) = &self.copied_from {
            o.str(k!("copied_from"), v);
        }
        if let Some(p) = self.page {
            o.num(k!("page"), u64::from(p));
        }
        if let Some(c) = self.ocr_confidence {
            o.num(k!("ocr_confidence"), u64::from(c));
        }
        o.out.push(b'}');
    }
}

/// What [`Finding::write_json_with`] keeps between findings: for each
/// shared part, the last few findings it was written for and its bytes.
#[derive(Debug, Default)]
pub struct JsonMemo {
    head: Vec<Written>,
    mid: Vec<Written>,
    tail: Vec<Written>,
}

/// Findings whose parts a [`JsonMemo`] keeps, per part: a file's
/// findings alternate between a few detectors.
const MEMO_SIZE: usize = 8;

/// A part of a finding's JSON and the finding it was written for.
#[derive(Debug)]
struct Written {
    of: Finding,
    bytes: Vec<u8>,
}

/// The parts of a finding that findings share.
#[derive(Clone, Copy)]
enum Part {
    Head,
    Mid,
    Tail,
}

impl Part {
    /// Whether `a` and `b` write the same bytes for this part.
    fn same(self, a: &Finding, b: &Finding) -> bool {
        match self {
            Part::Head => {
                a.path == b.path && a.upload_id == b.upload_id && a.path_b64 == b.path_b64
            }
            Part::Mid => {
                a.detector == b.detector
                    && a.confidence == b.confidence
                    && a.detector_uuid == b.detector_uuid
                    && a.timestamp == b.timestamp
            }
            Part::Tail => {
                a.archive_path == b.archive_path
                    && a.detection_rules == b.detection_rules
                    && a.host == b.host
                    && a.sha256 == b.sha256
                    && a.status == b.status
                    && a.finding_id == b.finding_id
                    && a.first_seen == b.first_seen
                    && a.removable == b.removable
                    && a.copied_from == b.copied_from
                    && a.page == b.page
                    && a.ocr_confidence == b.ocr_confidence
            }
        }
    }

    fn write(self, f: &Finding, out: &mut Vec<u8>) {
        match self {
            Part::Head => f.head(&mut Obj::new(out)),
            Part::Mid => f.mid(&mut Obj::after(out)),
            Part::Tail => f.tail(&mut Obj::after(out)),
        }
    }
}

/// Appends `part` of `f` to `out`: the bytes kept in `kept` for a finding
/// with the same part, else written now (and kept, in place of the
/// oldest when `kept` is full).
fn copy(kept: &mut Vec<Written>, f: &Finding, part: Part, out: &mut Vec<u8>) {
    if let Some(i) = kept.iter().position(|w| part.same(&w.of, f)) {
        // Every debug build (the test suites' tools) checks the copy: a
        // field written in a part but not compared in `Part::same` fails.
        #[cfg(debug_assertions)]
        {
            let mut fresh = Vec::new();
            part.write(f, &mut fresh);
            assert_eq!(
                fresh, kept[i].bytes,
                "JsonMemo: a field of this part is not compared"
            );
        }
        out.extend_from_slice(&kept[i].bytes);
        return;
    }
    let mut bytes = Vec::new();
    part.write(f, &mut bytes);
    out.extend_from_slice(&bytes);
    if kept.len() == MEMO_SIZE {
        kept.pop();
    }
    kept.insert(
        0,
        Written {
            of: f.clone(),
            bytes,
        },
    );
}

/// `,"name":`, a key as [`Obj`] writes it.
macro_rules! k {
    ($name:literal) => {
        concat!(",\"", $name, "\":").as_bytes()
    };
}
use k;

/// An object being written. Keys are `,"name":` literals (see [`k!`]),
/// known not to need escaping; the first key's comma is left out.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// An object whose first fields are written already.
    fn after(out: &'a mut Vec<u8>) -> Self {
        Obj { out, first: false }
    }

    fn key(&mut self, key: &[u8]) {
        let skip = usize::from(std::mem::take(&mut self.first));
        self.out.extend_from_slice(&key[skip..]);
    }

    fn str(&mut self, key: &[u8], v: &str) {
        self.key(key);
        escape(v, self.out);
    }

    fn num(&mut self, key: &[u8], n: u64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    fn range(&mut self, key: &[u8], r: Range) {
        self.key(key);
        self.out.extend_from_slice(b"{\"start\":");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(r.start).as_bytes());
        self.out.extend_from_slice(b",\"end\":");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(r.end).as_bytes());
        self.out.push(b'}');
    }
}

/// Where bytes of `w` (little-endian) are below 0x20, a quote or a
/// backslash: the high bit of each such byte is set. Bytes above the
/// first one may be set falsely (a borrow carries into them), so only the
/// lowest set bit is exact.
#[inline]
fn escapes(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    // Bytes below 0x20: w - 0x20 borrows into the high bit of a byte whose
    // own high bit is clear.
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    control | has_zero(w ^ (LO * u64::from(b'"'))) | has_zero(w ^ (LO * u64::from(b'\\')))
}

/// The first byte of `b` from `i` on that JSON escapes.
#[inline]
fn next_escape(b: &[u8], mut i: usize) -> Option<usize> {
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let m = escapes(w);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
        .map(|k| i + k)
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it
/// (quote, backslash, `\b \f \n \r \t`, other control bytes as `\u00XX`;
/// everything else as it is).
pub fn escape(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(b, start) {
        out.extend_from_slice(&b[start..i]);
        let c = b[i];
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
                start = i + 1;
                continue;
            }
        };
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Confidence, FindingStatus};

    fn sample() -> Finding {
        serde_json::from_str(
            r#"{"path":"/tmp/a.csv","index":3,"timestamp":"2026-12-07T06:00:00Z",
               "detector":"CREDIT_CARD_NUMBER","confidence":"LIKELY","finding":"4111",
               "before_context":"","after_context":"","archive_path":""}"#,
        )
        .unwrap()
    }

    fn same(f: &Finding) {
        let mut ours = Vec::new();
        f.write_json(&mut ours);
        let theirs = serde_json::to_vec(f).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_string_escape_is_serde_jsons() {
        let mut all = String::new();
        for c in (0u8..0x80).map(char::from) {
            all.push(c);
        }
        all.push_str("é日本😀\u{202e}\u{7f}\u{2028}");
        let mut f = sample();
        for s in [
            all.as_str(),
            "",
            "\"",
            "\\",
            "1234567",
            "12345678\"",
            "abcdefgh\u{1f}ijklmnop",
            "a\"b\\c\nd",
        ] {
            f.finding = s.to_owned();
            f.before_context = s.repeat(3);
            f.path = format!("/x/{s}");
            same(&f);
        }
    }

    /// Escapes at every place in and across 8-byte words, next to bytes
    /// a borrow in the word test could mark falsely (space, `!`, `#`, `]`,
    /// `]`+1, non-ASCII).
    #[test]
    fn escapes_anywhere_in_a_word_are_serde_jsons() {
        let specials = ['\n', '"', '\\', '\u{0}', '\u{1f}', '\t'];
        let fillers = [' ', '!', '#', '[', ']', '^', 'é', 'a'];
        for len in 0..20 {
            for at in 0..len {
                for &c in &specials {
                    for &fill in &fillers {
                        let mut v: Vec<char> = vec![fill; len];
                        v[at] = c;
                        if at + 1 < len {
                            v[at + 1] = specials[(at + len) % specials.len()];
                        }
                        let s: String = v.into_iter().collect();
                        let mut ours = Vec::new();
                        escape(&s, &mut ours);
                        assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_field_present_or_absent_is_serde_jsons() {
        let mut f = sample();
        same(&f);
        f.upload_id = "u-1".into();
        f.path_b64 = Some("L3g=".into());
        f.detector_uuid = "uuid".into();
        f.confidence = Confidence::VeryLikely;
        f.redacted_finding = Some("****".into());
        f.byte_range = Range { start: 1, end: 2 };
        f.codepoint_range = Range {
            start: u64::MAX - 1,
            end: u64::MAX,
        };
        f.line_range = Some(Range { start: 7, end: 7 });
        f.row_range = Some(Range { start: 0, end: 1 });
        f.column_range = Some(Range { start: 2, end: 3 });
        f.archive_path = "a.zip!b.csv".into();
        f.detection_rules = vec!["r1".into(), "r\"2".into()];
        f.sha256 = Some("ab".into());
        f.host = Some("h".into());
        f.finding_id = Some("x.1".into());
        f.first_seen = Some("t".into());
        f.removable = Some(false);
        f.copied_from = Some("/src".into());
        f.page = Some(4);
        f.ocr_confidence = Some(77);
        for status in [
            FindingStatus::New,
            FindingStatus::Resolved,
            FindingStatus::Quarantined,
            FindingStatus::Other,
        ] {
            f.status = Some(status);
            same(&f);
        }
        f.removable = Some(true);
        f.detection_rules.clear();
        same(&f);
    }

    /// A memo gives the bytes of a fresh write for every finding of a
    /// sequence whose shared parts change, repeat and alternate (more
    /// detectors than it keeps).
    #[test]
    fn a_memo_writes_what_a_fresh_write_writes() {
        let mut memo = JsonMemo::default();
        let mut f = sample();
        let check = |f: &Finding, memo: &mut JsonMemo| {
            let (mut fresh, mut kept) = (Vec::new(), Vec::new());
            f.write_json(&mut fresh);
            f.write_json_with(&mut kept, memo);
            assert_eq!(
                String::from_utf8_lossy(&kept),
                String::from_utf8_lossy(&fresh)
            );
            same(f);
        };
        for round in 0..3u64 {
            for d in 0..(MEMO_SIZE as u64 + 3) {
                f.index = round * 100 + d;
                f.detector = format!("det\"{}", d % (MEMO_SIZE as u64 + 2));
                f.detector_uuid = if d % 3 == 0 {
                    String::new()
                } else {
                    format!("u{d}")
                };
                f.confidence = if d % 2 == 0 {
                    Confidence::Likely
                } else {
                    Confidence::VeryLikely
                };
                f.finding = format!("v{d}\n");
                f.before_context = "a\tb".repeat(d as usize);
                check(&f, &mut memo);
            }
            // A new file, a rule and what the event said change the
            // shared parts; the same finding again hits every part.
            f.path = format!("/f{round}");
            f.upload_id = if round == 1 {
                "u".into()
            } else {
                String::new()
            };
            f.path_b64 = (round == 2).then(|| "L2Y=".into());
            check(&f, &mut memo);
            check(&f, &mut memo);
            f.detection_rules.push(format!("r{round}"));
            f.host = Some(format!("h{round}"));
            f.page = Some(round as u32);
            f.removable = Some(round == 1);
            f.timestamp = format!("t{round}");
            check(&f, &mut memo);
        }
        assert!(memo.mid.len() <= MEMO_SIZE && memo.head.len() <= MEMO_SIZE);
        // Each shared field changed alone is written anew.
        let changes: [fn(&mut Finding); 18] = [
            |f| f.upload_id.push('u'),
            |f| f.path.push('p'),
            |f| f.path_b64 = Some("cA==".into()),
            |f| f.timestamp.push('1'),
            |f| f.detector.push('d'),
            |f| f.detector_uuid.push('x'),
            |f| f.confidence = Confidence::Possible,
            |f| f.archive_path.push('a'),
            |f| f.detection_rules.push("extra".into()),
            |f| f.sha256 = Some("cd".into()),
            |f| f.host = Some("other".into()),
            |f| f.status = Some(FindingStatus::Resolved),
            |f| f.finding_id = Some("id".into()),
            |f| f.first_seen = Some("then".into()),
            |f| f.removable = Some(f.removable != Some(true)),
            |f| f.copied_from = Some("/from".into()),
            |f| f.page = Some(99),
            |f| f.ocr_confidence = Some(12),
        ];
        for change in changes {
            check(&f, &mut memo);
            change(&mut f);
            check(&f, &mut memo);
        }
    }
}
