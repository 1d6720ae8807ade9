//! The command-line conventions every tool keeps (README, "Flags" and
//! "Conventions every tool keeps"), checked on the real binaries: clap
//! errors as `tool: error: ...` with status 2 and "did you mean" tips,
//! `--help` listing enumerated values, one SIZE and one DURATION syntax
//! (old spellings still accepted), FILE operands with `-` for stdin, and
//! NUL-separated path lists (`-0`).

use std::time::Duration;

use serde_json::Value;
use testkit::{bin, cmd, http, TempDir};

/// Every tool.
fn tools() -> Vec<String> {
    let tools = e2e::tool_names();
    assert_eq!(tools.len(), 12, "{tools:?}");
    tools
}

#[test]
fn a_misspelt_flag_gets_the_tool_prefix_a_suggestion_and_status_2() {
    let dir = TempDir::new("cli-typo");
    let out = cmd(bin("fswatch-json"))
        .arg("--initial-scna")
        .arg(dir.path())
        .run()
        .expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.starts_with("fswatch-json: error: unexpected argument '--initial-scna' found"),
        "{err}"
    );
    assert!(
        err.contains("tip: a similar argument exists: '--initial-scan'"),
        "{err}"
    );
    assert!(err.contains("Usage: fswatch-json"), "{err}");
    assert!(out.stdout_str().is_empty());
}

#[test]
fn every_tool_reports_usage_errors_as_tool_error_and_help_on_stdout() {
    for tool in tools() {
        let out = cmd(bin(&tool))
            .arg("--no-such-flag")
            .stdin("")
            .run()
            .expect_code(2);
        let err = out.stderr_str();
        assert!(
            err.starts_with(&format!(
                "{tool}: error: unexpected argument '--no-such-flag'"
            )),
            "{tool}: {err}"
        );
        assert!(out.stdout_str().is_empty(), "{tool}");
        let help = cmd(bin(&tool)).arg("--help").run().expect_code(0);
        assert!(
            help.stdout_str().contains("Usage:") && help.stderr_str().is_empty(),
            "{tool}: {}",
            help.stderr_str()
        );
        let version = cmd(bin(&tool)).arg("--version").run().expect_code(0);
        assert_eq!(
            version.stdout_str().trim(),
            format!("{tool} {}", env!("CARGO_PKG_VERSION")),
            "{tool}"
        );
    }
}

#[test]
fn help_lists_the_values_of_enumerated_flags() {
    let levels = "[possible values: VERY_UNLIKELY, UNLIKELY, POSSIBLE, LIKELY, VERY_LIKELY]";
    // Values with their own doc are listed one a line: "- auto: ...".
    let described = |names: &[&str]| {
        let items: Vec<String> = names.iter().map(|n| format!("- {n}:")).collect();
        format!("Possible values:\n{}", items.join("\n"))
    };
    for (tool, flag, values) in [
        ("pii-scan", "--min-confidence", levels.to_owned()),
        ("nf-upload", "--min-confidence", levels.to_owned()),
        ("dlp-remediate", "--min-confidence", levels.to_owned()),
        (
            "path-filter",
            "--event-type",
            "[possible values: created, modified, deleted, moved, opened, closed, closed_no_write, overflow, mounted, unmounted, attrib]".to_owned(),
        ),
        (
            "path-filter",
            "--preset",
            "[possible values: user-docs, ignore-temp, ignore-system]".to_owned(),
        ),
        ("findings-report", "--format", described(&["auto", "ndjson", "csv"])),
        ("webhook-post", "--format", described(&["raw", "slack"])),
        ("findings-csv", "--header", described(&["auto", "always", "never"])),
    ] {
        // Long help, unwrapped (no terminal): the flag's block names its values.
        let help = cmd(bin(tool))
            .arg("--help")
            .env("COLUMNS", "1000")
            .run()
            .expect_code(0)
            .stdout_str();
        let at = help
            .find(&format!("      {flag} "))
            .unwrap_or_else(|| panic!("{tool} --help shows {flag}: {help}"));
        let block = &help[at..];
        let block = &block[..block[6..].find("\n  -").map_or(block.len(), |i| i + 6)];
        // Values with docs: the heading, then each name in order.
        let squeezed: String = block
            .lines()
            .map(|l| {
                let l = l.trim();
                l.split_once(':').filter(|(k, _)| k.starts_with("- ")).map_or(l, |(k, _)| k)
            })
            .map(|l| if l.starts_with("- ") { format!("{l}:") } else { l.to_owned() })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            block.contains(&values) || squeezed.contains(&values),
            "{tool} {flag}: {block}"
        );
    }
    // A wrong value is refused with the list.
    let out = cmd(bin("pii-scan"))
        .args(["--min-confidence", "SURE", "/nonexistent"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .starts_with("pii-scan: error: invalid value 'SURE' for '--min-confidence <LEVEL>'"),
        "{}",
        out.stderr_str()
    );
    assert!(out.stderr_str().contains(levels), "{}", out.stderr_str());
    // Levels are case-insensitive, as they were.
    let dir = TempDir::new("cli-level");
    std::fs::write(dir.join("a.txt"), "nothing here\n").unwrap();
    cmd(bin("pii-scan"))
        .args(["--min-confidence", "likely"])
        .arg(dir.join("a.txt"))
        .run()
        .expect_code(0);
}

