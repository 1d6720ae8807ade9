//! Command-line conventions every tool shares: clap errors as
//! `tool: error: ...`, `--host`, and FILE operands read in order with `-`
//! for stdin, as `cat` and `jq` do. (The record enums' typed values, so
//! `--help` lists them, are dlp-record's `clap` feature.)

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;

/// Parses the process's arguments with `cmd` (the tool's `command()`).
///
/// `--help` and `--version` print to stdout and exit 0; any other clap
/// error is printed as `tool: error: ...` (with clap's tip and usage lines)
/// and exits with clap's status, 2.
pub fn parse<T: clap::FromArgMatches>(tool: &str, cmd: clap::Command) -> T {
    parse_from(tool, cmd, std::env::args_os())
}

/// [`parse`] over the given arguments (the first is the program name).
fn parse_from<T: clap::FromArgMatches>(
    tool: &str,
    cmd: clap::Command,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> T {
    let mut cmd = cmd;
    match try_parse_from(&mut cmd, args) {
        Ok(t) => t,
        Err(e) if !e.use_stderr() => {
            // --help, --version: clap prints them to stdout.
            let _ = e.print();
            std::process::exit(0)
        }
        Err(e) => {
            eprint!("{}", render(tool, &e));
            std::process::exit(e.exit_code())
        }
    }
}

/// The matches turned into `T`, or clap's error (with the command's usage).
pub fn try_parse_from<T: clap::FromArgMatches>(
    cmd: &mut clap::Command,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<T, clap::Error> {
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    T::from_arg_matches_mut(&mut matches).map_err(|e| e.format(cmd))
}

/// A clap error as the tool prints it: `tool: error: ...` and clap's
/// further lines unchanged.
pub fn render(tool: &str, e: &clap::Error) -> String {
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => text,
        _ => format!("{tool}: {text}"),
    }
}

/// FILE operands read one after the other as one stream; `-` (or no
/// operand at all) is stdin. A file whose last line lacks its terminator
/// (newline, or NUL for `-0` lists) gets one, so its last record does not
/// run into the next file's first.
///
/// Every operand is checked when the reader is made, so a missing or
/// unreadable FILE is reported (`FILE: No such file or directory`) before
/// anything is read; each file is then opened when its turn comes, so any
/// number of them can be named. FIFOs (`<(cmd)`, `mkfifo`) are opened
/// once, when their turn comes.
pub struct Inputs {
    pending: std::vec::IntoIter<PathBuf>,
    current: Option<Box<dyn Read + Send>>,
    terminator: u8,
    /// The last byte read from the current file.
    last: Option<u8>,
}

impl Inputs {
    /// Checks the operands and returns the reader over their lines.
    pub fn open(files: &[PathBuf]) -> anyhow::Result<Self> {
        Self::open_with(files, b'\n')
    }

    /// Like [`Inputs::open`], for records ended by `terminator`.
    pub fn open_with(files: &[PathBuf], terminator: u8) -> anyhow::Result<Self> {
        let files: Vec<PathBuf> = if files.is_empty() {
            vec![PathBuf::from("-")]
        } else {
            files.to_vec()
        };
        for f in files.iter().filter(|f| !is_stdin(f)) {
            let meta = std::fs::metadata(f).map_err(|e| with_path(f, e))?;
            if meta.is_dir() {
                anyhow::bail!("{}: is a directory", f.display());
            }
            // A regular file is opened now, so an unreadable one is
            // reported before anything is read. A FIFO is not: opening it
            // twice would let its writer write into the first, closed open.
            if meta.is_file() {
                open(f)?;
            }
        }
        Ok(Inputs {
            pending: files.into_iter(),
            current: None,
            terminator,
            last: None,
        })
    }
}

/// True for the operand that names stdin.
pub fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// `FILE: No such file or directory`, as cat says it (without Rust's
/// "(os error 2)").
fn with_path(p: &Path, e: io::Error) -> io::Error {
    let text = e.to_string();
    let why = text.split(" (os error ").next().unwrap_or(&text);
    io::Error::new(e.kind(), format!("{}: {why}", p.display()))
}

fn open(p: &Path) -> io::Result<File> {
    File::open(p).map_err(|e| with_path(p, e))
}

impl Read for Inputs {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(r) = &mut self.current {
                match r.read(buf)? {
                    0 if !buf.is_empty() => {
                        self.current = None;
                        if self.last.take().is_some_and(|b| b != self.terminator) {
                            buf[0] = self.terminator;
                            return Ok(1);
                        }
                    }
                    n => {
                        self.last = buf[..n].last().copied().or(self.last);
                        return Ok(n);
                    }
                }
            }
            match self.pending.next() {
                None => return Ok(0),
                Some(p) if is_stdin(&p) => self.current = Some(Box::new(io::stdin())),
                Some(p) => self.current = Some(Box::new(open(&p)?)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use dlp_record::Confidence;

    #[derive(Debug, Parser)]
    #[command(name = "t")]
    struct Cli {
        #[arg(long, value_enum, ignore_case = true)]
        min_confidence: Option<Confidence>,
        #[arg(long)]
        initial_scan: bool,
    }

    #[test]
    fn errors_carry_the_tool_name_and_clap_tips() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let e = try_parse_from::<Cli>(&mut cmd, ["t", "--initial-scna"]).unwrap_err();
        let text = render("t", &e);
        assert!(
            text.starts_with("t: error: unexpected argument '--initial-scna'"),
            "{text}"
        );
        assert!(
            text.contains("similar argument exists: '--initial-scan'"),
            "{text}"
        );
        assert!(text.contains("Usage: t"), "{text}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn confidence_values_are_typed_and_case_insensitive() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let cli: Cli = try_parse_from(&mut cmd, ["t", "--min-confidence", "very_likely"]).unwrap();
        assert_eq!(cli.min_confidence, Some(Confidence::VeryLikely));
        let e = try_parse_from::<Cli>(&mut cmd, ["t", "--min-confidence", "SURE"]).unwrap_err();
        assert!(render("t", &e).contains("[possible values: VERY_UNLIKELY"));
    }

    #[test]
    fn inputs_concatenate_in_order_and_check_every_operand_first() {
        let dir = std::env::temp_dir().join(format!("dlp-runtime-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, "one\n").unwrap();
        std::fs::write(&b, "two\nthree").unwrap();
        let mut s = String::new();
        Inputs::open(&[a.clone(), b.clone(), a.clone()])
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "one\ntwo\nthree\none\n");
        let missing = dir.join("missing");
        let e = Inputs::open(&[a, missing.clone()])
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            format!("{}: No such file or directory", missing.display())
        );
        let e = Inputs::open(std::slice::from_ref(&dir))
            .err()
            .unwrap()
            .to_string();
        assert!(e.ends_with("is a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_operand_is_opened_once_and_loses_nothing() {
        let dir = std::env::temp_dir().join(format!("dlp-runtime-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("f");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let w = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&w).unwrap();
            for i in 0..1000 {
                std::io::Write::write_all(&mut f, format!("line {i}\n").as_bytes()).unwrap();
            }
        });
        let mut s = String::new();
        Inputs::open(std::slice::from_ref(&fifo))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        writer.join().unwrap();
        assert_eq!(s.lines().count(), 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `--host NAME`, for every tool that stamps `host` on its records.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HostArg {
    /// Host name stamped on records [default: $DLP_HOST, else this machine's name].
    #[arg(long, value_name = "NAME", value_parser = dlp_record::host::check)]
    pub host: Option<String>,
}

impl HostArg {
    /// Makes the name the one [`dlp_record::host::this`] returns.
    pub fn apply(&self) {
        if let Some(h) = &self.host {
            dlp_record::host::set(h);
        }
    }
}
