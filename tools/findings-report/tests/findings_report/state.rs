//! `--state`: the second report marks what is new since the first; the
//! state file is private, replaced atomically, holds no names, and a
//! damaged or foreign one stops the report instead of being overwritten.

use std::os::unix::fs::PermissionsExt;

use testkit::{cmd, TempDir};

use crate::support::*;

fn rec(path: &str, status: &str) -> F {
    F::new("h", path, "API Key", "sk_live_0123456789")
        .id(path)
        .status(status)
        .at("2026-11-27T10:00:00Z")
}

#[test]
fn the_second_report_marks_what_is_new_since_the_first() {
    let d = TempDir::new("report-state");
    let state = d.join("report.state");
    let s = state.to_str().unwrap();
    let first = page(
        &["--state", s],
        ndjson(&[rec("/x", "new"), rec("/y", "new")]),
    );
    assert!(
        tag(&first, "kpi-new").is_none(),
        "nothing to compare with yet"
    );
    assert!(first.contains("First report with this state file"));
    assert!(rows(&first, "open-findings")
        .iter()
        .all(|r| r.attr("data-since") == "0"));
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("{\"findings_report_state\":1,"), "{text}");
    assert!(text.contains("\"open\":2"), "{text}");
    assert!(
        !text.contains("/x") && !text.contains("sk_live"),
        "no names: {text}"
    );

    let later = [
        rec("/x", "new"),
        rec("/y", "new"),
        rec("/y", "resolved").at("2026-11-28T10:00:00Z"),
        rec("/z", "new"),
    ];
    let second = page(&["--state", s], ndjson(&later));
    assert_eq!(kpi(&second, "new"), 1);
    assert!(
        second.contains(&format!("new since {NOW}")),
        "the previous report's time"
    );
    let open = rows(&second, "open-findings");
    let since: Vec<(&str, &str)> = open
        .iter()
        .map(|r| (r.cells[2].as_str(), r.attr("data-since")))
        .collect();
    assert_eq!(since.len(), 2);
    assert!(
        since.contains(&("/x", "0")) && since.contains(&("/z", "1")),
        "{since:?}"
    );
    let status = |p: &str| open.iter().find(|r| r.cells[2] == p).unwrap().cells[8].clone();
    assert_eq!(status("/z"), "newnew", "status and the badge");
    assert_eq!(status("/x"), "new", "no badge");
    assert!(std::fs::read_to_string(&state)
        .unwrap()
        .contains("\"open\":2"));
    let third = page(&["--state", s], ndjson(&later));
    assert_eq!(kpi(&third, "new"), 0, "nothing new since the second");
}

#[test]
fn a_damaged_or_foreign_state_is_an_error_and_left_alone() {
    let d = TempDir::new("report-state-bad");
    let state = d.join("report.state");
    let s = state.to_str().unwrap();
    page(
        &["--state", s],
        ndjson(&[rec("/x", "new"), rec("/y", "new")]),
    );
    let good = std::fs::read_to_string(&state).unwrap();
    let cut = &good[..good.len() - 33];
    for (text, why) in [
        (cut, "damaged: its header announces 2 keys, it holds 1"),
        ("host,path\nh,/x\n", "is not a findings-report state file"),
        ("", "is not a findings-report state file"),
    ] {
        std::fs::write(&state, text).unwrap();
        let out = report(&["--state", s], ndjson(&[rec("/x", "new")])).expect_code(2);
        assert!(
            out.stderr_str().contains(why),
            "{why}: {}",
            out.stderr_str()
        );
        assert!(out.stdout.is_empty(), "no page");
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            text,
            "left as it was"
        );
    }
}

#[test]
fn the_state_moves_only_when_the_page_was_written() {
    let d = TempDir::new("report-state-full");
    let state = d.join("report.state");
    let s = state.to_str().unwrap();
    page(&["--state", s], ndjson(&[rec("/x", "new")]));
    let before = std::fs::read_to_string(&state).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = cmd(BIN)
        .args(["--now", NOW, "--state", s])
        .stdin(ndjson(&[rec("/z", "new")]))
        .stdout_file(full)
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("writing output"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before);
}
