//! `install.sh` end to end, with the already-built debug binaries
//! (`--bin-dir`, so no release build here): install into a temporary prefix
//! that already holds files of its own, render every man page with `man`,
//! load and run every bash completion, run an installed script with only
//! the installed tools at hand (no cargo, no checkout binaries on PATH),
//! then uninstall and find the prefix exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use e2e::run_installed_local_dlp;
use testkit::{bin, cmd, Cmd, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn install_sh() -> Cmd {
    cmd(root().join("install.sh")).env("HOME", "/nonexistent")
}

fn debug_dir() -> PathBuf {
    bin("dlp-docgen").parent().unwrap().to_path_buf()
}

/// Every path under `dir` (relative) with its file contents (None for
/// directories) and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Option<Vec<u8>>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            let mode = meta.permissions().mode();
            if meta.is_dir() {
                out.insert(rel, (None, mode));
                todo.push(p);
            } else {
                out.insert(rel, (Some(std::fs::read(&p).unwrap()), mode));
            }
        }
    }
    out
}

/// `man` is needed to check the pages render (installed when missing).
fn have(tool: &str, package: &str) -> bool {
    let found = testkit::ensure_commands(&[(tool, package)]);
    testkit::facility(
        found,
        &format!("{tool} is not installed (Debian: {package})"),
    )
}

