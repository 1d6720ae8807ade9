//! The `--state` baseline: path → (sha256, size, mode, uid, gid, link
//! count, ACL, extended attributes, mtime) kept
//! across restarts, so changes made while the watcher was down are reported
//! on start (the AIDE-style check, but continuous).
//!
//! Format: NDJSON, a header line then one line per entry, so it can be read
//! with `jq`. Written atomically: temp file, fsync, rename, fsync of the
//! directory; a crash leaves either the old or the new baseline, never half.
//! inode and ctime are stored too: when they, size and mtime are unchanged,
//! the stored hash is reused instead of re-reading the file on start.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use dlp_record::{path_field, path_from_field};
use serde::{Deserialize, Serialize};

use crate::attrs::Ext;
use crate::tree::{Kind, Meta, Tree};

const HEADER: &str = "fswatch_json_state";

#[derive(Serialize, Deserialize)]
struct Line {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    #[serde(default)]
    is_directory: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    size: u64,
    mode: String,
    uid: u32,
    mtime: String,
    mtime_ns: i64,
    ctime_ns: i64,
    ino: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nlink: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    xattrs: BTreeMap<String, String>,
}

/// A loaded baseline.
pub type Baseline = HashMap<PathBuf, Meta>;

/// Loads a baseline; `Ok(None)` when the file does not exist yet.
/// Malformed lines are reported and skipped.
pub fn load(path: &Path) -> anyhow::Result<Option<Baseline>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading state {}", path.display())),
    };
    let mut map = HashMap::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading state {}", path.display()))?;
        if i == 0 && line.contains(HEADER) {
            continue;
        }
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => {
                let mode = u32::from_str_radix(&l.mode, 8).unwrap_or(0);
                let mut meta = Meta {
                    kind: if l.is_directory {
                        Kind::Dir
                    } else if l.sha256.is_some() || mode & 0o170000 == 0o100000 {
                        Kind::File
                    } else {
                        Kind::Other
                    },
                    size: l.size,
                    mtime_ns: l.mtime_ns,
                    ctime_ns: l.ctime_ns,
                    ino: l.ino,
                    mode,
                    uid: l.uid,
                    gid: l.gid.unwrap_or(0),
                    nlink: l.nlink.unwrap_or(1),
                    full: l.gid.is_some() && l.nlink.is_some(),
                    sha: None,
                    ext: (l.acl.is_some() || !l.xattrs.is_empty()).then(|| {
                        Box::new(Ext {
                            acl: l.acl,
                            xattrs: l.xattrs,
                        })
                    }),
                    listed_only: false,
                };
                if let Some(h) = &l.sha256 {
                    meta.set_sha_hex(h);
                }
                map.insert(path_from_field(&l.path, l.path_b64.as_deref()), meta);
            }
            Err(e) => eprintln!(
                "fswatch-json: state {}: line {}: {e} (skipped)",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(Some(map))
}

/// Writes the tree as the new baseline, atomically.
pub fn save(path: &Path, tree: &Tree) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("state path has no file name")?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let write = || -> anyhow::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = BufWriter::new(f);
        writeln!(
            w,
            "{{\"{HEADER}\":1,\"saved\":\"{}\"}}",
            dlp_record::time::now_rfc3339()
        )?;
        for (dir, node) in &tree.dirs {
            for (n, m) in &node.entries {
                let p = dir.join(n);
                let (path, path_b64) = path_field(&p);
                let line = Line {
                    path,
                    path_b64,
                    is_directory: m.is_dir(),
                    sha256: m.sha_hex(),
                    size: m.size,
                    mode: format!("{:o}", m.mode),
                    uid: m.uid,
                    mtime: crate::record::rfc3339_ns(m.mtime_ns),
                    mtime_ns: m.mtime_ns,
                    ctime_ns: m.ctime_ns,
                    ino: m.ino,
                    gid: Some(m.gid),
                    nlink: Some(m.nlink),
                    acl: m.ext.as_ref().and_then(|e| e.acl.clone()),
                    xattrs: m.ext.as_ref().map(|e| e.xattrs.clone()).unwrap_or_default(),
                };
                serde_json::to_writer(&mut w, &line)?;
                w.write_all(b"\n")?;
            }
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("saving state {}", path.display()))
}

/// Writes the baseline's entries to `out`, one JSON object per line in
/// path order (`--list`); the header line is left out.
pub fn list(path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let f =
        std::fs::File::open(path).with_context(|| format!("reading state {}", path.display()))?;
    let mut lines: Vec<(PathBuf, String)> = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading state {}", path.display()))?;
        if i == 0 && line.contains(HEADER) {
            continue;
        }
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => lines.push((path_from_field(&l.path, l.path_b64.as_deref()), line)),
            Err(e) => eprintln!(
                "fswatch-json: state {}: line {}: {e} (skipped)",
                path.display(),
                i + 1
            ),
        }
    }
    lines.sort();
    for (_, l) in lines {
        out.write_all(l.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
