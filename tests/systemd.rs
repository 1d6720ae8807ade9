//! Every shipped systemd unit, user and system, is sandboxed: `systemd-analyze
//! security --offline=yes` rates each at 3.0 ("OK") or lower. Templates are
//! rated through an instance (`NAME@srv-data.service`, a copy of the file).
//! Needs systemd-analyze (systemd 250 or newer; CI installs systemd).
//!
//! The units also pass `systemd-analyze verify` (user units with `--user`),
//! and they match the scripts: every stage a script names in its `--help`
//! has a unit running it, every unit runs a script and stage that exist, and
//! every stage unit belongs to a target that pulls it in. (systemd is not
//! PID 1 where the tests run, so the units are checked, not started; their
//! `ExecStop=` is run against a real stage as systemd would run it.)

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Whether systemd-analyze is there (installed when missing and allowed).
fn systemd_analyze() -> bool {
    let found = testkit::ensure_commands(&[("systemd-analyze", "systemd")]);
    testkit::facility(
        found,
        "systemd-analyze is not installed (the systemd package)",
    )
}

#[test]
fn every_unit_is_rated_ok_or_better() {
    if !systemd_analyze() {
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
        "systemd/dlp-endpoint-webhook.service",
        "systemd/dlp-endpoint-scanner.service",
        "systemd/dlp-fim@.service",
        "systemd/dlp-fleet-endpoint.service",
        "systemd/dlp-fleet-endpoint-results.service",
        "systemd/dlp-fleet-endpoint-scanner.service",
        "systemd/dlp-fleet-central-collect.service",
        "systemd/dlp-fleet-central-report.service",
        "system/dlp-fim@.service",
        "system/dlp-quarantine@.service",
        "system/dlp-nf-webhook.service",
        "system/dlp-fleet-central-collect.service",
        "system/dlp-fleet-central-report.service",
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

/// Every unit file (services, targets, timers) under `dir` (relative to
/// pipelines/systemd), with its text.
fn unit_files(dir: &str) -> Vec<(String, String)> {
    let root = repo().join("pipelines/systemd").join(dir);
    let mut v: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The values of the `key=` lines of a unit.
fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{key}=");
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// `systemd-analyze verify` of copies of `units` in `dir`, with `rewrite`
/// applied to each (the paths of an install), instances for templates.
fn verify(dir: &Path, units: &[(String, String)], rewrite: impl Fn(&str) -> String, user: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for (name, text) in units {
        let name = name.replace("@.", "@srv-data.");
        std::fs::write(dir.join(&name), rewrite(text)).unwrap();
        names.push(name);
    }
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut c = cmd("systemd-analyze")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .current_dir(dir);
    if user {
        c = c.arg("--user");
    }
    let out = c
        .args(["verify", "--man=no"])
        .args(names.iter().map(|n| format!("./{n}")))
        .run();
    assert!(
        out.code() == 0 && out.stderr_str().trim().is_empty(),
        "systemd-analyze verify {names:?}: status {}\n{}{}",
        out.code(),
        out.stdout_str(),
        out.stderr_str()
    );
}

#[test]
fn every_unit_passes_systemd_analyze_verify() {
    if !systemd_analyze() {
        return;
    }
    let root = repo();
    let t = TempDir::new("systemd-verify");
    // As install.sh installs them: the user units run the checkout's scripts,
    // the system units the checkout's scripts and tools.
    let checkout = root.display().to_string();
    let bins = testkit::bin("fswatch-json");
    let bins = bins.parent().unwrap().display().to_string();
    verify(
        &t.join("user"),
        &unit_files(""),
        |u| u.replace("%h/dlp-pipes", &checkout),
        true,
    );
    verify(
        &t.join("system"),
        &unit_files("system"),
        |u| {
            u.replace("/usr/share/dlp-pipes", &checkout)
                .replace("/usr/bin/", &format!("{bins}/"))
        },
        false,
    );
    // The check itself finds faults: a misspelt key, a missing script.
    let bad = "[Unit]\nDescription=x\n[Service]\nExecStart=/nonexistent/x.sh\nRestart=sometimes\n";
    let out = cmd("systemd-analyze")
        .env("XDG_RUNTIME_DIR", t.join("user/runtime"))
        .args(["--user", "verify", "--man=no"])
        .arg({
            std::fs::write(t.join("bad.service"), bad).unwrap();
            t.join("bad.service")
        })
        .run();
    assert!(out.code() != 0, "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("not executable"),
        "{}",
        out.stderr_str()
    );
}

/// The stages a script's `--help` lists: the `  NAME  what` lines of its
/// "Stages:" paragraph.
fn stages_of(script: &Path) -> Vec<String> {
    let help = cmd("bash").arg(script).arg("--help").run().expect_code(0);
    let text = help.stdout_str();
    let mut stages = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Stages:") {
            inside = true;
        } else if line.is_empty() {
            inside = false;
        } else if inside {
            let Some(rest) = line.strip_prefix("  ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with("  ") {
                stages.push(name);
            }
        }
    }
    stages
}

#[test]
fn every_stage_has_a_unit_and_every_unit_runs_a_real_script_and_stage() {
    let root = repo();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root.join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .filter(|p| !p.ends_with("lib.sh"))
        .collect();
    scripts.sort();
    // (script, stage) for every stage a script names.
    let mut named: Vec<(String, String)> = Vec::new();
    for s in &scripts {
        let file = s.file_name().unwrap().to_str().unwrap().to_owned();
        for stage in stages_of(s) {
            named.push((file.clone(), stage));
        }
    }
    let names = |script: &str| -> Vec<String> {
        named
            .iter()
            .filter(|(s, _)| s == script)
            .map(|(_, st)| st.clone())
            .collect()
    };
    assert_eq!(names("endpoint-dlp.sh"), ["webhook", "scanner"]);
    assert_eq!(names("fleet-endpoint.sh"), ["scan", "results", "scanner"]);
    assert_eq!(names("fleet-central.sh"), ["collect", "report"]);

    let mut run: Vec<(String, String)> = Vec::new();
    for dir in ["", "system"] {
        let units = unit_files(dir);
        let exists = |u: &str| units.iter().any(|(n, _)| n == u);
        for (unit, text) in &units {
            // Every unit a target wants, or a unit is part of, exists beside it.
            for want in values(text, "Wants")
                .iter()
                .chain(values(text, "PartOf").iter())
                .flat_map(|v| v.split_whitespace())
                .filter(|w| w.starts_with("dlp-"))
            {
                assert!(exists(want), "{dir}/{unit}: {want} does not exist");
            }
            for line in values(text, "ExecStart")
                .into_iter()
                .chain(values(text, "ExecStartPost"))
            {
                let words: Vec<&str> = line.split_whitespace().collect();
                let Some(script) = words
                    .iter()
                    .find_map(|w| w.strip_suffix(".sh"))
                    .and_then(|w| w.rsplit('/').next())
                else {
                    continue;
                };
                let script = format!("{script}.sh");
                assert!(
                    root.join("pipelines").join(&script).is_file(),
                    "{dir}/{unit}: no pipelines/{script}"
                );
                let Some(at) = words.iter().position(|w| *w == "--stage") else {
                    continue;
                };
                let stage = words[at + 1].to_owned();
                assert!(
                    names(&script).contains(&stage),
                    "{dir}/{unit}: {script} has no stage {stage}"
                );
                if values(text, "ExecStart").contains(&line) {
                    run.push((script.clone(), stage.clone()));
                    // A long-running stage unit is restarted on its own, not
                    // after a configuration error; each is stopped with its
                    // group (a target pulling it in, or itself the group).
                    if values(text, "Type") != ["oneshot"] {
                        assert_eq!(values(text, "Restart"), ["always"], "{unit}");
                        assert_eq!(values(text, "RestartPreventExitStatus"), ["2"], "{unit}");
                    }
                    let group: Vec<&str> = values(text, "PartOf");
                    for g in &group {
                        let target = &units.iter().find(|(n, _)| n == g).unwrap().1;
                        let wanted: Vec<&str> = values(target, "Wants")
                            .iter()
                            .flat_map(|v| v.split_whitespace())
                            .collect();
                        let timer = unit.replace(".service", ".timer");
                        assert!(
                            wanted.contains(&unit.as_str()) || wanted.contains(&timer.as_str()),
                            "{g} does not pull in {unit}: {wanted:?}"
                        );
                    }
                    assert!(
                        !group.is_empty() || text.contains("[Install]"),
                        "{dir}/{unit}: neither part of a target nor installable"
                    );
                }
            }
        }
    }
    for pair in &named {
        assert!(
            run.contains(pair),
            "no unit runs {} --stage {}",
            pair.0,
            pair.1
        );
    }
}

#[test]
fn receivers_start_before_scanners_and_collectors_before_reports() {
    for (dir, first, then) in [
        (
            "",
            "dlp-endpoint-webhook.service",
            "dlp-endpoint-scanner.service",
        ),
        (
            "",
            "dlp-fleet-endpoint-results.service",
            "dlp-fleet-endpoint-scanner.service",
        ),
        (
            "",
            "dlp-fleet-central-collect.service",
            "dlp-fleet-central-report.service",
        ),
        (
            "system",
            "dlp-fleet-central-collect.service",
            "dlp-fleet-central-report.service",
        ),
    ] {
        let units = unit_files(dir);
        let text = |u: &str| units.iter().find(|(n, _)| n == u).unwrap().1.clone();
        let after = text(then);
        assert!(
            values(&after, "After")
                .iter()
                .any(|v| v.split_whitespace().any(|w| w == first)),
            "{dir}/{then} is not After={first}"
        );
        // A receiver is started (for After=) once it accepts connections.
        let first_text = text(first);
        if first.contains("webhook") || first.contains("results") {
            let post = values(&first_text, "ExecStartPost");
            assert!(
                post.iter().any(|p| p.ends_with("--ready")),
                "{first}: no readiness check: {post:?}"
            );
        }
    }
}

#[test]
fn a_stage_units_exec_stop_drains_the_stage_and_waits_for_all_of_it() {
    // Every long-running stage unit stops its stage with the same command.
    let mut stops = Vec::new();
    for dir in ["", "system"] {
        for (unit, text) in unit_files(dir) {
            let stage = values(&text, "ExecStart")
                .iter()
                .any(|l| l.contains(" --stage "));
            if stage && values(&text, "Type") != ["oneshot"] {
                let stop = values(&text, "ExecStop");
                assert_eq!(stop.len(), 1, "{dir}/{unit}");
                assert_eq!(values(&text, "KillMode"), ["mixed"], "{dir}/{unit}");
                assert_eq!(values(&text, "SuccessExitStatus"), ["143"], "{dir}/{unit}");
                stops.push(stop[0].to_owned());
            }
        }
    }
    stops.dedup();
    assert_eq!(stops.len(), 1, "{stops:?}");
    // systemd turns $$ into $ and sets MAINPID for ExecStop=.
    let script = stops[0]
        .strip_prefix("/bin/sh -c '")
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{}", stops[0]))
        .replace("$$", "$");

    // A real stage, in a session and process group of its own as systemd
    // starts a service (setsid), and its pipe below it.
    let t = TempDir::new("systemd-stop");
    let emu = e2e::Emulator::start(&[]);
    let listen = format!("127.0.0.1:{}", testkit::closed_port());
    let bins = testkit::bin("nf-webhook");
    let mut stage = cmd("setsid")
        .arg(repo().join("pipelines/endpoint-dlp.sh"))
        .args(["--stage", "webhook", "--output"])
        .arg(t.join("results.csv"))
        .env("DLP_BIN_DIR", bins.parent().unwrap())
        .env("HOME", t.join("home"))
        .env("XDG_STATE_HOME", t.join("state"))
        .env("NIGHTFALL_API_KEY", e2e::KEY)
        .env("NIGHTFALL_SIGNING_SECRET", e2e::SECRET)
        .env("NIGHTFALL_API_URL", emu.url())
        .env("NIGHTFALL_SERVER_URL", format!("http://{listen}"))
        .env("LISTEN", &listen)
        .spawn();
    let pids = e2e::wait_process_tree(stage.pid(), &["nf-webhook", "findings-csv"]);
    assert!(
        stage.wait_stderr("nf-webhook: listening", Duration::from_secs(20)),
        "{}",
        stage.stderr_text()
    );

    // ExecStop: SIGTERM to the main process; it returns only once the whole
    // group has ended (the test reaps the main process, as systemd does).
    let mut stop = cmd("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env("MAINPID", stage.pid().to_string())
        .spawn();
    let st = stage
        .wait_timeout(Duration::from_secs(30))
        .expect("stopped");
    assert_eq!(st.code(), Some(143), "{}", stage.stderr_text());
    let st = stop
        .wait_timeout(Duration::from_secs(30))
        .expect("ExecStop returned");
    assert_eq!(st.code(), Some(0), "{}", stop.stderr_text());
    assert!(
        e2e::processes_ended(&pids),
        "ExecStop returned before the stage ended: {:?}",
        pids.iter()
            .map(|p| e2e::process_tree(*p))
            .collect::<Vec<_>>()
    );
    // Without a main process (it ended by itself), ExecStop does nothing.
    let out = cmd("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env("MAINPID", "")
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    // findings-csv ended on end of input, having written the header.
    let csv = std::fs::read_to_string(t.join("results.csv")).unwrap();
    assert!(csv.starts_with("upload_id,"), "{csv}");
}
