//! `--pass-findings`: the Finding records go on down the pipeline, and the
//! `resolved` records of a file this tool quarantined become `quarantined`.
//!
//! When a file is quarantined, the watcher sees it leave and `pii-scan
//! --state` reports each of its findings `"status":"resolved"`; but the data
//! was not removed from the file by its owner: it is in the vault. Such a
//! record is passed on with `"status":"quarantined"` and the vault entry's
//! id in `quarantine_id`, so the CSV and the reports tell the two apart.
//!
//! A `resolved` record about path P is rewritten when this run quarantined
//! P and no open finding of P has arrived since, or (records of an earlier
//! run's quarantine, e.g. `pii-scan`'s sweep of files gone while it was
//! stopped) when the vault's latest entry for P still holds the file and
//! nothing is at P. When the record carries a `sha256`, it must be the
//! content the vault holds. Every other record is passed on byte for byte.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::safefs::{self, Dir};
use crate::vault::Vault;

/// A quarantine of a path: the vault entry id and the content it holds.
struct Ref {
    id: String,
    sha256: String,
}

/// What is known, per path, about its being in the vault.
#[derive(Default)]
pub struct Quarantines {
    known: HashMap<PathBuf, Option<Ref>>,
}

impl Quarantines {
    /// This run quarantined `path` as entry `id`.
    pub fn add(&mut self, path: PathBuf, id: &str, sha256: &str) {
        let r = Ref {
            id: id.to_owned(),
            sha256: sha256.to_owned(),
        };
        self.known.insert(path, Some(r));
    }

    /// An open finding of `path` arrived: its resolved records are about
    /// that content from now on.
    pub fn forget(&mut self, path: &Path) {
        self.known.remove(path);
    }

    /// The vault entry id for a `resolved` record about `path` (with the
    /// record's `sha256`, if any), when its file is in the vault.
    pub fn lookup(
        &mut self,
        path: &Path,
        sha256: Option<&str>,
        vault: Option<&Vault>,
    ) -> Option<&str> {
        if !self.known.contains_key(path) {
            let found = vault
                .filter(|_| !exists(path))
                .and_then(|v| v.find(path, None).ok().flatten())
                .map(|m| Ref {
                    id: m.id,
                    sha256: m.sha256,
                });
            self.known.insert(path.to_path_buf(), found);
        }
        self.known
            .get(path)?
            .as_ref()
            .filter(|r| sha256.is_none_or(|s| s == r.sha256))
            .map(|r| r.id.as_str())
    }
}

/// True when something is at `path` (or it cannot be told, e.g. the way
/// goes through a symlink).
fn exists(path: &Path) -> bool {
    let Ok((dir, name)) = safefs::split(path) else {
        return true;
    };
    match Dir::open(dir) {
        Ok(d) => !matches!(d.entry(name), Ok(None)),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// `line` with `"status":"quarantined"` and `"quarantine_id":ID`.
pub fn rewrite(line: &[u8], id: &str) -> serde_json::Result<Vec<u8>> {
    let mut v: Map<String, Value> = serde_json::from_slice(line)?;
    v.insert("status".into(), Value::from("quarantined"));
    v.insert("quarantine_id".into(), Value::from(id));
    serde_json::to_vec(&v)
}
