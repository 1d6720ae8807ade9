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
    Field(String),
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

/// The file a record is about: `dest_path` when set, else `src_path`, else `path`.
pub fn subject_path(v: &Value) -> Option<&str> {
    ["dest_path", "src_path", "path"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
}

impl Template {
    /// Parses and checks a template.
    pub fn parse(src: &str) -> anyhow::Result<Self> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while let Some(i) = rest.find('{') {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let n = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if n > 0 && after.as_bytes().get(n) == Some(&b'}') {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Field(after[..n].to_owned()));
                rest = &after[n + 1..];
            } else {
                lit.push('{');
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
        if !t.parts.iter().any(|p| matches!(p, Part::Field(_))) {
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
            .any(|p| matches!(p, Part::Field(f) if f == "lines"))
    }

    /// Renders the template for one record (or one batch).
    pub fn render(&self, ctx: &Ctx<'_>) -> Vec<u8> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(f) => self.push_field(&mut out, f, ctx),
            }
        }
        out.into_bytes()
    }

    fn push_field(&self, out: &mut String, name: &str, ctx: &Ctx<'_>) {
        let text: String = match name {
            "json" => {
                // Inserted as JSON in JSON templates, as text elsewhere.
                out.push_str(&ctx.record.to_string());
                return;
            }
            "summary" => ctx.summary.to_owned(),
            "lines" => ctx.lines.to_owned(),
            "count" => ctx.count.to_string(),
            "path" => subject_path(ctx.record).unwrap_or("").to_owned(),
            _ => match ctx.record.get(name) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            },
        };
        if self.json {
            let quoted = Value::String(text).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        } else {
            out.push_str(&text);
        }
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
        assert!(Template::parse(r#"{"text": {path}}"#).is_err());
        assert!(Template::parse("hello").is_err());
        assert!(Template::parse("{lines}").unwrap().per_batch());
    }
}
