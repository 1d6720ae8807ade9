//! nats-post's spool entries: how a record is spooled, and the messages an
//! entry gives back when it is sent.
//!
//! A record is spooled with its address (`outbox::Batch::addressed`, header
//! `{"lines":true,"addressed":true}`), one line per record:
//! `<subject> <message id>\t<record>`, both worked out once as the record
//! was read ([`crate::subject::prepare`]); subjects and ids hold no spaces,
//! tabs or newlines, and a record is one NDJSON line. Sending it parses no
//! JSON again. The subject is the one of the `--subject` and `--host` the
//! record was read with, also when a later start has others.
//!
//! Entries left by earlier versions are published too:
//!
//! * `{"lines":true}`, then the records' own lines (the first version
//!   delivering through the outbox): each is addressed when it is sent,
//!   with this start's `--subject` and `--host`;
//! * `{"records":N}`, then `<subject> <message id> <record>` lines (the
//!   version before the outbox): published with the subjects and ids they
//!   hold, and dead-lettered whole (`.body`) when corrupt.

use bytes::Bytes;
use outbox::{Batch, Entry};

use crate::cli::Config;
use crate::publish::Message;
use crate::subject::{self, Prepared};

/// Adds a prepared record to a batch made by `Batch::addressed`.
pub fn push(batch: &mut Batch, p: &Prepared<'_>, scratch: &mut Vec<u8>) {
    scratch.clear();
    scratch.extend_from_slice(p.subject.as_bytes());
    scratch.push(b' ');
    scratch.extend_from_slice(p.id.as_bytes());
    batch.push_addressed(scratch, &p.payload);
}

/// The records of `entry` (content `data`) as messages, in order, or why
/// one is not a message.
pub fn messages(entry: &Entry, data: &Bytes, cfg: &Config) -> Vec<Result<Message, String>> {
    let lines = outbox::lines(data);
    if entry.is_addressed() {
        lines.map(|l| addressed(l, data)).collect()
    } else if entry.is_lines() {
        lines.map(|l| unaddressed(l, data, cfg)).collect()
    } else {
        let msgs: Vec<_> = lines.map(|l| before_outbox(l, data)).collect();
        if msgs.len() as u64 == entry.records() && msgs.iter().all(Result::is_ok) {
            msgs
        } else {
            vec![Err("spool entry of an earlier version is corrupt".into())]
        }
    }
}

/// `<subject> <message id>\t<record>`.
fn addressed(line: &[u8], data: &Bytes) -> Result<Message, String> {
    outbox::split_address(line)
        .and_then(|(address, record)| {
            let space = address.iter().position(|&b| b == b' ')?;
            message(&address[..space], &address[space + 1..], record, data)
        })
        .ok_or_else(|| "a spooled record has no subject and message id".into())
}

/// A record of the first outbox version, addressed now.
fn unaddressed(line: &[u8], data: &Bytes, cfg: &Config) -> Result<Message, String> {
    let (subject, id) = subject::address(line, &cfg.template, &cfg.host)
        .map_err(|why| format!("a spooled record is not one: {why}"))?;
    Ok(Message {
        subject,
        id,
        payload: data.slice_ref(line),
    })
}

/// `<subject> <message id> <record>`.
fn before_outbox(line: &[u8], data: &Bytes) -> Result<Message, String> {
    let mut f = line.splitn(3, |&b| b == b' ');
    let (subject, id, record) = (f.next(), f.next(), f.next());
    (subject.zip(id).zip(record))
        .and_then(|((subject, id), record)| message(subject, id, record, data))
        .ok_or_else(|| "spool entry of an earlier version is corrupt".into())
}

/// A message of `record` (a slice of `data`, not copied).
fn message(subject: &[u8], id: &[u8], record: &[u8], data: &Bytes) -> Option<Message> {
    let word = |b: &[u8]| !b.is_empty() && !b.contains(&b' ');
    let text = |b: &[u8]| word(b).then(|| String::from_utf8(b.to_vec()).ok())?;
    Some(Message {
        subject: text(subject)?,
        id: text(id)?,
        payload: data.slice_ref(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_addressed_lines_and_refuses_corruption() {
        let data = Bytes::from_static(b"dlp.finding.a 0123\t{\"a\":\"x y\tz\"}\nno address\n");
        let mut lines = outbox::lines(&data);
        let m = addressed(lines.next().unwrap(), &data).unwrap();
        assert_eq!((&*m.subject, &*m.id), ("dlp.finding.a", "0123"));
        assert_eq!(&m.payload[..], b"{\"a\":\"x y\tz\"}");
        assert!(addressed(lines.next().unwrap(), &data).is_err());
        for bad in [&b"dlp.x\t{}"[..], b" 0123\t{}", b"dlp.x \t{}", b"a b c\t{}"] {
            let bad = Bytes::copy_from_slice(bad);
            assert!(addressed(&bad, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_lines_of_the_version_before_the_outbox() {
        let data =
            Bytes::from_static(b"dlp.finding.a 0123 {\"a\":\"x y z\"}\ndlp.record.b 4567 {}\n");
        let got: Vec<Message> = (outbox::lines(&data))
            .map(|l| before_outbox(l, &data).unwrap())
            .collect();
        assert_eq!((&*got[0].subject, &*got[0].id), ("dlp.finding.a", "0123"));
        assert_eq!(&got[0].payload[..], b"{\"a\":\"x y z\"}");
        assert_eq!(&got[1].payload[..], b"{}");
        let bad = Bytes::from_static(b"garbage");
        assert!(before_outbox(&bad, &bad).is_err());
    }
}
