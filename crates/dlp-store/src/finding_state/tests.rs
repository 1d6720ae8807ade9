use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A fresh directory under the system temp dir, removed on drop.
struct Tmp(PathBuf);

impl Tmp {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "dlp-store-fstate-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn finding(detector: &str, text: &str, line: u64) -> Finding {
    Finding {
        path: "/d/a.txt".into(),
        index: 1,
        line_range: Some(Range {
            start: line,
            end: line,
        }),
        ..Finding::new(detector, Confidence::VeryLikely, text)
    }
}

const CARD: &str = "4526 0181 5908 3012";
const SSN: &str = "536-22-8726";

/// Scans `file` with `findings` (in order); returns (new texts, resolved).
fn scan(
    st: &mut FindingState,
    file: &Path,
    sha: &str,
    findings: &[(&str, &str, u64)],
) -> (Vec<String>, Vec<Finding>) {
    let mut s = st.begin(file);
    let mut new = Vec::new();
    for (d, t, l) in findings {
        let mut f = finding(d, t, *l);
        if s.observe(&mut f) {
            assert_eq!(f.status, Some(FindingStatus::New));
            new.push(f.finding);
        } else {
            assert_eq!(f.status, None);
        }
    }
    let resolved = st.finish(s, sha);
    (new, resolved)
}

#[test]
fn a_finding_is_new_once_and_survives_shifts_and_restarts() {
    let t = Tmp::new();
    let state = t.0.join("pii.state");
    let file = Path::new("/d/a.txt");
    let mut st = FindingState::open(&state).unwrap();
    assert_eq!(st.known_sha256(file), None);
    let (new, res) = scan(&mut st, file, "h1", &[("Card", CARD, 2), ("SSN", SSN, 3)]);
    assert_eq!(new, [CARD, SSN]);
    assert!(res.is_empty());
    assert_eq!(st.known_sha256(file), Some("h1"));

    // Lines added above: same findings, other lines: nothing new.
    let (new, res) = scan(&mut st, file, "h2", &[("Card", CARD, 9), ("SSN", SSN, 10)]);
    assert!(new.is_empty() && res.is_empty());

    // A second copy of the same card is a new finding (occurrence 1).
    let (new, _) = scan(
        &mut st,
        file,
        "h3",
        &[("Card", CARD, 9), ("SSN", SSN, 10), ("Card", CARD, 11)],
    );
    assert_eq!(new, [CARD]);

    // Restart: the same knowledge, nothing repeated.
    st.save().unwrap();
    assert!(!st.is_dirty());
    drop(st);
    let mut st = FindingState::open(&state).unwrap();
    assert_eq!(st.known_sha256(file), Some("h3"));
    let (new, res) = scan(
        &mut st,
        file,
        "h3",
        &[("Card", CARD, 9), ("SSN", SSN, 10), ("Card", CARD, 11)],
    );
    assert!(new.is_empty() && res.is_empty());
    assert!(!st.is_dirty(), "an unchanged rescan needs no save");
}

#[test]
fn findings_edited_out_and_files_removed_are_resolved() {
    let t = Tmp::new();
    let mut st = FindingState::open(&t.0.join("s")).unwrap();
    let file = Path::new("/d/a.txt");
    scan(&mut st, file, "h1", &[("Card", CARD, 2), ("SSN", SSN, 3)]);
    let (new, res) = scan(&mut st, file, "h2", &[("SSN", SSN, 2)]);
    assert!(new.is_empty());
    assert_eq!(res.len(), 1);
    let r = &res[0];
    assert_eq!(r.status, Some(FindingStatus::Resolved));
    assert_eq!((r.detector.as_str(), r.path.as_str()), ("Card", "/d/a.txt"));
    assert_eq!(r.line_range, Some(Range { start: 2, end: 2 }));
    assert_eq!(r.finding, "", "the text is not kept, so not reported");

    let res = st.forget(file);
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].detector, "SSN");
    assert!(st.forget(file).is_empty(), "forgotten once");
    assert!(st.is_empty());
}

#[test]
fn the_state_holds_no_finding_text_and_its_key_is_private() {
    let t = Tmp::new();
    let state = t.0.join("s");
    let mut st = FindingState::open(&state).unwrap();
    scan(&mut st, Path::new("/d/a.txt"), "h", &[("SSN", SSN, 1)]);
    st.save().unwrap();
    let text = fs::read_to_string(&state).unwrap();
    // Neither the text nor its digits (a 3-digit part could occur in a hex
    // hash by chance; nine digits in a row cannot, in practice).
    let digits: String = SSN.chars().filter(char::is_ascii_digit).collect();
    assert!(!text.contains(SSN) && !text.contains(&digits), "{text}");
    assert!(text.contains("/d/a.txt"));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o600);
    assert_eq!(mode(&key_path(&state)), 0o600);

    // The same text under another key hashes differently.
    let t2 = Tmp::new();
    let mut other = FindingState::open(&t2.0.join("s")).unwrap();
    scan(&mut other, Path::new("/d/a.txt"), "h", &[("SSN", SSN, 1)]);
    other.save().unwrap();
    let id = |p: &Path| {
        let t = fs::read_to_string(p).unwrap();
        let v: serde_json::Value = serde_json::from_str(t.lines().nth(1).unwrap()).unwrap();
        v["findings"][0]["id"].as_str().unwrap().to_owned()
    };
    assert_ne!(id(&state), id(&t2.0.join("s")));
}

