//! Turning a batch of records into one POST body.
//!
//! `raw` sends the record bytes exactly as they were read (a JSON array of
//! them when batching), so the receiver sees the FIM article's watchdog
//! body; `slack` and templates turn each record into a readable one-line
//! summary in plain words ("read", "changed", not `closed_no_write`,
//! `modified`). Summaries never include a finding's matched text: the alert
//! says where sensitive data is, it does not copy it into a chat channel.

use serde_json::Value;

use crate::template::{subject_path, Ctx, Template};

/// One input record: the bytes as read and their parsed form.
#[derive(Debug, Clone)]
pub struct Item {
    pub raw: Vec<u8>,
    pub value: Value,
}

impl Item {
    /// An item for a record built here (summaries).
    pub fn from_value(value: Value) -> Self {
        Item {
            raw: value.to_string().into_bytes(),
            value,
        }
    }
}

/// Message shape.
#[derive(Debug, Clone)]
pub enum Format {
    Raw,
    Slack,
    Template(Template),
}

/// Renders batches in one format.
#[derive(Debug, Clone)]
pub struct Renderer {
    format: Format,
    batching: bool,
}

impl Renderer {
    /// `batching`: more than one record per POST is possible (raw bodies are then always arrays).
    pub fn new(format: Format, batching: bool) -> Self {
        Renderer { format, batching }
    }

    /// Content-Type for this format unless overridden.
    pub fn default_content_type(&self) -> &'static str {
        match &self.format {
            Format::Template(t) if !t.is_json() => "text/plain; charset=utf-8",
            _ => "application/json",
        }
    }

    /// The POST body for `items` (at least one).
    pub fn body(&self, items: &[Item]) -> Vec<u8> {
        match &self.format {
            Format::Raw if !self.batching && items.len() == 1 => items[0].raw.clone(),
            Format::Raw => join_json(items.iter().map(|i| i.raw.clone())),
            Format::Slack => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|i| slack_escape(&summary_line(&i.value)))
                    .collect();
                serde_json::json!({ "text": lines.join("\n") })
                    .to_string()
                    .into_bytes()
            }
            Format::Template(t) => {
                let summaries: Vec<String> = items.iter().map(|i| summary_line(&i.value)).collect();
                let lines = summaries.join("\n");
                if t.per_batch() || items.len() == 1 && !self.batching {
                    let ctx = Ctx {
                        record: &items[0].value,
                        summary: &summaries[0],
                        lines: &lines,
                        count: items.len(),
                    };
                    return t.render(&ctx);
                }
                let rendered = items.iter().zip(&summaries).map(|(i, s)| {
                    t.render(&Ctx {
                        record: &i.value,
                        summary: s,
                        lines: s,
                        count: 1,
                    })
                });
                if t.is_json() {
                    join_json(rendered)
                } else {
                    rendered.collect::<Vec<_>>().join(&b'\n')
                }
            }
        }
    }
}

fn join_json(parts: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (n, p) in parts.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&p);
    }
    out.push(b']');
    out
}

