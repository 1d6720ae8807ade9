//! The delivery thread: spool entries to the endpoint, oldest first.
//!
//! Every batch is already durably in the spool when it gets here, and is
//! removed only after a 2xx, after being split in two (413), or after being
//! moved to the dead-letter directory, so a crash at any point loses
//! nothing; a batch sent just before a crash may be sent once more after
//! the restart (at-least-once). Batches go out strictly in order: while the
//! head batch is being retried, the rest wait behind it on disk and the
//! reading thread goes on filling the spool; the halves of a split batch
//! take its place (their keys sort right after it).
//!
//! A batch is stored as its records' lines and rendered only when sent,
//! so the memory a batch costs while waiting is its input size; sending
//! one holds its lines and its body (about twice its size), and no parsed
//! JSON for the raw format.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use dlp_core::backoff::Backoff;
use dlp_core::spool::Spool;

use crate::cli::Config;
use crate::http::{Outcome, Poster};
use crate::render::{Item, Renderer};
use crate::report::{self, Delivery, Out};

/// Messages from the main loop.
pub enum Ctl {
    /// A new batch was spooled under this key.
    New(String),
    /// No more batches: deliver what is queued until this deadline, then stop.
    Drain(Instant),
}

/// What the thread did.
#[derive(Debug, Default)]
pub struct Report {
    pub failed_batches: u64,
    pub left_batches: u64,
    pub left_records: u64,
}

/// Spool entry layout: a JSON header line `{"lines":true}`, then each
/// record's line followed by a newline. (Entries written by earlier
/// versions hold `{"records":N}` and the rendered body; they are still
/// sent, but cannot be split.)
pub fn lines_header() -> Vec<u8> {
    b"{\"lines\":true}\n".to_vec()
}

/// A decoded entry: the record count, whether the rest is record lines,
/// and where the rest starts.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    records: u64,
    lines: bool,
    start: usize,
}

fn decode_head(data: &[u8]) -> Option<Head> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let head: serde_json::Value = serde_json::from_slice(&data[..nl]).ok()?;
    let lines = head.get("lines").and_then(serde_json::Value::as_bool) == Some(true);
    let records = match head.get("records") {
        Some(n) => n.as_u64()?,
        None if lines => split_lines(&data[nl + 1..]).len() as u64,
        None => return None,
    };
    Some(Head {
        records,
        lines,
        start: nl + 1,
    })
}

