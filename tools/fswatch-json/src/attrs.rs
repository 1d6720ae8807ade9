//! Metadata a file-integrity baseline checks besides content, as AIDE's and
//! Tripwire's rule groups do: permissions, owner, group, POSIX ACL,
//! extended attributes (`security.*` included: SELinux labels, file
//! capabilities), inode and link count.
//!
//! A change of any checked attribute whose content hash did not change is
//! an `attrib` event carrying the new values at top level and the old ones
//! under `previous`, with `changed` naming what changed; a change of times
//! only (`touch`) is not. [`Checks`] is the set checked (`--attrs`).
//! ACLs and extended attributes are read only when hashing (the FIM mode),
//! and reused while a file's ctime is unchanged (any metadata change moves
//! ctime), so a rescan of an unchanged tree costs no extra syscalls.

use std::collections::BTreeMap;
use std::path::Path;

use dlp_record::{AttrValues, FsEvent};

use crate::tree::Meta;

/// One checked attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    Perm,
    Uid,
    Gid,
    Acl,
    Xattrs,
    Inode,
    Links,
}

impl Attr {
    /// Every attribute, in the order `changed` lists them.
    pub const ALL: [Attr; 7] = [
        Attr::Perm,
        Attr::Uid,
        Attr::Gid,
        Attr::Acl,
        Attr::Xattrs,
        Attr::Inode,
        Attr::Links,
    ];

    /// The name in `--attrs` and in an event's `changed` list (the
    /// FsEvent field that holds it).
    pub fn name(self) -> &'static str {
        match self {
            Attr::Perm => "mode",
            Attr::Uid => "uid",
            Attr::Gid => "gid",
            Attr::Acl => "acl",
            Attr::Xattrs => "xattrs",
            Attr::Inode => "ino",
            Attr::Links => "nlink",
        }
    }
}

/// The set of attributes checked (`--attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks(u8);

impl Default for Checks {
    fn default() -> Self {
        Checks::all()
    }
}

impl Checks {
    /// Every attribute.
    pub fn all() -> Checks {
        Checks(0x7f)
    }

    /// True when `a` is checked.
    pub fn has(self, a: Attr) -> bool {
        self.0 & (1 << a as u8) != 0
    }

    /// True when ACLs or extended attributes need reading.
    pub fn reads_xattrs(self) -> bool {
        self.has(Attr::Acl) || self.has(Attr::Xattrs)
    }

    /// Parses `--attrs`: `all`, `none`, or a comma-separated list of
    /// `mode` (alias `perm`), `uid` (`owner`), `gid` (`group`), `acl`,
    /// `xattrs`, `ino` (`inode`), `nlink` (`links`).
    pub fn parse(s: &str) -> Result<Checks, String> {
        match s.trim() {
            "all" => return Ok(Checks::all()),
            "none" => return Ok(Checks(0)),
            _ => {}
        }
        let mut bits = 0u8;
        for w in s.split(',').map(str::trim) {
            let a = match w {
                "mode" | "perm" => Attr::Perm,
                "uid" | "owner" => Attr::Uid,
                "gid" | "group" => Attr::Gid,
                "acl" => Attr::Acl,
                "xattrs" => Attr::Xattrs,
                "ino" | "inode" => Attr::Inode,
                "nlink" | "links" => Attr::Links,
                other => {
                    return Err(format!(
                        "unknown attribute '{other}' (all, none, or a list of mode, uid, gid, acl, xattrs, ino, nlink)"
                    ))
                }
            };
            bits |= 1 << a as u8;
        }
        Ok(Checks(bits))
    }
}

/// What a file's ACL and extended attributes say (`None` in [`Meta`]
/// when it has neither).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ext {
    /// The access ACL (and a directory's default ACL) in `getfacl`'s short
    /// text form, when it says more than the mode bits.
    pub acl: Option<String>,
    /// Other extended attributes: name → value (text, `base64:…` for short
    /// binary values, `sha256:…` for long ones).
    pub xattrs: BTreeMap<String, String>,
}

