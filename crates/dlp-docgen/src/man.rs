//! Man page rendering: clap_mangen's title, synopsis and options sections,
//! with the long help laid out for a man page.
//!
//! The tools' long help is plain text written for a terminal: paragraphs,
//! indented blocks (examples, column lists) kept as they are, and
//! paragraphs headed `Examples:`, `Environment:` or `Exit status:`.
//! clap_mangen would run the indented lines together into one filled
//! paragraph; here they stay verbatim (`.nf`), and the headed paragraphs
//! become the EXAMPLES, ENVIRONMENT and EXIT STATUS sections a reader
//! looks for. A tool that says nothing about its exit status gets the
//! convention every tool keeps.

use std::io;

use clap::Command;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

/// One rendered page.
pub struct ManPage {
    /// `TOOL.1`, or `TOOL-SUBCOMMAND.1` for a subcommand.
    pub file_name: String,
    /// The page's roff source.
    pub roff: Vec<u8>,
}

/// Exit status convention of every tool (README, "Conventions").
const EXIT_STATUS: &str = "\
0 success; 1 some input records were rejected (reported on stderr as \
`tool: line N: why`) or some actions failed; 2 usage, configuration or \
fatal error. A closed standard output (`| head`) ends the tool quietly \
with status 0.";

/// Sections lifted out of the long help, by their heading.
const SECTIONS: [(&str, &str); 3] = [
    ("Examples:", "EXAMPLES"),
    ("Environment:", "ENVIRONMENT"),
    ("Exit status:", "EXIT STATUS"),
];

/// The pages of `cmd` and of each of its visible subcommands; `all` names
/// every tool, for SEE ALSO.
pub fn man_pages(cmd: &Command, all: &[&str]) -> io::Result<Vec<ManPage>> {
    let mut cmd = cmd.clone().disable_help_subcommand(true);
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let mut pages = Vec::new();
    collect(&cmd, &version, all, &mut pages)?;
    Ok(pages)
}

fn collect(cmd: &Command, version: &str, all: &[&str], pages: &mut Vec<ManPage>) -> io::Result<()> {
    pages.push(page(cmd, version, all)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, version, all, pages)?;
    }
    Ok(())
}

/// The page of `cmd`, a tool or one of its subcommands; `version` is the
/// tool's.
fn page(cmd: &Command, version: &str, all: &[&str]) -> io::Result<ManPage> {
    let man = Man::new(cmd.clone())
        .source(format!("dlp-pipes {version}"))
        .manual("dlp-pipes manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    // Ragged right and no hyphenation: the pages are full of flags, paths
    // and JSON that must not be split or stretched (as git's pages do).
    let mut roff = Roff::new();
    roff.control("ad", ["l"]).control("nh", []);
    roff.to_writer(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;

    let text = cmd
        .get_long_about()
        .or_else(|| cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let (description, extra) = split_sections(&text);
    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    prose(&mut roff, &description);
    roff.to_writer(&mut out)?;

    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }

    let mut roff = Roff::new();
    let is_tool = cmd.get_display_name().is_none_or(|d| d == cmd.get_name());
    for (_, title) in SECTIONS {
        let body = extra.iter().find(|(t, _)| *t == title).map(|(_, b)| b);
        match body {
            Some(body) => {
                roff.control("SH", [title]);
                prose(&mut roff, body);
            }
            None if title == "EXIT STATUS" && is_tool => {
                roff.control("SH", [title]);
                roff.text([roman(EXIT_STATUS)]);
            }
            None => {}
        }
    }
    let me = cmd.get_display_name().unwrap_or(cmd.get_name());
    let others: Vec<&&str> = all.iter().filter(|t| **t != me).collect();
    if !others.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        let mut line = Vec::new();
        for (i, t) in others.iter().enumerate() {
            if i > 0 {
                line.push(roman(", "));
            }
            line.push(bold(**t));
            line.push(roman("(1)"));
        }
        roff.text(line);
    }
    roff.to_writer(&mut out)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }

    Ok(ManPage {
        file_name: man.get_filename(),
        roff: out,
    })
}

