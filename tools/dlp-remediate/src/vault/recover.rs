//! What an interrupted run leaves in the vault, and how the next run
//! completes it (every time the vault is opened, under its lock):
//!
//! * `ID.tmp` without `data`: the file was never moved, or its copy was not
//!   finished; the original is in place. The entry is removed.
//! * `ID.tmp` whose `data` has the SHA-256 its manifest records: complete.
//!   It is committed (renamed to `ID`).
//! * `ID.tmp` whose `data` does not match (a run killed between a move and
//!   its check): that is someone's file, not the content scanned. It is
//!   put back at its original path when that name is free, else left where
//!   it is and reported on every open: never committed, never deleted.
//! * `ID.del`: a restore that was done but for removing the entry. Removed.
//!
//! An entry that is not ours, or whose manifest does not parse, is never
//! touched; it is reported on stderr for the administrator.

use std::ffi::{OsStr, OsString};

use rustix::fs::FileType;

use super::{is_id, Vault};
use crate::safefs::{self, Dir};

impl Vault {
    pub(super) fn recover(&self) -> anyhow::Result<()> {
        for name in self.dir.names()? {
            let Some(s) = name.to_str() else {
                continue;
            };
            let r = if let Some(id) = s.strip_suffix(".tmp").filter(|i| is_id(i)) {
                self.recover_tmp(id)
            } else if s.strip_suffix(".del").is_some_and(is_id) {
                self.remove_tree(&name)
            } else {
                continue;
            };
            if let Err(e) = r {
                eprintln!("dlp-remediate: vault: {s}: {e:#} (left as it is)");
            }
        }
        self.dir.sync()?;
        Ok(())
    }

    fn recover_tmp(&self, id: &str) -> anyhow::Result<()> {
        let name = OsString::from(format!("{id}.tmp"));
        let dir = self.entry_dir(&name)?;
        let data = OsStr::new("data");
        let is_file = dir
            .entry(data)?
            .is_some_and(|e| e.kind == FileType::RegularFile);
        if !is_file {
            return self.remove_tree(&name);
        }
        let m = Self::read_manifest(&dir, id)?;
        let got = dlp_core::hash::sha256_reader(dir.open_file(data)?)?;
        if got == m.sha256 {
            self.dir.rename(&name, &self.dir, OsStr::new(id), true)?;
            eprintln!("dlp-remediate: vault: committed entry {id} left by an interrupted run");
            return Ok(());
        }
        let original = m.original();
        let (parent, file) = safefs::split(&original)?;
        dir.rename(data, &Dir::open(parent)?, file, true)?;
        eprintln!(
            "dlp-remediate: vault: {}: put back (an interrupted run had moved it, but its content was not the one scanned)",
            original.display()
        );
        self.remove_tree(&name)
    }
}
