//! `--state FILE`: the open findings of the previous report, so this one
//! can say what is new since.
//!
//! The file holds a header line, `{"findings_report_state":1,"generated":
//! TIME,"open":N}`, then N finding keys ([`crate::key`], 32 hex digits),
//! one a line: no path, host or finding text. It is replaced atomically
//! (a temporary file beside it, fsync, rename, fsync of the directory),
//! mode 0600, only after the page was written. A file that is not such a
//! state, or is cut short, is an error (exit 2), never silently replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use dlp_runtime::ndjson::{Line, LineReader};

use crate::key::{self, Key};

const VERSION: u64 = 1;
const TAG: &str = "findings_report_state";

/// The previous report's open findings.
#[derive(Debug)]
pub struct Previous {
    /// When the previous report was made (as it wrote it).
    pub generated: String,
    /// Its open keys, sorted.
    pub open: Vec<Key>,
}

/// Reads the state at `path`; `None` when there is none yet.
pub fn load(path: &Path, max_keys: usize) -> anyhow::Result<Option<Previous>> {
    let shown = path.display();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Fail now, not after the page is written.
            let dir = parent(path);
            if !dir.is_dir() {
                bail!("state {shown}: directory {} does not exist", dir.display());
            }
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("state {shown}")),
    };
    let mut lines = LineReader::with_max_line(file, 4096);
    let text = |lines: &mut LineReader<File>| -> anyhow::Result<Option<String>> {
        match lines
            .next_line()
            .with_context(|| format!("reading state {shown}"))?
        {
            None => Ok(None),
            Some(Line::TooLong(_)) => Ok(Some(String::new())),
            Some(Line::Text(t)) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
        }
    };
    let head = text(&mut lines)?.unwrap_or_default();
    let (generated, n) = header(&head)
        .with_context(|| format!("state {shown} is not a findings-report state file"))?;
    if n > max_keys as u64 {
        bail!("state {shown} holds {n} keys, more than --max-findings {max_keys}");
    }
    let mut open = Vec::with_capacity(n as usize);
    while let Some(line) = text(&mut lines)? {
        let k = key::from_hex(&line).with_context(|| {
            format!("state {shown}: line {}: not a finding key", lines.line_no())
        })?;
        open.push(k);
        if open.len() as u64 > n {
            break;
        }
    }
    if open.len() as u64 != n {
        bail!(
            "state {shown} is damaged: its header announces {n} keys, it holds {}",
            if open.len() as u64 > n {
                "more".to_owned()
            } else {
                open.len().to_string()
            }
        );
    }
    open.sort_unstable();
    Ok(Some(Previous { generated, open }))
}

fn header(line: &str) -> anyhow::Result<(String, u64)> {
    let v: serde_json::Value = serde_json::from_str(line).context("no JSON header line")?;
    if v.get(TAG).and_then(|x| x.as_u64()) != Some(VERSION) {
        bail!("no \"{TAG}\":{VERSION} in its header line");
    }
    let generated = v.get("generated").and_then(|x| x.as_str());
    let open = v.get("open").and_then(|x| x.as_u64());
    match (generated, open) {
        (Some(g), Some(n)) => Ok((g.to_owned(), n)),
        _ => bail!("its header line lacks \"generated\" or \"open\""),
    }
}

/// Replaces the state at `path` with `open` keys, atomically.
pub fn save(path: &Path, generated: &str, open: &[Key]) -> anyhow::Result<()> {
    let shown = path.display();
    let tmp = sibling(path, ".tmp");
    let _ = fs::remove_file(&tmp);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = BufWriter::new(file);
    let head = serde_json::json!({TAG: VERSION, "generated": generated, "open": open.len()});
    let written = (|| -> io::Result<()> {
        writeln!(w, "{head}")?;
        for k in open {
            writeln!(w, "{}", key::to_hex(*k))?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = written.and_then(|_| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing state {shown}"));
    }
    File::open(parent(path))
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing the directory of state {shown}"))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fr-state-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trips_privately_and_atomically() {
        let d = dir("rt");
        let p = d.join("state");
        assert!(load(&p, 10).unwrap().is_none(), "no state yet");
        save(&p, "2026-11-27T10:00:00Z", &[(3, 4), (1, 2)]).unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!sibling(&p, ".tmp").exists());
        let prev = load(&p, 10).unwrap().unwrap();
        assert_eq!(prev.generated, "2026-11-27T10:00:00Z");
        assert_eq!(prev.open, vec![(1, 2), (3, 4)]);
        let e = load(&p, 1).unwrap_err();
        assert!(
            format!("{e:#}").contains("more than --max-findings 1"),
            "{e:#}"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn foreign_or_damaged_files_are_refused() {
        let d = dir("bad");
        let p = d.join("state");
        for (text, why) in [
            ("host,path\n", "not a findings-report state"),
            ("{\"dlp_finding_state\":1}\n", "not a findings-report state"),
            (
                "{\"findings_report_state\":1,\"generated\":\"x\",\"open\":2}\n0123456789abcdef0123456789abcdef\n",
                "announces 2 keys, it holds 1",
            ),
            (
                "{\"findings_report_state\":1,\"generated\":\"x\",\"open\":1}\n/home/a\n",
                "line 2: not a finding key",
            ),
        ] {
            fs::write(&p, text).unwrap();
            let e = format!("{:#}", load(&p, 10).unwrap_err());
            assert!(e.contains(why), "{text}: {e}");
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
