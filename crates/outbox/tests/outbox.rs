//! The outbox against a test transport ([`sink`]): the spool and crash
//! guarantees webhook-post and nats-post give, checked once here.

mod sink;

use std::time::{Duration, Instant};

use dlp_store::spool::Spool;
use outbox::{Ctl, Options, Report};
use sink::Sink;
use testkit::TempDir;

const T: Duration = Duration::from_secs(20);

fn opts() -> Options {
    Options {
        name: "outbox-test",
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        dead_letter_after: None,
    }
}

/// Spools `batches` (records as text), delivers them through `sink` and
/// drains for `budget`.
fn deliver(spool: &Spool, sink: &Sink, batches: &[&[&str]], budget: Duration) -> Report {
    let pending = spool.list().unwrap();
    let (ctl, done) = outbox::spawn(spool.clone(), sink.clone(), pending, opts());
    for b in batches {
        let lines: Vec<&[u8]> = b.iter().map(|r| r.as_bytes()).collect();
        ctl.send(Ctl::New(outbox::store(spool, &lines).unwrap()))
            .unwrap();
    }
    ctl.send(Ctl::Drain(Instant::now() + budget)).unwrap();
    done.join().unwrap()
}

/// A temporary directory with a spool and a sink file in it.
fn setup(tag: &str) -> (TempDir, Spool, Sink) {
    let tmp = TempDir::new(tag);
    let spool = Spool::open(tmp.join("spool")).unwrap();
    let sink = Sink::new(&tmp.join("sink"));
    (tmp, spool, sink)
}

/// What the test transport did, read back.
impl Sink {
    /// What was delivered, one record per element.
    fn delivered(&self) -> Vec<String> {
        let all = std::fs::read_to_string(&self.file).unwrap_or_default();
        all.lines().map(str::to_owned).collect()
    }

    fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }
}

fn entries(spool: &Spool) -> usize {
    spool.list().unwrap().len()
}

#[test]
fn delivers_in_order_and_honours_retry_after() {
    let (_tmp, spool, sink) = setup("outbox-order");
    {
        let mut st = sink.state.lock().unwrap();
        st.outage = 2;
        st.retry_after = Some(Duration::from_millis(300));
    }
    let r = deliver(&spool, &sink, &[&["a", "b"], &["c"], &["d"]], T);
    assert_eq!(r, Report::default());
    assert_eq!(sink.delivered(), ["a", "b", "c", "d"]);
    let at = sink.state.lock().unwrap().attempts.clone();
    assert_eq!(at.len(), 5, "two refused attempts, then one per batch");
    for w in at[..3].windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(300), "{at:?}");
    }
    let ev = sink.events();
    assert_eq!(
        ev,
        [
            "down: server down",
            "spooled 2",
            "up",
            "delivered 2",
            "delivered 1",
            "delivered 1"
        ]
    );
    assert_eq!(entries(&spool), 0);
}

#[test]
fn a_refused_batch_goes_to_the_dead_letter_directory_and_the_rest_goes_through() {
    let (tmp, spool, sink) = setup("outbox-dead");
    let r = deliver(&spool, &sink, &[&["a"], &["x", "refuse me"], &["c"]], T);
    assert_eq!(r.failed_entries, 1);
    assert_eq!(sink.delivered(), ["a", "c"]);
    assert_eq!(sink.events()[1], "failed 2: refused");
    let dead: Vec<_> = std::fs::read_dir(tmp.join("spool").join(outbox::DEAD_LETTER))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(std::fs::read_to_string(&dead[0]).unwrap(), "x\nrefuse me\n");
    assert_eq!(entries(&spool), 0);
}

#[test]
fn halves_of_a_too_large_batch_take_its_place() {
    let (_tmp, spool, sink) = setup("outbox-split");
    let batches: &[&[&str]] = &[&["big1", "a", "b", "big2", "c"], &["huge", "d"], &["e"]];
    let r = deliver(&spool, &sink, batches, T);
    assert_eq!(sink.delivered(), ["big1", "a", "b", "big2", "c", "d", "e"]);
    assert_eq!(r.failed_entries, 1, "a single record too large");
    let ev = sink.events();
    assert_eq!(ev[0], "split 2 + 3");
    assert!(ev.contains(&"failed 1: too large".to_owned()), "{ev:?}");
    assert_eq!(entries(&spool), 0);
}

#[test]
fn what_is_left_at_the_deadline_is_counted_and_stays() {
    let (_tmp, spool, sink) = setup("outbox-left");
    sink.state.lock().unwrap().outage = u32::MAX;
    let r = deliver(
        &spool,
        &sink,
        &[&["a", "b"], &["c"]],
        Duration::from_millis(300),
    );
    assert_eq!((r.left_entries, r.left_records), (2, 3));
    // The first was told as spooled when it failed; the second at the end.
    assert_eq!(sink.events(), ["down: server down", "spooled 2", "left 1"]);
    assert_eq!(entries(&spool), 2);
    assert!(sink.delivered().is_empty());
}

