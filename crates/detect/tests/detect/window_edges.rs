//! Window safety: scanning a stream in windows of any size finds exactly
//! what a whole-buffer scan finds (same findings, ranges, lines, contexts),
//! on random and adversarial inputs: dense PII, keyword assignments, PEM
//! blocks, long lines and multi-byte UTF-8.

use detect::{Engine, Match, StreamOptions};
use dlp_record::Confidence;
use proptest::prelude::*;

/// Valid test data (Luhn-valid cards, SSA-valid SSNs, a GitHub-CRC token).
const CARDS: &[&str] = &[
    "5433-9502-3725-7862",
    "4916 6734 7572 5015",
    "4532015112830366",
    "371449635398431",
];
const SSNS: &[&str] = &["536-22-8726", "219-09-9999", "078 05 1121", "123456789"];

fn segment() -> impl Strategy<Value = String> {
    let card = prop::sample::select(CARDS).prop_map(|c| format!("card {c},"));
    let ssn = prop::sample::select(SSNS).prop_map(|s| format!("ssn: {s}\n"));
    let row = (
        prop::sample::select(CARDS),
        prop::sample::select(SSNS),
        0u32..999,
    )
        .prop_map(|(c, s, n)| format!("{n},Ana Díaz,{c},{s},ana{n}@example.org\n"));
    let assign = "[A-Za-z0-9]{20,40}".prop_map(|v| format!("export API_TOKEN={v} # deploy\n"));
    let json = "[A-Za-z0-9+/]{16,48}".prop_map(|v| format!("{{\"client_secret\": \"{v}\"}}\n"));
    let pem = "[A-Za-z0-9+/]{64,600}".prop_map(|b| {
        let lines: Vec<&str> = b
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            lines.join("\n")
        )
    });
    let long = ("[a-z ]{1,8}", 500usize..12_000).prop_map(|(w, n)| w.repeat(n / w.len().max(1)));
    let utf8 = "[héllo wörld😀€ñ日本語 \n]{1,80}";
    let noise = "[0-9 =:.@a-zA-Z_-]{1,200}";
    let misc = prop::sample::select(
        &[
            "mail bob.smith@example.com now\n",
            "iban DE89 3704 0044 0532 0130 00\n",
            "ip 192.168.10.1 and 2001:db8::8a2e:370:7334\n",
            "routing 011000015\n",
            "call +1 (415) 555-0132\n",
            "AWS AKIAQYLPMN5HHHFPZAM2\n",
            "\n\n\n",
            "",
        ][..],
    )
    .prop_map(str::to_owned);
    prop_oneof![
        4 => card,
        4 => ssn,
        6 => row,
        3 => assign,
        2 => json,
        1 => pem,
        1 => long,
        3 => utf8,
        3 => noise,
        3 => misc,
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(segment(), 1..400).prop_map(|v| v.concat().into_bytes())
}

fn window() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..64, 64usize..4096, 4096usize..100_000, Just(8 << 20)]
}

fn engines() -> Vec<Engine> {
    let all = detect::shorthand_rules(&["ALL".into()], Confidence::Possible).unwrap();
    vec![
        Engine::new(&all).unwrap(),
        Engine::new(&detect::default_rules()).unwrap(),
    ]
}

/// The findings only one side has (or the first that differs).
fn diff(whole: &[Match], streamed: &[Match]) -> String {
    let only = |a: &[Match], b: &[Match]| -> Vec<String> {
        a.iter()
            .filter(|m| !b.contains(m))
            .take(3)
            .map(|m| {
                format!(
                    "{} {:?} {:?} {:?}",
                    m.detector, m.finding, m.byte_range, m.confidence
                )
            })
            .collect()
    };
    format!(
        "{} vs {} findings; only whole: {:?}; only streamed: {:?}",
        whole.len(),
        streamed.len(),
        only(whole, streamed),
        only(streamed, whole)
    )
}

proptest! {
    // 32 cases by default (a few seconds); PROPTEST_CASES=2000 for a deep run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn windows_find_what_the_whole_buffer_finds(text in input(), window in window()) {
        for e in engines() {
            let whole = e.scan(&text);
            let opts = StreamOptions { window, overlap: 0, ..StreamOptions::default() };
            let streamed = e.scan_reader(&text[..], opts).unwrap();
            prop_assert!(whole == streamed, "window {window}, {} bytes: {}", text.len(), diff(&whole, &streamed));
            let mut gated = Vec::new();
            e.scan_stream(&text[..], opts, |m| {
                gated.push(m);
                Ok(())
            })
            .unwrap();
            prop_assert!(whole == gated, "scan_stream, window {window}: {}", diff(&whole, &gated));
        }
    }

    /// Split across threads (any step size, thread count and split
    /// threshold), a stream gives the same findings in the same order.
    #[test]
    fn threads_find_what_one_thread_finds(
        text in input(),
        window in window(),
        step in prop_oneof![1usize..64, 64usize..8192, Just(256 << 10)],
        threads in 2usize..6,
        split_from in prop_oneof![Just(0usize), 0usize..20_000],
    ) {
        for e in engines() {
            let whole = e.scan(&text);
            let opts = StreamOptions { window, overlap: 0, step, threads, split_from };
            let streamed = e.scan_reader(&text[..], opts).unwrap();
            prop_assert!(whole == streamed, "window {window}, step {step}, {threads} threads, split from {split_from}: {}", diff(&whole, &streamed));
            let mut gated = Vec::new();
            e.scan_stream(&text[..], opts, |m| {
                gated.push(m);
                Ok(())
            })
            .unwrap();
            prop_assert!(whole == gated, "scan_stream, window {window}, step {step}, {threads} threads: {}", diff(&whole, &gated));
        }
    }
}

