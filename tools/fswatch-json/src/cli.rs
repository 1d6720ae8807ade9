//! Command line: clap definition and its validation into a [`Config`].
//!
//! Raw arguments are checked here (regexes compile, implied options are
//! resolved) before any watch is placed or any file is read.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use regex::RegexSet;

const LONG_ABOUT: &str = "\
Watch directories and write one FsEvent per line (NDJSON) on stdout, with the \
field names of Python watchdog: event_type, src_path, dest_path, is_directory, \
is_synthetic, timestamp.

Nothing is lost silently: when the kernel queue overflows, an `overflow` event is \
written and the tree is rescanned against the watcher's in-memory view, so what \
changed meanwhile is reported as synthetic events (reason \"rescan\"). Files created \
in a new directory before its watch existed are reported too. --exclude is applied \
before watches are placed, so excluded trees never use the inotify watch budget.

For file-integrity monitoring, --state keeps a baseline (sha256, size, mode, uid, gid, \
link count, inode, POSIX ACL, extended attributes, mtime) across restarts: what changed \
while the watcher was down is reported on start (reason \"baseline\"), and \
--only-content-changes drops events whose content hash did not change (a touch is not an \
alert). A change of permissions, owner, group, ACL, extended attributes (security.* \
included), inode or link count whose content did not change is an `attrib` event with \
`changed` (what changed), the new values and the old ones under `previous`; --attrs \
chooses what is checked, as AIDE's rule groups do. A change of times alone is not one.

Examples:
  fswatch-json ~/Documents ~/Downloads
  fswatch-json --exclude '/(node_modules|\\.git)(/|$)' --debounce 200 ~/src
  fswatch-json --access --hash /srv/user_pii | webhook-post --url \"$WATCH_WEBHOOK_URL\"
  fswatch-json --state /var/lib/fswatch-json/etc.state --only-content-changes /etc
  fswatch-json --state /var/lib/fim/etc.state --check /etc        # cron: exit 1 when /etc changed
  fswatch-json --state /var/lib/fim/etc.state --check --update /etc   # accept the changes
  fswatch-json --state /var/lib/fim/etc.state --list | jq -r .path
  fswatch-json --poll 2000 /mnt/nfs/share      # network file systems
  fswatch-json --mounts --hash ~/Documents     # USB sticks: removable, copied_from";

/// Lossless real-time file watcher writing FsEvent NDJSON records.
#[derive(Debug, Parser)]
#[command(name = "fswatch-json", version, about, long_about = LONG_ABOUT)]
pub struct Args {
    /// Directories to watch (recursively unless --no-recursive).
    #[arg(required_unless_present = "list", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Poll at this interval instead of using kernel notifications: NFS, CIFS, FUSE (e.g. 500ms, 2s; bare number: milliseconds).
    #[arg(long, value_name = "DURATION", value_parser = dlp_runtime::units::millis_nonzero)]
    pub poll: Option<std::time::Duration>,

    /// Watch only the given directories, not their subdirectories.
    #[arg(long)]
    pub no_recursive: bool,

    /// Also report opened, closed (after write) and closed_no_write (after a read) events.
    #[arg(long)]
    pub access: bool,

    /// Skip paths matching this regex (repeatable); excluded directories get no watch.
    #[arg(long, value_name = "RE")]
    pub exclude: Vec<String>,

    /// On start, report every existing file as a synthetic `created` event.
    #[arg(long)]
    pub initial_scan: bool,

    /// Coalesce a burst of events on one path into one event (the last type) after this long without events;
    /// an atomic save (temp file renamed over the target) becomes one `modified` (e.g. 500ms, 2s; bare number: milliseconds).
    #[arg(long, value_name = "DURATION", value_parser = dlp_runtime::units::millis_nonzero)]
    pub debounce: Option<std::time::Duration>,

    /// Add size, mtime, mode and uid to events.
    #[arg(long)]
    pub stat: bool,

    /// Add the sha256 of regular files to events (FIFOs, sockets and devices are never opened).
    #[arg(long)]
    pub hash: bool,

    /// Baseline file kept across restarts; changes made while stopped are reported on start.
    /// Implies --hash.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Time between periodic saves of --state; it is also saved on exit (e.g. 30s, 5m; bare number: seconds).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = dlp_runtime::units::secs)]
    pub state_interval: std::time::Duration,

    /// Drop modified/closed events whose content hash did not change. Implies --hash.
    #[arg(long)]
    pub only_content_changes: bool,

    /// Metadata whose change is an `attrib` event: all, none, or a list of mode, uid, gid, acl, xattrs, ino, nlink (ACLs and xattrs are read with --hash).
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = crate::attrs::Checks::parse)]
    pub attrs: crate::attrs::Checks,

    /// Report mounted/unmounted file systems and watch removable media while mounted (Linux).
    #[arg(long)]
    pub mounts: bool,

    /// With --mounts: a mount under DIR counts as removable (repeatable;
    /// default /media, /run/media, /mnt).
    #[arg(long, value_name = "DIR", requires = "mounts")]
    pub mount_root: Vec<PathBuf>,

    /// Add the process behind reads and writes (pid, comm, process_uid, user) from fanotify (Linux, root).
    #[arg(long, conflicts_with = "poll")]
    pub who: bool,

    /// One-shot integrity check (cron, AIDE's --check): compare the tree with the --state
    /// baseline, write one event per difference and exit: 0 nothing changed, 1 something did,
    /// 2 error. Without a baseline yet, record it and exit 0.
    #[arg(long, requires = "state", conflicts_with_all = ["access", "mounts", "poll", "debounce", "initial_scan"])]
    pub check: bool,

    /// With --check: accept the current tree as the new baseline (after writing the differences; exit 0).
    #[arg(long, requires = "check")]
    pub update: bool,

    /// Write the entries of the --state baseline (one JSON object per line, in path order) and exit.
    #[arg(long, requires = "state", conflicts_with = "check")]
    pub list: bool,

    #[command(flatten)]
    pub host: dlp_runtime::cli::HostArg,
}

