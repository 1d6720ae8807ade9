//! Finding records, one JSON object a line. Only the fields the report
//! uses are decoded ([`dlp_record::json_scan`] checks the rest of the line
//! without materialising it, so a megabyte path is borrowed, not copied).

use std::borrow::Cow;
use std::io::Read;

use dlp_record::json_scan::{self, Val};
use dlp_record::Range;
use dlp_runtime::{RecordReader, Rejects};

use crate::agg::Agg;
use crate::rec::{Rec, DETECTOR, TEXT_FIELDS};

/// The fields that are not text: `byte_range`, `line_range`, `removable`.
const OTHER_FIELDS: [&str; 3] = ["byte_range", "line_range", "removable"];

fn field(k: &[u8]) -> Option<usize> {
    TEXT_FIELDS
        .iter()
        .chain(&OTHER_FIELDS)
        .position(|f| f.as_bytes() == k)
}

/// Reads every line of `input` into `agg`.
pub fn read(input: impl Read, agg: &mut Agg, rejects: &Rejects) -> anyhow::Result<()> {
    let mut records = RecordReader::new(input, rejects.clone());
    while let Some(line) = records.next_record()? {
        if let Err(why) = record(line, agg) {
            records.reject(&why)?;
        }
    }
    Ok(())
}

fn record(line: &[u8], agg: &mut Agg) -> Result<(), String> {
    const N: usize = TEXT_FIELDS.len();
    let mut text: [Option<Cow<'_, str>>; N] = Default::default();
    let mut other: [Option<&str>; 3] = [None; 3];
    json_scan::top_level(line, field, |i, key, v| {
        match v {
            Val::Null => {}
            Val::Str(s) if i < N => text[i] = Some(s),
            Val::Raw(r) if i >= N => other[i - N] = Some(r),
            Val::Str(_) => return Err(format!("field `{key}` is a string")),
            Val::Raw(_) => return Err(format!("field `{key}` is not a string")),
        }
        Ok(())
    })?;
    if text[DETECTOR].is_none() {
        return Err("not a Finding (no `detector` field)".into());
    }
    let start = |i: usize| -> Result<Option<u64>, String> {
        other[i]
            .map(|r| serde_json::from_str::<Range>(r).map(|r| r.start))
            .transpose()
            .map_err(|_| format!("field `{}` is not a {{start, end}} object", OTHER_FIELDS[i]))
    };
    let removable = match other[2] {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err("field `removable` is not a boolean".into()),
    };
    let t = std::array::from_fn(|i| text[i].as_deref().unwrap_or(""));
    agg.add(&Rec::from_text(t, start(0)?, start(1)?, removable));
    Ok(())
}