#[test]
fn install_renders_man_pages_loads_completions_runs_scripts_and_uninstalls_cleanly() {
    let t = TempDir::new("install");
    let prefix = t.join("prefix");
    // A prefix in use: files and directories that are not ours stay.
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::create_dir_all(prefix.join("share/man/man1")).unwrap();
    std::fs::write(prefix.join("bin/other-tool"), "#!/bin/sh\n").unwrap();
    std::fs::write(prefix.join("share/man/man1/other.1"), ".TH OTHER 1\n").unwrap();
    let before = snapshot(&prefix);

    // Prebuilt binaries named by DLP_BIN_DIR, and no cargo on PATH.
    let err = install_sh()
        .arg("--prefix")
        .arg(&prefix)
        .env("DLP_BIN_DIR", debug_dir())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .run()
        .expect_code(0)
        .stderr_str();
    assert!(err.contains("install.sh: installed "), "{err}");
    // The closing lines say where everything went and what a custom
    // prefix needs.
    for said in [
        format!("man pages: {}/share/man/man1", prefix.display()),
        "export MANPATH=".to_owned(),
        "export XDG_DATA_DIRS=".to_owned(),
        "systemd does not look there".to_owned(),
    ] {
        assert!(err.contains(&said), "{said}: {err}");
    }

    let tools = e2e::tool_names();
    assert!(tools.len() >= 9, "{tools:?}");
    for tool in &tools {
        let v = cmd(prefix.join("bin").join(tool))
            .arg("--version")
            .run()
            .expect_code(0)
            .stdout_str();
        assert!(v.starts_with(&format!("{tool} ")), "{v}");
    }

    // Man pages: one per tool (and per subcommand), each renders cleanly.
    let man1 = prefix.join("share/man/man1");
    let pages: Vec<PathBuf> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("other.1"))
        .collect();
    for tool in &tools {
        assert!(man1.join(format!("{tool}.1")).exists(), "{tool}.1");
    }
    if have("man", "man-db") {
        for page in &pages {
            let out = cmd("man")
                .env("MANWIDTH", "80")
                .env("LC_ALL", "C.UTF-8")
                .arg("-l")
                .arg(page)
                .run()
                .expect_code(0);
            let text = out.stdout_str();
            let name = page.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                text.contains("NAME") && text.contains("SYNOPSIS"),
                "{name}: {text}"
            );
            assert!(text.contains("SEE ALSO"), "{name}");
            // A word wider than the page (a JSON sample, a long default)
            // is shown overflowing, which troff notes; anything else is a
            // defect of the page.
            let err = out.stderr_str();
            let bad: Vec<&str> = err
                .lines()
                .filter(|l| !l.contains("can't break line") && !l.contains("cannot break line"))
                .collect();
            assert!(bad.is_empty(), "{name}: man says {bad:?}");
        }
        // Found where man looks for them under the prefix.
        let text = cmd("man")
            .env("MANWIDTH", "80")
            .arg("-M")
            .arg(prefix.join("share/man"))
            .arg("pii-scan")
            .run()
            .expect_code(0)
            .stdout_str();
        assert!(text.contains("--min-confidence"), "{text}");
        assert!(text.contains("EXAMPLES"), "{text}");
    }

    // The pipeline commands: installed, documented, completed, and their
    // help free of the checkout's wording.
    let commands = [
        "local-dlp",
        "endpoint-dlp",
        "fim-notify",
        "fleet-endpoint",
        "fleet-central",
    ];
    for c in commands {
        assert!(man1.join(format!("{c}.1")).exists(), "{c}.1");
        let help = cmd(prefix.join("bin").join(c))
            .arg("--help")
            .run()
            .expect_code(0)
            .stdout_str();
        assert!(help.contains(&format!("Usage: {c} ")), "{c}: {help}");
        assert!(
            !help.contains("pipelines/") || help.contains("share/dlp-pipes/pipelines/README.md"),
            "{c}: {help}"
        );
        assert!(!help.contains("cargo"), "{c}: {help}");
        let script = format!(
            "source '{}' || exit 1\n\
             spec=$(complete -p {c}) || exit 1\n\
             fn=${{spec#*-F }}; fn=${{fn%% *}}\n\
             COMP_WORDS=({c} --hel); COMP_CWORD=1\n\
             \"$fn\" {c} --hel {c}\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            prefix
                .join("share/bash-completion/completions")
                .join(c)
                .display()
        );
        let out = cmd("bash")
            .args(["-c", &script])
            .run()
            .expect_code(0)
            .stdout_str();
        assert_eq!(out.trim(), "--help", "{c}: {out}");
    }

    // Bash completions load, register the tool, and complete its flags.
    let comp = prefix.join("share/bash-completion/completions");
    for tool in &tools {
        let script = format!(
            "source '{}' || exit 1\n\
             spec=$(complete -p {tool}) || exit 1\n\
             fn=${{spec#*-F }}; fn=${{fn%% *}}\n\
             COMP_WORDS=({tool} --versi); COMP_CWORD=1\n\
             \"$fn\" {tool} --versi {tool}\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            comp.join(tool).display()
        );
        let out = cmd("bash")
            .args(["-c", &script])
            .run()
            .expect_code(0)
            .stdout_str();
        assert_eq!(out.trim(), "--version", "{tool}: {out}");
    }
    let out = cmd("bash")
        .args([
            "-c",
            &format!(
                "source '{}'; COMP_WORDS=(pii-scan --min-c); COMP_CWORD=1; \
                 _pii__scan pii-scan --min-c pii-scan; echo \"${{COMPREPLY[@]}}\"",
                comp.join("pii-scan").display()
            ),
        ])
        .run()
        .expect_code(0)
        .stdout_str();
    assert_eq!(out.trim(), "--min-confidence");
    for tool in &tools {
        let zsh = prefix.join(format!("share/zsh/site-functions/_{tool}"));
        let fish = prefix.join(format!("share/fish/vendor_completions.d/{tool}.fish"));
        assert!(zsh.exists() && fish.exists(), "{tool}");
    }

    // An installed script runs the installed tools: no cargo, no checkout
    // binaries on PATH, no DLP_BIN_DIR, a HOME without ~/.cargo.
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let said = run_installed_local_dlp(&prefix.join("bin/local-dlp"), t.path(), &home);
    assert!(!said.contains("build"), "{said}");
    let csv = std::fs::read_to_string(t.join("r.csv")).unwrap();
    for finding in ["5433-9502-3725-7862", "3457-389808-83234", "536-22-8726"] {
        assert!(csv.contains(finding), "{finding}: {csv}");
    }

    // systemd units run the installed scripts.
    let units = prefix.join("lib/systemd/user");
    for unit in [
        "dlp-local.service",
        "dlp-endpoint-webhook.service",
        "dlp-endpoint-scanner.service",
        "dlp-fim@.service",
        "dlp-fleet-central-report.service",
    ] {
        let text = std::fs::read_to_string(units.join(unit)).unwrap();
        assert!(!text.contains("%h/dlp-pipes"), "{unit}: {text}");
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        let exe = Path::new(exec.split(' ').next().unwrap());
        assert!(exe.starts_with(&prefix), "{unit}: {exec}");
        assert!(exe.is_file(), "{unit}: {exec}");
    }

    // The targets and timers that group and start the stage units.
    for unit in [
        "lib/systemd/user/dlp-endpoint.target",
        "lib/systemd/user/dlp-fleet-central.target",
        "lib/systemd/user/dlp-fleet-central-report.timer",
        "lib/systemd/system/dlp-fleet-central.target",
        "lib/systemd/system/dlp-fleet-central-report.timer",
    ] {
        assert!(prefix.join(unit).is_file(), "{unit} not installed");
    }

    // System units too (the prefix is not under HOME), running the
    // installed scripts and tools.
    for unit in [
        "dlp-fim@.service",
        "dlp-quarantine@.service",
        "dlp-nf-webhook.service",
        "dlp-fleet-central-collect.service",
        "dlp-fleet-central-report.service",
    ] {
        let text = std::fs::read_to_string(prefix.join("lib/systemd/system").join(unit)).unwrap();
        assert!(!text.contains("/usr/"), "{unit}: {text}");
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        let exe = exec
            .split([' ', '\''])
            .find(|w| w.starts_with(prefix.to_str().unwrap()))
            .unwrap_or_else(|| panic!("{unit}: {exec}"));
        assert!(Path::new(exe).is_file(), "{unit}: {exec}");
    }

    // Installing again replaces the install (same files, one manifest).
    let first = snapshot(&prefix);
    install_sh()
        .arg("--prefix")
        .arg(&prefix)
        .arg("--bin-dir")
        .arg(debug_dir())
        .run()
        .expect_code(0);
    assert_eq!(
        snapshot(&prefix).keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );

    let err = install_sh()
        .arg("--uninstall")
        .arg("--prefix")
        .arg(&prefix)
        .run()
        .expect_code(0)
        .stderr_str();
    assert!(err.contains("removed"), "{err}");
    assert_eq!(snapshot(&prefix), before, "the prefix is as it was");
}

