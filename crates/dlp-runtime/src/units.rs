//! One size syntax and one duration syntax for every flag of every tool.
//!
//! Sizes: `500M`, `64K`, `1G`, `1.5M`, `10MiB`, `2GB`; the suffixes `K`,
//! `M`, `G`, `T` (with or without `B`/`iB`, any case) are powers of 1024 and
//! a bare number is bytes. Durations: `500ms`, `2s`, `5m`, `1h`, `1d`,
//! `1.5s`; a bare number keeps the unit the flag had before the suffixes
//! existed (seconds for most, milliseconds for `--poll`, `--debounce`,
//! `--flush-after`), so old command lines mean what they meant.
//!
//! The `size`, `secs` and `millis` functions are clap value parsers.

use std::time::Duration;

/// The syntax, for error messages and help text.
const SIZE_SYNTAX: &str = "a size such as 512, 64K, 500M, 1.5G or 10MiB";
/// The syntax, for error messages and help text.
const DURATION_SYNTAX: &str = "a duration such as 500ms, 2s, 5m or 1h";

/// A decimal number split into its digits: `int` and `frac` over `10^scale`.
struct Decimal {
    int: u128,
    frac: u128,
    scale: u32,
}

impl Decimal {
    /// `self * unit`, rounded down; `None` on overflow.
    fn times(&self, unit: u128) -> Option<u128> {
        let whole = self.int.checked_mul(unit)?;
        let part = self.frac.checked_mul(unit)? / 10u128.pow(self.scale);
        whole.checked_add(part)
    }
}

/// Splits `1.5M` into the number and the suffix (`M`).
fn split(s: &str) -> Result<(Decimal, &str), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty value".into());
    }
    if t.starts_with('-') {
        return Err(format!("{s:?} is negative"));
    }
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(end);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(format!("{s:?} does not start with a number"));
    }
    if frac.contains('.') {
        return Err(format!("{s:?} is not a number"));
    }
    if frac.len() > 9 {
        return Err(format!("{s:?} has more than 9 decimals"));
    }
    let digits = |d: &str| -> Result<u128, String> {
        if d.is_empty() {
            return Ok(0);
        }
        d.parse::<u128>().map_err(|_| format!("{s:?} is too large"))
    };
    Ok((
        Decimal {
            int: digits(int)?,
            frac: digits(frac)?,
            scale: frac.len() as u32,
        },
        suffix.trim_start(),
    ))
}

/// Parses a size in bytes (see the module docs).
fn parse_size(s: &str) -> Result<u64, String> {
    let bad = |why: String| format!("invalid size {s:?}: {why} (want {SIZE_SYNTAX})");
    let (n, suffix) = split(s).map_err(bad)?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(bad(format!("unknown unit {suffix:?}"))),
    };
    if shift == 0 && n.frac != 0 {
        return Err(bad("a byte count is a whole number".into()));
    }
    n.times(1u128 << shift)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| bad("too large".into()))
}

/// The longest duration accepted (about 31.7 years): any deadline it sets
/// is far inside what `Instant` can represent.
const MAX_DURATION_SECS: u64 = 1_000_000_000;

/// The unit of a bare number in a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bare {
    Seconds,
    Millis,
}

/// Parses a duration (see the module docs); a bare number is in `bare` units.
fn parse_duration(s: &str, bare: Bare) -> Result<Duration, String> {
    let bad = |why: String| format!("invalid duration {s:?}: {why} (want {DURATION_SYNTAX})");
    let (n, suffix) = split(s).map_err(bad)?;
    const MS: u128 = 1_000_000;
    const SEC: u128 = 1_000 * MS;
    let unit = match suffix {
        "" if bare == Bare::Millis => MS,
        "" | "s" | "sec" | "secs" => SEC,
        "ms" => MS,
        "m" | "min" | "mins" => 60 * SEC,
        "h" => 3600 * SEC,
        "d" => 86_400 * SEC,
        _ => return Err(bad(format!("unknown unit {suffix:?} (ms, s, m, h, d)"))),
    };
    let nanos = n
        .times(unit)
        .filter(|&n| n <= u128::from(MAX_DURATION_SECS) * SEC)
        .ok_or_else(|| bad("longer than 31 years".into()))?;
    Ok(Duration::new((nanos / SEC) as u64, (nanos % SEC) as u32))
}