/// Paths pii-scan reported a finding for, sorted.
fn finding_paths(out: &testkit::Output) -> Vec<String> {
    let mut v: Vec<String> = out
        .records()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v.dedup();
    v
}

const SSN_LINE: &str = "employee ssn 536-22-1984 on file\n";

#[test]
fn sizes_in_the_new_and_the_old_spelling_mean_the_same() {
    let dir = TempDir::new("cli-size");
    let small = dir.join("small.txt");
    let big = dir.join("big.txt");
    std::fs::write(&small, SSN_LINE).unwrap();
    std::fs::write(&big, SSN_LINE.repeat(64)).unwrap(); // > 1 KiB
    let mut seen = Vec::new();
    for size in ["1K", "1KiB", "1024", "0.5K"] {
        let out = cmd(bin("pii-scan"))
            .args([
                "--max-size",
                size,
                "--detector",
                "US_SOCIAL_SECURITY_NUMBER",
            ])
            .args([&small, &big])
            .run()
            .expect_code(0);
        seen.push((size, finding_paths(&out)));
    }
    let only_small = vec![small.display().to_string()];
    assert_eq!(seen[0].1, only_small, "{seen:?}");
    assert_eq!(seen[1].1, only_small, "{seen:?}");
    assert_eq!(seen[2].1, only_small, "{seen:?}");
    assert_eq!(seen[3].1, only_small, "{seen:?}");
    let out = cmd(bin("pii-scan"))
        .args([
            "--max-size",
            "3K",
            "--detector",
            "US_SOCIAL_SECURITY_NUMBER",
        ])
        .args([&small, &big])
        .run()
        .expect_code(0);
    assert_eq!(finding_paths(&out).len(), 2, "3K takes both");
    let out = cmd(bin("pii-scan"))
        .args(["--max-size", "5x"])
        .arg(&small)
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().starts_with(
            "pii-scan: error: invalid value '5x' for '--max-size <SIZE>': invalid size \"5x\": unknown unit \"x\""
        ),
        "{}",
        out.stderr_str()
    );
}

/// nf-emulator's Retry-After (a DURATION flag) and chunkSize (a SIZE flag),
/// as a client sees them.
fn emulator_answers(args: &[&str]) -> (Option<String>, Option<u64>) {
    let mut emu = cmd(bin("nf-emulator"))
        .args(["--listen", "127.0.0.1:0", "--inject-429-every", "2"])
        .args(args)
        .env("NIGHTFALL_API_KEY", "NF-test")
        .env("NIGHTFALL_SIGNING_SECRET", "s3cret")
        .spawn();
    let port = emu.listening_port(Duration::from_secs(20));
    let auth = [("Authorization", "Bearer NF-test")];
    let body = br#"{"fileSizeBytes":25}"#;
    let mut retry_after = None;
    let mut chunk = None;
    for _ in 0..2 {
        let (status, headers, body) = http(port, "POST", "/v3/upload", &auth, body).unwrap();
        match status {
            429 => {
                retry_after = headers
                    .iter()
                    .find(|(k, _)| k == "retry-after")
                    .map(|(_, v)| v.clone())
            }
            200 => {
                let v: Value = serde_json::from_slice(&body).unwrap();
                chunk = v["chunkSize"].as_u64();
            }
            s => panic!("status {s}"),
        }
    }
    (retry_after, chunk)
}

