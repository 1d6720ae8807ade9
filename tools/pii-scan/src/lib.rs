//! `pii-scan`: the offline detector. Reads FsEvent records on stdin (or
//! takes paths), scans the files they are about with the `detect` engine
//! and writes Finding records, the same ones nf-webhook emits.

mod pool;
mod scan;
mod state;
mod talk;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use detect::{Engine, StreamOptions};
use dlp_record::{Confidence, EventType, Finding, FsEvent};
use dlp_runtime::ndjson::{Line, LineReader};
use dlp_runtime::{signals, ExitCode, RecordWriter};
use state::Tracker;

pub use scan::{scan_file, Event, Limits, Report};

const TOOL: &str = "pii-scan";

const LONG_ABOUT: &str = "\
Scan files for PII and secrets offline and write Finding records (NDJSON).

With no PATH, reads FsEvent records (fswatch-json's output) on stdin and
scans the file each created, modified, moved or closed event is about;
deleted events, directories, FIFOs, devices, vanished and unreadable files
are skipped with a line on stderr (routine skips, such as directories and
deleted files, only with -v). With PATHs, scans those files and
directories recursively (progress on stderr when it is a terminal); with
--files-from FILE, those listed in FILE (- for stdin), one per line or,
with -0, NUL-separated.

With --state FILE, each finding is reported once: a file whose content did
not change since its last scan is not scanned again; a changed file yields
only findings that were not in it before (\"status\":\"new\"); findings
edited out, and those of a file deleted or moved away, come back as
\"status\":\"resolved\" records (detector, path, last line; the text is not
kept). Findings inside containers are tracked as part of the outer file,
by their archive_path. FILE keeps per file its sha256 and, per finding,
its detector, a keyed hash of its text and its occurrence number; the key
is FILE.key (mode 0600). --reset-state starts over from an empty state:
once FILE is locked, FILE and FILE.key are removed (a FILE that is not a
finding state, or a directory, is refused and nothing is removed), so every
finding is reported as new again.

Detection follows Nightfall's detection-rule JSON (--rules; an array of
rules, {\"detectionRules\":[...]} or {\"policy\":{\"detectionRules\":[...]}}).
The default rule is the endpoint-DLP tutorial's (CREDIT_CARD_NUMBER,
US_SOCIAL_SECURITY_NUMBER, API_KEY at LIKELY) plus CRYPTOGRAPHIC_KEY.
Built-in detectors: {detectors} (ALL = every one); REGEX and WORD_LIST detectors, contextRules and exclusionRules work as on the API.

Containers are opened inside one another to --max-depth levels: gzip, zip,
tar, tar.gz/tgz, mail (.eml and mbox: bodies, and each attachment as a
member, inbox.mbox!2!cards.csv), and the text of docx, xlsx, pptx, odt, ods
and odp (sheets as tables under their header row). archive_path is the
chain of members (inner.zip!deep/note.txt). PDF text is read with
pdftotext (Debian: poppler-utils), each finding with its page; images
(PNG, JPEG, TIFF, BMP, WebP) and PDF pages without text are read by OCR
with Tesseract (tesseract-ocr, tesseract-ocr-eng) as --ocr says, and their
findings carry ocr_confidence (and a lower confidence when the characters
were poorly recognised). These programs run sandboxed (no shell, empty
environment, input on stdin, time, memory and output limits, no network);
a missing one skips the file with a note naming its package. RTF and HTML
are read as their text. Bomb guards count across the whole nest of one
file (--max-decompressed bytes, --max-entries members, --file-timeout).
Every member skipped (binary, too deep, larger than --max-size, encrypted,
corrupt, an image over the OCR limits) gets a note on stderr naming its
chain; a corrupt member also makes the exit status 1. Large files are
streamed in windows.

UTF-16 text (little or big endian, with a byte-order mark or recognised by
its zero bytes) and Latin-1/Windows-1252 text (not valid UTF-8) are decoded
and scanned; byte_range is in the file's own bytes, codepoint_range counts
UTF-16 code units.

Memory is bounded, whatever the size of the files or their number of
findings: findings are written as they are found (each file's in order,
files in input order), and a job holds one 8 MiB window plus 100 KiB of
overlap (a file split across N threads: one of N x 8 MiB, then two of
N x 4 MiB). Peak RSS is about 20 MB plus 10 MB per job (-j), under 64 MB
at -j 2 (a 60 MiB CSV with a card, an SSN and an email on every row:
31 MB at -j 1, 53 MB at -j 2; 1 GiB of it at -j 2: 54 MB). A rule that needs several
findings (minNumFindings > 1, ALL) holds its findings until it fires, at
most 10,000 per file for an ALL rule (more are reported on stderr).

Exit status: 0 ok; 1 some input was malformed or unreadable, or a file
failed (an internal error is reported as `PATH: failed: ...` and the scan
goes on with the next file); 2 usage, configuration or fatal error.

Examples:
  fswatch-json ~/Documents | pii-scan | findings-csv >> results.csv
  pii-scan ~/Downloads ~/Desktop > findings.ndjson
  find /srv/share -name '*.csv' -print0 | pii-scan --files-from - -0 --max-size 500M
  pii-scan --detector ALL --min-confidence POSSIBLE notes.txt
  pii-scan --rules rules.json --context-bytes 20 -j 2 /srv/share
  fswatch-json --state base.state ~/Documents | pii-scan --state pii.state";

/// Width of the long help's lines.
const HELP_WIDTH: usize = 78;

/// [`LONG_ABOUT`] with its `{detectors}` line filled from `detect`'s
/// detector table and wrapped to [`HELP_WIDTH`].
fn long_about() -> String {
    let names: Vec<&str> = detect::Kind::all().map(detect::Kind::name).collect();
    let lines: Vec<String> = LONG_ABOUT
        .lines()
        .map(|l| {
            if l.contains("{detectors}") {
                wrap(&l.replace("{detectors}", &names.join(", ")), HELP_WIDTH)
            } else {
                l.to_owned()
            }
        })
        .collect();
    lines.join("\n")
}

/// `text` broken at spaces into lines of at most `width` characters (a
/// longer word keeps a line of its own).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = TOOL, version, about = "Scan files for PII and secrets offline; write Finding records", long_about = long_about())]
pub struct Cli {
    /// Files or directories to scan (default: FsEvent records on stdin)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan the files and directories listed in FILE, one per line (- = stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub files_from: Option<PathBuf>,
    /// With --files-from: paths are separated by NUL bytes (find -print0)
    #[arg(short = '0', long, requires = "files_from")]
    pub null: bool,
    /// Nightfall detection-rule JSON file
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Built-in detector to run (repeatable or comma-separated; ALL = every one)
    #[arg(long, value_name = "NAME", value_delimiter = ',', ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(
              detect::Kind::all().map(|k| k.name()).chain(["ALL"])))]
    pub detector: Vec<String>,
    /// Minimum confidence for --detector and the default rule [default: LIKELY]
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true)]
    pub min_confidence: Option<Confidence>,
    /// Bytes of context before and after each finding
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub context_bytes: usize,
    /// Skip files larger than this (e.g. 500M, 2G, 64K; bare number: bytes)
    #[arg(long, value_name = "SIZE", value_parser = dlp_runtime::units::size)]
    pub max_size: Option<u64>,
    /// Stop decompressing one file (across all its nested containers) after this much (e.g. 1G, 500M; bare number: bytes)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = dlp_runtime::units::size)]
    pub max_decompressed: u64,
    /// Stop after this many archive members in one file (across all its nested containers)
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_entries: u64,
    /// Containers opened inside one another (a zip in a zip is 2; a mail attachment is one level below its message)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_depth: u32,
    /// Time one file's extraction may take (PDF text, OCR, archives): the rest of it is not scanned, with a note (e.g. 30s, 5m; bare number: seconds; 0: no limit)
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = dlp_runtime::units::secs)]
    pub file_timeout: Duration,
    /// Read images and PDF pages without text by OCR (Tesseract): auto (images up to 20 MiB and 40 megapixels, 20 text-less pages a PDF), always, never
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = OcrWhen::Auto, ignore_case = true)]
    pub ocr: OcrWhen,
    /// Treat a malformed input line as fatal (exit 2)
    #[arg(long)]
    pub strict: bool,
    /// Threads: files scanned in parallel, and the windows of a file of 4 MiB or more split among them (default: all cores)
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep finding state in FILE: report each finding once, and resolved ones
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// With --state: start over from an empty finding state (removes FILE and FILE.key first)
    #[arg(long, requires = "state")]
    pub reset_state: bool,
    /// Only errors on stderr (no skip notes)
    #[arg(short = 'q', long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// List every skipped file on stderr (by default expected skips, such as binary files, are counted in one line at the end)
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Also say each record written in one line on stderr (new, resolved; file, detector, line), and a count at the end
    #[arg(long)]
    pub announce: bool,
    #[command(flatten)]
    pub host: dlp_runtime::cli::HostArg,
}