/// Clap value parser: a size in bytes.
pub fn size(s: &str) -> Result<u64, String> {
    parse_size(s)
}

/// Clap value parser: a size in bytes that fits in memory (`usize`).
pub fn size_usize(s: &str) -> Result<usize, String> {
    let n = parse_size(s)?;
    usize::try_from(n).map_err(|_| format!("invalid size {s:?}: too large"))
}

/// Clap value parser: a duration whose bare number is seconds.
pub fn secs(s: &str) -> Result<Duration, String> {
    parse_duration(s, Bare::Seconds)
}

/// Clap value parser: a duration whose bare number is milliseconds.
pub fn millis(s: &str) -> Result<Duration, String> {
    parse_duration(s, Bare::Millis)
}

/// Clap value parser: like [`secs`], but zero is refused.
pub fn secs_nonzero(s: &str) -> Result<Duration, String> {
    nonzero(s, secs(s)?)
}

/// Clap value parser: like [`millis`], but zero is refused.
pub fn millis_nonzero(s: &str) -> Result<Duration, String> {
    nonzero(s, millis(s)?)
}

fn nonzero(s: &str, d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        Err(format!("invalid duration {s:?}: must be more than zero"))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (s, want) in [
            ("0", 0),
            ("512", 512),
            ("512B", 512),
            ("64K", 64 << 10),
            ("64k", 64 << 10),
            ("64KB", 64 << 10),
            ("500M", 500 << 20),
            ("10MiB", 10 << 20),
            ("1.5M", 3 << 19),
            (".5K", 512),
            ("1G", 1 << 30),
            ("2gb", 2 << 30),
            ("1T", 1 << 40),
            (" 8 M ", 8 << 20),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_size(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn bad_sizes_say_why() {
        for (s, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("5x", "unknown unit \"x\""),
            ("M", "does not start with a number"),
            ("-5M", "negative"),
            ("1.5", "whole number"),
            ("1.2.3M", "not a number"),
            ("18446744073709551616", "too large"),
            ("16777216T", "too large"),
            ("99999999999999999999999999999999999999999999", "too large"),
        ] {
            let e = parse_size(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
            assert!(e.contains("500M"), "the error shows the syntax: {e}");
        }
    }

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        for (s, bare, want) in [
            ("500ms", Bare::Seconds, ms(500)),
            ("2s", Bare::Seconds, ms(2000)),
            ("1.5s", Bare::Seconds, ms(1500)),
            ("5m", Bare::Seconds, ms(300_000)),
            ("1h", Bare::Seconds, ms(3_600_000)),
            ("1d", Bare::Seconds, ms(86_400_000)),
            ("0", Bare::Seconds, ms(0)),
            // Old spellings: the flag's own unit.
            ("30", Bare::Seconds, ms(30_000)),
            ("0.25", Bare::Seconds, ms(250)),
            ("86400.0", Bare::Seconds, ms(86_400_000)),
            ("250", Bare::Millis, ms(250)),
            ("2s", Bare::Millis, ms(2000)),
            ("0.000000001", Bare::Seconds, Duration::from_nanos(1)),
        ] {
            assert_eq!(parse_duration(s, bare), Ok(want), "{s}");
        }
        assert_eq!(
            parse_duration("1000000000", Bare::Seconds),
            Ok(Duration::from_secs(MAX_DURATION_SECS))
        );
    }

    #[test]
    fn bad_durations_say_why() {
        for (s, why) in [
            ("", "empty"),
            ("5x", "unknown unit \"x\""),
            ("5 minutes", "unknown unit"),
            ("s", "does not start with a number"),
            ("-1s", "negative"),
            ("1.0000000001s", "more than 9 decimals"),
            ("1000000001", "longer than 31 years"),
            ("18446744073709551616", "longer than 31 years"),
            ("999999999999999999999d", "longer than 31 years"),
            ("9999999999999999999999999999999999999999999", "too large"),
        ] {
            let e = parse_duration(s, Bare::Seconds).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
            assert!(e.contains("500ms"), "the error shows the syntax: {e}");
        }
        assert!(secs_nonzero("0s").unwrap_err().contains("more than zero"));
        assert!(millis_nonzero("0").is_err());
        assert_eq!(millis_nonzero("1"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn usize_sizes() {
        assert_eq!(size_usize("1M"), Ok(1 << 20));
    }
}
