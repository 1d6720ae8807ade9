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

#[cfg(test)]
mod tests {
    #[test]
    fn has_no_surrounding_whitespace() {
        let n = super::name();
        assert_eq!(n, n.trim());
    }
}