/// When OCR runs (`--ocr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OcrWhen {
    Auto,
    Always,
    Never,
}

/// Builds the engine the flags describe, and the lowest confidence any of
/// its rules reports.
pub fn build_engine(cli: &Cli) -> anyhow::Result<(Engine, Confidence)> {
    let min = cli.min_confidence.unwrap_or(Confidence::Likely);
    let mut rules = match &cli.rules {
        Some(p) => detect::load_rules(p)?,
        None => Vec::new(),
    };
    if !cli.detector.is_empty() {
        rules.extend(detect::shorthand_rules(&cli.detector, min)?);
    } else if rules.is_empty() {
        let mut d = detect::default_rules();
        for det in d.iter_mut().flat_map(|r| r.detectors.iter_mut()) {
            det.min_confidence = Some(min);
        }
        rules = d;
    }
    for w in detect::rule_warnings(&rules) {
        eprintln!("{TOOL}: warning: {w}");
    }
    let floor = rules
        .iter()
        .flat_map(|r| &r.detectors)
        .map(|d| d.min_confidence.unwrap_or(Confidence::Likely))
        .min()
        .unwrap_or(min);
    let engine = Engine::new(&rules)?.with_context_bytes(cli.context_bytes);
    Ok((engine, floor))
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point for the binary.
pub fn main() -> std::process::ExitCode {
    dlp_runtime::run_main(TOOL, || {
        let cli: Cli = dlp_runtime::cli::parse(TOOL, command());
        run(&cli)
    })
}

/// Runs the tool.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    cli.host.apply();
    let (engine, floor) = build_engine(cli)?;
    let engine = Arc::new(engine);
    let jobs = cli
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let limits = Limits {
        extract: extract::Limits {
            max_size: cli.max_size,
            max_decompressed: cli.max_decompressed,
            max_entries: cli.max_entries,
            max_depth: cli.max_depth,
            file_time: Some(cli.file_timeout).filter(|t| !t.is_zero()),
            ocr: match cli.ocr {
                OcrWhen::Auto => extract::Ocr::Auto,
                OcrWhen::Always => extract::Ocr::Always,
                OcrWhen::Never => extract::Ocr::Never,
            },
        },
        // A large file is split across the workers (the pool's other
        // workers are idle when one large file is all there is).
        stream: StreamOptions {
            threads: jobs,
            ..StreamOptions::default()
        },
        floor,
    };
    let tracker = cli
        .state
        .as_deref()
        .map(|p| Tracker::open(p, cli.reset_state))
        .transpose()?
        .map(Rc::new);
    signals::install().context("installing signal handlers")?;
    // The writer looks at each finding only to track it or announce it.
    let delivery = if tracker.is_none() && !cli.announce {
        scan::Delivery::Lines
    } else {
        scan::Delivery::Records
    };
    let mut pool = pool::Ordered::new(engine, limits, delivery, jobs);
    let mut out = RecordWriter::stdout();
    let sweep = tracker.as_ref().map(|t| t.sweep()).unwrap_or_default();
    let mut state = Emit {
        rejected: false,
        progress: Progress::new(!cli.paths.is_empty() || cli.files_from.is_some()),
        verbosity: match (cli.quiet, cli.verbose) {
            (true, _) => 0,
            (_, true) => 2,
            _ => 1,
        },
        tracker,
        current: None,
        last_save: Instant::now(),
        tally: talk::Tally::default(),
        announce: cli.announce.then(talk::Announce::default),
    };
    if state.verbosity > 1 && !extract::network_isolated() {
        eprintln!("{TOOL}: note: pdftotext, pdftoppm and tesseract run with this machine's network: no network namespace may be made here (unshare --net)");
    }
    for f in &sweep {
        state.put(&mut out, f)?;
    }
    let result = match &cli.files_from {
        Some(list) => files_from(list, cli.null, &mut pool, &mut out, &mut state),
        None if cli.paths.is_empty() => events(cli, &mut pool, &mut out, &mut state),
        None => paths(
            cli.paths.iter().cloned().map(Ok),
            &mut pool,
            &mut out,
            &mut state,
        ),
    };
    state.progress.finish();
    pool.close();
    result?;
    out.flush()?;
    state.save()?;
    state.finish();
    Ok(ExitCode::from_rejected(state.rejected))
}