const ACL_ACCESS: &str = "system.posix_acl_access";
const ACL_DEFAULT: &str = "system.posix_acl_default";

/// Reads the ACL and extended attributes of `path` (not following a
/// symlink); `None` when it has none or they cannot be read.
#[cfg(not(target_os = "linux"))]
pub fn read(_: &Path) -> Option<Box<Ext>> {
    None
}

/// Reads the ACL and extended attributes of `path` (not following a
/// symlink); `None` when it has none or they cannot be read.
#[cfg(target_os = "linux")]
pub fn read(path: &Path) -> Option<Box<Ext>> {
    let size = rustix::fs::llistxattr_query(path).ok()?;
    if size == 0 {
        return None;
    }
    let mut names = vec![0u8; size];
    let n = rustix::fs::llistxattr(path, &mut names[..]).ok()?;
    let mut ext = Ext::default();
    for name in names[..n.min(size)]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
    {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let Some(value) = value_of(path, name) else {
            continue;
        };
        match name {
            ACL_ACCESS | ACL_DEFAULT => {
                let prefix = if name == ACL_DEFAULT { "default:" } else { "" };
                if let Some(text) = acl_text(&value, prefix) {
                    let acl = ext.acl.get_or_insert_with(String::new);
                    if !acl.is_empty() {
                        acl.push(',');
                    }
                    acl.push_str(&text);
                }
            }
            _ => {
                ext.xattrs.insert(name.to_owned(), show_value(&value));
            }
        }
    }
    (ext.acl.is_some() || !ext.xattrs.is_empty()).then(|| Box::new(ext))
}

#[cfg(target_os = "linux")]
fn value_of(path: &Path, name: &str) -> Option<Vec<u8>> {
    let size = rustix::fs::lgetxattr_query(path, name).ok()?;
    let mut v = vec![0u8; size];
    let n = rustix::fs::lgetxattr(path, name, &mut v[..]).ok()?;
    v.truncate(n);
    Some(v)
}

/// A value as text when it is short printable UTF-8 (a trailing NUL, as
/// SELinux labels have, dropped), else `base64:` (up to 64 bytes) or
/// `sha256:` of it.
fn show_value(v: &[u8]) -> String {
    let t = v.strip_suffix(b"\0").unwrap_or(v);
    if let Ok(s) = std::str::from_utf8(t) {
        if s.len() <= 256 && !s.chars().any(dlp_record::text::is_hidden) {
            return s.to_owned();
        }
    }
    if v.len() <= 64 {
        format!("base64:{}", dlp_record::b64::encode(v))
    } else {
        format!("sha256:{}", dlp_record::hash::sha256_bytes(v))
    }
}

/// The Linux `posix_acl_xattr` format (a version word, then 8-byte
/// entries: tag, permissions, id) in `getfacl`'s short form, e.g.
/// `user::rw-,user:1000:r--,group::r--,mask::r--,other::r--`.
fn acl_text(v: &[u8], prefix: &str) -> Option<String> {
    let version = u32::from_le_bytes(v.get(..4)?.try_into().ok()?);
    if version != 2 || !(v.len() - 4).is_multiple_of(8) {
        return None;
    }
    let mut parts = Vec::new();
    for e in v[4..].chunks_exact(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let perm = u16::from_le_bytes([e[2], e[3]]);
        let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let rwx: String = [(4, 'r'), (2, 'w'), (1, 'x')]
            .iter()
            .map(|&(b, c)| if perm & b != 0 { c } else { '-' })
            .collect();
        let who = match tag {
            0x01 => "user::".to_owned(),
            0x02 => format!("user:{id}:"),
            0x04 => "group::".to_owned(),
            0x08 => format!("group:{id}:"),
            0x10 => "mask::".to_owned(),
            0x20 => "other::".to_owned(),
            _ => return None,
        };
        parts.push(format!("{prefix}{who}{rwx}"));
    }
    Some(parts.join(","))
}

