//! webhook-post against a receiver on 127.0.0.1 that records requests and
//! can be scripted to fail, throttle or be down.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::{closed_port, cmd, Cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_webhook-post");
const T: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Req {
    fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// (status, extra headers, body) answers given before the default 200;
/// status 0 means: say nothing for 1.5 s, then hang up.
type Script = VecDeque<(u16, Vec<(&'static str, String)>, String)>;

#[derive(Default)]
struct State {
    reqs: Vec<Req>,
    script: Script,
}

struct Receiver {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Self {
        Self::scripted(Script::new())
    }

    /// A receiver on a port the kernel picks (port 0).
    fn scripted(script: Script) -> Self {
        Self::listen(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    /// A receiver on `port`, for endpoint-comes-back cases: the port came
    /// from `closed_port` (bound and released), so binding it again can fail
    /// if another process took it meanwhile; that fails the test loudly here
    /// rather than making it pass or fail by timing.
    fn on(port: u16, script: Script) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("re-binding 127.0.0.1:{port}: {e}"));
        Self::listen(listener, script)
    }

    fn listen(listener: TcpListener, script: Script) -> Self {
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State {
            reqs: Vec::new(),
            script,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || serve(s, st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver { port, state, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn reqs(&self) -> Vec<Req> {
        self.state.lock().unwrap().reqs.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(s: TcpStream, state: Arc<Mutex<State>>) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let (status, extra, text) = {
            let mut st = state.lock().unwrap();
            st.reqs.push(Req {
                path,
                headers,
                body,
                at: Instant::now(),
            });
            st.script
                .pop_front()
                .unwrap_or((200, Vec::new(), "ok".into()))
        };
        if status == 0 {
            std::thread::sleep(Duration::from_millis(1500));
            return;
        }
        let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", text.len());
        for (k, v) in extra {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str("\r\n");
        resp.push_str(&text);
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn wp(spool: &Path) -> Cmd {
    cmd(BIN)
        .env("WATCH_WEBHOOK_URL", "")
        .env("WEBHOOK_SIGNING_SECRET", "")
        .env("XDG_STATE_HOME", spool.join("state"))
        .args(["--spool".as_ref(), spool.join("spool").as_os_str()])
}

fn ev(i: usize) -> String {
    json!({"event_type":"modified","src_path":format!("/srv/user_pii/f{i}.csv"),"dest_path":"",
           "is_directory":false,"is_synthetic":false,"timestamp":"2026-11-22T10:15:03.120511Z","n":i})
    .to_string()
}

fn lines(n: usize) -> String {
    (0..n).map(|i| ev(i) + "\n").collect()
}

fn statuses(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn spool_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("spool"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".entry"))
                .count()
        })
        .unwrap_or(0)
}

/// The `n` values of raw records received, batch arrays flattened, in order.
fn received_ns(reqs: &[Req]) -> Vec<u64> {
    let mut v = Vec::new();
    for r in reqs {
        match r.json() {
            Value::Array(a) => v.extend(a.iter().map(|x| x["n"].as_u64().unwrap())),
            x => v.push(x["n"].as_u64().unwrap()),
        }
    }
    v
}

#[test]
fn raw_posts_each_record_as_is() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-raw");
    let input = format!("{}\n{{\"spaced\": true ,\"n\": 9}}\n", ev(1));
    let out = wp(tmp.path())
        .args(["--url", &rx.url()])
        .stdin(input)
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, ev(1).as_bytes());
    assert_eq!(reqs[1].body, b"{\"spaced\": true ,\"n\": 9}");
    assert_eq!(reqs[0].path, "/hook");
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    let recs = out.records();
    assert_eq!(statuses(&recs), ["delivered", "delivered"]);
    assert_eq!(recs[0]["records"], 1);
    assert_eq!(recs[0]["http_status"], 200);
    assert_eq!(recs[0]["attempts"], 1);
    assert!(recs[0]["latency_ms"].is_u64() && recs[0]["timestamp"].is_string());
    assert_eq!(spool_entries(tmp.path()), 0);
}

#[test]
fn url_from_environment_and_extra_headers() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-env");
    wp(tmp.path())
        .env("WATCH_WEBHOOK_URL", rx.url())
        .env("HOOK_TOKEN", "Bearer s3cret")
        .args([
            "--header",
            "X-Team: fim",
            "--header-env",
            "Authorization=HOOK_TOKEN",
        ])
        .stdin(lines(1))
        .run()
        .expect_code(0);
    let r = &rx.reqs()[0];
    assert_eq!(r.header("x-team"), Some("fim"));
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
}

#[test]
fn slack_format_summarises_events_and_findings() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-slack");
    let fim = json!({"event_type":"modified","src_path":"/srv/user_pii/a.csv","dest_path":"",
        "sha256":"cd34cd34cd34cd34cd34","previous_sha256":"ab12ab12ab12ab12ab12"});
    let finding = json!({"path":"/home/ana/q3.csv","detector":"CREDIT_CARD_NUMBER","confidence":"VERY_LIKELY",
        "finding":"5433-9502-3725-7862","line_range":{"start":2,"end":2}});
    let input = format!("{fim}\n{finding}\n{{\"hello\":\"world\"}}\n");
    wp(tmp.path())
        .args(["--url", &rx.url(), "--format", "slack"])
        .stdin(input)
        .run()
        .expect_code(0);
    let texts: Vec<String> = rx
        .reqs()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts[0],
        ":warning: changed /srv/user_pii/a.csv (sha256 ab12ab12… → cd34cd34…)"
    );
    assert_eq!(
        texts[1],
        ":rotating_light: CREDIT_CARD_NUMBER (VERY_LIKELY) in /home/ana/q3.csv line 2"
    );
    assert!(
        !texts[1].contains("5433"),
        "the matched data must not be sent to chat"
    );
    assert_eq!(texts[2], ":information_source: {\"hello\":\"world\"}");
}

#[test]
fn json_template_escapes_substitutions() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-tpl");
    let rec = json!({"event_type":"created","src_path":"/tmp/a \"quoted\"\nname","size":3});
    let tpl = r#"{"content": "{event_type}: {path}", "size": {size}, "record": {json}}"#;
    wp(tmp.path())
        .args(["--url", &rx.url(), "--template", tpl])
        .stdin(format!("{rec}\n"))
        .run()
        .expect_code(0);
    let body = rx.reqs()[0].json();
    assert_eq!(body["content"], "created: /tmp/a \"quoted\"\nname");
    assert_eq!(body["size"], 3);
    assert_eq!(body["record"], rec);

    // A text template is sent as text/plain; a broken JSON template is refused up front.
    wp(tmp.path())
        .args(["--url", &rx.url(), "--template", "{event_type} at {path}"])
        .stdin(format!("{rec}\n"))
        .run()
        .expect_code(0);
    let r = &rx.reqs()[1];
    assert_eq!(r.body, "created at /tmp/a \"quoted\"\nname".as_bytes());
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    // {lines} makes one message per batch (Discord-style).
    wp(tmp.path())
        .args([
            "--url",
            &rx.url(),
            "--batch",
            "3",
            "--template",
            r#"{"content": "{lines}"}"#,
        ])
        .stdin(lines(3))
        .run()
        .expect_code(0);
    let content = rx.reqs()[2].json()["content"].as_str().unwrap().to_owned();
    assert_eq!(content.lines().count(), 3, "{content}");
    assert!(content
        .lines()
        .all(|l| l.starts_with(":warning: changed /srv/user_pii/f")));
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--template", r#"{"text": "{path}""#])
        .stdin(lines(1))
        .run();
    out.expect_code(2);
    assert_eq!(rx.reqs().len(), 3);
}

#[test]
fn batches_by_count() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-batch");
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--batch", "4"])
        .stdin(lines(10))
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(received_ns(&reqs), (0..10).collect::<Vec<u64>>());
    let counts: Vec<u64> = out
        .records()
        .iter()
        .map(|r| r["records"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [4, 4, 2]);

    // Slack batches are one message with one line per record.
    wp(tmp.path())
        .args(["--url", &rx.url(), "--batch", "3", "--format", "slack"])
        .stdin(lines(3))
        .run()
        .expect_code(0);
    let text = rx.reqs()[3].json()["text"].as_str().unwrap().to_owned();
    assert_eq!(text.lines().count(), 3);
    assert!(text
        .lines()
        .all(|l| l.starts_with(":warning: changed /srv/user_pii/f")));
}

#[test]
fn partial_batch_is_sent_after_flush_after() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-flush");
    let mut p = wp(tmp.path())
        .args(["--url", &rx.url(), "--batch", "100", "--flush-after", "200"])
        .spawn();
    p.write_line(&ev(0));
    p.write_line(&ev(1));
    let rec = p
        .next_record(T)
        .expect("a delivery record while stdin is still open");
    assert_eq!(rec["status"], "delivered");
    assert_eq!(rec["records"], 2);
    assert_eq!(received_ns(&rx.reqs()), [0, 1]);
    p.close_stdin();
    assert_eq!(p.wait_timeout(T).unwrap().code(), Some(0));
    assert_eq!(rx.reqs().len(), 1);
}

#[test]
fn per_minute_cap_turns_excess_into_one_summary() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-cap");
    let input: String = (0..10)
        .map(|i| json!({"event_type":"modified","src_path":format!("/srv/user_pii/{}/f{i}", if i % 2 == 0 { "a" } else { "b/c" })}).to_string() + "\n")
        .collect();
    let out = wp(tmp.path())
        .args([
            "--url",
            &rx.url(),
            "--format",
            "slack",
            "--max-per-minute",
            "3",
        ])
        .stdin(input)
        .run()
        .expect_code(0);
    let texts: Vec<String> = rx
        .reqs()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(texts[..3].iter().all(|t| t.starts_with(":warning:")));
    assert!(
        texts[3].contains("7 more events under /srv/user_pii in the last minute"),
        "summary: {}",
        texts[3]
    );
    let recs = out.records();
    let summary: Vec<&Value> = recs.iter().filter(|r| r["status"] == "summary").collect();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["records"], 7);
    assert_eq!(summary[0]["path"], "/srv/user_pii");
    assert_eq!(
        recs.iter().filter(|r| r["status"] == "delivered").count(),
        4
    );

    // In raw form the summary is a record of its own.
    let input: String = (0..4)
        .map(|i| json!({"event_type":"created","src_path":format!("/d/x{i}")}).to_string() + "\n")
        .collect();
    wp(tmp.path())
        .args(["--url", &rx.url(), "--max-per-minute", "1"])
        .stdin(input)
        .run()
        .expect_code(0);
    let s = rx.reqs()[5].json();
    assert_eq!(s["event_type"], "suppressed");
    assert_eq!(s["count"], 3);
    assert_eq!(s["src_path"], "/d");
}

