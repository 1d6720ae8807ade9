//! The spool entry of one batch: a JSON header line, then one line per
//! record, `<subject> <message id> <payload>` (subjects and ids have no
//! spaces; payloads are single NDJSON lines).

use crate::subject::Prepared;

/// Encodes a batch.
pub fn encode(batch: &[Prepared]) -> Vec<u8> {
    let size: usize = batch
        .iter()
        .map(|p| p.subject.len() + p.id.len() + p.payload.len() + 3)
        .sum();
    let mut v = Vec::with_capacity(size + 32);
    v.extend_from_slice(format!("{{\"records\":{}}}\n", batch.len()).as_bytes());
    for p in batch {
        v.extend_from_slice(p.subject.as_bytes());
        v.push(b' ');
        v.extend_from_slice(p.id.as_bytes());
        v.push(b' ');
        v.extend_from_slice(&p.payload);
        v.push(b'\n');
    }
    v
}

/// Decodes a batch; `None` when the entry is corrupt.
pub fn decode(data: &[u8]) -> Option<Vec<Prepared>> {
    let mut lines = data.split(|&b| b == b'\n');
    let head: serde_json::Value = serde_json::from_slice(lines.next()?).ok()?;
    let n = head.get("records")?.as_u64()? as usize;
    let mut out = Vec::with_capacity(n);
    for l in lines.filter(|l| !l.is_empty()) {
        let mut f = l.splitn(3, |&b| b == b' ');
        let subject = String::from_utf8(f.next()?.to_vec()).ok()?;
        let id = String::from_utf8(f.next()?.to_vec()).ok()?;
        let payload = f.next()?.to_vec();
        out.push(Prepared {
            subject,
            id,
            payload,
        });
    }
    (out.len() == n).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let b = vec![
            Prepared {
                subject: "dlp.finding.a".into(),
                id: "0123".into(),
                payload: br#"{"a":"x y z"}"#.to_vec(),
            },
            Prepared {
                subject: "dlp.record.b".into(),
                id: "4567".into(),
                payload: b"{}".to_vec(),
            },
        ];
        let e = encode(&b);
        assert_eq!(decode(&e).unwrap(), b);
        assert!(decode(b"{\"records\":3}\na b {}\n").is_none());
        assert!(decode(b"garbage").is_none());
    }
}