#[test]
fn durations_and_sizes_reach_the_server_in_both_spellings() {
    assert_eq!(
        emulator_answers(&["--retry-after", "2s", "--chunk-size", "64K"]),
        (Some("2".into()), Some(65536))
    );
    assert_eq!(
        emulator_answers(&["--retry-after", "2", "--chunk-size", "65536"]),
        (Some("2".into()), Some(65536))
    );
    // Whole seconds on the wire: 1500ms is sent as 2.
    assert_eq!(
        emulator_answers(&["--retry-after", "1500ms", "--chunk-size", "1.5M"]),
        (Some("2".into()), Some(3 << 19))
    );
    let out = cmd(bin("nf-emulator"))
        .args(["--retry-after", "-1s"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().starts_with("nf-emulator: error: "),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn millisecond_flags_take_bare_milliseconds_and_units() {
    // fswatch-json's --poll was MS: 200 and 200ms are the same, 0 is refused.
    let dir = TempDir::new("cli-poll");
    for poll in ["200", "200ms", "0.2s"] {
        let mut w = cmd(bin("fswatch-json"))
            .args(["--poll", poll])
            .arg(dir.path())
            .spawn();
        std::thread::sleep(Duration::from_millis(300));
        let f = dir.join(format!("f{}", poll.replace('.', "_")));
        std::fs::write(&f, "x").unwrap();
        let want = f.display().to_string();
        let recs = w.records_until(Duration::from_secs(10), |v| {
            v.iter().any(|r| r["src_path"] == want.as_str())
        });
        assert!(
            recs.iter().any(|r| r["src_path"] == want.as_str()),
            "--poll {poll}: no event for {want}: {recs:?} {}",
            w.stderr_text()
        );
    }
    let out = cmd(bin("fswatch-json"))
        .args(["--poll", "0"])
        .arg(dir.path())
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("must be more than zero"),
        "{}",
        out.stderr_str()
    );
}

fn event(path: &str) -> String {
    format!("{{\"event_type\":\"created\",\"src_path\":\"{path}\",\"is_directory\":false}}\n")
}

#[test]
fn file_operands_are_read_in_order_with_dash_for_stdin() {
    let dir = TempDir::new("cli-files");
    let a = dir.join("a.ndjson");
    let b = dir.join("b.ndjson");
    std::fs::write(&a, event("/docs/a1.txt") + &event("/docs/a2.txt")).unwrap();
    // No final newline: the next file's first record still starts a line.
    std::fs::write(&b, event("/docs/b.txt").trim_end()).unwrap();
    let out = cmd(bin("path-filter"))
        .arg(&a)
        .arg("-")
        .arg(&b)
        .stdin(event("/docs/stdin.txt"))
        .run()
        .expect_code(0);
    let paths: Vec<Value> = out
        .records()
        .iter()
        .map(|r| r["src_path"].clone())
        .collect();
    assert_eq!(
        paths,
        [
            "/docs/a1.txt",
            "/docs/a2.txt",
            "/docs/stdin.txt",
            "/docs/b.txt"
        ]
    );
    // No operand: stdin, as before.
    let out = cmd(bin("path-filter"))
        .stdin(event("/docs/only.txt"))
        .run()
        .expect_code(0);
    assert_eq!(out.records().len(), 1);
    // findings-csv and dlp-remediate read FILE operands too.
    let finding = r#"{"path":"/docs/a.txt","detector":"US_SOCIAL_SECURITY_NUMBER","confidence":"VERY_LIKELY","finding":"536-22-1984","byte_range":{"start":0,"end":11}}"#;
    let f = dir.join("findings.ndjson");
    std::fs::write(&f, format!("{finding}\n")).unwrap();
    let csv = cmd(bin("findings-csv"))
        .args(["--header", "never", "--columns", "path,detector"])
        .arg(&f)
        .arg(&f)
        .run()
        .expect_code(0)
        .stdout_str();
    assert_eq!(
        csv,
        "/docs/a.txt,US_SOCIAL_SECURITY_NUMBER\n/docs/a.txt,US_SOCIAL_SECURITY_NUMBER\n"
    );
    let out = cmd(bin("dlp-remediate"))
        .args(["--dry-run", "--quarantine"])
        .arg(dir.join("vault"))
        .arg(&f)
        .run()
        .expect_code(0);
    assert_eq!(out.records().len(), 1, "{}", out.stderr_str());
    assert_eq!(out.records()[0]["path"], "/docs/a.txt");
}

#[test]
fn a_missing_file_operand_is_named_and_nothing_is_read() {
    let dir = TempDir::new("cli-missing");
    let a = dir.join("a.ndjson");
    std::fs::write(&a, event("/docs/a.txt")).unwrap();
    let missing = dir.join("missing.ndjson");
    for tool in [
        "path-filter",
        "findings-csv",
        "findings-report",
        "dlp-remediate",
        "nf-upload",
        "webhook-post",
        "nats-post",
    ] {
        let out = cmd(bin(tool))
            .arg(&a)
            .arg(&missing)
            .env("NIGHTFALL_API_KEY", "NF-test")
            .env("NIGHTFALL_SERVER_URL", "http://127.0.0.1:9")
            .env("WATCH_WEBHOOK_URL", "http://127.0.0.1:9/")
            .args(if tool == "dlp-remediate" {
                &["--dry-run", "--notify"][..]
            } else {
                &[][..]
            })
            .run()
            .expect_code(2);
        assert_eq!(
            out.stderr_str().trim_end(),
            format!("{tool}: {}: No such file or directory", missing.display()),
            "{tool}"
        );
        assert!(
            out.stdout_str().is_empty(),
            "{tool}: nothing is read or written"
        );
    }
}

#[test]
fn nul_separated_path_lists() {
    let dir = TempDir::new("cli-nul");
    // A name with a newline: only a NUL-separated list can carry it.
    let odd = dir.join("two\nlines.txt");
    let plain = dir.join("plain.txt");
    std::fs::write(&odd, SSN_LINE).unwrap();
    std::fs::write(&plain, SSN_LINE).unwrap();
    let mut list = Vec::new();
    for p in [&odd, &plain] {
        list.extend_from_slice(p.as_os_str().as_encoded_bytes());
        list.push(0);
    }
    let out = cmd(bin("pii-scan"))
        .args([
            "--files-from",
            "-",
            "-0",
            "--detector",
            "US_SOCIAL_SECURITY_NUMBER",
        ])
        .stdin(list.clone())
        .run()
        .expect_code(0);
    let mut want = vec![odd.display().to_string(), plain.display().to_string()];
    want.sort();
    assert_eq!(finding_paths(&out), want, "{}", out.stderr_str());
    // The same list newline-separated splits the odd name.
    let lines = format!("{}\n", plain.display());
    let out = cmd(bin("pii-scan"))
        .args([
            "--files-from",
            "-",
            "--detector",
            "US_SOCIAL_SECURITY_NUMBER",
        ])
        .stdin(lines)
        .run()
        .expect_code(0);
    assert_eq!(finding_paths(&out), [plain.display().to_string()]);
    // -0 without --files-from is a usage error.
    let out = cmd(bin("pii-scan")).arg("-0").run().expect_code(2);
    assert!(
        out.stderr_str().starts_with("pii-scan: error: "),
        "{}",
        out.stderr_str()
    );

    // nf-upload --paths -0 against the emulator: both files uploaded.
    let mut emu = cmd(bin("nf-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .env("NIGHTFALL_API_KEY", "NF-test")
        .env("NIGHTFALL_SIGNING_SECRET", "s3cret")
        .spawn();
    let port = emu.listening_port(Duration::from_secs(20));
    let hook = testkit::Receiver::start();
    let list_file = dir.join("list");
    std::fs::write(&list_file, &list).unwrap();
    let out = cmd(bin("nf-upload"))
        .args(["--paths", "-0", "--webhook-url", &hook.url()])
        .arg(&list_file)
        .env("NIGHTFALL_API_KEY", "NF-test")
        .env("NIGHTFALL_API_URL", format!("http://127.0.0.1:{port}"))
        .run()
        .expect_code(0);
    let mut uploaded: Vec<String> = out
        .records()
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "scan_initiated", "{r}");
            r["path"].as_str().unwrap().to_owned()
        })
        .collect();
    uploaded.sort();
    assert_eq!(uploaded, want, "{}", out.stderr_str());
}
