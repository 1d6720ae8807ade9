//! Fast extraction of the few fields a filter needs from one JSON line.
//!
//! The line is validated as JSON in full, but only the wanted keys are
//! materialised (borrowed when they contain no escapes); every other value
//! is skipped. This keeps path-filter near grep speed on large streams.

use std::borrow::Cow;
use std::fmt;

use dlp_core::records::base64_lite;
use dlp_core::Reject;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// Which field holds the path.
#[derive(Debug, Clone)]
pub enum FieldSpec {
    /// The file an event is about: dest_path if non-empty, else src_path,
    /// else `path` (findings, scan requests).
    EventFile,
    /// A named top-level string field.
    Named(String),
}

/// The fields taken from one record.
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    pub event_type: Option<Cow<'a, str>>,
    pub src_path: Option<Cow<'a, str>>,
    pub dest_path: Option<Cow<'a, str>>,
    pub path: Option<Cow<'a, str>>,
    pub src_path_b64: Option<Cow<'a, str>>,
    pub dest_path_b64: Option<Cow<'a, str>>,
    pub path_b64: Option<Cow<'a, str>>,
    pub named: Option<Cow<'a, str>>,
    pub named_b64: Option<Cow<'a, str>>,
    named_field: Option<String>,
}

impl Extracted<'_> {
    /// The path to match, as raw bytes (decoded from `*_b64` when present).
    pub fn path_bytes(&self) -> Result<Cow<'_, [u8]>, Reject> {
        let (text, b64, name) = match &self.named_field {
            Some(n) => (&self.named, &self.named_b64, n.as_str()),
            None => {
                if self.dest_path.as_deref().is_some_and(|d| !d.is_empty())
                    || self.dest_path_b64.is_some()
                {
                    (&self.dest_path, &self.dest_path_b64, "dest_path")
                } else if self.src_path.is_some() || self.src_path_b64.is_some() {
                    (&self.src_path, &self.src_path_b64, "src_path")
                } else {
                    (&self.path, &self.path_b64, "path")
                }
            }
        };
        if let Some(raw) = b64.as_deref().and_then(base64_lite::decode) {
            return Ok(Cow::Owned(raw));
        }
        match text {
            Some(t) => Ok(Cow::Borrowed(t.as_bytes())),
            None if self.named_field.is_some() => {
                Err(Reject(format!("record has no field {name:?}")))
            }
            None => Err(Reject(
                "record has no src_path, dest_path or path field".into(),
            )),
        }
    }
}

/// Parses `line` and extracts the fields needed for `spec`.
pub fn extract<'a>(
    line: &'a [u8],
    spec: &FieldSpec,
    want_type: bool,
) -> Result<Extracted<'a>, Reject> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let seed = Seed { spec, want_type };
    let ex = seed
        .deserialize(&mut de)
        .map_err(|e| Reject(format!("not a JSON object: {e}")))?;
    de.end()
        .map_err(|e| Reject(format!("not a JSON object: {e}")))?;
    Ok(ex)
}

struct Seed<'s> {
    spec: &'s FieldSpec,
    want_type: bool,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Extracted<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

enum Slot {
    EventType,
    Src,
    Dest,
    Path,
    SrcB64,
    DestB64,
    PathB64,
    Named,
    NamedB64,
    Skip,
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Extracted<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ex = Extracted::default();
        let named = match self.spec {
            FieldSpec::Named(n) => Some(n.as_str()),
            FieldSpec::EventFile => None,
        };
        ex.named_field = named.map(str::to_owned);
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = key.0;
            let slot = match (named, key.as_ref()) {
                (_, "event_type") if self.want_type => Slot::EventType,
                (Some(n), k) if k == n => Slot::Named,
                (Some(n), k) if k.strip_suffix("_b64") == Some(n) => Slot::NamedB64,
                (None, "src_path") => Slot::Src,
                (None, "dest_path") => Slot::Dest,
                (None, "path") => Slot::Path,
                (None, "src_path_b64") => Slot::SrcB64,
                (None, "dest_path_b64") => Slot::DestB64,
                (None, "path_b64") => Slot::PathB64,
                _ => Slot::Skip,
            };
            let target = match slot {
                Slot::EventType => &mut ex.event_type,
                Slot::Src => &mut ex.src_path,
                Slot::Dest => &mut ex.dest_path,
                Slot::Path => &mut ex.path,
                Slot::SrcB64 => &mut ex.src_path_b64,
                Slot::DestB64 => &mut ex.dest_path_b64,
                Slot::PathB64 => &mut ex.path_b64,
                Slot::Named => &mut ex.named,
                Slot::NamedB64 => &mut ex.named_b64,
                Slot::Skip => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            match map.next_value::<Option<Str<'de>>>() {
                Ok(v) => *target = v.map(|s| s.0),
                Err(_) => {
                    return Err(de::Error::custom(format_args!(
                        "field {:?} is not a string",
                        key.as_ref()
                    )))
                }
            }
        }
        Ok(ex)
    }
}

/// A string that borrows from the input when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(line: &str, spec: &FieldSpec) -> Result<Vec<u8>, String> {
        let ex = extract(line.as_bytes(), spec, false).map_err(|r| r.0)?;
        ex.path_bytes().map(|c| c.into_owned()).map_err(|r| r.0)
    }

    #[test]
    fn picks_the_event_file() {
        let s = FieldSpec::EventFile;
        assert_eq!(
            path_of(r#"{"src_path":"/a","dest_path":""}"#, &s).unwrap(),
            b"/a"
        );
        assert_eq!(
            path_of(r#"{"src_path":"/a","dest_path":"/b"}"#, &s).unwrap(),
            b"/b"
        );
        assert_eq!(path_of(r#"{"path":"/f","index":1}"#, &s).unwrap(), b"/f");
        assert_eq!(
            path_of(r#"{"src_path":"/a\u00e9\n"}"#, &s).unwrap(),
            "/a\u{e9}\n".as_bytes()
        );
        assert_eq!(
            path_of(r#"{"src_path":"/caf?","src_path_b64":"L2NhZuk="}"#, &s).unwrap(),
            b"/caf\xe9"
        );
    }

    #[test]
    fn named_fields_and_errors() {
        let s = FieldSpec::Named("file".into());
        assert_eq!(
            path_of(r#"{"file":"/x","src_path":"/y"}"#, &s).unwrap(),
            b"/x"
        );
        assert!(path_of(r#"{"src_path":"/y"}"#, &s)
            .unwrap_err()
            .contains("no field \"file\""));
        assert!(path_of(r#"{"file":3}"#, &s)
            .unwrap_err()
            .contains("not a string"));
        assert!(path_of(r#"[1,2]"#, &s)
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(path_of(r#"{"file":"/x"} trailing"#, &s)
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(path_of(r#"{"a":1}"#, &FieldSpec::EventFile)
            .unwrap_err()
            .contains("no src_path"));
    }
}