/// Slack's mrkdwn needs `&`, `<`, `>` escaped.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn short_hash(h: &str) -> String {
    match h.get(..8) {
        Some(p) if h.len() > 8 => format!("{p}…"),
        _ => h.to_owned(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// A readable one-line summary of any record: what happened, on which
/// machine (`[host]`, when the record names one) and, when known, by whom.
/// Characters that would hide or reorder text (bidi overrides, zero-width,
/// controls) are shown as `\uXXXX`.
pub fn summary_line(v: &Value) -> String {
    let line = summary_text(v);
    let line = match field(v, "host") {
        Some(h) => match line.split_once(' ') {
            Some((emoji, rest)) if emoji.starts_with(':') => format!("{emoji} [{h}] {rest}"),
            _ => format!("[{h}] {line}"),
        },
        None => line,
    };
    dlp_record::text::escape_hidden(&line).into_owned()
}

fn summary_text(v: &Value) -> String {
    if let (Some(kind), Some(src)) = (field(v, "event_type"), field(v, "src_path")) {
        return fs_event_line(v, kind, src);
    }
    if let (Some(det), Some(conf)) = (field(v, "detector"), field(v, "confidence")) {
        let path = subject_path(v).unwrap_or_else(|| "?".into());
        let mut s = match field(v, "status") {
            Some("resolved") => {
                format!(":white_check_mark: resolved: {det} ({conf}) no longer in {path}")
            }
            Some("quarantined") => {
                format!(":lock: quarantined: {det} ({conf}) from {path}")
            }
            _ => format!(":rotating_light: {det} ({conf}) in {path}"),
        };
        if let Some(l) = v
            .get("line_range")
            .and_then(|r| r.get("start"))
            .and_then(Value::as_u64)
        {
            s.push_str(&format!(" line {l}"));
        }
        if let Some(a) = field(v, "archive_path") {
            s.push_str(&format!(" (in archive: {a})"));
        }
        return s;
    }
    if let (Some(status), Some(path)) = (field(v, "status"), subject_path(v)) {
        let mut s = format!(":mag: {status} {path}");
        if let Some(why) = field(v, "error").or_else(|| field(v, "reason")) {
            s.push_str(&format!(": {}", truncate(why, 200)));
        }
        return s;
    }
    if let Some(m) = field(v, "message").or_else(|| field(v, "text")) {
        return format!(":information_source: {}", truncate(m, 300));
    }
    format!(":information_source: {}", truncate(&v.to_string(), 300))
}

fn fs_event_line(v: &Value, kind: &str, src: &str) -> String {
    if kind == "suppressed" {
        return format!(
            ":information_source: {}",
            field(v, "message").unwrap_or(src)
        );
    }
    let emoji = match kind {
        "created" => ":new:",
        "attrib" => ":lock:",
        "modified" | "closed" => ":warning:",
        "deleted" => ":x:",
        "moved" => ":arrow_right:",
        "opened" | "closed_no_write" => ":eyes:",
        "overflow" => ":rotating_light:",
        _ => ":information_source:",
    };
    let dir = if v.get("is_directory").and_then(Value::as_bool) == Some(true) {
        " (directory)"
    } else {
        ""
    };
    let word = human_event(kind);
    let mut s = match (kind, field(v, "dest_path")) {
        ("overflow", _) => format!("{emoji} overflow under {src}: events were lost, rescan needed"),
        ("attrib", _) => format!("{emoji} attributes of {src}{dir} changed"),
        (_, Some(dest)) => format!("{emoji} {word} {src} → {dest}{dir}"),
        _ => format!("{emoji} {word} {src}{dir}"),
    };
    if kind == "attrib" {
        s.push_str(&attrib_text(v));
    } else {
        hashes(&mut s, v);
    }
    if let Some(who) = actor(v) {
        s.push_str(&format!(" by {who}"));
    }
    if let Some(r) = field(v, "reason") {
        s.push_str(&format!(" ({})", human_reason(r)));
    }
    s
}

fn hashes(s: &mut String, v: &Value) {
    match (field(v, "previous_sha256"), field(v, "sha256")) {
        (Some(old), Some(new)) => s.push_str(&format!(
            " (sha256 {} → {})",
            short_hash(old),
            short_hash(new)
        )),
        (None, Some(new)) => s.push_str(&format!(" (sha256 {})", short_hash(new))),
        _ => {}
    }
}

/// `: mode 0644 → 0666, uid 0 → 65534`: each changed attribute of an
/// `attrib` event, old → new.
fn attrib_text(v: &Value) -> String {
    let show = |x: Option<&Value>| match x {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::String(t)) if t.is_empty() => "(none)".to_owned(),
        Some(Value::String(t)) => truncate(t, 120),
        Some(Value::Object(m)) if m.is_empty() => "(none)".to_owned(),
        Some(other) => truncate(&other.to_string(), 120),
    };
    let parts: Vec<String> = v
        .get("changed")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|k| {
            let old = v.get("previous").and_then(|p| p.get(k));
            format!("{k} {} → {}", show(old), show(v.get(k)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

/// Who did it, when the watcher could tell (`comm`, `pid`, `user`).
fn actor(v: &Value) -> Option<String> {
    let pid = v.get("pid").and_then(Value::as_u64)?;
    let comm = field(v, "comm").unwrap_or("?");
    let user = field(v, "user").map(str::to_owned).or_else(|| {
        v.get("process_uid")
            .and_then(Value::as_u64)
            .map(|u| format!("uid {u}"))
    });
    Some(match user {
        Some(u) => format!("{comm} (pid {pid}, {u})"),
        None => format!("{comm} (pid {pid})"),
    })
}

/// What a person calls an event type (the raw format keeps the wire name).
fn human_event(kind: &str) -> &str {
    match kind {
        "modified" | "closed" => "changed",
        "closed_no_write" => "read",
        "opened" => "opened",
        other => other,
    }
}

/// Why a synthetic event was made, in words.
fn human_reason(reason: &str) -> &str {
    match reason {
        "initial_scan" => "already there at start",
        "baseline" => "while the watcher was stopped",
        "rescan" => "found by a rescan after lost events",
        "new_directory" => "in a new directory",
        "parent_removed" => "its directory went away",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        Item::from_value(v)
    }

    #[test]
    fn fs_event_and_finding_lines() {
        let ev = json!({"event_type":"modified","src_path":"/srv/user_pii/a.csv","dest_path":"",
            "sha256":"cd34cd34cd34cd34aa","previous_sha256":"ab12ab12ab12ab12bb"});
        assert_eq!(
            summary_line(&ev),
            ":warning: changed /srv/user_pii/a.csv (sha256 ab12ab12… → cd34cd34…)"
        );
        let mv = json!({"event_type":"moved","src_path":"/a","dest_path":"/b"});
        assert_eq!(summary_line(&mv), ":arrow_right: moved /a → /b");
        for (kind, word) in [
            ("created", "created"),
            ("modified", "changed"),
            ("closed", "changed"),
            ("closed_no_write", "read"),
            ("opened", "opened"),
            ("deleted", "deleted"),
        ] {
            let line = summary_line(&json!({"event_type": kind, "src_path": "/p"}));
            assert!(line.ends_with(&format!(" {word} /p")), "{kind}: {line}");
        }
        let base = json!({"event_type":"deleted","src_path":"/p","reason":"baseline"});
        assert_eq!(
            summary_line(&base),
            ":x: deleted /p (while the watcher was stopped)"
        );
        let f = json!({"path":"/d/x.csv","detector":"CREDIT_CARD_NUMBER","confidence":"VERY_LIKELY",
            "finding":"5433-9502-3725-7862","line_range":{"start":2,"end":2}});
        let line = summary_line(&f);
        assert_eq!(
            line,
            ":rotating_light: CREDIT_CARD_NUMBER (VERY_LIKELY) in /d/x.csv line 2"
        );
        assert!(!line.contains("5433"));
        let gone = json!({"path":"/d/x.csv","detector":"CREDIT_CARD_NUMBER","confidence":"VERY_LIKELY",
            "finding":"","line_range":{"start":2,"end":2},"status":"resolved"});
        assert_eq!(
            summary_line(&gone),
            ":white_check_mark: resolved: CREDIT_CARD_NUMBER (VERY_LIKELY) no longer in /d/x.csv line 2"
        );
        assert!(summary_line(&json!({"a":[1,2]})).contains("{\"a\":[1,2]}"));
    }

    #[test]
    fn host_attrib_who_and_hidden_characters() {
        let ev = json!({"event_type":"attrib","src_path":"/srv/pii/users.csv","host":"web-01",
            "mode":"0666","uid":65534,"changed":["mode","uid"],"previous":{"mode":"0644","uid":0}});
        assert_eq!(
            summary_line(&ev),
            ":lock: [web-01] attributes of /srv/pii/users.csv changed: mode 0644 → 0666, uid 0 → 65534"
        );
        let read = json!({"event_type":"closed_no_write","src_path":"/srv/pii/users.csv","host":"db-2",
            "pid":4242,"comm":"cat","user":"mallory"});
        assert_eq!(
            summary_line(&read),
            ":eyes: [db-2] read /srv/pii/users.csv by cat (pid 4242, mallory)"
        );
        let evil = json!({"event_type":"created","src_path":"/d/invoice\u{202e}fdp.exe"});
        assert_eq!(
            summary_line(&evil),
            ":new: created /d/invoice\\u202efdp.exe"
        );
        let q = json!({"path":"/d/x.csv","detector":"CREDIT_CARD_NUMBER","confidence":"VERY_LIKELY",
            "finding":"","status":"quarantined","host":"lap-3"});
        assert_eq!(
            summary_line(&q),
            ":lock: [lap-3] quarantined: CREDIT_CARD_NUMBER (VERY_LIKELY) from /d/x.csv"
        );
    }

    #[test]
    fn raw_and_slack_bodies() {
        let a = Item {
            raw: br#"{"a": 1}"#.to_vec(),
            value: json!({"a":1}),
        };
        let b = item(json!({"event_type":"created","src_path":"/x<y>"}));
        let single = Renderer::new(Format::Raw, false);
        assert_eq!(single.body(std::slice::from_ref(&a)), br#"{"a": 1}"#);
        let batch = Renderer::new(Format::Raw, true);
        let v: Value = serde_json::from_slice(&batch.body(&[a.clone(), b.clone()])).unwrap();
        assert_eq!(
            v,
            json!([{"a":1},{"event_type":"created","src_path":"/x<y>"}])
        );
        let slack = Renderer::new(Format::Slack, true);
        let v: Value = serde_json::from_slice(&slack.body(&[a, b])).unwrap();
        assert_eq!(
            v["text"],
            ":information_source: {\"a\":1}\n:new: created /x&lt;y&gt;"
        );
        // Raw keeps the wire names; Slack says what a person would.
        let read = item(json!({"event_type":"closed_no_write","src_path":"/s/a.csv"}));
        let raw = Renderer::new(Format::Raw, false).body(std::slice::from_ref(&read));
        assert_eq!(
            serde_json::from_slice::<Value>(&raw).unwrap()["event_type"],
            "closed_no_write"
        );
        let v: Value = serde_json::from_slice(&slack.body(&[read])).unwrap();
        assert_eq!(v["text"], ":eyes: read /s/a.csv");
    }
}