#[test]
fn endpoint_down_then_back_delivers_everything_once_in_order() {
    let port = closed_port();
    let tmp = TempDir::new("wp-down");
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut p = wp(tmp.path())
        .args(["--url", &url, "--max-backoff", "0.2"])
        .spawn();
    for i in 0..5 {
        p.write_line(&ev(i));
    }
    let first = p.next_record(T).expect("a spooled record");
    assert_eq!(first["status"], "spooled");
    assert!(p.wait_stderr("unavailable", T));
    // Keeps reading while the endpoint is down: all five end up on disk.
    let deadline = Instant::now() + T;
    while spool_entries(tmp.path()) < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(spool_entries(tmp.path()), 5);
    p.write_line(&ev(5));
    let rx = Receiver::on(port, Script::new());
    let recs = p.records_until(T, |v| {
        v.iter().filter(|r| r["status"] == "delivered").count() == 6
    });
    p.close_stdin();
    assert_eq!(
        p.wait_timeout(T).unwrap().code(),
        Some(0),
        "{}",
        p.stderr_text()
    );
    assert_eq!(
        recs.iter().filter(|r| r["status"] == "delivered").count(),
        6
    );
    assert_eq!(received_ns(&rx.reqs()), [0, 1, 2, 3, 4, 5]);
    assert_eq!(spool_entries(tmp.path()), 0);
}

