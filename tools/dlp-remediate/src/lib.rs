//! `dlp-remediate`: Finding records in, one action record per file out.
//!
//! Acts on the files that findings are about: moves them into a private
//! quarantine vault (and restores them from it), tells their owner with a
//! desktop notification, or deletes them when explicitly allowed. See
//! [`policy`] for how findings become decisions and [`vault`] for the vault
//! format and its crash safety.

pub mod dbus;
pub mod notify;
pub mod passthru;
pub mod policy;
pub mod safefs;
mod summary;
pub mod target;
pub mod vault;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use dlp_record::{Action, ActionRecord, Confidence};
use dlp_runtime::{for_each_line, ExitCode, Flush, LoopOptions, RecordWriter};

const TOOL: &str = "dlp-remediate";

const LONG_ABOUT: &str = "\
Read Finding records (from pii-scan or nf-webhook) and act on the files they \
are about, writing one action record per file: {\"action\":\"quarantined\"|\
\"notified\"|\"deleted\"|\"skipped\"|\"failed\",\"path\",\"id\",\"sha256\",\
\"detectors\",\"confidence\",\"findings\",\"reason\"|\"error\",...}.

Only open findings are acted on: no \"status\" (no finding state kept) or \
\"status\":\"new\". \"resolved\" and \"quarantined\" findings, and any status \
this version does not know (noted once on stderr), never trigger an action. \
Findings below --min-confidence (default VERY_LIKELY) or of other detectors \
than --detector are ignored; a file is acted on when it has --min-findings \
distinct findings, once per content (many findings, one action). A file whose \
content changed since it was scanned (its sha256 differs from the Finding's \
sha256 or, without one, from its hash when the first finding arrived) is \
skipped with reason \"changed since scanned\". A file with other hard links is \
skipped (its other names would keep the data).

--quarantine DIR moves files into a vault (mode 0700): DIR/ID/data and \
DIR/ID/manifest.json (original path, owner, mode, times, sha256, detectors \
and confidence; never the finding text). Across file systems the file is \
copied, fsynced and verified by hash before the original is removed. \
`restore ID` puts a file back byte for byte with its owner, mode and times \
(never setuid, setgid or sticky bits), never over an existing file; `list` \
prints the manifests as NDJSON.

--pass-findings makes it a stage of the pipeline: the Finding records go on \
to stdout, byte for byte, and the action records to --actions FILE. When a \
file it quarantined is reported gone (pii-scan --state: \"resolved\"), those \
records come out as \"status\":\"quarantined\" with the vault entry in \
\"quarantine_id\": the data did not leave the file by its owner's hand.

--notify sends a desktop notification to the file's owner (freedesktop \
notifications over D-Bus: DBUS_SESSION_BUS_ADDRESS, else /run/user/UID/bus; \
osascript on macOS) from a helper process that runs as the owner (when run \
as root), with an empty environment, and gives up after --notify-timeout; \
the record says \"notified\": true or false (\"notify_error\" says why). For \
a webhook, pipe the action records to webhook-post.

Threat model. dlp-remediate may run as root over directories that other, \
untrusted users write to (a share, home directories): run it as root or as \
the user who owns what it acts on; the vault must be its own. Against a \
hostile owner of the scanned tree, who may rename, swap and symlink anything \
in it at any moment, these hold:
  * It follows no symlink, anywhere on a path: directories are opened from / \
with openat2(RESOLVE_NO_SYMLINKS) or O_NOFOLLOW per component, and every \
operation is relative to the opened directory. A path through a symlink is \
refused (\"goes through a symbolic link\"); give real paths.
  * It acts only on the file it opened and hashed (device and inode): a file \
swapped in its place is put back where it came from, never kept; deletes and \
cross-file-system moves take the name into a private 0700 directory first \
and check it there. Nothing outside the directory the path names is moved, \
removed, created, or given another owner or mode.
  * Notes and restored files are created new (O_EXCL, link without \
replacing) in the opened directory, with owner, mode and times set through \
their descriptor.
  * The vault trusts nothing it did not write: it, its entries and manifests \
must be owned by the effective uid and writable by no one else, every \
directory on the way to it owned by root or that uid and not writable by \
others (unless sticky); else it is refused. Manifests are parsed as \
untrusted input; an interrupted run's entry is committed only when its data \
matches its manifest.
  * Notification helpers get no secret (empty environment, none of the \
tool's descriptors), and a bus that stalls, floods or never ends a line is \
given up on at the deadline.
Not covered: a user who can already write the vault or run code as root; \
the content of files it only reads; what the file's owner does with the \
notification.

Exit status: 0 ok, 1 some lines rejected or some actions failed, 2 usage or \
fatal error (a vault refused, a failed restore).

Examples:
  pii-scan ~/Downloads | dlp-remediate --quarantine /var/lib/dlp/vault --leave-note
  pii-scan ~/Documents | dlp-remediate --notify --min-confidence LIKELY
  nf-webhook | dlp-remediate --quarantine ~/.dlp-vault --notify \\
      | webhook-post --url \"$WATCH_WEBHOOK_URL\"
  pii-scan --state s.state /srv/share | dlp-remediate --quarantine /var/lib/dlp/vault \\
      --pass-findings --actions actions.ndjson | findings-csv >> results.csv
  pii-scan /srv/share | dlp-remediate --delete --i-understand-this-deletes --dry-run
  dlp-remediate --quarantine /var/lib/dlp/vault list
  dlp-remediate --quarantine /var/lib/dlp/vault restore 20261127T174850Z-1a2b3c4d";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = TOOL, version, about = "Act on files with findings: quarantine, restore, notify, delete", long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// NDJSON Finding files to read, in order (- or none: stdin)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Move files with findings into this vault directory (created with mode 0700)
    #[arg(long, value_name = "DIR", global = true)]
    pub quarantine: Option<PathBuf>,
    /// Leave a short FILE.quarantined note in place of a quarantined file
    #[arg(long)]
    pub leave_note: bool,
    /// Send the file's owner a desktop notification
    #[arg(long)]
    pub notify: bool,
    /// Delete files with findings (needs --i-understand-this-deletes)
    #[arg(long)]
    pub delete: bool,
    /// Confirms --delete: files are removed, not kept anywhere
    #[arg(long)]
    pub i_understand_this_deletes: bool,
    /// Write the action records without changing or sending anything
    #[arg(long)]
    pub dry_run: bool,
    /// Ignore findings below this confidence
    #[arg(
        long,
        value_name = "LEVEL",
        default_value = "VERY_LIKELY",
        value_enum,
        ignore_case = true
    )]
    pub min_confidence: Confidence,
    /// Act only on findings of this detector (name or UUID; repeatable)
    #[arg(long, value_name = "NAME")]
    pub detector: Vec<String>,
    /// Act on a file only when it has at least N distinct findings
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_findings: u64,
    /// Give up on a notification after this long (the helper is killed)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = dlp_runtime::units::secs_nonzero)]
    pub notify_timeout: Duration,
    /// Pass the Finding records on to stdout (resolved ones of files this
    /// tool quarantined come out as "quarantined"); action records go to
    /// --actions FILE
    #[arg(long, requires = "actions")]
    pub pass_findings: bool,
    /// Append the action records to FILE (with --pass-findings)
    #[arg(long, value_name = "FILE", requires = "pass_findings")]
    pub actions: Option<PathBuf>,
    /// Treat a malformed line as fatal (exit 2) instead of reporting it
    #[arg(long)]
    pub strict: bool,
    /// At the end, say on stderr how many files each action took, and warn
    /// of failed actions and notifications not delivered
    #[arg(long)]
    pub summary: bool,
}

