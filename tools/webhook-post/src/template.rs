//! `--template`: message bodies for chat tools other than Slack.
//!
//! `{name}` placeholders (letters, digits, `_`) are replaced by a record's
//! fields or by the computed values `path`, `json`, `summary`, `lines` and
//! `count`; any other `{` is literal, so JSON templates need no escaping.
//! A template that looks like JSON gets JSON-escaped substitutions and is
//! checked once at start-up to render valid JSON, so a typo fails fast
//! (exit 2) instead of at the first alert.

use anyhow::bail;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    /// A placeholder, and whether it stands inside a JSON string literal.
    Field(String, bool),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
    json: bool,
}

/// Values a template can refer to besides the record's own fields.
pub struct Ctx<'a> {
    pub record: &'a Value,
    pub summary: &'a str,
    pub lines: &'a str,
    pub count: usize,
}

/// The file a record is about, as [`dlp_record::subject_bytes`]
/// defines it, as text (lossy where the path is not UTF-8).
pub fn subject_path(v: &Value) -> Option<String> {
    dlp_record::subject_bytes(|k| v.get(k).and_then(Value::as_str))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

impl Template {
    /// Parses and checks a template.
    pub fn parse(src: &str) -> anyhow::Result<Self> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        // Whether the literal text so far leaves us inside a JSON string.
        let (mut in_str, mut escaped) = (false, false);
        let mut scan = |text: &str| {
            for c in text.chars() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') if in_str => escaped = true,
                    (false, '"') => in_str = !in_str,
                    _ => {}
                }
            }
            in_str
        };
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            let n = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if n > 0 && after.as_bytes().get(n) == Some(&b'}') {
                let inside = scan(&rest[..i]);
                lit.push_str(&rest[..i]);
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Field(after[..n].to_owned(), inside));
                rest = &after[n + 1..];
            } else {
                scan(&rest[..=i]);
                lit.push_str(&rest[..=i]);
                rest = after;
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        // JSON when it opens with a literal `{` or `[` (not with a placeholder).
        let json =
            matches!(parts.first(), Some(Part::Lit(l)) if l.trim_start().starts_with(['{', '[']));
        let t = Template { parts, json };
        if !t.parts.iter().any(|p| matches!(p, Part::Field(..))) {
            bail!("--template has no {{placeholder}}: every message would be the same");
        }
        if t.json {
            let sample =
                serde_json::json!({"event_type": "modified", "src_path": "/a \"b\"\n", "n": 1});
            let body = t.render(&Ctx {
                record: &sample,
                summary: "x \"y\"",
                lines: "a\nb",
                count: 2,
            });
            if let Err(e) = serde_json::from_slice::<Value>(&body) {
                bail!("--template looks like JSON but does not render valid JSON ({e}); put string placeholders in quotes: \"{{path}}\"");
            }
        }
        Ok(t)
    }

    /// True when the template renders valid JSON (substitutions escaped).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// True when the template describes a whole batch (uses `{lines}`).
    pub fn per_batch(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Field(f, _) if f == "lines"))
    }

    /// Renders the template for one record (or one batch).
    pub fn render(&self, ctx: &Ctx<'_>) -> Vec<u8> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(f, inside) => self.push_field(&mut out, f, *inside, ctx),
            }
        }
        out.into_bytes()
    }

    fn push_field(&self, out: &mut String, name: &str, in_string: bool, ctx: &Ctx<'_>) {
        let value: Value = match name {
            "json" => ctx.record.clone(),
            "summary" => ctx.summary.into(),
            "lines" => ctx.lines.into(),
            "count" => ctx.count.into(),
            "path" => subject_path(ctx.record).unwrap_or_default().into(),
            _ => ctx.record.get(name).cloned().unwrap_or(Value::Null),
        };
        match (self.json, in_string, value) {
            // JSON, outside quotes: the value as JSON (missing fields are null).
            (true, false, v) => out.push_str(&v.to_string()),
            // JSON, inside quotes: the text, escaped for a JSON string.
            (true, true, v) => {
                let quoted = Value::String(text_of(v)).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            (false, _, v) => out.push_str(&text_of(v)),
        }
    }
}

/// Strings as they are, null as nothing, anything else as compact JSON.
fn text_of(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s,
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str, rec: Value) -> String {
        let t = Template::parse(t).unwrap();
        String::from_utf8(t.render(&Ctx {
            record: &rec,
            summary: "S",
            lines: "L1\nL2",
            count: 2,
        }))
        .unwrap()
    }

    #[test]
    fn substitutes_fields_and_computed_values() {
        let r = serde_json::json!({"event_type": "moved", "src_path": "/a", "dest_path": "/b", "size": 3});
        assert_eq!(
            render(
                "{event_type} {src_path} -> {path} ({size}) {nope}.",
                r.clone()
            ),
            "moved /a -> /b (3) ."
        );
        assert_eq!(
            render("{summary}|{count}|{json}", serde_json::json!({"x": 1})),
            "S|2|{\"x\":1}"
        );
    }

    #[test]
    fn path_takes_the_exact_bytes_of_a_non_utf8_name() {
        // A finding on a file named b"/d/caf\xe9.csv" (Latin-1): the text
        // field is lossy, the `path_b64` twin holds the bytes.
        let r = serde_json::json!({"path": "/d/caf\u{fffd}.csv", "path_b64": "L2QvY2Fm6S5jc3Y=", "dest_path": ""});
        assert_eq!(render("{path}", r.clone()), "/d/caf\u{fffd}.csv");
        let r = serde_json::json!({"path": "", "path_b64": "L2QvY2Fm6S5jc3Y="});
        assert_eq!(render("{path}", r), "/d/caf\u{fffd}.csv");
    }

    #[test]
    fn json_templates_escape_values() {
        let r = serde_json::json!({"src_path": "/tmp/\"q\"\n"});
        let out = render(
            r#"{"content": "{path}", "raw": {json}, "n": {count}}"#,
            r.clone(),
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["content"], "/tmp/\"q\"\n");
        assert_eq!(v["raw"], r);
        assert_eq!(v["n"], 2);
    }

    #[test]
    fn rejects_broken_json_and_constant_templates() {
        assert!(Template::parse(r#"{"text": {path}"#).is_err());
        // Unquoted placeholders in JSON insert JSON values; quoted ones insert text.
        let out = render(
            r#"{"p": {path}, "q": "a\"{path}", "n": {nope}}"#,
            serde_json::json!({"path": "x\"y"}),
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"p": "x\"y", "q": "a\"x\"y", "n": null})
        );
        assert!(Template::parse("hello").is_err());
        assert!(Template::parse("{lines}").unwrap().per_batch());
    }
}
