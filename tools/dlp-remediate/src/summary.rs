//! `--summary`: what a run did, said on stderr at its end, in place of
//! counting action records with grep in the scripts.

use std::collections::BTreeMap;

use dlp_record::{Action, ActionRecord};

/// Actions counted by kind, and the first reason of each kind of trouble.
#[derive(Default)]
pub struct Tally {
    by_action: BTreeMap<&'static str, u64>,
    failed: u64,
    first_error: Option<String>,
    undelivered: u64,
    first_notify_error: Option<String>,
}

impl Tally {
    /// Counts one action record.
    pub fn count(&mut self, r: &ActionRecord) {
        *self.by_action.entry(name(r.action)).or_default() += 1;
        if r.action == Action::Failed {
            self.failed += 1;
            if self.first_error.is_none() {
                self.first_error.clone_from(&r.error);
            }
        }
        if r.notified == Some(false) {
            self.undelivered += 1;
            if self.first_notify_error.is_none() {
                self.first_notify_error.clone_from(&r.notify_error);
            }
        }
    }

    /// The lines to say (without the tool's prefix): `1 file(s)
    /// quarantined (records in FILE)` per action kind, then a warning for
    /// failed actions and one for notifications not delivered.
    pub fn lines(&self, records_in: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_action
            .iter()
            .map(|(a, n)| match records_in {
                Some(f) => format!("{n} file(s) {a} (records in {f})"),
                None => format!("{n} file(s) {a}"),
            })
            .collect();
        if self.failed > 0 {
            out.push(format!(
                "warning: {} action(s) failed: {}",
                self.failed,
                self.first_error.as_deref().unwrap_or("")
            ));
        }
        if self.undelivered > 0 {
            out.push(format!(
                "warning: {} notification(s) not delivered: {}",
                self.undelivered,
                self.first_notify_error.as_deref().unwrap_or("")
            ));
        }
        out
    }
}

/// The wire name of an action (as in the records).
fn name(a: Action) -> &'static str {
    match a {
        Action::Quarantined => "quarantined",
        Action::Notified => "notified",
        Action::Deleted => "deleted",
        Action::Restored => "restored",
        Action::Skipped => "skipped",
        Action::Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(json: &str) -> ActionRecord {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["timestamp"] = "2026-12-07T06:00:00Z".into();
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_by_action_and_keeps_the_first_reasons() {
        let mut t = Tally::default();
        t.count(&rec(r#"{"action":"quarantined","path":"/a","notified":false,"notify_error":"no session bus"}"#));
        t.count(&rec(r#"{"action":"quarantined","path":"/b"}"#));
        t.count(&rec(
            r#"{"action":"failed","path":"/c","error":"permission denied"}"#,
        ));
        t.count(&rec(r#"{"action":"failed","path":"/d","error":"later"}"#));
        assert_eq!(
            t.lines(Some("a.ndjson")),
            [
                "2 file(s) failed (records in a.ndjson)",
                "2 file(s) quarantined (records in a.ndjson)",
                "warning: 2 action(s) failed: permission denied",
                "warning: 1 notification(s) not delivered: no session bus",
            ]
        );
        assert!(Tally::default().lines(None).is_empty());
    }
}
