//! The record loop on all cores, for filters whose work per line is
//! independent (path-filter, findings-csv).
//!
//! A reader thread cuts the input into blocks at line ends (a block is
//! whatever one read returns, up to 256 KiB, so live pipelines are not
//! delayed); worker threads turn each block into output bytes; the calling
//! thread writes the outputs in input order, reports rejected lines with
//! their exact line numbers, and flushes whenever everything read so far
//! has been written, i.e. when the tool is about to wait for input. The
//! conventions are those of [`crate::for_each_line`], rejected
//! lines included (one [`Rejects`] policy).

use std::io::{self, Read, Write};
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{bounded, RecvTimeoutError};

use crate::exit::ExitCode;
use crate::ndjson::DEFAULT_MAX_LINE;
use crate::pool::Ordered;
use crate::reader::{Reject, Rejects};
use crate::signals;

const BLOCK: usize = 256 * 1024;

/// Per-block work: handle each line, then hand over the block's output.
pub trait Block {
    /// Handles one non-blank line (without its newline).
    fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>>;
    /// The bytes the block's lines produced, in order.
    fn finish(self) -> anyhow::Result<Vec<u8>>;
}

enum Item {
    Data(Vec<u8>),
    TooLong(usize),
}

struct Done {
    out: Vec<u8>,
    lines: u64,
    /// (line index within the block, why)
    rejects: Vec<(u64, String)>,
    fatal: Option<anyhow::Error>,
    /// The worker panicked on this block (the panic's message).
    panicked: Option<String>,
}

/// The message a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Reads `input` into line-aligned blocks until EOF or until the receiver
/// is gone. Lines longer than `max_line` become [`Item::TooLong`]. Blocks
/// are made in buffers the workers hand back through `free` when there
/// are any (a fresh buffer costs page faults and zeroed pages in the
/// kernel, about as much as the read itself).
fn read_blocks(
    mut input: impl Read,
    tx: crossbeam_channel::Sender<io::Result<Item>>,
    free: &crossbeam_channel::Receiver<Vec<u8>>,
    max_line: usize,
) {
    let mut chunk = vec![0u8; BLOCK];
    let mut buf: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    let mut discarding: Option<usize> = None;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(skipped) = discarding {
            match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    let _ = tx.send(Ok(Item::TooLong(skipped + i)));
                    buf.drain(..=i);
                    discarding = None;
                }
                None => {
                    discarding = Some(skipped + buf.len());
                    buf.clear();
                    if n == 0 {
                        let _ = tx.send(Ok(Item::TooLong(skipped)));
                        return;
                    }
                    continue;
                }
            }
        }
        if n == 0 {
            if !buf.is_empty() {
                let _ = tx.send(Ok(Item::Data(std::mem::take(&mut buf))));
            }
            return;
        }
        match memchr::memrchr(b'\n', &buf) {
            Some(i) => {
                let mut next = free
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(2 * BLOCK));
                next.clear();
                next.extend_from_slice(&buf[i + 1..]);
                buf.truncate(i + 1);
                if tx
                    .send(Ok(Item::Data(std::mem::replace(&mut buf, next))))
                    .is_err()
                {
                    return;
                }
            }
            None if buf.len() > max_line => {
                discarding = Some(buf.len());
                buf.clear();
            }
            None => {}
        }
    }
}

/// Runs one block's lines, then hands its buffer back to the reader.
fn run_block<B: Block>(
    item: Item,
    make: &(impl Fn() -> B + Sync),
    strict: bool,
    free: &crossbeam_channel::Sender<Vec<u8>>,
) -> Done {
    let data = match item {
        Item::TooLong(n) => {
            return Done {
                out: Vec::new(),
                lines: 1,
                rejects: vec![(
                    0,
                    format!("line of {n} bytes exceeds the line-length limit"),
                )],
                fatal: None,
                panicked: None,
            }
        }
        Item::Data(d) => d,
    };
    let mut block = make();
    let mut rejects = Vec::new();
    let mut lines = 0u64;
    let mut fatal = None;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        start = end + 1;
        let idx = lines;
        lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match block.line(line) {
            Ok(Ok(())) => {}
            Ok(Err(Reject(why))) => {
                rejects.push((idx, why));
                if strict {
                    break;
                }
            }
            Err(e) => {
                fatal = Some(e);
                break;
            }
        }
    }
    let _ = free.try_send(data);
    match block.finish() {
        Ok(out) => Done {
            out,
            lines,
            rejects,
            fatal,
            panicked: None,
        },
        Err(e) => Done {
            out: Vec::new(),
            lines,
            rejects,
            fatal: Some(fatal.unwrap_or(e)),
            panicked: None,
        },
    }
}

