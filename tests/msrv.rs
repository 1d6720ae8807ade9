//! The MSRV in the root Cargo.toml (`rust-version`) is real: every member
//! inherits it (so clippy's `incompatible_msrv`, run with `-D warnings`,
//! rejects code using a newer std API), and no locked dependency of this
//! platform declares a newer `rust-version` (cargo would refuse to build it
//! with the declared toolchain; resolver 3 picks compatible versions on
//! `cargo update`, this test catches a hand-edited or merged lock file).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn version(v: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
    parts.resize(3, 0);
    parts
}

#[test]
fn members_inherit_the_msrv_and_no_locked_dependency_needs_a_newer_rust() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("[workspace.package] rust-version");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--locked", "--format-version", "1"])
        .args(["--filter-platform", host])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let resolved: Vec<&str> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let mut newer = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let name = p["name"].as_str().unwrap();
        let rv = p["rust_version"].as_str();
        if members.contains(&id) {
            assert_eq!(
                rv,
                Some(msrv),
                "{name} must say rust-version.workspace = true"
            );
        } else if resolved.contains(&id) {
            if let Some(rv) = rv {
                if version(rv) > version(msrv) {
                    newer.push(format!("{name} {} needs {rv}", p["version"]));
                }
            }
        }
    }
    assert!(
        newer.is_empty(),
        "locked dependencies need a newer Rust than rust-version {msrv}: {newer:?} \
         (raise rust-version, or cargo update -p NAME --precise an older version)"
    );
}