/// Vault subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Put a quarantined file back (byte for byte, with owner, mode and times)
    Restore {
        /// Vault entry id (from the `quarantined` record or `list`)
        id: String,
        /// Restore to this path instead of the original one
        #[arg(long, value_name = "PATH")]
        to: Option<PathBuf>,
    },
    /// Print the vault's manifests, one JSON line per entry
    List,
    /// Internal: send one notification with this process's credentials
    /// (run through setpriv as the file's owner when running as root).
    #[command(name = "__notify", hide = true)]
    NotifyHelper {
        /// Give up after this many milliseconds
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        address: String,
        summary: String,
        body: String,
    },
}

/// What to do with a file that qualifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quarantine,
    Delete,
    NotifyOnly,
}

/// Validated settings of the record loop.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub notify: bool,
    pub leave_note: bool,
    pub dry_run: bool,
    pub min_confidence: Confidence,
    /// Normalised (lowercase alphanumerics) detector names or UUIDs.
    pub detectors: Vec<String>,
    pub min_findings: usize,
    pub notify_timeout: Duration,
    /// `--pass-findings`: Finding records on stdout, rewritten when resolved
    /// by a quarantine.
    pub pass_findings: bool,
}

impl Config {
    /// Checks the flag combination.
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Config> {
        let mode = match (cli.quarantine.is_some(), cli.delete) {
            (true, true) => bail!("--quarantine and --delete exclude each other"),
            (true, false) => Mode::Quarantine,
            (false, true) => {
                if !cli.i_understand_this_deletes {
                    bail!("--delete removes files for good; add --i-understand-this-deletes to confirm (or use --quarantine DIR, which can be undone)");
                }
                Mode::Delete
            }
            (false, false) if cli.notify => Mode::NotifyOnly,
            (false, false) => bail!("nothing to do: give --quarantine DIR, --notify or --delete"),
        };
        if cli.leave_note && mode != Mode::Quarantine {
            bail!("--leave-note needs --quarantine DIR");
        }
        Ok(Config {
            mode,
            notify: cli.notify,
            leave_note: cli.leave_note,
            dry_run: cli.dry_run,
            min_confidence: cli.min_confidence,
            detectors: cli
                .detector
                .iter()
                .map(|d| {
                    d.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_lowercase())
                        .collect()
                })
                .collect(),
            min_findings: cli.min_findings as usize,
            notify_timeout: cli.notify_timeout,
            pass_findings: cli.pass_findings,
        })
    }
}

