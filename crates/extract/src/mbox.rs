//! Unix mailboxes (mbox): messages one after another, each after a
//! `From ` line (at the start, or after a blank line). Each message is a
//! member numbered from 1 (`inbox.mbox!2`, its attachments
//! `inbox.mbox!2!cards.csv`), read by [`crate::mail`]; `>From ` lines are
//! unquoted (mboxrd). A message larger than [`mail::MAX_MESSAGE`] is
//! skipped with a note.

use std::io::{self, BufRead, BufReader, Read};

use crate::mail;
use crate::nest::{join, Nest};

/// Longest line read at once (a longer one is read in pieces).
const LINE_MAX: u64 = 1 << 20;

/// True when `head` starts like a mailbox: a `From ` line, then a header.
pub fn is_mbox(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(b"From ") else {
        return false;
    };
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        return false;
    };
    let next = &rest[nl + 1..];
    let line = next.split(|&b| b == b'\n').next().unwrap_or_default();
    mail::header_name(line).is_some()
}

/// One message being gathered.
#[derive(Default)]
struct Message {
    n: u64,
    bytes: Vec<u8>,
    /// Over the size limit: dropped.
    over: bool,
}

/// Reads each message of the mailbox `r`, found at `chain`; messages are
/// `depth` containers deep.
pub fn read(nest: &mut Nest, r: impl Read, chain: &str, depth: u32) -> io::Result<()> {
    let mut r = BufReader::with_capacity(64 << 10, r);
    let mut msg = Message::default();
    let mut line = Vec::new();
    let mut line_start = true;
    loop {
        line.clear();
        let got = (&mut r).take(LINE_MAX).read_until(b'\n', &mut line)?;
        let starts = line_start && line.starts_with(b"From ");
        let after_blank = msg.bytes.is_empty()
            || msg.bytes.ends_with(b"\n\n")
            || msg.bytes.ends_with(b"\r\n\r\n");
        if got == 0 || (starts && (msg.n == 0 || after_blank || msg.over)) {
            if msg.n > 0 && !one(nest, &msg, chain, depth)? {
                return Ok(());
            }
            if got == 0 {
                return Ok(());
            }
            msg = Message {
                n: msg.n + 1,
                ..Message::default()
            };
        } else if msg.n > 0 && !msg.over {
            let from = line.iter().position(|&b| b != b'>').unwrap_or(0);
            let quoted = line_start && from > 0 && line[from..].starts_with(b"From ");
            msg.bytes
                .extend_from_slice(if quoted { &line[1..] } else { &line });
            if msg.bytes.len() > mail::MAX_MESSAGE {
                msg.over = true;
                msg.bytes = Vec::new();
            }
        }
        line_start = line.ends_with(b"\n");
    }
}

/// Reads one message; false when no more should be read.
fn one(nest: &mut Nest, msg: &Message, chain: &str, depth: u32) -> io::Result<bool> {
    let name = join(chain, &msg.n.to_string());
    if !nest.entry(&name) {
        return Ok(false);
    }
    if msg.over {
        nest.skip(
            &name,
            &format!("message larger than {} MiB", mail::MAX_MESSAGE >> 20),
        );
    } else if depth >= nest.limits.max_depth {
        let why = format!(
            "container nested deeper than --max-depth {}",
            nest.limits.max_depth
        );
        nest.skip(&name, &why);
    } else {
        mail::parts(nest, &msg.bytes, &name, depth)?;
    }
    if nest.guard.spent() {
        nest.note_limits(chain);
        return Ok(false);
    }
    Ok(true)
}