#[test]
fn server_errors_are_retried_until_success() {
    let script: Script = vec![(500, vec![], "oops".into()), (503, vec![], String::new())].into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-500");
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--max-backoff", "0.1"])
        .stdin(lines(1))
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.body == reqs[0].body));
    let recs = out.records();
    assert_eq!(statuses(&recs), ["spooled", "delivered"]);
    assert_eq!(recs[0]["http_status"], 500);
    assert_eq!(recs[1]["attempts"], 3);
}

#[test]
fn timeouts_are_retried() {
    let script: Script = vec![(0, vec![], String::new())].into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-timeout");
    let out = wp(tmp.path())
        .args([
            "--url",
            &rx.url(),
            "--timeout",
            "0.3",
            "--max-backoff",
            "0.05",
        ])
        .stdin(lines(1))
        .run()
        .expect_code(0);
    let recs = out.records();
    assert_eq!(statuses(&recs), ["spooled", "delivered"]);
    assert!(
        recs[0]["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("timeout"),
        "{}",
        recs[0]
    );
    assert!(recs[0].get("http_status").is_none());
    assert_eq!(recs[1]["attempts"], 2);
    assert_eq!(rx.reqs().len(), 2);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let script: Script = vec![(429, vec![("Retry-After", "1".into())], "slow down".into())].into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-429");
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--max-backoff", "0.05"])
        .stdin(lines(1))
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?} despite Retry-After: 1"
    );
    assert_eq!(out.records().last().unwrap()["attempts"], 2);
}