/// Records and the remediator together, so that files are settled when
/// the loop is about to wait for input (the flush point). Action records go
/// to `out`, or, with `--pass-findings`, to the `--actions` file while
/// `out` carries the Finding records.
struct Sink<W: Write> {
    rem: policy::Remediator,
    out: RecordWriter<W>,
    actions: Option<RecordWriter<File>>,
    buf: Vec<ActionRecord>,
    /// With --summary.
    tally: Option<summary::Tally>,
}

impl<W: Write> Sink<W> {
    fn emit(&mut self) -> anyhow::Result<()> {
        for r in self.buf.drain(..) {
            if let Some(t) = &mut self.tally {
                t.count(&r);
            }
            match &mut self.actions {
                Some(a) => a.record(&r)?,
                None => self.out.record(&r)?,
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.emit()?;
        if let Some(a) = &mut self.actions {
            a.flush()?;
        }
        self.out.flush()
    }
}

impl<W: Write> Flush for Sink<W> {
    fn flush_output(&mut self) -> anyhow::Result<()> {
        self.rem.settle_all(&mut self.buf);
        self.flush()
    }
}

/// Opens the `--actions` file for appending (created with mode 0600).
fn actions_file(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("--actions {}", path.display()))
}

/// Runs the record loop: findings from `input`, action records (or, with
/// `--pass-findings`, the findings) to `output`.
pub fn run(cli: &Cli, input: impl Read, output: impl Write) -> anyhow::Result<ExitCode> {
    let cfg = Config::from_cli(cli)?;
    let actions = match &cli.actions {
        Some(p) => Some(RecordWriter::new(actions_file(p)?)),
        None => None,
    };
    let vault = match (&cli.quarantine, cfg.dry_run) {
        (Some(dir), false) => Some(vault::Vault::open(dir, true)?),
        _ => None,
    };
    let pass = cfg.pass_findings;
    let mut sink = Sink {
        rem: policy::Remediator::new(cfg, vault),
        out: RecordWriter::new(output),
        actions,
        buf: Vec::new(),
        tally: cli.summary.then(summary::Tally::default),
    };
    let code = for_each_line(
        TOOL,
        input,
        &mut sink,
        LoopOptions { strict: cli.strict },
        |line, s| {
            let r = s.rem.line(line, &mut s.buf);
            if pass {
                match &r {
                    Ok(Some(rewritten)) => s.out.raw_line(rewritten)?,
                    Ok(None) => s.out.raw_line(line)?,
                    Err(_) => {}
                }
            }
            s.emit()?;
            Ok(r.map(|_| ()))
        },
    )?;
    sink.rem.finish(&mut sink.buf);
    sink.flush()?;
    if let Some(t) = &sink.tally {
        let whereto = cli.actions.as_deref().map(Path::display);
        for line in t.lines(whereto.as_ref().map(ToString::to_string).as_deref()) {
            eprintln!("{TOOL}: {line}");
        }
    }
    Ok(if sink.rem.failed {
        ExitCode::Rejected
    } else {
        code
    })
}

fn vault_dir(cli: &Cli) -> anyhow::Result<&Path> {
    match &cli.quarantine {
        Some(d) => Ok(d),
        None => bail!("which vault? give --quarantine DIR"),
    }
}

/// `restore ID`: one `restored` record.
pub fn restore(
    cli: &Cli,
    id: &str,
    to: Option<&Path>,
    output: impl Write,
) -> anyhow::Result<ExitCode> {
    let v = vault::Vault::open(vault_dir(cli)?, false)?;
    let (m, dest) = v.restore(id, to)?;
    let mut r = ActionRecord::new(Action::Restored, &dest);
    r.id = Some(m.id);
    r.sha256 = Some(m.sha256);
    r.detectors = m.detectors.into_iter().map(|d| d.detector).collect();
    r.confidence = Some(m.confidence);
    let mut w = RecordWriter::new(output);
    w.record(&r)?;
    w.flush()?;
    Ok(ExitCode::Ok)
}

/// `list`: the manifests as NDJSON.
pub fn list(cli: &Cli, output: impl Write) -> anyhow::Result<ExitCode> {
    let v = vault::Vault::open(vault_dir(cli)?, false)?;
    let mut w = RecordWriter::new(output);
    for m in v.list()? {
        w.record(&m)?;
    }
    w.flush()?;
    Ok(ExitCode::Ok)
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `dlp-remediate` binary.
pub fn main() -> std::process::ExitCode {
    dlp_runtime::filter_main(TOOL, command(), |cli: Cli| match &cli.command {
        Some(Command::Restore { id, to }) => restore(&cli, id, to.as_deref(), io::stdout().lock()),
        Some(Command::List) => list(&cli, io::stdout().lock()),
        Some(Command::NotifyHelper {
            timeout_ms,
            address,
            summary,
            body,
        }) => match notify::direct(address, summary, body, Duration::from_millis(*timeout_ms)) {
            Ok(()) => Ok(ExitCode::Ok),
            Err(e) => bail!("{e}"),
        },
        None => run(
            &cli,
            dlp_runtime::cli::Inputs::open(&cli.files)?,
            io::stdout().lock(),
        ),
    })
}
