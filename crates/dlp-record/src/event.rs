//! FsEvent: what happened to a file (README.md, "Records"). Field names
//! follow Python watchdog's event, so its consumers keep working; readers
//! are lenient (unknown fields ignored, missing booleans false).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::subject::{path_field, subject_bytes};

/// What happened to a file (Python watchdog's `event_type` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Created,
    Modified,
    Deleted,
    Moved,
    Opened,
    Closed,
    ClosedNoWrite,
    /// The kernel dropped events; consumers should rescan `src_path`.
    Overflow,
    /// A file system was mounted at `src_path` (`fswatch-json --mounts`).
    Mounted,
    /// The file system at `src_path` was unmounted.
    Unmounted,
    /// Metadata changed, content did not: permissions, owner, group, ACL,
    /// extended attributes, inode or link count (`changed` says which,
    /// `previous` holds the old values). A change of times alone is not one.
    Attrib,
}

impl EventType {
    /// All event types, in documentation order.
    pub const ALL: [EventType; 11] = [
        EventType::Created,
        EventType::Modified,
        EventType::Deleted,
        EventType::Moved,
        EventType::Opened,
        EventType::Closed,
        EventType::ClosedNoWrite,
        EventType::Overflow,
        EventType::Mounted,
        EventType::Unmounted,
        EventType::Attrib,
    ];

    /// The wire name (`closed_no_write`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "created",
            EventType::Modified => "modified",
            EventType::Deleted => "deleted",
            EventType::Moved => "moved",
            EventType::Opened => "opened",
            EventType::Closed => "closed",
            EventType::ClosedNoWrite => "closed_no_write",
            EventType::Overflow => "overflow",
            EventType::Mounted => "mounted",
            EventType::Unmounted => "unmounted",
            EventType::Attrib => "attrib",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// True for events after which a file's content may be new and worth
    /// scanning: created, modified, moved (at its destination), closed.
    pub fn may_have_new_content(self) -> bool {
        matches!(
            self,
            EventType::Created | EventType::Modified | EventType::Moved | EventType::Closed
        )
    }
}

/// One file-system event (FsEvent in README.md, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsEvent {
    pub event_type: EventType,
    pub src_path: String,
    #[serde(default)]
    pub dest_path: String,
    #[serde(default)]
    pub is_directory: bool,
    #[serde(default)]
    pub is_synthetic: bool,
    #[serde(default)]
    pub timestamp: String,
    /// Raw bytes of `src_path`, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_path_b64: Option<String>,
    /// Raw bytes of `dest_path`, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Modification time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// Permission bits as an octal string, e.g. `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
    /// Why a synthetic event was emitted (`initial_scan`, `baseline`, `rescan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// File system type of a `mounted`/`unmounted` event (`ext4`, `vfat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fstype: Option<String>,
    /// Mount source of a `mounted`/`unmounted` event (`/dev/sdb1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The mount is removable media; on file events: the file is on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    /// A file on removable media has the content of this watched file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// The machine the event happened on (for records gathered centrally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Group id (with `mode` and `uid` in an `attrib` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Hard-link count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
    /// Inode number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    /// POSIX ACL in `getfacl`'s short form (`user:1000:r--,...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// Extended attributes: name → value (text, `base64:…` or `sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xattrs: Option<std::collections::BTreeMap<String, String>>,
    /// What an `attrib` event's change was: names of the fields that
    /// changed (`mode`, `uid`, `gid`, `acl`, `xattrs`, `ino`, `nlink`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The old values of what changed (an `attrib` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<AttrValues>>,
    /// The process behind the event (`fswatch-json --who`): its pid,
    /// command name, real uid and user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Metadata values of a file, as an `attrib` event's `previous` holds them
/// (only those that changed are present).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttrValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xattrs: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
}

impl FsEvent {
    /// A new event about `src` stamped now, with no optional fields.
    pub fn new(event_type: EventType, src: &Path) -> Self {
        let (src_path, src_path_b64) = path_field(src);
        FsEvent {
            event_type,
            src_path,
            dest_path: String::new(),
            is_directory: false,
            is_synthetic: false,
            timestamp: crate::time::now_rfc3339(),
            src_path_b64,
            dest_path_b64: None,
            size: None,
            mtime: None,
            mode: None,
            uid: None,
            sha256: None,
            previous_sha256: None,
            reason: None,
            fstype: None,
            device: None,
            removable: None,
            copied_from: None,
            host: None,
            gid: None,
            nlink: None,
            ino: None,
            acl: None,
            xattrs: None,
            changed: Vec::new(),
            previous: None,
            pid: None,
            comm: None,
            process_uid: None,
            user: None,
        }
    }

    /// Sets the destination of a move.
    pub fn with_dest(mut self, dest: &Path) -> Self {
        let (d, b) = path_field(dest);
        self.dest_path = d;
        self.dest_path_b64 = b;
        self
    }

    /// The file the event is about ([`subject_bytes`]), with the exact
    /// bytes when the path was not UTF-8.
    pub fn subject(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let field = |name: &str| match name {
            "dest_path" => Some(self.dest_path.as_str()),
            "dest_path_b64" => self.dest_path_b64.as_deref(),
            "src_path" => Some(self.src_path.as_str()),
            "src_path_b64" => self.src_path_b64.as_deref(),
            _ => None,
        };
        match subject_bytes(field) {
            Some(bytes) => PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)),
            None => PathBuf::from(&self.src_path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_event_wire_form_matches_design() {
        let line = r#"{"event_type":"modified","src_path":"/home/ana/Documents/q3.csv","dest_path":"","is_directory":false,"is_synthetic":false,"timestamp":"2026-11-22T10:15:03.120511Z"}"#;
        let ev: FsEvent = serde_json::from_str(line).unwrap();
        assert_eq!(ev.event_type, EventType::Modified);
        assert_eq!(serde_json::to_string(&ev).unwrap(), line);
        assert_eq!(ev.subject(), PathBuf::from("/home/ana/Documents/q3.csv"));
    }

    #[test]
    fn lenient_reader_accepts_minimal_and_extra_fields() {
        let ev: FsEvent = serde_json::from_str(
            r#"{"event_type":"moved","src_path":"/a","dest_path":"/b","x":1}"#,
        )
        .unwrap();
        assert_eq!(ev.subject(), PathBuf::from("/b"));
        assert!(
            serde_json::from_str::<FsEvent>(r#"{"event_type":"exploded","src_path":"/a"}"#)
                .is_err()
        );
    }

    #[test]
    fn non_utf8_paths_survive() {
        use std::os::unix::ffi::OsStrExt;
        let raw = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9.txt"));
        let ev = FsEvent::new(EventType::Created, raw);
        assert_eq!(ev.src_path, "/tmp/caf\u{fffd}.txt");
        let back: FsEvent = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back.subject(), raw);
    }
}
