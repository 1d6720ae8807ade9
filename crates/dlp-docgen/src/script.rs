//! Man pages and completions for the pipeline commands (`local-dlp`,
//! `fim-notify`, ...), which are bash scripts: their `--help` text is the
//! one definition of their options, so it is turned into a clap
//! [`Command`] (the options block into arguments, the rest into the long
//! help) and rendered by the same code as the tools' pages.
//!
//! The help follows one layout: `Usage:` lines, a description, an
//! `Options:` block of lines `  -o, --output FILE   what it does` (a value
//! name in capitals, or none for a switch; continuation lines indented
//! further), then other paragraphs (`Environment:`, `Exit status:`,
//! `Examples:`).

use clap::{Arg, ArgAction, Command};

/// Strings for clap, which keeps `&'static str` (this runs once, in a
/// generator that exits).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// One option line of the help: (short, long, value name, help).
fn option_line(line: &str) -> Option<(Option<char>, &str, Option<&str>, &str)> {
    let t = line.strip_prefix("  ")?;
    if t.starts_with(' ') {
        return None;
    }
    let (short, rest) = match t.strip_prefix('-').and_then(|r| r.split_once(", ")) {
        Some((s, r)) if s.len() == 1 => (s.chars().next(), r),
        _ => (None, t),
    };
    let rest = rest.strip_prefix("--")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let long = &rest[..end];
    let after = rest[end..].trim_start_matches(['=', ' ']);
    // A value name is capitals (FILE, URL,..., SECS); the help follows after
    // two or more spaces.
    let (value, help) = match after.split_once("  ") {
        Some((v, h))
            if !v.is_empty() && v.chars().next().is_some_and(|c| c.is_ascii_uppercase()) =>
        {
            (Some(v.trim()), h.trim())
        }
        _ if after.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && !after.contains("  ") =>
        {
            (Some(after.trim()), "")
        }
        _ => (None, after.trim()),
    };
    (!long.is_empty()).then_some((short, long, value, help))
}

/// The clap command a script's `--help` text describes.
pub fn command(name: &str, version: &str, help: &str) -> Command {
    let mut args = Vec::new();
    let mut text = Vec::new();
    let mut in_options = false;
    let mut last: Option<usize> = None;
    for line in help.lines() {
        if line.starts_with("Usage:") || (text.is_empty() && line.starts_with("       ")) {
            continue;
        }
        if line == "Options:" {
            in_options = true;
            continue;
        }
        if in_options {
            if line.is_empty() {
                in_options = false;
                text.push(line);
                continue;
            }
            if let Some(opt) = option_line(line) {
                args.push((opt.0, opt.1, opt.2, opt.3.to_owned()));
                last = Some(args.len() - 1);
            } else if let Some(i) = last {
                // A continuation of the previous option's help.
                let h = &mut args[i].3;
                if !h.is_empty() {
                    h.push(' ');
                }
                h.push_str(line.trim());
            }
            continue;
        }
        text.push(line);
    }
    let long = text.join("\n").trim().to_owned();
    // The first sentence of the first paragraph, up to a colon or an
    // aside in parentheses: the NAME line.
    let first = long
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\n', " ");
    let end = [". ", ": ", " (", ", "]
        .iter()
        .filter_map(|sep| first.find(sep))
        .min()
        .unwrap_or(first.len());
    let about = first[..end].trim_end_matches(['.', ':']).to_owned();
    let mut cmd = Command::new(leak(name.to_owned()))
        .version(leak(version.to_owned()))
        .about(leak(about))
        .long_about(leak(long))
        .disable_version_flag(true)
        .disable_help_flag(true);
    for (short, long, value, help) in args {
        let mut a = Arg::new(leak(long.to_owned()))
            .long(leak(long.to_owned()))
            .help(leak(help));
        if let Some(s) = short {
            a = a.short(s);
        }
        a = match value {
            Some(v) => a.value_name(leak(v.to_owned())).action(ArgAction::Set),
            None => a.action(ArgAction::SetTrue),
        };
        cmd = cmd.arg(a);
    }
    cmd.arg(
        Arg::new("operands")
            .value_name("DIR")
            .num_args(0..)
            .action(ArgAction::Append)
            .value_hint(clap::ValueHint::AnyPath),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Usage: fleet-central.sh [--servers URL,...] [--once]
                        [--log-dir DIR]

The central half of fleet DLP. It reads findings.

Options:
  --servers URL,...   NATS servers (default $NATS_URL)
  -o, --output FILE   CSV to append to
                      (default ./central.csv)
  --once              read to the end of the stream, report, exit
  -h, --help          show this help

Exit status: 0 ok.

Examples:
  fleet-central.sh --once
";

    #[test]
    fn the_help_becomes_a_command() {
        let cmd = command("fleet-central", "0.1.0", HELP);
        assert_eq!(
            cmd.get_about().unwrap().to_string(),
            "The central half of fleet DLP"
        );
        let servers = cmd
            .get_arguments()
            .find(|a| a.get_id() == "servers")
            .unwrap();
        assert_eq!(servers.get_value_names().unwrap()[0], "URL,...");
        let out = cmd
            .get_arguments()
            .find(|a| a.get_id() == "output")
            .unwrap();
        assert_eq!(out.get_short(), Some('o'));
        assert_eq!(
            out.get_help().unwrap().to_string(),
            "CSV to append to (default ./central.csv)"
        );
        let once = cmd.get_arguments().find(|a| a.get_id() == "once").unwrap();
        assert!(once.get_value_names().is_none());
        let long = cmd.get_long_about().unwrap().to_string();
        assert!(long.contains("Examples:") && !long.contains("--servers URL"));
    }
}