struct Emit {
    rejected: bool,
    progress: Progress,
    /// 0 quiet (errors only), 1 default (no routine skips), 2 verbose.
    verbosity: u8,
    tracker: Option<Rc<Tracker>>,
    /// With --state: the file whose events are being released.
    current: Option<state::FileScan>,
    last_save: Instant,
    /// Expected skips, counted (said in one line at the end).
    tally: talk::Tally,
    /// `--announce`.
    announce: Option<talk::Announce>,
}

impl Emit {
    /// Writes one record (and says it with --announce).
    fn put<W: Write>(&mut self, out: &mut RecordWriter<W>, f: &Finding) -> anyhow::Result<()> {
        out.finding(f)?;
        if let Some(a) = self.announce.as_mut() {
            self.progress.clear();
            eprintln!("{TOOL}: {}", a.line(f));
        }
        Ok(())
    }

    /// The closing lines on stderr: the tally of expected skips (unless
    /// -q or -v) and, with --announce, what was written.
    fn finish(&mut self) {
        if self.verbosity == 1 {
            if let Some(l) = self.tally.line() {
                eprintln!("{TOOL}: {l}");
            }
        }
        if let Some(l) = self.announce.as_ref().and_then(talk::Announce::summary) {
            eprintln!("{TOOL}: {l}");
        }
    }