#[test]
fn dropped_mid_delivery_and_reopened_delivers_the_rest_once() {
    let (tmp, spool, sink) = setup("outbox-reopen");
    sink.state.lock().unwrap().slowness = Duration::from_millis(100);
    let batches: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let batches: Vec<[&str; 1]> = batches.iter().map(|b| [b.as_str()]).collect();
    let batches: Vec<&[&str]> = batches.iter().map(|b| &b[..]).collect();
    let r = deliver(&spool, &sink, &batches, Duration::from_millis(350));
    let first = sink.delivered();
    assert!(!first.is_empty() && first.len() < 10, "{first:?}");
    assert_eq!(r.left_entries as usize, 10 - first.len());
    drop(spool);

    let spool = Spool::open(tmp.join("spool")).unwrap();
    assert_eq!(deliver(&spool, &sink, &[], T), Report::default());
    let all: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(sink.delivered(), all, "each once, in order");
}

/// The child of the crash test: delivers the spool in `OUTBOX_CHILD`
/// slowly until killed.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os("OUTBOX_CHILD") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let spool = Spool::open(dir.join("spool")).unwrap();
    let sink = Sink::new(&dir.join("sink"));
    sink.state.lock().unwrap().slowness = Duration::from_millis(50);
    deliver(&spool, &sink, &[], T);
}

#[test]
fn kill_9_mid_delivery_loses_nothing_and_keeps_the_order() {
    let tmp = TempDir::new("outbox-kill");
    let spool = Spool::open(tmp.join("spool")).unwrap();
    let recs: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
    for pair in recs.chunks(2) {
        let lines: Vec<&[u8]> = pair.iter().map(|r| r.as_bytes()).collect();
        outbox::store(&spool, &lines).unwrap();
    }
    drop(spool);
    let sink = Sink::new(&tmp.join("sink"));
    let mut child = testkit::cmd(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture"])
        .env("OUTBOX_CHILD", tmp.path())
        .spawn();
    let deadline = Instant::now() + T;
    while sink.delivered().len() < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.signal(9);
    child.wait_timeout(T).expect("the child ends");
    let before = sink.delivered();
    assert!(before.len() >= 10 && before.len() < 40, "{}", before.len());

    let spool = Spool::open(tmp.join("spool")).unwrap();
    assert_eq!(deliver(&spool, &sink, &[], T), Report::default());
    let mut got = sink.delivered();
    // At least once: the batch in flight at the kill may come twice, in place.
    if got.len() == 42 {
        let at = before.len() - 2;
        assert_eq!(got[at..at + 2], got[at + 2..at + 4], "{got:?}");
        got.drain(at..at + 2);
    }
    assert_eq!(got, recs);
    assert_eq!(entries(&spool), 0);
}

#[test]
fn a_partly_delivered_batch_keeps_only_what_did_not_go_and_retries_it() {
    let (_tmp, spool, sink) = setup("outbox-partial");
    sink.state.lock().unwrap().halves = 2;
    let r = deliver(&spool, &sink, &[&["a", "b", "c", "d"], &["e"]], T);
    assert_eq!(r, Report::default());
    assert_eq!(sink.delivered(), ["a", "b", "c", "d", "e"], "each once");
    assert_eq!(
        sink.events(),
        [
            "partial 2, 2 left",
            "down: half acknowledged",
            "spooled 2",
            "partial 1, 1 left",
            "up",
            "delivered 1",
            "delivered 1"
        ]
    );
    assert_eq!(entries(&spool), 0);
}

#[test]
fn records_refused_in_a_partly_delivered_batch_are_dead_lettered_alone() {
    let (tmp, spool, sink) = setup("outbox-partial-dead");
    let batches: &[&[&str]] = &[&["a", "oversize 1", "b", "oversize 2"], &["c"]];
    let r = deliver(&spool, &sink, batches, T);
    assert_eq!(r.failed_entries, 1);
    assert_eq!(sink.delivered(), ["a", "b", "c"]);
    assert_eq!(
        sink.events(),
        ["partial 2, 2 left", "failed 2: oversize", "delivered 1"]
    );
    let dead = std::fs::read_dir(tmp.join("spool").join(outbox::DEAD_LETTER))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(dead, ["oversize 1\noversize 2\n"]);
    assert_eq!(entries(&spool), 0);
}

#[test]
fn a_stop_halfway_keeps_the_rest_spooled_and_a_restart_sends_each_record_once() {
    let (tmp, spool, sink) = setup("outbox-stop");
    sink.state.lock().unwrap().stop_at = Some("stop");
    // All spooled before delivery starts, so all are counted when it stops.
    for b in [&["a", "b"][..], &["c", "stop here", "d"], &["e"]] {
        let lines: Vec<&[u8]> = b.iter().map(|r| r.as_bytes()).collect();
        outbox::store(&spool, &lines).unwrap();
    }
    let r = deliver(&spool, &sink, &[], T);
    assert_eq!(r.stopped.as_deref(), Some("misconfigured"));
    assert_eq!((r.left_entries, r.left_records), (2, 3));
    assert_eq!(sink.delivered(), ["a", "b", "c"]);
    assert_eq!(
        sink.events(),
        [
            "delivered 2",
            "partial 1, 2 left",
            "stopped: misconfigured",
            "left 2",
            "left 1"
        ]
    );
    assert_eq!(entries(&spool), 2, "nothing dead-lettered, nothing lost");
    drop(spool);

    // Fixed: the next start sends what was left, and only that.
    let spool = Spool::open(tmp.join("spool")).unwrap();
    let fixed = Sink::new(&tmp.join("sink"));
    assert_eq!(deliver(&spool, &fixed, &[], T), Report::default());
    assert_eq!(fixed.delivered(), ["a", "b", "c", "stop here", "d", "e"]);
}
