//! dlp-docgen writes a man page and three completion scripts per tool,
//! for every crate under tools/, from the tools' own clap definitions.

use std::path::{Path, PathBuf};

use testkit::{cmd, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn docgen() -> testkit::Cmd {
    cmd(env!("CARGO_BIN_EXE_dlp-docgen"))
}

#[test]
fn every_crate_under_tools_is_documented() {
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("tools"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut names = dlp_docgen::names();
    names.sort();
    assert_eq!(
        names, dirs,
        "dlp_docgen::TOOLS must list every tool under tools/ (add its `command` there)"
    );
    let listed = docgen().arg("--list").run().expect_code(0).stdout_str();
    let mut listed: Vec<String> = listed.lines().map(str::to_owned).collect();
    listed.sort();
    assert_eq!(listed, dirs);
}

#[test]
fn writes_pages_and_completions_naming_every_flag() {
    let t = TempDir::new("docgen");
    let share = t.join("share");
    let err = docgen().arg(&share).run().expect_code(0).stderr_str();
    assert!(err.contains("wrote"), "{err}");
    for c in dlp_docgen::commands() {
        let tool = c.get_name();
        let page = std::fs::read_to_string(share.join(format!("man/man1/{tool}.1"))).unwrap();
        assert!(page.contains(&format!(".TH {tool} 1")), "{tool}: {page}");
        let bash =
            std::fs::read_to_string(share.join(format!("bash-completion/completions/{tool}")))
                .unwrap();
        let zsh =
            std::fs::read_to_string(share.join(format!("zsh/site-functions/_{tool}"))).unwrap();
        let fish =
            std::fs::read_to_string(share.join(format!("fish/vendor_completions.d/{tool}.fish")))
                .unwrap();
        assert!(
            zsh.starts_with(&format!("#compdef {tool}")),
            "{tool}: {zsh}"
        );
        for arg in c.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else { continue };
            let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
            assert!(page.contains(&roff), "{tool}.1 lacks --{long}");
            assert!(
                bash.contains(&format!("--{long}")),
                "{tool} bash lacks --{long}"
            );
            assert!(
                zsh.contains(&format!("--{long}")),
                "{tool} zsh lacks --{long}"
            );
            assert!(
                fish.contains(&format!("-l {long}")),
                "{tool} fish lacks --{long}"
            );
        }
        // The long help's examples are their own section, laid out verbatim.
        if c.get_long_about()
            .is_some_and(|a| a.to_string().contains("\nExamples:\n"))
        {
            let ex = &page[page.find(".SH EXAMPLES").expect("EXAMPLES") + 12..];
            assert!(ex.starts_with("\n.RS 4\n.nf\n"), "{tool}: {ex}");
        }
        assert!(page.contains(".SH \"EXIT STATUS\""), "{tool}");
        assert!(page.contains(".SH \"SEE ALSO\""), "{tool}");
    }
    // Subcommands get pages of their own (git's convention), hidden ones do not.
    assert!(share.join("man/man1/dlp-remediate-restore.1").exists());
    assert!(share.join("man/man1/dlp-remediate-list.1").exists());
    let pages: Vec<_> = std::fs::read_dir(share.join("man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!pages.iter().any(|p| p.contains("notify")), "{pages:?}");
}

#[test]
fn bad_usage_and_unwritable_target_exit_2() {
    let err = docgen().run().expect_code(2).stderr_str();
    assert!(err.starts_with("dlp-docgen: usage:"), "{err}");
    docgen().arg("--bogus").run().expect_code(2);
    let t = TempDir::new("docgen-bad");
    std::fs::write(t.join("file"), "").unwrap();
    let err = docgen()
        .arg(t.join("file"))
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.starts_with("dlp-docgen: "), "{err}");
}