    /// Saves the finding state, if kept (after the output was flushed).
    fn save(&mut self) -> anyhow::Result<()> {
        self.last_save = Instant::now();
        self.tracker.as_ref().map_or(Ok(()), |t| t.save())
    }

    /// During long runs without a pause (a big initial scan), flushes and
    /// saves every few seconds, so a crash repeats little.
    fn save_now_and_then<W: Write>(&mut self, out: &mut RecordWriter<W>) -> anyhow::Result<()> {
        if self.tracker.is_some() && self.last_save.elapsed() >= Duration::from_secs(10) {
            out.flush()?;
            self.save()?;
        }
        Ok(())
    }

    /// Submits a file: hashed first with --state.
    fn submit(
        tracker: Option<&Tracker>,
        pool: &mut pool::Ordered,
        path: PathBuf,
        source: scan::Origin,
    ) {
        let hashing = tracker.map_or(pool::Hashing::No, |t| t.hashing(&path));
        pool.submit(path, source, hashing);
    }

    fn note(&mut self, msg: &str, rejected: bool, routine: bool) {
        if let Some(f) = self.current.as_mut().filter(|_| rejected) {
            f.incomplete();
        }
        self.rejected |= rejected;
        let show = rejected
            || self.verbosity > 1
            || (self.verbosity == 1 && !self.tally.count(msg, routine));
        if show {
            self.progress.clear();
            eprintln!("{TOOL}: {msg}");
        }
    }

    fn sink<'a, W: Write>(
        &'a mut self,
        out: &'a mut RecordWriter<W>,
    ) -> impl FnMut(Event) -> anyhow::Result<()> + 'a {
        move |e: Event| {
            match e {
                Event::Finding(mut f) => {
                    if let Some(file) = &mut self.current {
                        if !file.keep(&mut f) {
                            return Ok(());
                        }
                    }
                    self.put(out, &f)?;
                    self.progress.found(1);
                }
                Event::Lines { bytes, count } => {
                    out.raw(&bytes)?;
                    self.progress.found(count);
                }
                Event::Note {
                    msg,
                    rejected,
                    routine,
                } => self.note(&msg, rejected, routine),
                Event::Hashed {
                    path,
                    sha256,
                    unchanged,
                } => {
                    if unchanged {
                        let msg = format!("{}: unchanged since the last scan", path.display());
                        self.note(&msg, false, true);
                    }
                    if let Some(t) = &self.tracker {
                        self.current = Some(t.begin(path, sha256, unchanged));
                    }
                }
                Event::Gone(path) => {
                    if let Some(t) = self.tracker.clone() {
                        for f in t.gone(&path) {
                            self.put(out, &f)?;
                        }
                    }
                }
                Event::Done { bytes } => {
                    if let (Some(t), Some(file)) = (self.tracker.clone(), self.current.take()) {
                        for f in t.end(file) {
                            self.put(out, &f)?;
                        }
                    }
                    self.progress.add(bytes);
                }
            }
            Ok(())
        }
    }
}

