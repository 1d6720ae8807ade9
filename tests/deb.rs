//! The Debian package: `packaging/build-deb.sh` (cargo-deb over the tree
//! `install.sh --destdir` stages, here from the debug binaries) builds a
//! .deb that `dpkg -i` installs into the system; the installed tools, man
//! pages, completions and scripts work from /usr; `dpkg -r` removes them.
//!
//! Needs root, dpkg and cargo-deb (installed here when missing: a few
//! minutes, once). Without root the test fails, unless DLP_ALLOW_SKIP=1
//! (then it says SKIPPED).

use std::path::{Path, PathBuf};

use e2e::run_installed_local_dlp;
use testkit::{bin, cmd, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn sh(script: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why this machine cannot run the test, if it cannot.
fn missing(path: &str) -> Option<String> {
    if !sh("[ \"$(id -u)\" = 0 ]") {
        return Some("not root (dpkg -i installs into the system)".into());
    }
    if !sh("command -v dpkg && command -v dpkg-deb") {
        return Some("dpkg is not installed".into());
    }
    if !sh(&format!("PATH='{path}' command -v cargo-deb")) {
        // A fresh machine: install it (a few minutes, once).
        eprintln!(
            "deb.rs: installing cargo-deb (cargo install cargo-deb --locked --version 3.8.0)"
        );
        if !sh("cargo install cargo-deb --locked --version 3.8.0 --quiet") {
            return Some("cargo-deb is not installed (cargo install cargo-deb --locked)".into());
        }
    }
    None
}

/// Removes the package even when an assertion fails half-way.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::process::Command::new("dpkg")
            .args(["-r", "dlp-pipes"])
            .output();
    }
}

#[test]
fn deb_installs_with_dpkg_runs_from_usr_and_removes_cleanly() {
    let home = std::env::var("HOME").unwrap_or_default();
    let path = format!(
        "{}:{home}/.cargo/bin",
        std::env::var("PATH").unwrap_or_default()
    );
    let missing = missing(&path);
    if !testkit::facility(missing.is_none(), missing.as_deref().unwrap_or_default()) {
        return;
    }
    if sh("dpkg -s dlp-pipes >/dev/null 2>&1") {
        panic!("dlp-pipes is already installed on this system; not touching it (dpkg -r dlp-pipes first)");
    }

    let t = TempDir::new("deb");
    let debug = bin("dlp-docgen").parent().unwrap().to_path_buf();
    let out = cmd(root().join("packaging/build-deb.sh"))
        .env("PATH", &path)
        .env("DLP_DEB_FAST", "1")
        .arg("--bin-dir")
        .arg(&debug)
        .arg("--output")
        .arg(t.join("out"))
        .run()
        .expect_code(0);
    let deb = PathBuf::from(out.stdout_str().trim().lines().last().unwrap());
    assert!(deb.is_file(), "{}", out.stderr_str());
    assert!(
        deb.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("dlp-pipes_"),
        "{deb:?}"
    );

    let info = cmd("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .run()
        .expect_code(0)
        .stdout_str();
    assert!(info.contains("Package: dlp-pipes"), "{info}");
    assert!(info.contains("Depends: bash, libc6"), "{info}");

    let _installed = Installed;
    cmd("dpkg").arg("-i").arg(&deb).run().expect_code(0);

    let tools = e2e::tool_names();
    // What the package holds (an image may path-exclude /usr/share/man
    // from installs, so the list comes from the .deb, not the disk).
    let listed: String = cmd("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .run()
        .expect_code(0)
        .stdout_str()
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| format!("{}\n", p.trim_start_matches('.')))
        .collect();
    for tool in &tools {
        let v = cmd(format!("/usr/bin/{tool}"))
            .arg("--version")
            .run()
            .expect_code(0)
            .stdout_str();
        assert!(v.starts_with(&format!("{tool} ")), "{v}");
        for f in [
            format!("/usr/share/man/man1/{tool}.1.gz"),
            format!("/usr/share/bash-completion/completions/{tool}"),
            format!("/usr/share/zsh/vendor-completions/_{tool}"),
            format!("/usr/share/fish/vendor_completions.d/{tool}.fish"),
        ] {
            assert!(listed.lines().any(|l| l == f), "{f} not in the package");
        }
    }
    for unit in [
        "dlp-local.service",
        "dlp-endpoint-webhook.service",
        "dlp-endpoint-scanner.service",
        "dlp-fim@.service",
        "dlp-fleet-central-report.service",
    ] {
        let text = std::fs::read_to_string(format!("/usr/lib/systemd/user/{unit}")).unwrap();
        assert!(
            text.contains("ExecStart=/usr/share/dlp-pipes/pipelines/"),
            "{unit}: {text}"
        );
    }
    for unit in [
        "dlp-fim@.service",
        "dlp-quarantine@.service",
        "dlp-nf-webhook.service",
        "dlp-fleet-central-collect.service",
        "dlp-fleet-central-report.service",
    ] {
        let text = std::fs::read_to_string(format!("/usr/lib/systemd/system/{unit}")).unwrap();
        assert!(
            text.contains("ExecStart=/usr/share/dlp-pipes/pipelines/")
                || text.contains("/usr/bin/nf-webhook"),
            "{unit}: {text}"
        );
    }
    for unit in [
        "/usr/lib/systemd/user/dlp-endpoint.target",
        "/usr/lib/systemd/user/dlp-fleet-central-report.timer",
        "/usr/lib/systemd/system/dlp-fleet-central.target",
    ] {
        assert!(Path::new(unit).is_file(), "{unit} not in the package");
    }
    if sh("command -v man") && Path::new("/usr/share/man/man1/pii-scan.1.gz").exists() {
        let text = cmd("man")
            .env("MANWIDTH", "80")
            .arg("pii-scan")
            .run()
            .expect_code(0)
            .stdout_str();
        assert!(text.contains("--min-confidence"), "{text}");
    }

    // The packaged script runs the packaged tools from /usr/bin.
    run_installed_local_dlp(Path::new("/usr/bin/local-dlp"), t.path(), t.path());

    cmd("dpkg").args(["-r", "dlp-pipes"]).run().expect_code(0);
    for tool in &tools {
        assert!(!Path::new(&format!("/usr/bin/{tool}")).exists(), "{tool}");
    }
    assert!(!Path::new("/usr/share/dlp-pipes").exists());
    assert!(!Path::new("/usr/lib/systemd/user/dlp-local.service").exists());
    assert!(!Path::new("/usr/lib/systemd/system/dlp-quarantine@.service").exists());
}
