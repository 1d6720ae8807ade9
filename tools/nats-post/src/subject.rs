//! Subjects and message ids: where a record goes and how JetStream knows
//! it has seen it before.
//!
//! The record type and host are taken from the record's top-level fields
//! with the toolkit's fast validating scanner (the whole line is still
//! checked to be one JSON object). A record without a `host` field gets
//! one, inserted at the front so the rest of the line stays byte for byte.

use std::borrow::Cow;

use anyhow::bail;
use dlp_core::json_scan::{self, Val};

/// A parsed `--subject` template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Type,
    Host,
}

impl Template {
    /// Parses a template of literal tokens, `{type}` and `{host}`.
    pub fn parse(s: &str) -> anyhow::Result<Template> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            if i > 0 {
                parts.push(Part::Lit(rest[..i].to_owned()));
            }
            let Some(j) = rest[i..].find('}') else {
                bail!("--subject '{s}': '{{' without '}}'");
            };
            parts.push(match &rest[i + 1..i + j] {
                "type" => Part::Type,
                "host" => Part::Host,
                other => bail!(
                    "--subject '{s}': unknown placeholder {{{other}}} (use {{type}} and {{host}})"
                ),
            });
            rest = &rest[i + j + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        let t = Template { parts };
        let sample = t.render("finding", "h");
        if !valid_subject(&sample) {
            bail!("--subject '{s}' does not make a valid NATS subject (tokens separated by '.', no spaces, '*' or '>')");
        }
        Ok(t)
    }

    /// The subject of a record.
    pub fn render(&self, kind: &str, host: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Type => out.push_str(kind),
                Part::Host => out.push_str(&token(host)),
            }
        }
        out
    }

    /// The stream's subject filter: each placeholder is a `*` wildcard.
    pub fn filter(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Type | Part::Host => out.push('*'),
            }
        }
        out
    }
}

fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|t| {
            !t.is_empty()
                && !t
                    .bytes()
                    .any(|b| b.is_ascii_whitespace() || b == b'*' || b == b'>' || b < 0x20)
        })
}

/// A value safe as one subject token: letters, digits, `-` and `_` kept,
/// anything else (dots of a domain name, spaces) becomes `_`.
pub fn token(s: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !s.is_empty() && s.chars().all(ok) {
        return Cow::Borrowed(s);
    }
    if s.is_empty() {
        return Cow::Borrowed("unknown");
    }
    Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '_' }).collect())
}

/// One record ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub subject: String,
    pub id: String,
    pub payload: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Key {
    Host,
    Detector,
    EventType,
    SrcPath,
    UploadId,
    Status,
    Records,
    Action,
}

/// Classifies, addresses and identifies one input line (an object).
pub fn prepare(line: &[u8], t: &Template, default_host: &str) -> Result<Prepared, String> {
    let mut host: Option<String> = None;
    let mut seen = [false; 8];
    json_scan::top_level(
        line,
        |k| match k {
            "host" => Some(Key::Host),
            "detector" => Some(Key::Detector),
            "event_type" => Some(Key::EventType),
            "src_path" => Some(Key::SrcPath),
            "upload_id" => Some(Key::UploadId),
            "status" => Some(Key::Status),
            "records" => Some(Key::Records),
            "action" => Some(Key::Action),
            _ => None,
        },
        |k, _, v| {
            seen[k as usize] = true;
            if let (Key::Host, Val::Str(s)) = (k, &v) {
                if !s.is_empty() {
                    host = Some(s.to_string());
                }
            }
            Ok(())
        },
    )?;
    let has = |k: Key| seen[k as usize];
    let kind = if has(Key::Detector) {
        "finding"
    } else if has(Key::EventType) && has(Key::SrcPath) {
        "fsevent"
    } else if has(Key::Action) {
        "action"
    } else if has(Key::Status) && has(Key::Records) {
        "delivery"
    } else if has(Key::Status) && has(Key::UploadId) {
        "scan"
    } else {
        "record"
    };
    let (host, payload) = match host {
        Some(h) => (h, line.to_vec()),
        None if has(Key::Host) => {
            // `"host":""` or a non-string: left as it is, addressed by --host.
            (default_host.to_owned(), line.to_vec())
        }
        None => (default_host.to_owned(), with_host(line, default_host)),
    };
    let mut seed = Vec::with_capacity(host.len() + 1 + payload.len());
    seed.extend_from_slice(host.as_bytes());
    seed.push(b'\n');
    seed.extend_from_slice(&payload);
    let id = dlp_core::hash::sha256_bytes(&seed)[..32].to_owned();
    Ok(Prepared {
        subject: t.render(kind, &host),
        id,
        payload,
    })
}

/// `{"host":"NAME",...rest}`: the record with a host field in front.
fn with_host(line: &[u8], host: &str) -> Vec<u8> {
    let start = line.iter().position(|&b| b == b'{').unwrap_or(0);
    let rest = &line[start + 1..];
    let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
    let mut out = Vec::with_capacity(line.len() + host.len() + 12);
    out.extend_from_slice(b"{\"host\":");
    out.extend_from_slice(serde_json::to_string(host).unwrap_or_default().as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Template {
        Template::parse("dlp.{type}.{host}").unwrap()
    }

    #[test]
    fn subjects_by_type_and_host() {
        let p = prepare(
            br#"{"path":"/a","detector":"SSN","host":"lap-1.corp"}"#,
            &t(),
            "me",
        )
        .unwrap();
        assert_eq!(p.subject, "dlp.finding.lap-1_corp");
        assert_eq!(
            p.payload,
            br#"{"path":"/a","detector":"SSN","host":"lap-1.corp"}"#
        );
        let p = prepare(
            br#"{"event_type":"created","src_path":"/x"}"#,
            &t(),
            "web 2",
        )
        .unwrap();
        assert_eq!(p.subject, "dlp.fsevent.web_2");
        let v: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
        assert_eq!(v["host"], "web 2");
        assert_eq!(v["src_path"], "/x");
        let p = prepare(br#"{"status":"scan_initiated","upload_id":"u"}"#, &t(), "h").unwrap();
        assert_eq!(p.subject, "dlp.scan.h");
        let p = prepare(b"{}", &t(), "h").unwrap();
        assert_eq!(p.payload, br#"{"host":"h"}"#);
        assert_eq!(p.subject, "dlp.record.h");
        assert_eq!(t().filter(), "dlp.*.*");
    }

    #[test]
    fn ids_depend_on_host_and_record() {
        let a = prepare(br#"{"detector":"x","host":"a"}"#, &t(), "z").unwrap();
        let b = prepare(br#"{"detector":"x","host":"a"}"#, &t(), "y").unwrap();
        let c = prepare(br#"{"detector":"x","host":"b"}"#, &t(), "z").unwrap();
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert_eq!(a.id.len(), 32);
    }

    #[test]
    fn rejects_bad_lines_and_templates() {
        assert!(prepare(b"[1]", &t(), "h").is_err());
        assert!(prepare(b"{\"a\":", &t(), "h").is_err());
        assert!(Template::parse("dlp.{nope}").is_err());
        assert!(Template::parse("dlp..{type}").is_err());
        assert!(Template::parse("dlp.>").is_err());
        assert!(Template::parse("dlp.{type").is_err());
    }
}