#[test]
fn permanent_client_error_is_logged_and_exits_1() {
    let script: Script = vec![(400, vec![], "invalid_payload: missing text".into())].into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-400");
    let url = format!(
        "http://127.0.0.1:{}/services/T000/B000/SECRETTOKEN",
        rx.port
    );
    let out = wp(tmp.path())
        .args(["--url", &url])
        .stdin(lines(2))
        .run()
        .expect_code(1);
    assert_eq!(
        rx.reqs().len(),
        2,
        "a permanent failure is not retried; the next record still goes"
    );
    let recs = out.records();
    assert_eq!(statuses(&recs), ["failed", "delivered"]);
    assert_eq!(recs[0]["http_status"], 400);
    let err = out.stderr_str();
    assert!(
        err.contains("400") && err.contains("invalid_payload: missing text"),
        "{err}"
    );
    assert!(
        !err.contains("SECRETTOKEN") && !out.stdout_str().contains("SECRETTOKEN"),
        "URL path leaked: {err}"
    );
    assert_eq!(spool_entries(tmp.path()), 0);
    // Not dropped: kept for a re-feed.
    let dl = dead_letters(tmp.path());
    assert_eq!(dl.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&dl[0]).unwrap(),
        format!("{}\n", ev(0))
    );
}

#[test]
fn kill_9_with_full_spool_then_restart_delivers_exactly_once() {
    let port = closed_port();
    let tmp = TempDir::new("wp-kill");
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut p = wp(tmp.path())
        .args([
            "--url",
            &url,
            "--batch",
            "2",
            "--flush-after",
            "50",
            "--max-backoff",
            "0.2",
        ])
        .spawn();
    for i in 0..5 {
        p.write_line(&ev(i));
    }
    let deadline = Instant::now() + T;
    while spool_entries(tmp.path()) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(spool_entries(tmp.path()), 3);
    p.signal(9);
    p.wait_timeout(T);

    let rx = Receiver::on(port, Script::new());
    let out = wp(tmp.path()).args(["--url", &url]).run().expect_code(0);
    assert!(
        out.stderr_str().contains("3 batches from an earlier run"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(received_ns(&rx.reqs()), [0, 1, 2, 3, 4]);
    assert_eq!(
        out.records()
            .iter()
            .map(|r| r["records"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(spool_entries(tmp.path()), 0);
    // A second start has nothing left to send.
    wp(tmp.path()).args(["--url", &url]).run().expect_code(0);
    assert_eq!(rx.reqs().len(), 3);
}

#[test]
fn signatures_verify_with_nightfall_scheme() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-sign");
    let secret = "super-secret-shhhh";
    wp(tmp.path())
        .env("WEBHOOK_SIGNING_SECRET", secret)
        .args(["--url", &rx.url(), "--sign"])
        .stdin(lines(2))
        .run()
        .expect_code(0);
    wp(tmp.path())
        .env("WEBHOOK_SIGNING_SECRET", secret)
        .args([
            "--url",
            &rx.url(),
            "--sign",
            "--signature-header-prefix",
            "X-Nightfall",
            "--batch",
            "5",
        ])
        .stdin(lines(3))
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 3);
    for (i, r) in reqs.iter().enumerate() {
        let p = if i < 2 { "X-Webhook" } else { "X-Nightfall" };
        let ts = r
            .header(&format!("{p}-Timestamp"))
            .expect("timestamp header");
        let sig = r
            .header(&format!("{p}-Signature"))
            .expect("signature header");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(ts.parse::<u64>().unwrap().abs_diff(now) < 60);
        assert!(nfapi::signature::verify(
            secret.as_bytes(),
            ts,
            &r.body,
            sig
        ));
        assert!(!nfapi::signature::verify(b"wrong", ts, &r.body, sig));
    }
    // --sign without the secret is a configuration error; the secret never appears in output.
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--sign"])
        .stdin(lines(1))
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("WEBHOOK_SIGNING_SECRET"));
    assert_eq!(rx.reqs().len(), 3);
}

#[test]
fn configuration_errors_exit_2() {
    let tmp = TempDir::new("wp-cfg");
    let out = wp(tmp.path()).stdin(lines(1)).run().expect_code(2);
    assert!(
        out.stderr_str().contains("WATCH_WEBHOOK_URL"),
        "{}",
        out.stderr_str()
    );
    wp(tmp.path())
        .args(["--url", "ftp://x/y"])
        .stdin(lines(1))
        .run()
        .expect_code(2);
    let out = wp(tmp.path())
        .args([
            "--url",
            "http://127.0.0.1:9/x",
            "--header-env",
            "Authorization=NOPE_UNSET",
        ])
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("NOPE_UNSET"));
    wp(tmp.path())
        .args(["--url", "http://127.0.0.1:9/x", "--batch", "0"])
        .run()
        .expect_code(2);
}

#[test]
fn malformed_lines_are_reported_and_skipped() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-bad");
    let input = format!("{}\nnot json\n[1,2]\n\n{}\n", ev(0), ev(1));
    let out = wp(tmp.path())
        .args(["--url", &rx.url()])
        .stdin(input.clone())
        .run()
        .expect_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("webhook-post: line 2:") && err.contains("line 3: not a JSON object"),
        "{err}"
    );
    assert_eq!(received_ns(&rx.reqs()), [0, 1]);

    // --strict: fatal, but what was read before is still delivered.
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--strict"])
        .stdin(input)
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("line 2:"));
    assert_eq!(received_ns(&rx.reqs()), [0, 1, 0]);
}

