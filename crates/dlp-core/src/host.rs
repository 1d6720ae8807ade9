//! The name of this machine, for the optional `host` field of records and
//! the per-host subjects of the fleet transport.

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

/// This machine's host name, looked up once; `None` when unknown.
pub fn this() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Some(NAME.get_or_init(name).as_str()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_no_surrounding_whitespace() {
        let n = super::name();
        assert_eq!(n, n.trim());
    }
}