/// Runs `make()`-built blocks over every line of `input` on `jobs` worker
/// threads (a [`crate::pool::Ordered`] pool) and writes their output to
/// `out` in input order.
pub fn par_for_each_line<B: Block>(
    tool: &str,
    input: impl Read + Send + 'static,
    out: &mut impl Write,
    strict: bool,
    jobs: usize,
    make: impl Fn() -> B + Sync,
) -> anyhow::Result<ExitCode> {
    let (read_tx, read_rx) = bounded::<io::Result<Item>>(jobs * 2);
    // Input buffers on their way back to the reader.
    let (free_tx, free_rx) = bounded::<Vec<u8>>(jobs * 2);
    // Detached: a reader blocked on a quiet stdin must not keep a signalled
    // process alive.
    std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || read_blocks(input, read_tx, &free_rx, DEFAULT_MAX_LINE))
        .context("starting the reader thread")?;
    let (make, free) = (&make, &free_tx);
    std::thread::scope(|scope| {
        // A panic becomes its block's fatal error: blocks are written in
        // order, so a block that never arrived would hang the tool.
        let mut pool = Ordered::scoped(scope, "block", jobs, Done::panicked)
            .context("starting worker threads")?;
        let mut writer = Writer {
            out: &mut *out,
            line_base: 0,
            rejects: Rejects::new(tool, strict),
        };
        let mut reading = true;
        let result = (|| -> anyhow::Result<()> {
            while reading || !pool.is_empty() {
                if signals::requested() {
                    break;
                }
                if reading {
                    // Poll briefly while blocks are in flight, so their
                    // output is written as soon as it is ready.
                    let wait = if pool.is_empty() { 100 } else { 1 };
                    match read_rx.recv_timeout(Duration::from_millis(wait)) {
                        Ok(Ok(item)) => pool.submit(move |em| {
                            let _ = em.send(run_block(item, make, strict, free));
                        }),
                        Ok(Err(e)) => return Err(anyhow::Error::new(e).context("reading input")),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => reading = false,
                    }
                }
                pool.release(!reading, &mut |done| writer.accept(done))?;
                if pool.is_empty() {
                    writer.out.flush().context("writing output")?;
                }
            }
            // After a signal: finish the blocks in hand, in order.
            pool.release(true, &mut |done| writer.accept(done))?;
            writer.out.flush().context("writing output")
        })();
        pool.close();
        result.map(|()| writer.rejects.exit_code())
    })
}

impl Done {
    fn panicked(why: String) -> Done {
        Done {
            out: Vec::new(),
            lines: 0,
            rejects: Vec::new(),
            fatal: None,
            panicked: Some(why),
        }
    }
}

/// Writes finished blocks (they arrive in input order) and reports their
/// rejected lines with line numbers counted across blocks.
struct Writer<'a, W: Write> {
    out: &'a mut W,
    line_base: u64,
    rejects: Rejects,
}

impl<W: Write> Writer<'_, W> {
    fn accept(&mut self, done: Done) -> anyhow::Result<()> {
        self.out.write_all(&done.out).context("writing output")?;
        for (idx, why) in &done.rejects {
            if self.rejects.is_strict() {
                // What came before the line is written before the tool stops.
                self.out.flush().context("writing output")?;
            }
            self.rejects.reject(self.line_base + idx + 1, why)?;
        }
        if let Some(why) = done.panicked {
            anyhow::bail!(
                "internal error on the input block from line {}: {why}",
                self.line_base + 1
            );
        }
        if let Some(e) = done.fatal {
            return Err(e);
        }
        self.line_base += done.lines;
        Ok(())
    }
}

/// Worker threads to use: the machine's cores, at most 4 (the writer and
/// the reader need a share too), 1 when only one core is available.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().min(4))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Upper(Vec<u8>);

    impl Block for Upper {
        fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>> {
            if line.starts_with(b"bad") {
                return Ok(Err(Reject("bad line".into())));
            }
            self.0.extend(line.iter().map(u8::to_ascii_uppercase));
            self.0.push(b'\n');
            Ok(Ok(()))
        }
        fn finish(self) -> anyhow::Result<Vec<u8>> {
            Ok(self.0)
        }
    }

    /// A reader that returns at most `n` bytes per read, to force many blocks.
    struct Trickle(Vec<u8>, usize, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = self.1.min(buf.len()).min(self.0.len() - self.2);
            buf[..k].copy_from_slice(&self.0[self.2..self.2 + k]);
            self.2 += k;
            Ok(k)
        }
    }

    #[test]
    fn output_keeps_input_order_across_many_blocks() {
        let mut input = Vec::new();
        for i in 0..20_000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        input.extend_from_slice(b"last without newline");
        let want: Vec<u8> = String::from_utf8_lossy(&input).to_uppercase().into_bytes();
        for chunk in [7, 1000, 1 << 20] {
            let mut out = Vec::new();
            let code = par_for_each_line(
                "t",
                Trickle(input.clone(), chunk, 0),
                &mut out,
                false,
                3,
                || Upper(Vec::new()),
            )
            .unwrap();
            assert_eq!(code, ExitCode::Ok);
            assert_eq!(
                String::from_utf8_lossy(&out).trim_end(),
                String::from_utf8_lossy(&want)
            );
        }
    }

    struct Explode;

    impl Block for Explode {
        fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>> {
            assert!(line != b"boom", "exploded on purpose");
            Ok(Ok(()))
        }
        fn finish(self) -> anyhow::Result<Vec<u8>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_worker_panic_is_an_error_not_a_hang() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let input = b"a\nb\nc\nboom\nd\n".to_vec();
            let mut out = Vec::new();
            let r = par_for_each_line("t", Trickle(input, 4, 0), &mut out, false, 2, || Explode);
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
        let r = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("par_for_each_line returned");
        let err = r.unwrap_err();
        assert!(err.contains("internal error"), "{err}");
        assert!(err.contains("exploded on purpose"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn rejects_keep_their_line_numbers_and_strict_stops() {
        let input = b"a\nbad 1\n\nb\r\nbad 2\nc\n".to_vec();
        let mut out = Vec::new();
        let code = par_for_each_line(
            "t",
            Trickle(input.clone(), 3, 0),
            &mut out,
            false,
            2,
            || Upper(Vec::new()),
        )
        .unwrap();
        assert_eq!(code, ExitCode::Rejected);
        assert_eq!(out, b"A\nB\nC\n");
        let mut out = Vec::new();
        let err = par_for_each_line("t", Trickle(input, 3, 0), &mut out, true, 2, || {
            Upper(Vec::new())
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "line 2: bad line");
        assert_eq!(out, b"A\n");
    }
}
