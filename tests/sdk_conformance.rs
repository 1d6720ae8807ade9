//! Conformance with Nightfall's official Python SDK (nightfall==1.4.1 from
//! PyPI): the SDK's own `scan_file` completes against nf-emulator, and the
//! SDK's own `validate_webhook` accepts the emulator's webhooks. This keeps
//! the emulator honest to the real service that the SDK was written for.

use std::path::Path;
use std::time::Duration;

use e2e::{sdk_python, Emulator, Receiver, Webhook, KEY, PLANTED, SECRET};
use serde_json::Value;
use testkit::{cmd, TempDir};

fn py_script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn sdk_scan(emu: &Emulator, webhook: &str, file: &Path, metadata: &str) -> testkit::Output {
    cmd(sdk_python())
        .arg(py_script("sdk_scan_file.py"))
        .args([
            emu.url().as_str(),
            webhook,
            file.to_str().unwrap(),
            metadata,
        ])
        .env("NIGHTFALL_API_KEY", KEY)
        .run()
}

#[test]
fn sdk_scan_file_completes_against_the_emulator() {
    // A 22-byte chunk size gives several PATCHes with PY's X-UPLOAD-OFFSET
    // spelling and its application/json content type on raw bytes.
    let emu = Emulator::start(&["--chunk-size", "22", "--rate", "0"]);
    let mut hook = Webhook::start();
    let dir = TempDir::new("sdk-scan");
    let file = dir.join("sample.csv");
    std::fs::write(&file, PLANTED).unwrap();
    let out = sdk_scan(&emu, &hook.ingest(), &file, "sdk-conformance").expect_code(0);
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resp["message"], "scan initiated");
    let id = resp["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    // nf-webhook verifies the emulator's signature and fetches the findings.
    let found = hook
        .proc
        .records_until(Duration::from_secs(60), |v| v.len() >= 3);
    assert_eq!(found.len(), 3, "{}", hook.proc.stderr_text());
    assert!(found.iter().all(|f| f["upload_id"] == id.as_str()));
    let card = found
        .iter()
        .find(|f| f["finding"] == "5433-9502-3725-7862")
        .expect("card found");
    assert_eq!(
        card["byte_range"],
        serde_json::json!({"start": 36, "end": 55})
    );
    assert_eq!(card["detector"], "Credit Card Number");
    assert_eq!(
        card["path"], "",
        "metadata that is not ours leaves the path empty"
    );
}

#[test]
fn sdk_validate_webhook_accepts_the_emulators_signature() {
    let emu = Emulator::start(&["--rate", "0"]);
    let recv = Receiver::start();
    let dir = TempDir::new("sdk-validate");
    let file = dir.join("a.txt");
    std::fs::write(&file, PLANTED).unwrap();
    sdk_scan(&emu, &recv.url(), &file, "MY_SECRETS").expect_code(0);
    let got = recv
        .next(Duration::from_secs(30))
        .expect("a result notification");
    assert_eq!(got.header("content-type"), Some("application/json"));
    let ts = got
        .header("x-nightfall-timestamp")
        .expect("timestamp header")
        .to_owned();
    let sig = got
        .header("x-nightfall-signature")
        .expect("signature header")
        .to_owned();
    let body = String::from_utf8(got.body.clone()).unwrap();
    // Compact JSON in Nightfall's key order.
    let keys: Vec<usize> = [
        "findingsURL",
        "validUntil",
        "uploadID",
        "findingsPresent",
        "requestMetadata",
        "errors",
    ]
    .iter()
    .map(|k| {
        body.find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} in {body}"))
    })
    .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{body}");
    assert!(
        !body.contains(": ") && !body.contains(", "),
        "compact: {body}"
    );
    let note: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(note["requestMetadata"], "MY_SECRETS");
    assert_eq!(note["findingsPresent"], true);
    // The findings URL is a plain unauthenticated GET, as the tutorial does it.
    let url = note["findingsURL"].as_str().unwrap();
    let path = &url[url.find("/findings/").unwrap()..];
    let (status, _, doc) = testkit::http(emu.port, "GET", path, &[], b"").unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_slice(&doc).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 3);
    assert!(doc["findings"][0]["location"]["byteRange"].is_object());
    let tampered_path = path.replace("Signature=", "Signature=00");
    assert_eq!(
        testkit::http(emu.port, "GET", &tampered_path, &[], b"")
            .unwrap()
            .0,
        403
    );

    let request = |body: &str| {
        serde_json::json!({"signature": sig, "timestamp": ts, "body": body}).to_string() + "\n"
    };
    let input = request(&body) + &request(&body.replace("true", "false"));
    let out = cmd(sdk_python())
        .arg(py_script("nightfall_webhook.py"))
        .arg("validate")
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .stdin(input)
        .run()
        .expect_code(0);
    let verdicts: Vec<Value> = out.records();
    assert_eq!(
        verdicts[0]["valid"],
        true,
        "the SDK accepts the emulator's webhook: {}",
        out.stderr_str()
    );
    assert_eq!(verdicts[1]["valid"], false, "a tampered body is refused");
}
