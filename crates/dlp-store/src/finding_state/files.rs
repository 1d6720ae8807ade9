//! The files beside a finding state: its key (`STATE.key`, 64 hex digits,
//! mode 0600, refused when others may read it) and its lock (`STATE.lock`,
//! the owner's pid, so two processes never write one state).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// `STATE.lock`, removed when the state is dropped.
pub(super) struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

pub(super) fn suffixed(state: &Path, suffix: &str) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// True while `pid` runs the same program as this process (Linux: compared
/// by `/proc/PID/comm`, so a pid reused after a reboot does not count).
/// Where there is no `/proc`, any recorded pid counts as running.
fn pid_alive(pid: u32) -> bool {
    let Ok(me) = fs::read_to_string("/proc/self/comm") else {
        return true;
    };
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == me)
}

/// Takes `STATE.lock` for this process, taking over a lock whose process
/// is gone (Linux: no `/proc/PID`).
pub(super) fn lock(state: &Path) -> anyhow::Result<Lock> {
    let path = suffixed(state, ".lock");
    for _ in 0..2 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                writeln!(f, "{}", std::process::id())?;
                return Ok(Lock(path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let pid = fs::read_to_string(&path).unwrap_or_default();
                let pid = pid.trim();
                let alive = pid.parse::<u32>().is_ok_and(pid_alive);
                if alive {
                    bail!(
                        "in use by process {pid} ({} exists; if no such process runs, delete it)",
                        path.display()
                    );
                }
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    bail!("could not take {}", path.display())
}

/// Removes the state at `state` and its key `key` (either may be missing).
/// Both are checked before either is removed: a directory, or a state file
/// whose first line is not a finding state's header, is refused.
pub(super) fn remove_state(state: &Path, key: &Path) -> anyhow::Result<()> {
    let present = |p: &Path| match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => bail!("{} is a directory; nothing was removed", p.display()),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("checking {}", p.display())),
    };
    let (state_there, key_there) = (present(state)?, present(key)?);
    if state_there && !super::is_state_file(state)? {
        bail!(
            "{} is not a finding state (its first line is not a finding state header); nothing was removed",
            state.display()
        );
    }
    for (p, there) in [(state, state_there), (key, key_there)] {
        if there {
            fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}

/// Reads the 32-byte key (64 hex digits), or creates it (mode 0600) when
/// there is no state yet. A key others may read is refused.
pub(super) fn load_or_create_key(path: &Path, state_exists: bool) -> anyhow::Result<[u8; 32]> {
    let shown = path.display();
    match File::open(path) {
        Ok(mut f) => {
            let mode = f.metadata()?.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "key {shown} is readable by others (mode {:04o}); chmod 600 it",
                    mode & 0o7777
                );
            }
            let mut s = String::new();
            f.read_to_string(&mut s)
                .with_context(|| format!("reading key {shown}"))?;
            let bytes = dlp_record::hash::unhex(s.trim())
                .filter(|b| b.len() == 32)
                .with_context(|| format!("key {shown} is not 64 hex digits"))?;
            Ok(bytes.try_into().expect("32 bytes"))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if state_exists {
                bail!("key {shown} is missing; delete the state file too to start over");
            }
            let mut key = [0u8; 32];
            getrandom::getrandom(&mut key)
                .map_err(|e| anyhow::anyhow!("the OS random source, for a new key: {e}"))?;
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating key {shown}"))?;
            f.write_all(dlp_record::hash::hex(&key).as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading key {shown}")),
    }
}
