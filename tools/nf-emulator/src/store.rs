//! Upload state: bytes on disk (written at their offsets, so chunks may
//! arrive in any order, as Nightfall's Go and Java SDKs send them) and
//! which chunks have arrived; findings documents served by token.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

/// Where an upload is in Nightfall's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Uploading,
    Finished,
    Scanning,
    Done,
}

/// One file upload.
#[derive(Debug)]
pub struct Upload {
    pub key: String,
    pub size: u64,
    pub chunk_size: u64,
    pub mime: String,
    pub received: Vec<bool>,
    pub phase: Phase,
}

impl Upload {
    /// Number of chunks the file is cut into.
    pub fn chunks(&self) -> usize {
        self.size.div_ceil(self.chunk_size) as usize
    }
}

/// A findings document and when its URL stops working.
pub struct Served {
    pub body: Vec<u8>,
    pub expires: u64,
}

/// All uploads and findings documents.
pub struct Store {
    dir: PathBuf,
    owned_dir: bool,
    pub uploads: Mutex<HashMap<String, Upload>>,
    pub findings: Mutex<HashMap<String, Served>>,
}

impl Store {
    /// A store in `dir`, or in a new temporary directory removed on exit.
    pub fn new(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let owned_dir = dir.is_none();
        let dir = dir.unwrap_or_else(|| {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            std::env::temp_dir().join(format!("nf-emulator-{}-{nanos}", std::process::id()))
        });
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        Ok(Store {
            dir,
            owned_dir,
            uploads: Mutex::default(),
            findings: Mutex::default(),
        })
    }

    /// The file holding an upload's bytes.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.bin"))
    }

    /// Creates the (sparse) file for a new upload.
    pub fn create(&self, id: &str, size: u64) -> std::io::Result<()> {
        File::create(self.path(id))?.set_len(size)
    }

    /// Writes one chunk at its offset.
    pub fn write_chunk(&self, id: &str, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path(id))?;
        f.write_all_at(data, offset)
    }

    /// Removes the temporary directory (when the store made it).
    pub fn cleanup(&self) {
        if self.owned_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
