//! nf-emulator is strict where Nightfall is strict. Raw HTTP against the
//! real binary on 127.0.0.1, with a local webhook receiver.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::{cmd, http, Receiver, Spawned};

const BIN: &str = env!("CARGO_BIN_EXE_nf-emulator");
const KEY: &str = "NF-test";
const AUTH: (&str, &str) = ("Authorization", "Bearer NF-test");

struct Emu {
    _p: Spawned,
    port: u16,
}

fn start(args: &[&str]) -> Emu {
    let mut p = cmd(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("NIGHTFALL_SIGNING_SECRET", "s3cret")
        .env("NIGHTFALL_API_KEY", KEY)
        .spawn();
    let port = p.listening_port(Duration::from_secs(20));
    Emu { _p: p, port }
}

impl Emu {
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value, Vec<(String, String)>) {
        let (status, hdrs, body) = http(self.port, method, path, headers, body).unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            hdrs,
        )
    }

    fn init(&self, size: u64) -> (String, u64) {
        let (s, v, _) = self.call(
            "POST",
            "/v3/upload",
            &[AUTH],
            json!({"fileSizeBytes": size}).to_string().as_bytes(),
        );
        assert_eq!(s, 200, "{v}");
        (
            v["id"].as_str().unwrap().to_owned(),
            v["chunkSize"].as_u64().unwrap(),
        )
    }

    fn patch(&self, id: &str, offset: &str, data: &[u8]) -> (u16, Value) {
        let (s, v, _) = self.call(
            "PATCH",
            &format!("/v3/upload/{id}"),
            &[AUTH, ("X-Upload-Offset", offset)],
            data,
        );
        (s, v)
    }
}