#[test]
fn install_rejects_bad_arguments_and_refuses_what_it_did_not_install() {
    let t = TempDir::new("install-bad");
    let err = install_sh()
        .arg("--bogus")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(
        err.starts_with("install.sh: unknown argument: --bogus"),
        "{err}"
    );
    assert!(err.contains("usage:"), "{err}");
    let err = install_sh()
        .arg("--prefix")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("--prefix needs a directory"), "{err}");
    let err = install_sh()
        .arg("--uninstall")
        .arg("--prefix")
        .arg(t.path())
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("nothing to uninstall"), "{err}");
    let err = install_sh()
        .arg("--prefix")
        .arg(t.join("with space"))
        .arg("--bin-dir")
        .arg(debug_dir())
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("must not contain blanks"), "{err}");
    let err = install_sh()
        .arg("--prefix")
        .arg(t.join("p"))
        .arg("--bin-dir")
        .arg(t.path())
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("dlp-docgen not found"), "{err}");
    assert!(!t.join("p").exists(), "nothing installed");

    // A manifest naming a path outside the prefix is refused, nothing removed.
    let p = t.join("q");
    std::fs::create_dir_all(p.join("share/dlp-pipes")).unwrap();
    let victim = t.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::fs::write(
        p.join("share/dlp-pipes/install-manifest"),
        format!("f {}\n", victim.display()),
    )
    .unwrap();
    let err = install_sh()
        .arg("--uninstall")
        .arg("--prefix")
        .arg(&p)
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("refusing a path outside"), "{err}");
    assert!(victim.exists());
}