#[test]
fn closed_stdout_exits_0_and_keeps_the_rest_in_the_spool() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-pipe");
    let mut child = std::process::Command::new(BIN)
        .args(["--url", &rx.url(), "--spool"])
        .arg(tmp.join("spool"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(lines(3).as_bytes()).unwrap();
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop after stdout closed"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Whatever was read is either delivered or still spooled: nothing is lost.
    let delivered = rx.reqs().len();
    assert!(delivered >= 1);
    assert_eq!(delivered + spool_entries(tmp.path()), 3);
}

#[test]
fn sigterm_while_endpoint_down_leaves_records_in_the_spool() {
    let port = closed_port();
    let tmp = TempDir::new("wp-term");
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut p = wp(tmp.path())
        .args([
            "--url",
            &url,
            "--batch",
            "10",
            "--flush-after",
            "60000",
            "--grace",
            "0.3",
        ])
        .spawn();
    for i in 0..3 {
        p.write_line(&ev(i));
    }
    // The three records sit in an open batch (flush-after is a minute); SIGTERM must flush it.
    std::thread::sleep(Duration::from_millis(200));
    p.signal(15);
    let st = p.wait_timeout(T).expect("exits after SIGTERM");
    assert_eq!(st.code(), Some(143), "{}", p.stderr_text());
    assert_eq!(spool_entries(tmp.path()), 1);
    let recs = p.drain_records(Duration::from_millis(200));
    assert_eq!(statuses(&recs).last().map(String::as_str), Some("spooled"));

    let rx = Receiver::on(port, Script::new());
    wp(tmp.path()).args(["--url", &url]).run().expect_code(0);
    assert_eq!(received_ns(&rx.reqs()), [0, 1, 2]);
}

#[test]
fn sigterm_during_end_of_input_retries_cuts_to_the_grace_period() {
    let port = closed_port();
    let tmp = TempDir::new("wp-term-eof");
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut p = wp(tmp.path())
        .args(["--url", &url, "--max-retry-time", "600", "--grace", "0.2"])
        .spawn();
    p.write_line(&ev(0));
    p.close_stdin();
    assert_eq!(p.next_record(T).unwrap()["status"], "spooled");
    p.signal(15);
    let st = p
        .wait_timeout(Duration::from_secs(10))
        .expect("stops within the grace period, not --max-retry-time");
    assert_eq!(st.code(), Some(143), "{}", p.stderr_text());
    assert_eq!(spool_entries(tmp.path()), 1);
}

#[test]
fn gives_up_after_max_retry_time_with_exit_1() {
    let port = closed_port();
    let tmp = TempDir::new("wp-giveup");
    let url = format!("http://127.0.0.1:{port}/hook");
    let out = wp(tmp.path())
        .args([
            "--url",
            &url,
            "--max-retry-time",
            "0.5",
            "--max-backoff",
            "0.1",
        ])
        .stdin(lines(2))
        .run()
        .expect_code(1);
    assert!(out.stderr_str().contains("stay in"), "{}", out.stderr_str());
    assert_eq!(spool_entries(tmp.path()), 2);
    assert_eq!(statuses(&out.records()), ["spooled", "spooled"]);
}

#[test]
fn one_spool_one_instance() {
    let port = closed_port();
    let tmp = TempDir::new("wp-lock");
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut p = wp(tmp.path()).args(["--url", &url]).spawn();
    p.write_line(&ev(0));
    assert!(p.next_record(T).is_some());
    let out = wp(tmp.path()).args(["--url", &url]).run().expect_code(2);
    assert!(
        out.stderr_str().contains("is in use by another process"),
        "{}",
        out.stderr_str()
    );
}

fn dead_letters(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("spool/dead-letter"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn too_large_batches_are_split_down_to_single_records() {
    // 4 records: 413, then halves: 413, 200, 200, then the second half: 413, 200, 200.
    let script: Script = vec![
        (413, vec![], "too big".into()),
        (413, vec![], "too big".into()),
        (200, vec![], "ok".into()),
        (200, vec![], "ok".into()),
        (413, vec![], "too big".into()),
    ]
    .into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-413");
    let out = wp(tmp.path())
        .args(["--url", &rx.url(), "--batch", "4"])
        .stdin(lines(4))
        .run()
        .expect_code(0);
    let reqs = rx.reqs();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 2, 1, 1, 2, 1, 1]);
    // Every record delivered once, in order.
    let delivered: Vec<Value> = [2, 3, 5, 6]
        .iter()
        .map(|&i| reqs[i].json()[0].clone())
        .collect();
    assert_eq!(
        delivered,
        (0..4)
            .map(|i| serde_json::from_str::<Value>(&ev(i)).unwrap())
            .collect::<Vec<_>>()
    );
    let recs = out.records();
    assert_eq!(
        statuses(&recs),
        [
            "split",
            "split",
            "delivered",
            "delivered",
            "split",
            "delivered",
            "delivered"
        ]
    );
    assert_eq!(spool_entries(tmp.path()), 0);
    assert!(dead_letters(tmp.path()).is_empty());
}

#[test]
fn a_single_record_still_too_large_goes_to_the_dead_letter_directory_and_can_be_refed() {
    let script: Script = vec![(413, vec![], "too big".into())].into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-413-one");
    let out = wp(tmp.path())
        .args(["--url", &rx.url()])
        .stdin(lines(2))
        .run()
        .expect_code(1);
    let recs = out.records();
    assert_eq!(statuses(&recs), ["failed", "delivered"]);
    let dl = dead_letters(tmp.path());
    assert_eq!(dl.len(), 1);
    assert_eq!(recs[0]["dead_letter"], dl[0].display().to_string());
    assert_eq!(
        std::fs::read_to_string(&dl[0]).unwrap(),
        format!("{}\n", ev(0))
    );
    // The documented re-feed command, once the receiver takes it.
    let refeed = format!(
        "cd '{}' && cat *.ndjson | '{BIN}' --url '{}' --spool '{}' && rm *.ndjson",
        tmp.join("spool/dead-letter").display(),
        rx.url(),
        tmp.join("refeed").display()
    );
    let st = std::process::Command::new("sh")
        .args(["-c", &refeed])
        .env("WATCH_WEBHOOK_URL", "")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let reqs = rx.reqs();
    assert_eq!(
        reqs.last().unwrap().json(),
        serde_json::from_str::<Value>(&ev(0)).unwrap()
    );
    assert!(dead_letters(tmp.path()).is_empty());
}

#[test]
fn same_origin_307_308_are_followed_and_nothing_is_dropped_on_other_redirects() {
    let other = Receiver::start();
    let script: Script = vec![
        (307, vec![("Location", "/moved".to_owned())], String::new()),
        (200, vec![], "ok".into()),
        (
            308,
            vec![("Location", format!("http://127.0.0.1:{}/x", other.port))],
            String::new(),
        ),
        (
            301,
            vec![("Location", "/elsewhere".to_owned())],
            String::new(),
        ),
    ]
    .into();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-3xx");
    let out = wp(tmp.path())
        .args(["--url", &rx.url()])
        .stdin(lines(3))
        .run()
        .expect_code(1);
    let recs = out.records();
    assert_eq!(statuses(&recs), ["delivered", "failed", "failed"]);
    // 307 to the same origin: the same POST, body and all, to the new path.
    let reqs = rx.reqs();
    assert_eq!(reqs[0].path, "/hook");
    assert_eq!(reqs[1].path, "/moved");
    assert_eq!(reqs[1].body, reqs[0].body);
    // 308 to another origin and 301 are not followed; both batches are kept.
    assert!(other.reqs().is_empty(), "followed to another origin");
    assert_eq!(reqs.len(), 4);
    assert_eq!(recs[1]["http_status"], 308);
    assert_eq!(recs[2]["http_status"], 301);
    let dl = dead_letters(tmp.path());
    assert_eq!(dl.len(), 2);
    assert_eq!(
        std::fs::read_to_string(&dl[0]).unwrap(),
        format!("{}\n", ev(1))
    );
    assert_eq!(
        std::fs::read_to_string(&dl[1]).unwrap(),
        format!("{}\n", ev(2))
    );
    assert!(
        out.stderr_str().contains("not followed"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn batches_failing_past_their_retry_budget_move_to_the_dead_letter_directory() {
    let script: Script = (0..50).map(|_| (503, vec![], "down".to_owned())).collect();
    let rx = Receiver::scripted(script);
    let tmp = TempDir::new("wp-budget");
    let out = wp(tmp.path())
        .args([
            "--url",
            &rx.url(),
            "--dead-letter-after",
            "1",
            "--max-backoff",
            "0.2",
        ])
        .stdin(lines(1))
        .run()
        .expect_code(1);
    let recs = out.records();
    assert_eq!(statuses(&recs), ["spooled", "failed"]);
    assert!(recs[1]["error"]
        .as_str()
        .unwrap()
        .contains("--dead-letter-after"));
    assert!(rx.reqs().len() >= 3);
    assert_eq!(dead_letters(tmp.path()).len(), 1);
    assert_eq!(spool_entries(tmp.path()), 0);
}

#[test]
fn buffered_records_take_at_most_about_twice_their_size() {
    let rx = Receiver::start();
    let tmp = TempDir::new("wp-mem");
    const LINES: usize = 6;
    const SIZE: usize = 8 << 20;
    let mut p = wp(tmp.path())
        // All six lines in one batch: the flush comes well after they are
        // written, even on a loaded machine.
        .args([
            "--url",
            &rx.url(),
            "--batch",
            "100",
            "--flush-after",
            "3000",
        ])
        .spawn();
    let filler = "a".repeat(SIZE);
    let mut sent = 0;
    for i in 0..LINES {
        let line = format!("{{\"src_path\":\"/big/{i}\",\"data\":\"{filler}\"}}");
        sent += line.len();
        p.write_line(&line);
    }
    let rec = p.next_record(T).expect("delivery record");
    assert_eq!(rec["status"], "delivered");
    assert_eq!(rec["records"], LINES as u64);
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    p.close_stdin();
    p.wait_timeout(T).unwrap();
    let input_kib = (LINES * SIZE / 1024) as u64;
    // Twice the input plus the process's fixed costs (runtime, one line's
    // read buffer and parse).
    assert!(
        peak_kib <= 2 * input_kib + 40 * 1024,
        "peak RSS {peak_kib} KiB for {input_kib} KiB of input"
    );
    let got = rx.reqs();
    assert_eq!(got.len(), 1);
    // The JSON array of the six records: brackets and commas added.
    assert_eq!(got[0].body.len(), sent + LINES + 1);
    eprintln!("peak RSS {peak_kib} KiB for {input_kib} KiB of input");
}
