//! Every shipped systemd unit, user and system, is sandboxed: `systemd-analyze
//! security --offline=yes` rates each at 3.0 ("OK") or lower. Templates are
//! rated through an instance (`NAME@srv-data.service`, a copy of the file).
//! Needs systemd-analyze (systemd 250 or newer; CI installs systemd).

use std::path::{Path, PathBuf};

use testkit::{cmd, TempDir};

fn units() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("pipelines/systemd");
    let mut v: Vec<PathBuf> = ["", "system"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .collect();
    v.sort();
    v
}

/// `systemd-analyze security --offline=yes`'s overall exposure of `unit`.
fn exposure(unit: &Path, t: &TempDir) -> f64 {
    let name = unit
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .replace("@.", "@srv-data.");
    let dir = t.join(unit.parent().unwrap().file_name().unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(&name);
    std::fs::copy(unit, &copy).unwrap();
    let out = cmd("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&copy)
        .run();
    let text = out.stdout_str();
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level for"))
        .unwrap_or_else(|| panic!("{name}: no rating:\n{text}{}", out.stderr_str()));
    let level = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    level.parse().unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn every_unit_is_rated_ok_or_better() {
    let found = testkit::ensure_commands(&[("systemd-analyze", "systemd")]);
    if !testkit::facility(
        found,
        "systemd-analyze is not installed (the systemd package)",
    ) {
        return;
    }
    let units = units();
    let names: Vec<String> = units
        .iter()
        .map(|p| {
            p.strip_prefix(p.parent().unwrap().parent().unwrap())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    // The user units, and the system units for what runs as root on a server.
    for want in [
        "systemd/dlp-local.service",
        "systemd/dlp-endpoint.service",
        "systemd/dlp-fim@.service",
        "systemd/dlp-fleet-endpoint.service",
        "systemd/dlp-fleet-central.service",
        "system/dlp-fim@.service",
        "system/dlp-quarantine@.service",
        "system/dlp-nf-webhook.service",
        "system/dlp-fleet-central.service",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let t = TempDir::new("systemd");
    let rated: Vec<(String, f64)> = units
        .iter()
        .zip(names)
        .map(|(u, n)| (n, exposure(u, &t)))
        .collect();
    eprintln!("{rated:?}");
    for (name, level) in &rated {
        assert!(
            *level <= 3.0,
            "{name}: exposure {level} (above 3.0): {rated:?}"
        );
    }
}