fn split_lines(rest: &[u8]) -> Vec<&[u8]> {
    rest.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

/// The raw format's body read line by line straight into place: the
/// record itself when not batching, else a JSON array (what `Renderer`
/// makes for raw). Returns the record count (0: no record) and the body.
fn read_raw_body(
    r: &mut impl std::io::BufRead,
    capacity: usize,
    batching: bool,
) -> std::io::Result<(u64, Vec<u8>)> {
    let mut body = Vec::with_capacity(capacity + 2);
    body.push(b'[');
    let mut n = 0u64;
    loop {
        let at = body.len();
        if r.read_until(b'\n', &mut body)? == 0 {
            break;
        }
        if body.last() == Some(&b'\n') {
            body.pop();
        }
        if body.len() == at {
            continue;
        }
        body.push(b',');
        n += 1;
    }
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    body.pop();
    if n == 1 && !batching {
        body.remove(0);
    } else {
        body.push(b']');
    }
    Ok((n, body))
}

/// How batches are rendered and when they are given up.
pub struct Settings {
    pub renderer: Renderer,
    pub raw: bool,
    pub batching: bool,
    pub shown_url: String,
    pub max_backoff: Duration,
    pub dead_letter_after: Duration,
}

impl Settings {
    /// From the validated configuration.
    pub fn from_config(cfg: &Config) -> Self {
        Settings {
            renderer: cfg.renderer.clone(),
            raw: cfg.raw,
            batching: cfg.batch > 1,
            shown_url: cfg.shown_url.clone(),
            max_backoff: cfg.max_backoff,
            dead_letter_after: cfg.dead_letter_after,
        }
    }

    /// The body of a non-raw format (records parsed for the renderer).
    fn body(&self, lines: &[&[u8]]) -> Vec<u8> {
        let items: Vec<Item> = lines
            .iter()
            .map(|l| Item {
                raw: l.to_vec(),
                value: serde_json::from_slice(l).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        self.renderer.body(&items)
    }
}

/// Name of the dead-letter directory inside the spool.
pub const DEAD_LETTER: &str = "dead-letter";

struct Worker {
    spool: Spool,
    poster: Poster,
    out: Arc<Out>,
    rx: Receiver<Ctl>,
    queue: VecDeque<String>,
    drain: Option<Instant>,
    set: Settings,
}

/// The delivery thread's running state across attempts.
struct Progress {
    report: Report,
    backoff: Backoff,
    /// Batches already logged as spooled (logged once, not per retry).
    announced: HashSet<String>,
    /// Attempts on the current queue front.
    attempts: u32,
    /// The endpoint is failing (said once, and once when it is back).
    down: bool,
}

impl Progress {
    /// The queue front is done with (delivered, dead-lettered or split).
    fn settled(&mut self, key: &str) {
        self.announced.remove(key);
        self.attempts = 0;
        self.backoff.reset();
    }
}

/// What comes after an attempt.
enum Next {
    /// The batch is done with: next one.
    Settled,
    /// The batch was replaced by its two halves at the queue front.
    Split,
    /// Retry the same batch after this delay.
    Retry(Duration),
}

/// Starts the thread with the keys already pending in the spool.
pub fn spawn(
    spool: Spool,
    poster: Poster,
    out: Arc<Out>,
    pending: Vec<String>,
    set: Settings,
) -> (Sender<Ctl>, JoinHandle<Report>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let w = Worker {
        spool,
        poster,
        out,
        rx,
        queue: pending.into(),
        drain: None,
        set,
    };
    let h = std::thread::Builder::new()
        .name("delivery".into())
        .spawn(move || w.run())
        .expect("spawning delivery thread");
    (tx, h)
}

impl Worker {
    fn handle(&mut self, m: Ctl) {
        match m {
            Ctl::New(k) => self.queue.push_back(k),
            Ctl::Drain(d) => self.drain = Some(self.drain.map_or(d, |old| old.min(d))),
        }
    }

    /// Waits until `until`, taking control messages; false when the drain
    /// deadline comes first (time to stop).
    fn wait_until(&mut self, until: Instant) -> bool {
        loop {
            if self.drain.is_some_and(|d| until > d) {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            match self.rx.recv_timeout(left) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => {
                    // The main loop is gone without a Drain: stop now.
                    self.drain = Some(Instant::now());
                }
            }
        }
    }

    /// Delivers the queue front to back until it is empty after a drain
    /// request, or the drain deadline passes; then reports what is left.
    fn run(mut self) -> Report {
        let mut st = Progress {
            report: Report::default(),
            backoff: Backoff::new(Duration::from_millis(250), self.set.max_backoff),
            announced: HashSet::new(),
            attempts: 0,
            down: false,
        };
        while let Some(key) = self.next_key() {
            let Some((head, body)) = self.load_entry(&key) else {
                self.queue.pop_front();
                continue;
            };
            match self.attempt(&key, &head, body, &mut st) {
                Next::Settled => {
                    self.queue.pop_front();
                    st.settled(&key);
                }
                Next::Split => st.settled(&key),
                Next::Retry(delay) => {
                    if !self.wait_until(Instant::now() + delay) {
                        break;
                    }
                }
            }
        }
        self.report_left(st)
    }

    /// The batch to deliver next; `None` when it is time to stop.
    fn next_key(&mut self) -> Option<String> {
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            let Some(key) = self.queue.front().cloned() else {
                if self.drain.is_some() {
                    return None;
                }
                match self.rx.recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => return None,
                }
                continue;
            };
            if self.drain.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            return Some(key);
        }
    }

    /// The entry's head and POST body; `None` (with a note) when it is
    /// corrupt (moved aside), already handled, or unreadable.
    fn load_entry(&self, key: &str) -> Option<(Head, Vec<u8>)> {
        match self.load(key) {
            Ok(Some(loaded)) => Some(loaded),
            Ok(None) => {
                let bad = self.spool.dir().join(format!("{key}.bad"));
                let _ = std::fs::rename(self.spool.dir().join(format!("{key}.entry")), &bad);
                eprintln!(
                    "webhook-post: spool entry {key} is corrupt; moved aside to {}",
                    bad.display()
                );
                None
            }
            // Listed twice (a split interrupted by a crash) and already handled.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                eprintln!("webhook-post: spool entry {key} unreadable ({e}); skipped");
                None
            }
        }
    }

    /// Posts one batch and acts on the outcome: remove it when delivered,
    /// split it when too large, dead-letter it when refused for good or
    /// undeliverable for too long, else retry later.
    fn attempt(&mut self, key: &str, head: &Head, body: Vec<u8>, st: &mut Progress) -> Next {
        let records = head.records;
        st.attempts += 1;
        let t0 = Instant::now();
        let outcome = self.poster.post(&body);
        drop(body);
        let mut rec = Delivery {
            status: "delivered",
            records,
            http_status: None,
            attempts: st.attempts,
            latency_ms: t0.elapsed().as_millis() as u64,
            error: None,
            batch: key,
            dead_letter: None,
        };
        match outcome {
            Outcome::Delivered { status } => {
                if let Err(e) = self.spool.remove(key) {
                    eprintln!("webhook-post: delivered batch {key} but cannot remove it from the spool: {e}");
                }
                if st.down {
                    eprintln!(
                        "webhook-post: {} reachable again; delivering the spool",
                        self.set.shown_url
                    );
                    st.down = false;
                }
                rec.http_status = Some(status);
                report::log(&self.out, &rec.to_value());
                Next::Settled
            }
            Outcome::TooLarge { error } if head.lines && records > 1 => match self.split(key) {
                Ok((a, b)) => {
                    eprintln!(
                        "webhook-post: batch of {records} records too large for {} ({error}); split into {a} + {b}",
                        self.set.shown_url
                    );
                    rec.status = "split";
                    rec.http_status = Some(413);
                    rec.error = Some(&error);
                    report::log(&self.out, &rec.to_value());
                    Next::Split
                }
                Err(e) => {
                    eprintln!("webhook-post: splitting batch {key}: {e}; retrying");
                    Next::Retry(st.backoff.next_delay())
                }
            },
            Outcome::TooLarge { error } => {
                self.give_up(key, records, Some(413), &error, &mut rec, &mut st.report)
            }
            Outcome::Permanent { status, error } => {
                self.give_up(key, records, Some(status), &error, &mut rec, &mut st.report)
            }
            Outcome::Retry {
                status,
                retry_after,
                error,
            } => {
                let age = Spool::key_time(key)
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or_default();
                if age > self.set.dead_letter_after {
                    let why = format!(
                        "{error}; undeliverable for {}s (--dead-letter-after)",
                        age.as_secs()
                    );
                    return self.give_up(key, records, status, &why, &mut rec, &mut st.report);
                }
                if !st.down {
                    eprintln!(
                        "webhook-post: {} unavailable ({error}); batches wait in {} and are retried",
                        self.set.shown_url,
                        self.spool.dir().display()
                    );
                    st.down = true;
                }
                if st.announced.insert(key.to_owned()) {
                    rec.status = "spooled";
                    rec.http_status = status;
                    rec.error = Some(&error);
                    report::log(&self.out, &rec.to_value());
                }
                Next::Retry(retry_after.unwrap_or_else(|| st.backoff.next_delay()))
            }
        }
    }

    /// Counts (and logs as spooled, once) the batches still queued at exit.
    fn report_left(&self, st: Progress) -> Report {
        let Progress {
            mut report,
            announced,
            ..
        } = st;
        for key in &self.queue {
            let records = self
                .spool
                .read(key)
                .ok()
                .and_then(|d| decode_head(&d).map(|h| h.records))
                .unwrap_or(0);
            report.left_batches += 1;
            report.left_records += records;
            if !announced.contains(key) {
                let rec = Delivery {
                    status: "spooled",
                    records,
                    http_status: None,
                    attempts: 0,
                    latency_ms: 0,
                    error: None,
                    batch: key,
                    dead_letter: None,
                };
                report::log(&self.out, &rec.to_value());
            }
        }
        report
    }

    /// Reads an entry and renders its POST body; `None` when corrupt. The
    /// raw format's body is built straight from the file, so sending a
    /// batch holds little more than its body.
    fn load(&self, key: &str) -> std::io::Result<Option<(Head, Vec<u8>)>> {
        use std::io::{BufRead, Read};
        let file = self.spool.open_entry(key)?;
        let size = file.metadata()?.len() as usize;
        let mut r = std::io::BufReader::with_capacity(64 * 1024, file);
        let mut first = Vec::new();
        r.read_until(b'\n', &mut first)?;
        let Some(mut head) = decode_head(&first) else {
            return Ok(None);
        };
        let rest = size.saturating_sub(first.len());
        if !head.lines {
            let mut body = Vec::with_capacity(rest);
            r.read_to_end(&mut body)?;
            return Ok(Some((head, body)));
        }
        if !self.set.raw {
            let mut data = Vec::with_capacity(rest);
            r.read_to_end(&mut data)?;
            let lines = split_lines(&data);
            head.records = lines.len() as u64;
            let body = self.set.body(&lines);
            return Ok(Some((head, body)));
        }
        let (n, body) = read_raw_body(&mut r, rest, self.set.batching)?;
        if n == 0 {
            return Ok(None);
        }
        head.records = n;
        Ok(Some((head, body)))
    }

    /// Replaces the head batch `key` by its two halves (`key.0`, `key.1`),
    /// which take its place at the front of the queue.
    fn split(&mut self, key: &str) -> std::io::Result<(usize, usize)> {
        let data = self.spool.read(key)?;
        let head = decode_head(&data).ok_or_else(|| std::io::Error::other("corrupt entry"))?;
        let lines = split_lines(&data[head.start..]);
        let half = lines.len() / 2;
        let (k0, k1) = (format!("{key}.0"), format!("{key}.1"));
        for (k, part) in [(&k0, &lines[..half]), (&k1, &lines[half..])] {
            let h = lines_header();
            let mut parts: Vec<&[u8]> = vec![&h];
            for l in part {
                parts.push(l);
                parts.push(b"\n");
            }
            self.spool.put_named(k, &parts)?;
        }
        self.spool.remove(key)?;
        self.queue.pop_front();
        self.queue.retain(|k| *k != k0 && *k != k1);
        self.queue.push_front(k1);
        self.queue.push_front(k0);
        Ok((half, lines.len() - half))
    }

    /// Moves the head batch to the dead-letter directory (its record lines,
    /// or the body of an old-format entry), logs why and reports a `failed`
    /// record. When even that fails the batch stays and is retried.
    fn give_up<'a>(
        &mut self,
        key: &str,
        records: u64,
        status: Option<u16>,
        error: &'a str,
        rec: &mut Delivery<'a>,
        report: &mut Report,
    ) -> Next {
        match self.dead_letter(key) {
            Ok(path) => {
                eprintln!(
                    "webhook-post: batch of {records} records rejected by {}: {error}; kept in {} (re-feed: see --help)",
                    self.set.shown_url,
                    path.display()
                );
                report.failed_batches += 1;
                rec.status = "failed";
                rec.http_status = status;
                rec.error = Some(error);
                rec.dead_letter = Some(path.display().to_string());
                report::log(&self.out, &rec.to_value());
                Next::Settled
            }
            Err(e) => {
                eprintln!(
                    "webhook-post: batch {key} rejected ({error}) but cannot be moved to the dead-letter directory: {e}; it stays in the spool"
                );
                Next::Retry(self.set.max_backoff)
            }
        }
    }

    fn dead_letter(&self, key: &str) -> std::io::Result<std::path::PathBuf> {
        use std::io::Write;
        let data = self.spool.read(key)?;
        let head = decode_head(&data).ok_or_else(|| std::io::Error::other("corrupt entry"))?;
        let dir = self.spool.dir().join(DEAD_LETTER);
        std::fs::create_dir_all(&dir)?;
        let ext = if head.lines { "ndjson" } else { "body" };
        let path = dir.join(format!("{key}.{ext}"));
        let tmp = dir.join(format!("{key}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data[head.start..])?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()?;
        self.spool.remove(key)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_heads_new_and_old() {
        let mut e = lines_header();
        e.extend_from_slice(b"{\"a\":1}\n{\"b\":2}\n");
        let h = decode_head(&e).unwrap();
        assert_eq!((h.records, h.lines), (2, true));
        assert_eq!(
            split_lines(&e[h.start..]),
            [&b"{\"a\":1}"[..], b"{\"b\":2}"]
        );
        let old = b"{\"records\":3}\n[1,2,3]";
        let h = decode_head(old).unwrap();
        assert_eq!(
            (h.records, h.lines, &old[h.start..]),
            (3, false, &b"[1,2,3]"[..])
        );
        assert_eq!(decode_head(b"garbage"), None);
    }

    #[test]
    fn raw_body_is_what_the_renderer_makes() {
        use crate::render::Format;
        let lines: Vec<&[u8]> = vec![b"{\"a\":1}", b"{\"b\":[2]}"];
        let items: Vec<Item> = lines
            .iter()
            .map(|l| Item {
                raw: l.to_vec(),
                value: serde_json::from_slice(l).unwrap(),
            })
            .collect();
        for batching in [false, true] {
            let r = Renderer::new(Format::Raw, batching);
            let mut two = &b"{\"a\":1}\n\n{\"b\":[2]}\n"[..];
            assert_eq!(
                read_raw_body(&mut two, 9, batching).unwrap(),
                (2, r.body(&items))
            );
            let mut one = &b"{\"a\":1}\n"[..];
            assert_eq!(
                read_raw_body(&mut one, 9, batching).unwrap(),
                (1, r.body(&items[..1]))
            );
        }
        assert_eq!(read_raw_body(&mut &b"\n"[..], 1, true).unwrap().0, 0);
    }
}