/// An output that fails mid-stream ends the scan with its error, however
/// many threads are building steps (none is left waiting).
#[test]
fn a_failing_output_stops_every_thread() {
    let line = b"7,Ana Diaz,5433-9502-3725-7862,536-22-8726,ana7@example.org\n";
    let text = line.repeat(200_000);
    let e = Engine::new(&detect::default_rules()).unwrap();
    for threads in [1, 2, 4] {
        let opts = StreamOptions {
            threads,
            split_from: 0,
            ..StreamOptions::default()
        };
        let mut n = 0;
        let err = e
            .scan_stream(&text[..], opts, |_| {
                n += 1;
                if n == 1000 {
                    return Err(std::io::Error::other("output gone"));
                }
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "output gone");
        assert_eq!(n, 1000, "{threads} threads");
    }
}

/// An input that fails mid-stream (a disk error after 3 MiB) ends the scan
/// with its error however many threads build steps, after the findings
/// before it were passed on in order, and no thread is left waiting.
#[test]
fn a_failing_input_stops_every_thread() {
    /// `text`, then an error.
    struct Failing<'a>(&'a [u8]);
    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk gone"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let line = b"7,Ana Diaz,5433-9502-3725-7862,536-22-8726,ana7@example.org\n";
    let text = line.repeat(3 << 20 >> 6);
    let e = Engine::new(&detect::default_rules()).unwrap();
    for threads in [1, 2, 4] {
        let opts = StreamOptions {
            window: 256 << 10,
            threads,
            split_from: 0,
            ..StreamOptions::default()
        };
        let mut last = 0;
        let err = e
            .scan_stream(Failing(&text), opts, |m| {
                assert!(m.byte_range.start > last || last == 0, "in order");
                last = m.byte_range.start;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "disk gone", "{threads} threads");
        assert!(last > 0, "{threads} threads: findings before the error");
    }
}

/// The file: a keyword assignment on every line, so one straddles
/// every window edge (this panicked at the edge before).
#[test]
fn assignments_across_every_edge() {
    let line = b"export API_TOKEN=Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB9x # deploy\n";
    let text = line.repeat(1000);
    let e = Engine::new(&detect::default_rules()).unwrap();
    let whole = e.scan(&text);
    assert_eq!(whole.len(), 1000);
    for window in [1, 7, 61, 62, 63, 1000, 4096] {
        let opts = StreamOptions {
            window,
            overlap: 0,
            ..StreamOptions::default()
        };
        let streamed = e.scan_reader(&text[..], opts).unwrap();
        assert!(
            whole == streamed,
            "window {window}: {}",
            diff(&whole, &streamed)
        );
    }
}

/// Inputs larger than one candidate step (256 KiB) in one default window:
/// step edges, like window edges, neither lose nor double a finding.
#[test]
fn step_edges_inside_a_large_window() {
    let pieces = [
        "7,Ana Díaz,5433-9502-3725-7862,536-22-8726,ana7@example.org\n",
        "export API_TOKEN=Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB9x # deploy\n",
        "call +1 (415) 555-0132 or 2001:db8::8a2e:370:7334\n",
        "héllo wörld 😀 日本語 iban DE89 3704 0044 0532 0130 00\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx8J2cL5rT0p9xYwZ3kQ4mN7vB1sD6fH8jK2lP5nR9tU3wE\n-----END RSA PRIVATE KEY-----\n",
    ];
    let all = detect::shorthand_rules(&["ALL".into()], Confidence::Possible).unwrap();
    let e = Engine::new(&all).unwrap();
    for shift in [0usize, 17, 40] {
        let mut text = "x".repeat(shift);
        let mut i = 0;
        while text.len() < 1_200_000 {
            text.push_str(pieces[i % pieces.len()]);
            i += 1;
        }
        let whole = e.scan(text.as_bytes());
        assert!(whole.len() > 20_000, "{}", whole.len());
        let streamed = e
            .scan_reader(text.as_bytes(), StreamOptions::default())
            .unwrap();
        assert!(
            whole == streamed,
            "shift {shift}: {}",
            diff(&whole, &streamed)
        );
        for threads in [2, 3] {
            let opts = StreamOptions {
                threads,
                split_from: 0,
                ..StreamOptions::default()
            };
            let split = e.scan_reader(text.as_bytes(), opts).unwrap();
            assert!(
                whole == split,
                "shift {shift}, {threads} threads: {}",
                diff(&whole, &split)
            );
        }
        let mut gated = Vec::new();
        e.scan_stream(text.as_bytes(), StreamOptions::default(), |m| {
            gated.push(m);
            Ok(())
        })
        .unwrap();
        assert!(whole == gated, "shift {shift}: {}", diff(&whole, &gated));
    }
}