fn events<W: Write>(
    cli: &Cli,
    pool: &mut pool::Ordered,
    out: &mut RecordWriter<W>,
    st: &mut Emit,
) -> anyhow::Result<()> {
    let mut reader = LineReader::new(std::io::stdin().lock());
    let tracker = st.tracker.clone();
    loop {
        let idle = if reader.pending() {
            None
        } else {
            // About to block: release everything and flush first.
            pool.release(true, &mut st.sink(out))?;
            out.flush()?;
            st.save()?;
            match signals::idle() {
                Some(g) => Some(g),
                None => break,
            }
        };
        let line = {
            let _idle = idle;
            match reader.next_line().context("reading input")? {
                Some(Line::Text(t)) => Ok(t.to_vec()),
                Some(Line::TooLong(n)) => {
                    Err(format!("line of {n} bytes exceeds the line-length limit"))
                }
                None => break,
            }
        };
        let n = reader.line_no();
        match line.and_then(|t| parse_event(&t)) {
            Ok(None) => {}
            Ok(Some(ev)) => submit_event(ev, pool, tracker.as_deref()),
            Err(why) => {
                if cli.strict {
                    pool.release(true, &mut st.sink(out))?;
                    out.flush()?;
                    bail!("line {n}: {why}");
                }
                pool.submit_note(format!("line {n}: {why}"), true);
            }
        }
        pool.release(false, &mut st.sink(out))?;
        st.save_now_and_then(out)?;
        if signals::requested() {
            break;
        }
    }
    pool.release(true, &mut st.sink(out))
}

fn parse_event(t: &[u8]) -> Result<Option<FsEvent>, String> {
    if t.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<FsEvent>(t)
        .map(Some)
        .map_err(|e| format!("not an FsEvent record: {e}"))
}

/// A note on a routine skip (a directory, a deleted file).
fn routine(msg: String) -> Event {
    Event::Note {
        msg,
        rejected: false,
        routine: true,
    }
}

fn submit_event(ev: FsEvent, pool: &mut pool::Ordered, tracker: Option<&Tracker>) {
    let path = ev.subject();
    if ev.event_type == EventType::Moved && tracker.is_some() {
        // What the source path held has moved away from it.
        let src = dlp_record::path_from_field(&ev.src_path, ev.src_path_b64.as_deref());
        pool.submit_events(vec![Event::Gone(src)]);
    }
    match ev.event_type {
        t if t.may_have_new_content() => {
            if ev.is_directory {
                pool.submit_events(vec![routine(format!(
                    "{}: skipped: directory",
                    path.display()
                ))]);
            } else {
                let source = scan::Origin {
                    sha256: ev.sha256,
                    removable: ev.removable,
                    copied_from: ev.copied_from,
                };
                Emit::submit(tracker, pool, path, source);
            }
        }
        EventType::Deleted => {
            let mut events = vec![routine(format!("{}: skipped: deleted", path.display()))];
            if tracker.is_some() {
                events.push(Event::Gone(path));
            }
            pool.submit_events(events);
        }
        EventType::Overflow => {
            // The hook cannot fail, so neither can the walk.
            let _ = walk(&path, pool, tracker, |_| Ok(false));
        }
        _ => {}
    }
}

/// Submits every regular file under `root` (symlinks are not followed),
/// in name order; unreadable entries become notes. `after_each` runs after
/// each entry and returns true to stop early.
fn walk(
    root: &Path,
    pool: &mut pool::Ordered,
    tracker: Option<&Tracker>,
    mut after_each: impl FnMut(&mut pool::Ordered) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                Emit::submit(tracker, pool, e.into_path(), Default::default())
            }
            Ok(_) => {}
            Err(err) => {
                let p = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let why = err
                    .io_error()
                    .map_or_else(|| err.to_string(), ToString::to_string);
                pool.submit_note(format!("{p}: unreadable: {why}"), true);
            }
        }
        if after_each(pool)? {
            break;
        }
    }
    Ok(())
}

