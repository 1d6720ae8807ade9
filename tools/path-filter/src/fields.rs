//! Fast extraction of the few fields a filter needs from one JSON line.
//!
//! The line is validated as JSON in full, but only the wanted keys are
//! materialised, as bytes (borrowed when they contain no escapes; paths are
//! matched as bytes, so an ASCII line is never made text); every other value
//! is skipped. This keeps path-filter near grep speed on large streams.

use std::borrow::Cow;
#[cfg(test)]
use std::fmt;

use dlp_record::{b64, subject_bytes};
use dlp_runtime::Reject;
#[cfg(test)]
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use dlp_record::json_scan::{self as scan, ValBytes};

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
    pub event_type: Option<Cow<'a, [u8]>>,
    pub src_path: Option<Cow<'a, [u8]>>,
    pub dest_path: Option<Cow<'a, [u8]>>,
    pub path: Option<Cow<'a, [u8]>>,
    pub src_path_b64: Option<Cow<'a, [u8]>>,
    pub dest_path_b64: Option<Cow<'a, [u8]>>,
    pub path_b64: Option<Cow<'a, [u8]>>,
    pub named: Option<Cow<'a, [u8]>>,
    pub named_b64: Option<Cow<'a, [u8]>>,
    named_field: Option<&'a str>,
}

impl Extracted<'_> {
    /// The path to match, as raw bytes (decoded from `*_b64` when present):
    /// the named field, or the record's file as
    /// [`dlp_record::subject_bytes`] defines it.
    pub fn path_bytes(&self) -> Result<Cow<'_, [u8]>, Reject> {
        let Some(name) = &self.named_field else {
            return subject_bytes(|k| match k {
                "dest_path" => self.dest_path.as_deref(),
                "dest_path_b64" => self.dest_path_b64.as_deref(),
                "src_path" => self.src_path.as_deref(),
                "src_path_b64" => self.src_path_b64.as_deref(),
                "path" => self.path.as_deref(),
                "path_b64" => self.path_b64.as_deref(),
                _ => None,
            })
            .ok_or_else(|| Reject("record has no src_path, dest_path or path field".into()));
        };
        if let Some(raw) = self.named_b64.as_deref().and_then(b64::decode) {
            return Ok(Cow::Owned(raw));
        }
        match &self.named {
            Some(t) => Ok(Cow::Borrowed(t)),
            None => Err(Reject(format!("record has no field {name:?}"))),
        }
    }
}

/// Parses `line` and extracts the fields needed for `spec` (fast scanner).
pub fn extract<'a>(
    line: &'a [u8],
    spec: &'a FieldSpec,
    want_type: bool,
) -> Result<Extracted<'a>, Reject> {
    let named = match spec {
        FieldSpec::Named(n) => Some(n.as_str()),
        FieldSpec::EventFile => None,
    };
    let mut ex = Extracted {
        named_field: named,
        ..Extracted::default()
    };
    scan::top_level_bytes(
        line,
        |k| slot(named, k, want_type),
        |slot, key, value| {
            *ex.target(slot) = match value {
                ValBytes::Str(v) => Some(v),
                ValBytes::Null => None,
                ValBytes::Raw(_) => {
                    let key = String::from_utf8_lossy(key);
                    return Err(format!("field {key:?} is not a string"));
                }
            };
            Ok(())
        },
    )
    .map_err(|e| Reject(format!("not a JSON object: {e}")))?;
    Ok(ex)
}

/// Which slot a top-level key fills, if any.
fn slot(named: Option<&str>, key: &[u8], want_type: bool) -> Option<Slot> {
    Some(match (named, key) {
        (_, b"event_type") if want_type => Slot::EventType,
        (Some(n), k) if k == n.as_bytes() => Slot::Named,
        (Some(n), k) if k.strip_suffix(b"_b64") == Some(n.as_bytes()) => Slot::NamedB64,
        (None, b"src_path") => Slot::Src,
        (None, b"dest_path") => Slot::Dest,
        (None, b"path") => Slot::Path,
        (None, b"src_path_b64") => Slot::SrcB64,
        (None, b"dest_path_b64") => Slot::DestB64,
        (None, b"path_b64") => Slot::PathB64,
        _ => return None,
    })
}

impl<'a> Extracted<'a> {
    fn target(&mut self, slot: Slot) -> &mut Option<Cow<'a, [u8]>> {
        match slot {
            Slot::EventType => &mut self.event_type,
            Slot::Src => &mut self.src_path,
            Slot::Dest => &mut self.dest_path,
            Slot::Path => &mut self.path,
            Slot::SrcB64 => &mut self.src_path_b64,
            Slot::DestB64 => &mut self.dest_path_b64,
            Slot::PathB64 => &mut self.path_b64,
            Slot::Named => &mut self.named,
            Slot::NamedB64 => &mut self.named_b64,
        }
    }
}

