//! Man pages and shell completions for every tool, generated from the clap
//! definition each tool's library exposes as `command()` (the same one its
//! `--help` prints), so the documentation cannot drift from the flags.
//!
//! [`write_tree`] writes the `share/` tree that `install.sh` and the Debian
//! package install:
//!
//! ```text
//! man/man1/TOOL.1                      (and TOOL-SUBCOMMAND.1)
//! bash-completion/completions/TOOL
//! zsh/site-functions/_TOOL
//! fish/vendor_completions.d/TOOL.fish
//! ```

mod man;
pub mod script;

use std::io;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

pub use man::{man_pages, ManPage};

/// Every tool of the workspace. Adding a tool: its `command()` here, and
/// the crate as a dependency in this crate's Cargo.toml.
pub const TOOLS: &[fn() -> Command] = &[
    fswatch_json::command,
    path_filter::command,
    pii_scan::command,
    findings_csv::command,
    nf_upload::command,
    nf_webhook::command,
    webhook_post::command,
    nf_emulator::command,
    dlp_remediate::command,
    nats_post::command,
    nats_tail::command,
    findings_report::command,
];

/// The tools' commands, in [`TOOLS`] order.
pub fn commands() -> Vec<Command> {
    TOOLS.iter().map(|f| f()).collect()
}

/// The tools' names (their binaries'), in [`TOOLS`] order.
pub fn names() -> Vec<String> {
    commands().iter().map(|c| c.get_name().to_owned()).collect()
}

/// Where a shell looks for completions, relative to `share/`, and the file
/// name it expects for `tool`.
pub fn completion_path(shell: Shell, tool: &str) -> PathBuf {
    match shell {
        Shell::Bash => Path::new("bash-completion/completions").join(tool),
        Shell::Zsh => Path::new("zsh/site-functions").join(format!("_{tool}")),
        Shell::Fish => Path::new("fish/vendor_completions.d").join(format!("{tool}.fish")),
        other => Path::new("completions").join(other.to_string()).join(tool),
    }
}

/// The shells completions are written for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The completion script of `cmd` for `shell`.
pub fn completion(shell: Shell, cmd: &Command) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

/// Writes `data` to `share/rel`, creating directories, and notes `rel`.
fn put(share: &Path, written: &mut Vec<PathBuf>, rel: PathBuf, data: &[u8]) -> io::Result<()> {
    let path = share.join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, data)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))?;
    written.push(rel);
    Ok(())
}

/// Writes the man pages and completions of `cmd` under `share`; `all`
/// names the pages SEE ALSO lists.
fn write_command(
    share: &Path,
    written: &mut Vec<PathBuf>,
    cmd: &Command,
    all: &[&str],
) -> io::Result<()> {
    for page in man_pages(cmd, all)? {
        put(
            share,
            written,
            Path::new("man/man1").join(&page.file_name),
            &page.roff,
        )?;
    }
    for shell in SHELLS {
        put(
            share,
            written,
            completion_path(shell, cmd.get_name()),
            &completion(shell, cmd),
        )?;
    }
    Ok(())
}

/// Writes every tool's man pages and completions under `share`
/// (created if needed) and returns the files written, relative to `share`.
pub fn write_tree(share: &Path) -> io::Result<Vec<PathBuf>> {
    let cmds = commands();
    let names: Vec<&str> = cmds.iter().map(|c| c.get_name()).collect();
    let mut written = Vec::new();
    for cmd in &cmds {
        write_command(share, &mut written, cmd, &names)?;
    }
    Ok(written)
}

/// Writes the man page and completions of the pipeline command `name`
/// from its `--help` text (see [`script`]) under `share`.
pub fn write_script(share: &Path, name: &str, help: &str) -> io::Result<Vec<PathBuf>> {
    let cmd = script::command(name, env!("CARGO_PKG_VERSION"), help);
    let tools = names();
    let all: Vec<&str> = tools.iter().map(String::as_str).collect();
    let mut written = Vec::new();
    write_command(share, &mut written, &cmd, &all)?;
    Ok(written)
}
