//! Subjects and message ids: where a record goes and how JetStream knows
//! it has seen it before.
//!
//! The record type and host are taken from the record's top-level fields
//! with the toolkit's fast validating scanner (the whole line is still
//! checked to be one JSON object), once per record, as it is read
//! ([`prepare`]). A record without a `host` field gets one, inserted at
//! the front so the rest of the line stays byte for byte.

use std::borrow::Cow;

use anyhow::bail;
use dlp_record::json_scan::{self, ValBytes};

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
    Path,
    PathB64,
    ArchivePath,
    FindingId,
    FirstSeen,
    Finding,
    ByteRange,
}

const KEYS: usize = 15;

fn key(k: &[u8]) -> Option<Key> {
    Some(match k {
        b"host" => Key::Host,
        b"detector" => Key::Detector,
        b"event_type" => Key::EventType,
        b"src_path" => Key::SrcPath,
        b"upload_id" => Key::UploadId,
        b"status" => Key::Status,
        b"records" => Key::Records,
        b"action" => Key::Action,
        b"path" => Key::Path,
        b"path_b64" => Key::PathB64,
        b"archive_path" => Key::ArchivePath,
        b"finding_id" => Key::FindingId,
        b"first_seen" => Key::FirstSeen,
        b"finding" => Key::Finding,
        b"byte_range" => Key::ByteRange,
        _ => return None,
    })
}

/// A record's top-level fields that say where it goes and what it is.
struct Fields<'a> {
    vals: [Option<Cow<'a, [u8]>>; KEYS],
    /// It has a `host` field (of any value).
    has_host: bool,
    /// Its `host`, when that is a non-empty string.
    given: Option<String>,
}

/// Checks that `line` is one JSON object and takes the fields [`key`] names.
fn fields(line: &[u8]) -> Result<Fields<'_>, String> {
    let mut f = Fields {
        vals: Default::default(),
        has_host: false,
        given: None,
    };
    json_scan::top_level_bytes(line, key, |k, _, v| {
        if let Key::Host = k {
            f.has_host = true;
            if let ValBytes::Str(s) = &v {
                f.given = Some(String::from_utf8_lossy(s).into_owned()).filter(|s| !s.is_empty());
            }
        }
        f.vals[k as usize] = Some(match v {
            ValBytes::Str(s) => s,
            ValBytes::Raw(r) => Cow::Borrowed(r),
            ValBytes::Null => Cow::Borrowed(&[][..]),
        });
        Ok(())
    })?;
    Ok(f)
}

/// One input record ready to spool and publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared<'a> {
    /// The record as published: the line, with a `host` field put in
    /// front when it has none.
    pub payload: Cow<'a, [u8]>,
    pub subject: String,
    /// The `Nats-Msg-Id` ([`address`]).
    pub id: String,
}

/// Checks, stamps and addresses one input line in one scan: what
/// [`address`] would say of the stamped line, without reading it again.
pub fn prepare<'a>(
    line: &'a [u8],
    t: &Template,
    default_host: &str,
) -> Result<Prepared<'a>, String> {
    let f = fields(line)?;
    let payload = if f.has_host {
        Cow::Borrowed(line)
    } else {
        Cow::Owned(with_host(line, default_host))
    };
    let (subject, id) = identify(&f, &payload, t, default_host);
    Ok(Prepared {
        payload,
        subject,
        id,
    })
}

/// A stamped record's subject and message id.
///
/// The message id (JetStream's `Nats-Msg-Id`, which drops a message its
/// stream already holds within the duplicate window) of a Finding is its
/// identity, not its bytes: host, file (`path`, `path_b64`,
/// `archive_path`), detector and status, with `finding_id` and
/// `first_seen` when finding state gave them (else the finding's text and
/// byte range). So a finding reported again (a rescan without state, a
/// re-sent batch) is dropped by the stream, while the same finding
/// resolved, or reopened later, is a message of its own. Other records are
/// identified by host and content. A record whose `host` is empty or not a
/// string is addressed by `default_host`.
pub fn address(
    payload: &[u8],
    t: &Template,
    default_host: &str,
) -> Result<(String, String), String> {
    Ok(identify(&fields(payload)?, payload, t, default_host))
}