/// Reference implementation with serde_json, used to test [`extract`].
#[cfg(test)]
pub fn extract_serde<'a>(
    line: &'a [u8],
    spec: &'a FieldSpec,
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

#[cfg(test)]
struct Seed<'s> {
    spec: &'s FieldSpec,
    want_type: bool,
}

#[cfg(test)]
impl<'de> DeserializeSeed<'de> for Seed<'de> {
    type Value = Extracted<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

#[derive(Clone, Copy)]
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
}

#[cfg(test)]
impl<'de> Visitor<'de> for Seed<'de> {
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
        ex.named_field = named;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let key = key.0;
            let Some(slot) = slot(named, key.as_bytes(), self.want_type) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let target = ex.target(slot);
            match map.next_value::<Option<Str<'de>>>() {
                Ok(v) => {
                    *target = v.map(|s| match s.0 {
                        Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
                        Cow::Owned(o) => Cow::Owned(o.into_bytes()),
                    })
                }
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

#[cfg(test)]
/// A string that borrows from the input when it has no escapes.
struct Str<'a>(Cow<'a, str>);

#[cfg(test)]
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

#[cfg(test)]
mod differential {
    //! The fast scanner must agree with serde_json on every line: the same
    //! verdict (record or reject) and the same extracted fields.
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z/._ -]{0,12}",
            ".{0,8}",
            proptest::collection::vec(
                prop_oneof![
                    Just("\""),
                    Just("\\"),
                    Just("\n"),
                    Just("\u{1}"),
                    Just("é"),
                    Just("/"),
                    Just("😀")
                ],
                0..6
            )
            .prop_map(|v| v.concat()),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            text().prop_map(Value::String),
            any::<i32>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-z_]{1,6}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn record() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("src_path".to_string()),
            Just("dest_path".to_string()),
            Just("path".to_string()),
            Just("event_type".to_string()),
            Just("src_path_b64".to_string()),
            Just("file".to_string()),
            "[a-z_]{1,8}",
        ];
        proptest::collection::vec((key, value()), 0..6).prop_map(|kv| {
            let mut m = Map::new();
            for (k, v) in kv {
                m.insert(k, v);
            }
            Value::Object(m)
        })
    }

    #[derive(Debug, Clone)]
    enum Edit {
        None,
        Truncate(usize),
        Insert(usize, u8),
        Replace(usize, u8),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let byte = prop_oneof![
            Just(b'"'),
            Just(b','),
            Just(b'}'),
            Just(b'{'),
            Just(b'\\'),
            Just(b' '),
            Just(b'e'),
            Just(b'0'),
            Just(b':'),
            Just(b']'),
            any::<u8>()
        ];
        prop_oneof![
            3 => Just(Edit::None),
            1 => any::<usize>().prop_map(Edit::Truncate),
            2 => (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
            2 => (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        ]
    }

    fn fields(e: &Extracted<'_>) -> Vec<Option<String>> {
        [
            &e.event_type,
            &e.src_path,
            &e.dest_path,
            &e.path,
            &e.src_path_b64,
            &e.dest_path_b64,
            &e.path_b64,
            &e.named,
            &e.named_b64,
        ]
        .iter()
        .map(|f| f.as_ref().map(|c| String::from_utf8(c.to_vec()).unwrap()))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

        #[test]
        fn fast_scanner_agrees_with_serde(rec in record(), pretty in any::<bool>(), e in edit(), named in any::<bool>()) {
            let mut line = if pretty { serde_json::to_vec_pretty(&rec).unwrap() } else { serde_json::to_vec(&rec).unwrap() };
            if pretty {
                // one record per line: pretty output's newlines are JSON whitespace
                for b in line.iter_mut() { if *b == b'\n' { *b = b' '; } }
            }
            match e {
                Edit::None => {}
                Edit::Truncate(i) => line.truncate(i % (line.len() + 1)),
                Edit::Insert(i, b) => { let i = i % (line.len() + 1); line.insert(i, b) }
                Edit::Replace(i, b) => { if !line.is_empty() { let i = i % line.len(); line[i] = b } }
            }
            let spec = if named { FieldSpec::Named("file".into()) } else { FieldSpec::EventFile };
            let fast = extract(&line, &spec, true);
            if std::str::from_utf8(&line).is_err() {
                prop_assert!(fast.is_err(), "invalid UTF-8 must be rejected");
                return Ok(());
            }
            let reference = extract_serde(&line, &spec, true);
            match (&fast, &reference) {
                (Ok(a), Ok(b)) => prop_assert_eq!(fields(a), fields(b)),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "disagree on {:?}: fast {:?} serde {:?}", String::from_utf8_lossy(&line),
                                  fast.as_ref().map(fields).map_err(|r| &r.0), reference.as_ref().map(fields).map_err(|r| &r.0)),
            }
        }
    }
}