#[test]
fn upload_flow_is_strict_about_auth_offsets_and_lengths() {
    let emu = start(&["--chunk-size", "10", "--rate", "0"]);
    // auth
    let (s, v, _) = emu.call("POST", "/v3/upload", &[], br#"{"fileSizeBytes":25}"#);
    assert_eq!((s, v["code"].as_i64()), (401, Some(40100)));
    let (s, _, _) = emu.call(
        "POST",
        "/v3/upload",
        &[("Authorization", "Bearer NF-other")],
        br#"{"fileSizeBytes":25}"#,
    );
    assert_eq!(s, 401);
    // init validation
    for bad in [&b"{}"[..], br#"{"fileSizeBytes":0}"#, b"not json"] {
        assert_eq!(emu.call("POST", "/v3/upload", &[AUTH], bad).0, 400);
    }
    let (s, v, h) = emu.call("POST", "/v3/upload", &[AUTH], br#"{"fileSizeBytes":25}"#);
    assert_eq!(s, 200);
    assert_eq!(
        (v["fileSizeBytes"].as_u64(), v["chunkSize"].as_u64()),
        (Some(25), Some(10))
    );
    assert_eq!(v["id"].as_str().unwrap().len(), 36);
    assert!(h.iter().any(|(k, _)| k == "x-rate-limit-remaining"));
    let id = v["id"].as_str().unwrap().to_owned();
    // chunks: offsets must be multiples of chunkSize, lengths exact but for the last
    assert_eq!(emu.patch(&id, "5", &[b'a'; 10]).0, 400);
    assert_eq!(emu.patch(&id, "0", &[b'a'; 9]).0, 400);
    assert_eq!(emu.patch(&id, "30", &[b'a'; 10]).0, 400);
    let (s, _, _) = emu.call("PATCH", &format!("/v3/upload/{id}"), &[AUTH], &[b'a'; 10]);
    assert_eq!(s, 400, "missing X-Upload-Offset");
    assert_eq!(
        emu.patch(&id, "20", &[b'c'; 6]).0,
        400,
        "last chunk has 5 bytes"
    );
    assert_eq!(
        emu.patch("00000000-0000-4000-8000-000000000000", "0", &[b'a'; 10])
            .0,
        404
    );
    // out of order is fine (Go and Java SDKs upload concurrently)
    assert_eq!(emu.patch(&id, "20", b"ccccc").0, 204);
    // finish before all chunks → refused; scan before finish → incorrect state
    let (s, v, _) = emu.call("POST", &format!("/v3/upload/{id}/finish"), &[AUTH], b"");
    assert_eq!(s, 400, "{v}");
    assert!(v["description"].as_str().unwrap().contains("1 of 3 chunks"));
    let scan = json!({"policy": {"webhookURL": "http://127.0.0.1:9/ingest", "detectionRules": [detect_rule()]}}).to_string();
    assert_eq!(
        emu.call(
            "POST",
            &format!("/v3/upload/{id}/scan"),
            &[AUTH],
            scan.as_bytes()
        )
        .0,
        409
    );
    // PY sends X-UPLOAD-OFFSET and Content-Type: application/json on raw bytes
    let (s, _, _) = emu.call(
        "PATCH",
        &format!("/v3/upload/{id}"),
        &[
            AUTH,
            ("X-UPLOAD-OFFSET", "0"),
            ("Content-Type", "application/json"),
        ],
        b"aaaaaaaaaa",
    );
    assert_eq!(s, 204);
    assert_eq!(emu.patch(&id, "10", b"bbbbbbbbbb").0, 204);
    let (s, v, _) = emu.call("POST", &format!("/v3/upload/{id}/finish"), &[AUTH], b"");
    assert_eq!(s, 200);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["mimeType"], "text/plain");
    assert_eq!(
        emu.patch(&id, "0", b"aaaaaaaaaa").0,
        409,
        "no chunks after finish"
    );
    // wrong methods and paths
    assert_eq!(emu.call("GET", "/v3/upload", &[AUTH], b"").0, 405);
    assert_eq!(emu.call("GET", "/v3/nothing", &[AUTH], b"").0, 404);
}

fn detect_rule() -> Value {
    json!({"detectors": [{"minConfidence": "LIKELY", "minNumFindings": 1, "nightfallDetector": "CREDIT_CARD_NUMBER",
                          "detectorType": "NIGHTFALL_DETECTOR", "displayName": "Credit Card Number"}], "logicalOp": "ANY"})
}

fn finished_upload(emu: &Emu, data: &[u8]) -> String {
    let (id, _) = emu.init(data.len() as u64);
    assert_eq!(emu.patch(&id, "0", data).0, 204);
    assert_eq!(
        emu.call("POST", &format!("/v3/upload/{id}/finish"), &[AUTH], b"{}")
            .0,
        200
    );
    id
}

#[test]
fn scan_requires_a_valid_policy_and_a_passed_challenge() {
    let emu = start(&["--rate", "0"]);
    let recv = Receiver::start();
    let id = finished_upload(&emu, b"card 5433-9502-3725-7862 here\n");
    let path = format!("/v3/upload/{id}/scan");
    let post = |body: Value| emu.call("POST", &path, &[AUTH], body.to_string().as_bytes());
    // exactly one of policy / policyUUID
    assert_eq!(
        post(json!({"policyUUID": "a", "policy": {"webhookURL": recv.url()}})).0,
        400
    );
    assert_eq!(post(json!({"requestMetadata": "x"})).0, 400);
    // rules required, at most 10
    assert_eq!(post(json!({"policy": {"webhookURL": recv.url()}})).0, 400);
    let eleven: Vec<Value> = (0..11).map(|_| detect_rule()).collect();
    assert_eq!(
        post(json!({"policy": {"webhookURL": recv.url(), "detectionRules": eleven}})).0,
        400
    );
    // metadata ≤ 10 KB
    let big = "x".repeat(10 * 1024 + 1);
    assert_eq!(post(json!({"policy": {"webhookURL": recv.url(), "detectionRules": [detect_rule()]}, "requestMetadata": big})).0, 400);
    // unreachable webhook: 400 / 40012
    let (s, v, _) = post(
        json!({"policy": {"webhookURL": "http://127.0.0.1:9/ingest", "detectionRules": [detect_rule()]}}),
    );
    assert_eq!((s, v["code"].as_i64()), (400, Some(40012)), "{v}");
    // a webhook that answers the challenge wrongly: 422 / 42201
    let wrong = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let wrong_port = wrong.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in wrong.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!",
            );
        }
    });
    let (s, v, _) = post(
        json!({"policy": {"webhookURL": format!("http://127.0.0.1:{wrong_port}/ingest"), "detectionRules": [detect_rule()]}}),
    );
    assert_eq!((s, v["code"].as_i64()), (422, Some(42201)), "{v}");
    // the new alertConfig form, nulls and "" treated as absent (Go and Java send them)
    let (s, v, _) = post(json!({"policyUUID": null, "requestMetadata": "",
        "policy": {"webhookURL": "", "detectionRules": [detect_rule()], "detectionRuleUUIDs": null,
                   "alertConfig": {"url": {"address": recv.url()}}}}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"id": id, "message": "scan initiated"}));
    assert_eq!(
        post(json!({"policy": {"webhookURL": recv.url(), "detectionRules": [detect_rule()]}})).0,
        409,
        "scanned once"
    );
    let got = recv
        .next(Duration::from_secs(20))
        .expect("result notification");
    let ts = got.header("x-nightfall-timestamp").unwrap();
    let sig = got.header("x-nightfall-signature").unwrap();
    assert!(dlp_verify(ts, &got.body, sig));
    assert!(
        ts.parse::<u64>().unwrap()
            <= std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
    );
    let note: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(note["uploadID"], id.as_str());
    assert_eq!(note["findingsPresent"], true);
    assert_eq!(note["requestMetadata"], "");
    assert_eq!(note["errors"], json!([]));
    let url = note["findingsURL"].as_str().unwrap();
    let (s, doc, _) = emu.call("GET", &url[url.find("/findings/").unwrap()..], &[], b"");
    assert_eq!(s, 200);
    let f = &doc["findings"][0];
    assert_eq!(f["finding"], "5433-9502-3725-7862");
    assert_eq!(f["detector"]["name"], "Credit Card Number");
    assert_eq!(
        f["detector"]["uuid"],
        "74c1815e-c0c3-4df5-8b1e-6cf98864a454"
    );
    assert_eq!(f["location"]["byteRange"], json!({"start": 5, "end": 24}));
    assert_eq!(f["beforeContext"], "card ");
    // a file without findings: findingsPresent false, empty findingsURL
    let clean = finished_upload(&emu, b"nothing to see\n");
    let (s, _, _) = emu.call(
        "POST",
        &format!("/v3/upload/{clean}/scan"),
        &[AUTH],
        json!({"policy": {"webhookURL": recv.url(), "detectionRules": [detect_rule()]}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 200);
    let note: Value =
        serde_json::from_slice(&recv.next(Duration::from_secs(20)).unwrap().body).unwrap();
    assert_eq!(
        (
            note["findingsPresent"].as_bool(),
            note["findingsURL"].as_str()
        ),
        (Some(false), Some(""))
    );
}

/// The scan body is read into nfapi's typed request: a value outside an
/// enum or of the wrong type is the service's 400 naming it, a rule the API
/// would refuse is a 400 naming the rule, fields the service does not know
/// (JAVA's `violation`, PY's `maskRightToLeft`) are ignored.
#[test]
fn scan_bodies_are_typed_and_bad_values_named() {
    let emu = start(&["--rate", "0"]);
    let recv = Receiver::start();
    let id = finished_upload(&emu, b"card 5433-9502-3725-7862 here\n");
    let path = format!("/v3/upload/{id}/scan");
    let post = |body: &str| emu.call("POST", &path, &[AUTH], body.as_bytes());
    let refused = |body: Value, needle: &str| {
        let (s, v, _) = post(&body.to_string());
        assert_eq!((s, v["code"].as_i64()), (400, Some(40000)), "{v}");
        assert_eq!(v["message"], "Invalid Request", "{v}");
        let d = v["description"].as_str().unwrap();
        assert!(d.contains(needle), "{needle:?} not in {d:?}");
    };
    let with_rule =
        |rule: Value| json!({"policy": {"webhookURL": recv.url(), "detectionRules": [rule]}});
    refused(
        with_rule(json!({"logicalOp": "SOME", "detectors": [{"nightfallDetector": "API_KEY"}]})),
        "unknown variant `SOME`, expected `ANY` or `ALL`",
    );
    refused(
        with_rule(
            json!({"detectors": [{"nightfallDetector": "API_KEY", "minConfidence": "SURE"}]}),
        ),
        "unknown variant `SURE`",
    );
    refused(
        with_rule(
            json!({"detectors": [{"nightfallDetector": "API_KEY", "minNumFindings": "one"}]}),
        ),
        "invalid type: string \"one\"",
    );
    refused(
        with_rule(json!({"detectors": [{"nightfallDetector": "NOT_A_DETECTOR"}]})),
        "invalid detectionRules: detection rule #1: detector #1: unknown nightfallDetector \"NOT_A_DETECTOR\"",
    );
    refused(
        with_rule(json!({"detectors": [{"regex": {"pattern": "(unclosed"}}]})),
        "detection rule #1: detector #1: invalid regex",
    );
    refused(
        json!({"policy": {"webhookURL": recv.url(), "detectionRuleUUIDs": "not-a-list"}}),
        "invalid type",
    );
    for body in ["[]", "\"policy\"", "{\"policy\":"] {
        let (s, v, _) = post(body);
        assert_eq!(s, 400, "{body}: {v}");
        assert!(
            v["description"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request payload"),
            "{v}"
        );
    }
    // Unknown fields anywhere are ignored and the scan goes ahead.
    let rule = json!({"detectors": [{"nightfallDetector": "CREDIT_CARD_NUMBER", "minConfidence": "LIKELY",
                                     "displayName": "Card", "futureOption": true,
                                     "redactionConfig": {"maskConfig": {"maskingChar": "*", "maskRightToLeft": true}}}],
                      "logicalOp": "ANY"});
    let (s, v, _) = post(
        &json!({"violation": null, "policy": {"webhookURL": recv.url(), "detectionRules": [rule],
                                              "alertConfig": {"siem": null}}})
        .to_string(),
    );
    assert_eq!(
        (s, &v),
        (200, &json!({"id": id, "message": "scan initiated"}))
    );
    let note: Value =
        serde_json::from_slice(&recv.next(Duration::from_secs(20)).unwrap().body).unwrap();
    assert_eq!(note["findingsPresent"], true);
}

fn dlp_verify(ts: &str, body: &[u8], sig: &str) -> bool {
    nfapi::signature::verify(b"s3cret", ts, body, sig)
}

#[test]
fn rate_limits_and_injected_faults() {
    let emu = start(&["--rate", "1", "--burst", "2"]);
    let body = br#"{"fileSizeBytes":5}"#;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let (s, v, h) = emu.call("POST", "/v3/upload", &[AUTH], body);
        statuses.push(s);
        if s == 429 {
            retry_after = h
                .iter()
                .find(|(k, _)| k == "retry-after")
                .map(|(_, v)| v.clone());
            assert_eq!(v["code"], 42900);
        } else {
            remaining.push(
                h.iter()
                    .find(|(k, _)| k == "x-rate-limit-remaining")
                    .unwrap()
                    .1
                    .clone(),
            );
        }
    }
    assert_eq!(statuses[..2], [200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(remaining[0], "1");
    // per endpoint: another endpoint still has its own budget
    assert_ne!(emu.call("POST", "/v3/upload/x/finish", &[AUTH], b"").0, 429);

    let faulty = start(&[
        "--rate",
        "0",
        "--inject-429-every",
        "2",
        "--inject-500-every",
        "3",
        "--retry-after",
        "7",
    ]);
    let got: Vec<(u16, Option<String>)> = (0..6)
        .map(|_| {
            let (s, _, h) = faulty.call("POST", "/v3/upload", &[AUTH], body);
            (
                s,
                h.iter()
                    .find(|(k, _)| k == "retry-after")
                    .map(|(_, v)| v.clone()),
            )
        })
        .collect();
    let codes: Vec<u16> = got.iter().map(|g| g.0).collect();
    assert_eq!(codes, [200, 429, 500, 429, 200, 429]);
    assert_eq!(got[1].1.as_deref(), Some("7"));
}

#[test]
fn findings_urls_are_presigned() {
    let emu = start(&["--rate", "0"]);
    let recv = Receiver::start();
    let id = finished_upload(&emu, b"ssn 536-22-8726\n");
    let rule = json!({"detectors": [{"minConfidence": "POSSIBLE", "minNumFindings": 1, "nightfallDetector": "US_SOCIAL_SECURITY_NUMBER", "detectorType": "NIGHTFALL_DETECTOR"}], "logicalOp": "ANY"});
    let (s, _, _) = emu.call(
        "POST",
        &format!("/v3/upload/{id}/scan"),
        &[AUTH],
        json!({"policy": {"webhookURL": recv.url(), "detectionRules": [rule]}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 200);
    let note: Value =
        serde_json::from_slice(&recv.next(Duration::from_secs(20)).unwrap().body).unwrap();
    let url = note["findingsURL"].as_str().unwrap();
    let path = &url[url.find("/findings/").unwrap()..];
    assert_eq!(emu.call("GET", path, &[], b"").0, 200);
    assert_eq!(
        emu.call("GET", &path.replace("Expires=", "Expires=1"), &[], b"")
            .0,
        403
    );
    assert_eq!(
        emu.call("GET", path.split('?').next().unwrap(), &[], b"").0,
        403
    );
    assert_eq!(emu.call("POST", path, &[], b"").0, 405);
}

#[test]
fn configuration_errors() {
    let out = cmd(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("NIGHTFALL_SIGNING_SECRET"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .args(["--chunk-size", "0"])
        .env("NIGHTFALL_SIGNING_SECRET", "x")
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("--chunk-size"));
}

#[test]
fn huge_content_length_and_idle_connections_do_not_hurt_the_server() {
    use std::io::{Read, Write};
    let emu = start(&["--chunk-size", "1024"]);
    // tiny_http 0.12 aborted the process on this request; it is refused
    // before any body byte is read.
    for (method, path) in [("POST", "/v3/upload"), ("PATCH", "/v3/upload/x")] {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
        write!(
            c,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\nabc"
        )
        .unwrap();
        let mut resp = String::new();
        let _ = c.read_to_string(&mut resp);
        assert!(resp.starts_with("HTTP/1.1 413 "), "{resp}");
    }
    // Idle connections hold no thread: requests are answered at once.
    let _idle: Vec<_> = (0..300)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", emu.port)).unwrap())
        .collect();
    let t = std::time::Instant::now();
    let (id, _) = emu.init(10);
    assert!(!id.is_empty());
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

/// The findings of a scan of `data` with the tutorial's rule (cards and
/// SSNs): (path inside the file, detector, finding).
fn scanned(emu: &Emu, data: &[u8]) -> Vec<(String, String, String)> {
    let recv = Receiver::start();
    let id = finished_upload(emu, data);
    let rule = json!({"detectors": [
        {"minConfidence": "LIKELY", "minNumFindings": 1, "nightfallDetector": "CREDIT_CARD_NUMBER", "detectorType": "NIGHTFALL_DETECTOR"},
        {"minConfidence": "LIKELY", "minNumFindings": 1, "nightfallDetector": "US_SOCIAL_SECURITY_NUMBER", "detectorType": "NIGHTFALL_DETECTOR"}],
        "logicalOp": "ANY"});
    let (s, _, _) = emu.call(
        "POST",
        &format!("/v3/upload/{id}/scan"),
        &[AUTH],
        json!({"policy": {"webhookURL": recv.url(), "detectionRules": [rule]}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 200);
    let note: Value =
        serde_json::from_slice(&recv.next(Duration::from_secs(60)).unwrap().body).unwrap();
    let url = note["findingsURL"].as_str().unwrap();
    let (s, doc, _) = emu.call("GET", &url[url.find("/findings/").unwrap()..], &[], b"");
    assert_eq!(s, 200);
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (s(&f["path"]), s(&f["detector"]["name"]), s(&f["finding"]))
        })
        .collect()
}

/// Like Nightfall, the emulator reads what a file holds, not its raw
/// bytes: PDF text, a mail's attachments, a workbook's sheets (files
/// made by reportlab, Python's email and XlsxWriter).
#[test]
fn uploads_are_read_as_nightfall_reads_files() {
    if !testkit::extract_programs() {
        return;
    }
    let emu = start(&["--rate", "0"]);
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pii-scan/tests/data");
    let read = |p: &str| std::fs::read(data.join(p)).unwrap();
    let t = |a: &str, d: &str, f: &str| (a.to_owned(), d.to_owned(), f.to_owned());
    assert_eq!(
        scanned(&emu, &read("formats/w2.pdf")),
        [
            t("", "US_SOCIAL_SECURITY_NUMBER", "412-58-3071"),
            t("", "CREDIT_CARD_NUMBER", "4539 1488 0343 6772")
        ]
    );
    assert_eq!(
        scanned(&emu, &read("formats/letter.eml")),
        [
            t("", "US_SOCIAL_SECURITY_NUMBER", "604-19-2278"),
            t("cards.csv", "CREDIT_CARD_NUMBER", "4556 7311 9042 8615")
        ]
    );
    let sheet = scanned(&emu, &read("xlsx/customers_xlsxwriter.xlsx"));
    assert_eq!(sheet.len(), 50, "{sheet:?}");
    assert!(sheet
        .iter()
        .all(|(p, _, _)| p == "xl/worksheets/sheet1.xml"));
}