/// Validated settings.
#[derive(Debug)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub poll: Option<Duration>,
    pub recursive: bool,
    pub access: bool,
    pub exclude: Option<RegexSet>,
    pub initial_scan: bool,
    pub debounce: Option<Duration>,
    pub stat: bool,
    /// Hash regular files (asked for, or implied by --state / --only-content-changes).
    pub hash: bool,
    pub state: Option<PathBuf>,
    pub state_interval: Duration,
    pub only_content_changes: bool,
    pub attrs: crate::attrs::Checks,
    pub mounts: bool,
    pub mount_roots: Vec<PathBuf>,
    pub check: bool,
    pub update: bool,
    pub list: bool,
    pub who: bool,
}

impl Args {
    /// Checks the arguments and resolves implied options.
    pub fn into_config(self) -> anyhow::Result<Config> {
        self.host.apply();
        let exclude = if self.exclude.is_empty() {
            None
        } else {
            Some(RegexSet::new(&self.exclude).context("--exclude")?)
        };
        let paths = self
            .paths
            .iter()
            .map(|p| std::path::absolute(p).with_context(|| format!("{}", p.display())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Config {
            paths,
            poll: self.poll,
            recursive: !self.no_recursive,
            access: self.access,
            exclude,
            initial_scan: self.initial_scan,
            debounce: self.debounce,
            stat: self.stat,
            hash: self.hash || self.only_content_changes || self.state.is_some(),
            state: self.state,
            state_interval: self.state_interval.max(Duration::from_secs(1)),
            only_content_changes: self.only_content_changes,
            attrs: self.attrs,
            check: self.check,
            who: self.who,
            update: self.update,
            list: self.list,
            mounts: self.mounts,
            mount_roots: if self.mount_root.is_empty() {
                ["/media", "/run/media", "/mnt"].map(PathBuf::from).to_vec()
            } else {
                self.mount_root
                    .iter()
                    .map(|p| std::path::absolute(p).with_context(|| format!("{}", p.display())))
                    .collect::<anyhow::Result<Vec<_>>>()?
            },
        })
    }
}

impl Config {
    /// True when `path` matches an --exclude regex.
    pub fn excluded(&self, path: &std::path::Path) -> bool {
        match &self.exclude {
            Some(set) => set.is_match(&path.to_string_lossy()),
            None => false,
        }
    }
}
