//! The name of this machine, for the optional `host` field of records and
//! the per-host subjects of the fleet transport.
//!
//! Every tool that stamps `host` takes it from [`this`]: the `--host` flag
//! when the tool was given one ([`set`]), else `$DLP_HOST`, else the
//! system's host name. One name per process, so records written by one
//! pipeline agree on where they came from.

use std::sync::OnceLock;

static NAME: OnceLock<String> = OnceLock::new();

/// This machine's host name (`/proc/sys/kernel/hostname`, else
/// `/etc/hostname`, else `$HOSTNAME`); empty when none is known.
pub fn name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Checks a host name given by a user (`--host`, `$DLP_HOST`): not empty,
/// at most 255 bytes, no control or invisible formatting characters.
pub fn check(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("a host name must not be empty".into());
    }
    if s.len() > 255 {
        return Err(format!(
            "a host name is at most 255 bytes ({} given)",
            s.len()
        ));
    }
    if let Some(c) = s.chars().find(|&c| crate::text::is_hidden(c)) {
        return Err(format!(
            "a host name must not hold control or invisible characters (U+{:04X})",
            c as u32
        ));
    }
    Ok(s.to_owned())
}

/// Sets the name [`this`] returns (a tool's `--host`); only the first call
/// counts, and only before [`this`] was first asked.
pub fn set(name: &str) {
    let _ = NAME.set(name.to_owned());
}

/// The name records are stamped with: [`set`], else `$DLP_HOST` (when
/// valid), else [`name`]; `None` when none is known.
pub fn this() -> Option<&'static str> {
    Some(
        NAME.get_or_init(|| {
            std::env::var("DLP_HOST")
                .ok()
                .and_then(|h| check(&h).ok())
                .unwrap_or_else(name)
        })
        .as_str(),
    )
    .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_no_surrounding_whitespace() {
        let n = super::name();
        assert_eq!(n, n.trim());
    }

    #[test]
    fn checks_given_names() {
        assert_eq!(super::check(" web-01 ").unwrap(), "web-01");
        assert!(super::check("").is_err());
        assert!(super::check("a\u{202e}b").is_err());
        assert!(super::check("a\nb").is_err());
        assert!(super::check(&"x".repeat(256)).is_err());
    }
}