/// The checked attributes that differ between `old` and `new`. An
/// attribute the old record did not keep (a baseline written by an older
/// version) is not taken as changed.
pub fn diff(old: &Meta, new: &Meta, checks: Checks) -> Vec<Attr> {
    let ext = |m: &Meta| m.ext.as_deref().cloned().unwrap_or_default();
    let (oe, ne) = (ext(old), ext(new));
    Attr::ALL
        .into_iter()
        .filter(|&a| checks.has(a))
        .filter(|&a| match a {
            Attr::Perm => old.mode & 0o7777 != new.mode & 0o7777,
            Attr::Uid => old.uid != new.uid,
            Attr::Gid => old.full && old.gid != new.gid,
            Attr::Acl => old.full && oe.acl != ne.acl,
            Attr::Xattrs => old.full && oe.xattrs != ne.xattrs,
            Attr::Inode => old.ino != new.ino,
            Attr::Links => old.full && old.nlink != new.nlink,
        })
        .collect()
}

/// The values of `attrs` in `m`.
fn values(m: &Meta, attrs: &[Attr]) -> AttrValues {
    let mut v = AttrValues::default();
    for a in attrs {
        match a {
            Attr::Perm => v.mode = Some(format!("{:04o}", m.mode & 0o7777)),
            Attr::Uid => v.uid = Some(m.uid),
            Attr::Gid => v.gid = Some(m.gid),
            Attr::Acl => {
                v.acl = Some(
                    m.ext
                        .as_ref()
                        .and_then(|e| e.acl.clone())
                        .unwrap_or_default(),
                )
            }
            Attr::Xattrs => {
                v.xattrs = Some(m.ext.as_ref().map(|e| e.xattrs.clone()).unwrap_or_default())
            }
            Attr::Inode => v.ino = Some(m.ino),
            Attr::Links => v.nlink = Some(m.nlink),
        }
    }
    v
}

/// Makes `ev` an `attrib` event: the new values of what changed at top
/// level, the old ones under `previous`, and `changed`.
pub fn describe(ev: &mut FsEvent, old: &Meta, new: &Meta, changed: &[Attr]) {
    let now = values(new, changed);
    ev.mode = now.mode.or(ev.mode.take());
    ev.uid = now.uid.or(ev.uid);
    ev.gid = now.gid;
    ev.acl = now.acl;
    ev.xattrs = now.xattrs;
    ev.ino = now.ino;
    ev.nlink = now.nlink;
    ev.previous = Some(Box::new(values(old, changed)));
    ev.changed = changed.iter().map(|a| a.name().to_owned()).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_attribute_list() {
        assert_eq!(Checks::parse("all").unwrap(), Checks::all());
        let c = Checks::parse("perm,owner").unwrap();
        assert!(c.has(Attr::Perm) && c.has(Attr::Uid) && !c.has(Attr::Gid));
        assert!(!c.reads_xattrs());
        assert!(!Checks::parse("none").unwrap().has(Attr::Perm));
        assert!(Checks::parse("mode,colour").is_err());
    }

    #[test]
    fn acl_in_getfacl_form() {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (1u16, 6u16, u32::MAX),
            (2, 4, 1000),
            (4, 4, u32::MAX),
            (0x10, 4, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        assert_eq!(
            acl_text(&v, "").unwrap(),
            "user::rw-,user:1000:r--,group::r--,mask::r--,other::---"
        );
        assert_eq!(acl_text(&v[..7], ""), None);
    }

    #[test]
    fn values_show_as_text_base64_or_a_hash() {
        assert_eq!(
            show_value(b"system_u:object_r:etc_t:s0\0"),
            "system_u:object_r:etc_t:s0"
        );
        assert_eq!(show_value(&[1, 0, 0, 2]), "base64:AQAAAg==");
        assert!(show_value(&[0u8; 100]).starts_with("sha256:"));
    }
}
