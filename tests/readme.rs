//! README.md stays true: its first quick-start command runs as written and
//! finds the planted data, its second is the test command CI runs, and its
//! flag table names every flag of every tool.

use std::path::{Path, PathBuf};

use testkit::{bin, cmd, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The commands of the first ```sh block after "## Quick start".
fn quick_start() -> Vec<String> {
    let text = readme();
    let section = &text[text.find("## Quick start").expect("a Quick start section")..];
    let block = &section[section.find("```sh\n").expect("a sh block") + 6..];
    let block = &block[..block.find("```").unwrap()];
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn quick_start_has_two_commands_and_the_second_is_what_ci_runs() {
    let cmds = quick_start();
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == cmds[1]),
        "`.ci/run` must run `{}`",
        cmds[1]
    );
}

#[test]
fn first_quick_start_command_scans_the_sample_data_offline() {
    let cmds = quick_start();
    // Run it as written, in a copy of the scripts and data, on the binaries
    // this test run built (DLP_BIN_DIR skips the release build).
    let dir = TempDir::new("readme");
    copy_dir(&root().join("pipelines"), &dir.join("pipelines"));
    copy_dir(&root().join("examples"), &dir.join("examples"));
    let bin_dir = bin("pii-scan").parent().unwrap().to_path_buf();
    let out = cmd("bash")
        .args(["-c", &cmds[0]])
        .current_dir(dir.path())
        .env("DLP_BIN_DIR", &bin_dir)
        .run()
        .expect_code(0);
    let text = out.stdout_str() + &out.stderr_str();
    assert!(text.contains("14 finding(s) in 4 file(s)"), "{text}");
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    for want in [
        "Credit Card Number",
        "US Social Security Number",
        "API Key",
        "Cryptographic Key",
        "customers.csv",
    ] {
        assert!(csv.contains(want), "{want} in {csv}");
    }
    assert!(
        !csv.contains("release-notes.txt"),
        "decoys are not reported: {csv}"
    );
    // The summary printed in the README is the one the command prints.
    let readme = readme();
    for line in text.lines().filter(|l| {
        l.starts_with("  ") && l.trim().chars().next().is_some_and(|c| c.is_ascii_digit())
    }) {
        assert!(readme.contains(line), "README shows `{line}`");
    }
}

#[test]
fn flag_table_names_every_flag_of_every_tool() {
    let text = readme();
    let table = &text[text.find("## Flags").unwrap()..];
    let table = &table[..table.find("\n## ").unwrap()];
    // Every tool dlp-docgen documents (its test checks that is every crate
    // under tools/).
    for tool in &e2e::tool_names() {
        let help = cmd(bin(tool))
            .arg("--help")
            .run()
            .expect_code(0)
            .stdout_str();
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{tool}")))
            .unwrap_or_else(|| panic!("a row for {tool}"));
        for flag in help.lines().filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("-")
                .filter(|r| r.len() > 1 && r.as_bytes()[1] == b',')
                .map(|r| r[2..].trim_start())
                .unwrap_or(l);
            l.strip_prefix("--").map(|r| {
                r.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
        }) {
            if flag.is_empty() || flag == "help" || flag == "version" {
                continue;
            }
            assert!(
                row.contains(&format!("--{flag}")),
                "README's flag table lacks {tool} --{flag}"
            );
        }
    }
}

/// docs/ARCHITECTURE.md names every workspace member: each crate by its
/// directory (`crates/NAME`), each tool by name, and the other members by
/// their path, so a new member cannot land undocumented.
#[test]
fn architecture_names_every_workspace_member() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find_map(|l| l.strip_prefix("members = "))
        .expect("a members line");
    let mut missing = Vec::new();
    let mut seen = 0;
    for pattern in members.trim_matches(|c| c == '[' || c == ']').split(',') {
        let pattern = pattern.trim().trim_matches('"');
        let dirs: Vec<PathBuf> = match pattern.strip_suffix("/*") {
            Some(parent) => std::fs::read_dir(root.join(parent))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect(),
            None => vec![root.join(pattern)],
        };
        for dir in dirs {
            seen += 1;
            let rel = dir
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let named = match rel.split_once('/') {
                Some(("crates", _)) => doc.contains(&format!("crates/{name} ")),
                Some(("tools", _)) => doc.contains(&format!("`{name}`")),
                _ => doc.contains(&rel),
            };
            if !named {
                missing.push(rel);
            }
        }
    }
    assert!(seen > 20, "only {seen} members found");
    assert!(
        missing.is_empty(),
        "not in docs/ARCHITECTURE.md: {missing:?}"
    );
}