#[test]
fn bad_keys_and_missing_directories_are_refused_at_open() {
    let t = Tmp::new();
    let err = |p: &Path| match FindingState::open(p) {
        Ok(_) => panic!("opened {}", p.display()),
        Err(e) => format!("{e:#}"),
    };
    let e = err(&t.0.join("no/such/dir/s"));
    assert!(e.contains("no/such/dir does not exist"), "{e}");

    let state = t.0.join("s");
    let mut st = FindingState::open(&state).unwrap();
    scan(&mut st, Path::new("/x"), "h", &[("SSN", SSN, 1)]);
    st.save().unwrap();
    drop(st);
    let key = key_path(&state);

    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let e = err(&state);
    assert!(
        e.contains("readable by others") && e.contains("chmod 600"),
        "{e}"
    );

    fs::remove_file(&key).unwrap();
    let e = err(&state);
    assert!(
        e.contains("is missing") && e.contains("delete the state"),
        "{e}"
    );

    // A new key for the old state: refused, not silently re-reporting.
    fs::write(&key, "00".repeat(32)).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let e = err(&state);
    assert!(e.contains("another key"), "{e}");

    fs::write(&state, "garbage\n").unwrap();
    let e = err(&state);
    assert!(e.contains("not a finding state"), "{e}");
}

#[test]
fn clean_files_are_not_kept_and_the_cap_drops_the_oldest() {
    let t = Tmp::new();
    let mut st = FindingState::open_with(&t.0.join("s"), 2).unwrap();
    scan(&mut st, Path::new("/clean"), "h", &[]);
    assert!(st.is_empty() && !st.is_dirty());
    for (i, name) in ["/a", "/b", "/c"].iter().enumerate() {
        scan(&mut st, Path::new(name), "h", &[("SSN", SSN, 1)]);
        st.files.get_mut(Path::new(name)).unwrap().seen = i as u64;
    }
    st.save().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st.known_sha256(Path::new("/a")), None, "oldest dropped");
    assert!(st.known_sha256(Path::new("/c")).is_some());
}

#[test]
fn sweep_and_forget_under_resolve_what_left() {
    let t = Tmp::new();
    let mut st = FindingState::open(&t.0.join("s")).unwrap();
    let here = t.0.join("here.txt");
    fs::write(&here, "x").unwrap();
    let dir = t.0.join("sub");
    for p in [here.clone(), dir.join("a"), dir.join("b"), t.0.join("gone")] {
        scan(&mut st, &p, "h", &[("SSN", SSN, 1)]);
    }
    let swept = st.sweep_missing();
    let paths: Vec<&str> = swept.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(st.known_sha256(&here).is_some());

    for p in [dir.join("a"), dir.join("b"), t.0.join("subway")] {
        scan(&mut st, &p, "h", &[("SSN", SSN, 1)]);
    }
    let under = st.forget_under(&dir);
    assert_eq!(under.len(), 2);
    assert!(
        st.known_sha256(&t.0.join("subway")).is_some(),
        "not a child"
    );
}

#[test]
fn one_process_at_a_time() {
    let t = Tmp::new();
    let state = t.0.join("s");
    let first = FindingState::open(&state).unwrap();
    let e = match FindingState::open(&state) {
        Ok(_) => panic!("opened twice"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains(&format!("in use by process {}", std::process::id())),
        "{e}"
    );
    drop(first);
    assert!(!suffixed(&state, ".lock").exists());
    // A lock left by a process that no longer runs is taken over.
    fs::write(suffixed(&state, ".lock"), "999999999\n").unwrap();
    drop(FindingState::open(&state).unwrap());
    // ... and so is one whose pid now runs another program (pid 1).
    fs::write(suffixed(&state, ".lock"), "1\n").unwrap();
    FindingState::open(&state).unwrap();
}

#[test]
fn a_resolved_record_names_the_finding_it_resolves() {
    let t = Tmp::new();
    let mut st = FindingState::open(&t.0.join("pii.state")).unwrap();
    let file = Path::new("/d/a.txt");
    let mut s = st.begin(file);
    let mut cards = Vec::new();
    for (i, at) in [(0u64, "2026-12-01T10:00:00Z"), (40, "2026-12-01T10:00:00Z")] {
        let mut f = finding("Card", CARD, 2 + i);
        f.timestamp = at.into();
        f.byte_range = Range {
            start: 10 + i,
            end: 29 + i,
        };
        assert!(s.observe(&mut f));
        assert_eq!(f.first_seen.as_deref(), Some(at));
        cards.push(f);
    }
    // Two equal cards in one file: two keys.
    assert_ne!(cards[0].finding_id, cards[1].finding_id);
    st.finish(s, "h1");
    // The second card is edited out later: its resolved record carries its
    // key, where it was, when it was first seen and the content it was in.
    let mut s = st.begin(file);
    let mut f = finding("Card", CARD, 2);
    f.timestamp = "2026-12-02T09:00:00Z".into();
    assert!(!s.observe(&mut f), "the first card is known");
    assert_eq!(f.finding_id, cards[0].finding_id, "same key on every scan");
    assert_eq!(f.first_seen, None, "only new records carry first_seen");
    let res = st.finish(s, "h2");
    assert_eq!(res.len(), 1);
    let r = &res[0];
    assert_eq!(r.status, Some(FindingStatus::Resolved));
    assert_eq!(r.finding_id, cards[1].finding_id);
    assert_eq!(r.first_seen.as_deref(), Some("2026-12-01T10:00:00Z"));
    assert_eq!(r.byte_range, Range { start: 50, end: 69 });
    assert_eq!(r.sha256.as_deref(), Some("h1"));
    assert_eq!(r.finding, "", "never the text");
    assert!(!r.is_open());
}