/// Splits long help into the description and the headed paragraphs of
/// [`SECTIONS`] (section title, body without the heading). A heading is on
/// a line of its own above an indented block (`Examples:`) or starts a
/// sentence (`Exit status: 0 ok, ...`); indented paragraphs that follow
/// belong to the same section.
fn split_sections(text: &str) -> (String, Vec<(&'static str, String)>) {
    let mut description = String::new();
    let mut extra: Vec<(&'static str, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for para in text.split("\n\n") {
        let headed = SECTIONS
            .iter()
            .find_map(|(h, title)| Some((*title, para.strip_prefix(h)?)));
        if let Some((title, rest)) = headed {
            let body = match rest.strip_prefix('\n') {
                Some(block) => block,
                None => rest.trim_start(),
            };
            extra.push((title, body.trim_end().to_owned()));
            current = Some(extra.len() - 1);
            continue;
        }
        match current {
            Some(i) if para.starts_with(' ') => {
                extra[i].1.push_str("\n\n");
                extra[i].1.push_str(para.trim_end());
            }
            _ => {
                current = None;
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str(para.trim_end());
            }
        }
    }
    (description, extra)
}

/// Paragraphs as filled text; indented lines verbatim (less the two
/// spaces of indentation the help text uses, so continuation lines keep
/// their place).
fn prose(roff: &mut Roff, text: &str) {
    for (n, para) in text.split("\n\n").enumerate() {
        if n > 0 {
            roff.control("PP", []);
        }
        let mut verbatim = false;
        for line in para.lines() {
            let indented = line.starts_with(' ');
            if indented != verbatim {
                if indented {
                    roff.control("RS", ["4"]);
                    roff.control("nf", []);
                } else {
                    roff.control("fi", []);
                    roff.control("RE", []);
                }
                verbatim = indented;
            }
            let shown = if indented {
                line.strip_prefix("  ").unwrap_or(line.trim_start())
            } else {
                line
            };
            roff.text([roman(shown)]);
        }
        if verbatim {
            roff.control("fi", []);
            roff.control("RE", []);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Do things.

Columns:
  a,b,c
then more text.

Environment:
  KEY   the key

Exit status: 0 ok, 2 not.

Examples:
  tool --flag x
  FOO=1 tool | other \\
      | third

  tool -v   # a comment";

    #[test]
    fn headed_paragraphs_become_sections_and_the_rest_stays_description() {
        let (d, extra) = split_sections(HELP);
        assert_eq!(d, "Do things.\n\nColumns:\n  a,b,c\nthen more text.");
        let titles: Vec<_> = extra.iter().map(|e| e.0).collect();
        assert_eq!(titles, ["ENVIRONMENT", "EXIT STATUS", "EXAMPLES"]);
        assert_eq!(extra[0].1, "  KEY   the key");
        assert_eq!(extra[1].1, "0 ok, 2 not.");
        assert!(extra[2].1.starts_with("  tool --flag x\n  FOO=1 tool"));
        assert!(extra[2].1.ends_with("| third\n\n  tool -v   # a comment"));
    }

    #[test]
    fn indented_and_example_lines_are_verbatim() {
        let mut r = Roff::new();
        prose(&mut r, "Columns:\n  a,b,c\nthen more.");
        assert_eq!(
            r.to_roff(),
            "Columns:\n.RS 4\n.nf\na,b,c\n.fi\n.RE\nthen more.\n"
        );
        let mut r = Roff::new();
        let (_, extra) = split_sections(HELP);
        prose(&mut r, &extra[2].1);
        let s = r.to_roff();
        assert!(s.starts_with(".RS 4\n.nf\ntool \\-\\-flag x\nFOO=1"), "{s}");
        assert!(
            s.contains("\n    | third\n.fi\n.RE\n.PP\n.RS 4\n.nf\ntool"),
            "{s}"
        );
        assert!(s.ends_with(".fi\n.RE\n"), "{s}");
    }
}
