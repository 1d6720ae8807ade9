//! Spool entries written by nats-post before it delivered through the
//! outbox: a `{"records":N}` header, then one line per record,
//! `<subject> <message id> <payload>` (subjects and ids have no spaces;
//! payloads are single NDJSON lines). A spool left by that version is
//! published as it is, with the subjects and ids it holds. Entries are now
//! the outbox's (`outbox::store`): the records' own lines, addressed when
//! they are sent.

use bytes::Bytes;

use crate::publish::Message;

/// Decodes an entry's content after its header; `None` when it is corrupt
/// (not `records` well-formed lines).
pub fn decode(data: &[u8], records: u64) -> Option<Vec<Message>> {
    let mut out = Vec::with_capacity(records as usize);
    for l in outbox::lines(data) {
        let mut f = l.splitn(3, |&b| b == b' ');
        let subject = String::from_utf8(f.next()?.to_vec()).ok()?;
        let id = String::from_utf8(f.next()?.to_vec()).ok()?;
        let payload = Bytes::copy_from_slice(f.next()?);
        out.push(Message {
            subject,
            id,
            payload,
        });
    }
    (out.len() as u64 == records).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_corruption() {
        let data = b"dlp.finding.a 0123 {\"a\":\"x y z\"}\ndlp.record.b 4567 {}\n";
        let got = decode(data, 2).unwrap();
        assert_eq!(got[0].subject, "dlp.finding.a");
        assert_eq!(got[0].id, "0123");
        assert_eq!(&got[0].payload[..], b"{\"a\":\"x y z\"}");
        assert_eq!(&got[1].payload[..], b"{}");
        assert!(decode(data, 3).is_none());
        assert!(decode(b"garbage\n", 1).is_none());
    }
}