/// Scans the paths listed in `list` (`-`: stdin), one per line or, with
/// `nul`, NUL-separated; empty entries are ignored.
fn files_from<W: Write>(
    list: &Path,
    nul: bool,
    pool: &mut pool::Ordered,
    out: &mut RecordWriter<W>,
    st: &mut Emit,
) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let sep = if nul { b'\0' } else { b'\n' };
    let input =
        dlp_runtime::cli::Inputs::open_with(std::slice::from_ref(&list.to_path_buf()), sep)?;
    let mut reader = LineReader::new(input).with_terminator(sep);
    let mut failed = None;
    let entries = std::iter::from_fn(|| loop {
        match reader.next_line() {
            Ok(Some(Line::Text([]))) => continue,
            Ok(Some(Line::Text(t))) => {
                return Some(Ok(PathBuf::from(std::ffi::OsStr::from_bytes(t))))
            }
            Ok(Some(Line::TooLong(n))) => {
                return Some(Err(format!(
                    "--files-from: a path of {n} bytes is too long"
                )))
            }
            Ok(None) => return None,
            Err(e) => {
                failed = Some(e);
                return None;
            }
        }
    });
    paths(entries, pool, out, st)?;
    match failed {
        Some(e) => Err(e).with_context(|| format!("reading --files-from {}", list.display())),
        None => Ok(()),
    }
}

/// Scans each root: a file, or a directory walked recursively; an `Err`
/// entry is reported in its place.
fn paths<W: Write>(
    roots: impl IntoIterator<Item = Result<PathBuf, String>>,
    pool: &mut pool::Ordered,
    out: &mut RecordWriter<W>,
    st: &mut Emit,
) -> anyhow::Result<()> {
    let tracker = st.tracker.clone();
    let tracker = tracker.as_deref();
    for root in roots {
        let root = match root {
            Ok(r) => r,
            Err(why) => {
                pool.submit_note(why, true);
                continue;
            }
        };
        let root = &root;
        match std::fs::symlink_metadata(root) {
            Err(e) => pool.submit_note(format!("{}: {e}", root.display()), true),
            Ok(m) if m.is_dir() => {
                let mut stopped = false;
                walk(root, pool, tracker, |pool| {
                    pool.release(false, &mut st.sink(out))?;
                    st.save_now_and_then(out)?;
                    stopped = signals::requested();
                    Ok(stopped)
                })?;
                if stopped {
                    return pool.release(true, &mut st.sink(out));
                }
            }
            Ok(_) => Emit::submit(tracker, pool, root.clone(), Default::default()),
        }
        pool.release(false, &mut st.sink(out))?;
    }
    pool.release(true, &mut st.sink(out))
}

/// A one-line progress display on stderr when it is a terminal.
struct Progress {
    on: bool,
    files: u64,
    bytes: u64,
    findings: u64,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(wanted: bool) -> Self {
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
            files: 0,
            bytes: 0,
            findings: 0,
            last: Instant::now(),
            shown: false,
        }
    }

    fn found(&mut self, n: u64) {
        self.findings += n;
    }

    fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
        if self.on && self.last.elapsed() > Duration::from_millis(200) {
            self.last = Instant::now();
            eprint!(
                "\r{TOOL}: {} files, {:.1} MB, {} findings ",
                self.files,
                self.bytes as f64 / 1e6,
                self.findings
            );
            self.shown = true;
        }
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }

    fn finish(&mut self) {
        if self.on {
            self.clear();
            eprintln!(
                "{TOOL}: {} files, {:.1} MB, {} findings",
                self.files,
                self.bytes as f64 / 1e6,
                self.findings
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn long_help_lists_every_builtin_detector() {
        let help = Cli::command().render_long_help().to_string();
        let listed = help
            .split("Built-in detectors: ")
            .nth(1)
            .and_then(|rest| rest.split(" (ALL = every one)").next())
            .expect("the detector list is in the long help");
        let names: Vec<&str> = detect::Kind::all().map(detect::Kind::name).collect();
        assert_eq!(
            listed.split_whitespace().collect::<Vec<_>>().join(" "),
            names.join(", ")
        );
        assert!(help.contains("as on the API."), "{help}");
        assert!(!help.contains("{detectors}"), "{help}");
        let about = long_about();
        let start = about.find("Built-in detectors: ").unwrap();
        let end = start + about[start..].find("as on the API.").unwrap();
        for line in about[start..end].lines() {
            assert!(line.len() <= HELP_WIDTH, "{line}");
        }
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        assert_eq!(wrap("aa bb cc", 5), "aa bb\ncc");
        assert_eq!(wrap("aa bb cc", 8), "aa bb cc");
        assert_eq!(wrap("aaaaaaa bb", 4), "aaaaaaa\nbb");
    }
}
