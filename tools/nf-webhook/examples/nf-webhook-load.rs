//! Load generator for bench/nf-webhook.sh: POSTs signed "no findings"
//! notifications (each body unique, so no signature repeats) to
//! `http://127.0.0.1:PORT/ingest` from C threads, one connection per
//! request (gunicorn's sync workers and nf-webhook both close after each
//! response), and prints throughput and latency percentiles as JSON.
//!
//! Usage: NIGHTFALL_SIGNING_SECRET=... nf-webhook-load PORT TOTAL CONCURRENCY

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn one(port: u16, secret: &[u8], n: usize) -> bool {
    let body = nfapi::WebhookNotification {
        findings_url: String::new(),
        valid_until: dlp_record::time::now_rfc3339(),
        upload_id: format!("bench-{n}-{}", std::process::id()),
        findings_present: false,
        request_metadata: String::new(),
        errors: vec![],
    }
    .to_body();
    let ts = dlp_record::time::unix_now().to_string();
    let sig = nfapi::signature::sign(secret, &ts, body.as_bytes());
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nConnection: close\r\n\
         X-Nightfall-Signature: {sig}\r\nX-Nightfall-Timestamp: {ts}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    resp.starts_with(b"HTTP/1.1 200") || resp.starts_with(b"HTTP/1.0 200")
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (port, total, conc): (u16, usize, usize) = (
        a[1].parse().unwrap(),
        a[2].parse().unwrap(),
        a[3].parse().unwrap(),
    );
    let secret = std::env::var("NIGHTFALL_SIGNING_SECRET")
        .expect("NIGHTFALL_SIGNING_SECRET")
        .into_bytes();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..conc)
        .map(|_| {
            let (next, failed, secret) = (next.clone(), failed.clone(), secret.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return lat;
                    }
                    let t = Instant::now();
                    if !one(port, &secret, n) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut lat: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{{\"requests\":{total},\"failed\":{},\"seconds\":{secs:.3},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        failed.load(Ordering::Relaxed),
        total as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
}