/// The subject and message id of `payload` (the stamped record), whose
/// fields are `f`.
fn identify(f: &Fields<'_>, payload: &[u8], t: &Template, default_host: &str) -> (String, String) {
    let vals = &f.vals;
    let has = |k: Key| vals[k as usize].is_some();
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
    let host = f.given.as_deref().unwrap_or(default_host);
    let mut seed = Vec::with_capacity(host.len() + 1 + payload.len());
    seed.extend_from_slice(host.as_bytes());
    seed.push(b'\n');
    if kind == "finding" {
        seed.extend_from_slice(b"finding identity v1");
        let mut field = |k: Key| {
            seed.push(0x1f);
            seed.extend_from_slice(vals[k as usize].as_deref().unwrap_or_default());
        };
        for k in [
            Key::Path,
            Key::PathB64,
            Key::ArchivePath,
            Key::Detector,
            Key::Status,
        ] {
            field(k);
        }
        if has(Key::FindingId) {
            field(Key::FindingId);
            field(Key::FirstSeen);
        } else {
            field(Key::Finding);
            field(Key::ByteRange);
        }
    } else {
        seed.extend_from_slice(payload);
    }
    let id = dlp_record::hash::sha256_bytes(&seed)[..32].to_owned();
    (t.render(kind, host), id)
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
            &*p.payload,
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
        assert_eq!(&*p.payload, br#"{"host":"h"}"#);
        assert_eq!(p.subject, "dlp.record.h");
        assert_eq!(t().filter(), "dlp.*.*");
    }

    #[test]
    fn a_finding_is_identified_by_what_it_is_not_when_it_was_sent() {
        let f = |extra: &str| {
            prepare(
                format!(
                    r#"{{"path":"/a","detector":"SSN","finding":"536-22-8726","byte_range":{{"start":3,"end":14}},"host":"h"{extra}}}"#
                )
                .as_bytes(),
                &t(),
                "z",
            )
            .unwrap()
            .id
        };
        // Without finding state: the same finding at the same place is one
        // message whenever it was scanned.
        assert_eq!(
            f(r#","timestamp":"2026-12-01T10:00:00Z""#),
            f(r#","timestamp":"2026-12-02T11:00:00Z""#)
        );
        // With state: the key, the lifecycle and when it was first seen.
        let st = |status: &str, first: &str, extra: &str| {
            f(&format!(
                r#","finding_id":"ab.0","status":"{status}","first_seen":"{first}"{extra}"#
            ))
        };
        let t1 = "2026-12-01T10:00:00Z";
        assert_eq!(
            st("new", t1, r#","timestamp":"x""#),
            st("new", t1, r#","timestamp":"y","before_context":"other""#)
        );
        assert_ne!(st("new", t1, ""), st("resolved", t1, ""));
        assert_ne!(
            st("new", t1, ""),
            st("new", "2026-12-03T08:00:00Z", ""),
            "reopened later: a message of its own"
        );
        // Another file or host is another finding.
        let other_path = prepare(
            br#"{"path":"/b","detector":"SSN","finding":"536-22-8726","byte_range":{"start":3,"end":14},"host":"h"}"#,
            &t(),
            "z",
        )
        .unwrap()
        .id;
        assert_ne!(other_path, f(""));
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
    fn prepared_at_input_is_what_the_stamped_line_is_addressed_as() {
        for line in [
            &br#"{"path":"/a","detector":"SSN","finding":"1","byte_range":{"start":1,"end":2}}"#[..],
            br#"{"detector":"x","host":""}"#,
            br#"{"detector":"x","host":7}"#,
            br#"{"host":"w\u00e9b","event_type":"created","src_path":"/x"}"#,
            br#"{"status":"delivered","records":3}"#,
            br#"{"action":"quarantine","path":"/p"}"#,
            b"{}",
            b" { \"a\" : [1, 2] } ",
        ] {
            let p = prepare(line, &t(), "me").unwrap();
            let again = address(&p.payload, &t(), "me").unwrap();
            assert_eq!(
                (p.subject, p.id),
                again,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
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
