//! What the tests share: finding records built field by field, the real
//! binary run at a fixed report time, readers of the page's `data-*`
//! numbers and table rows, and the peak memory of a run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};
use testkit::{cmd, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_findings-report");
/// The report's time in every test.
pub const NOW: &str = "2026-11-28T12:00:00Z";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Finding record, built field by field.
#[derive(Clone)]
pub struct F(Map<String, Value>);

impl F {
    pub fn new(host: &str, path: &str, detector: &str, finding: &str) -> F {
        let v = json!({"host": host, "path": path, "detector": detector,
            "confidence": "LIKELY", "finding": finding});
        F(v.as_object().unwrap().clone())
    }
    pub fn set(mut self, k: &str, v: impl Into<Value>) -> F {
        self.0.insert(k.to_owned(), v.into());
        self
    }
    pub fn id(self, id: &str) -> F {
        self.set("finding_id", id)
    }
    pub fn status(self, s: &str) -> F {
        self.set("status", s)
    }
    pub fn at(self, ts: &str) -> F {
        self.set("timestamp", ts)
    }
    pub fn bytes(self, start: u64) -> F {
        self.set("byte_range", json!({"start": start, "end": start + 11}))
    }
    pub fn line(self, n: u64) -> F {
        self.set("line_range", json!({"start": n, "end": n}))
    }
}

/// Records as NDJSON.
pub fn ndjson(recs: &[F]) -> String {
    recs.iter()
        .map(|r| format!("{}\n", Value::Object(r.0.clone())))
        .collect()
}

/// Runs the report at [`NOW`] with `args` on `input`.
pub fn report(args: &[&str], input: impl Into<Vec<u8>>) -> Output {
    cmd(BIN).args(["--now", NOW]).args(args).stdin(input).run()
}

/// The page of a successful run.
pub fn page(args: &[&str], input: impl Into<Vec<u8>>) -> String {
    report(args, input).expect_code(0).stdout_str()
}

/// The value of attribute `name` in the tag text `tag`.
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!(" {name}=\"");
    let i = tag.find(&pat)? + pat.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

/// The opening tag of the element with this id.
pub fn tag<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let start = html[..i].rfind('<')?;
    Some(&html[start..i + html[i..].find('>')?])
}

/// `data-value` of the element with this id (a KPI).
pub fn value(html: &str, id: &str) -> u64 {
    let t = tag(html, id).unwrap_or_else(|| panic!("no element {id}"));
    attr(t, "data-value")
        .unwrap_or_else(|| panic!("{id}: no data-value"))
        .parse()
        .unwrap()
}

/// `data-value` of KPI `name`.
pub fn kpi(html: &str, name: &str) -> u64 {
    value(html, &format!("kpi-{name}"))
}

/// One table row: its tag's attributes and its cells' text.
pub struct Row {
    pub tag: String,
    pub cells: Vec<String>,
    pub sort: Vec<String>,
}

impl Row {
    pub fn attr(&self, name: &str) -> &str {
        attr(&self.tag, name).unwrap_or("")
    }
}

fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// The body rows of table `id`.
pub fn rows(html: &str, id: &str) -> Vec<Row> {
    let Some(i) = html.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let t = &html[i..];
    let t = &t[t.find("<tbody>").unwrap()..t.find("</tbody>").unwrap()];
    t.split("<tr ")
        .skip(1)
        .map(|r| {
            let end = r.find('>').unwrap();
            let tag = format!(" {}", &r[..end]);
            let mut cells = Vec::new();
            let mut sort = Vec::new();
            for c in r.split("<td").skip(1) {
                let open = c.find('>').unwrap();
                sort.push(attr(&c[..open], "data-sort").unwrap_or("").to_owned());
                cells.push(text(&c[open + 1..c.find("</td>").unwrap()]));
            }
            Row { tag, cells, sort }
        })
        .collect()
}

/// Chart bars of one series: bucket -> count.
pub fn bars(html: &str, series: &str) -> Vec<(String, u64)> {
    html.split(&format!("<rect class=\"bar {series}\""))
        .skip(1)
        .filter_map(|r| {
            let tag = format!(" {}", &r[..r.find('>')?]);
            Some((
                attr(&tag, "data-bucket")?.to_owned(),
                attr(&tag, "data-count")?.parse().ok()?,
            ))
        })
        .collect()
}

/// Runs the binary with `args`, its stdin written by `feed` from a thread
/// and its page into `out`; returns the exit code and its peak resident
/// memory in KiB (getrusage of the child, through python3).
pub fn peak_rss(
    args: &[&str],
    out: &Path,
    feed: impl FnOnce(&mut dyn Write) + Send + 'static,
) -> (i32, u64) {
    let rss = out.with_extension("rss");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(
            "import resource, subprocess, sys\n\
             code = subprocess.call(sys.argv[2:])\n\
             open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
             sys.exit(code)",
        )
        .arg(&rss)
        .arg(BIN)
        .args(["--now", NOW])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(out).unwrap())
        .spawn()
        .expect("python3");
    let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
    let feeder = std::thread::spawn(move || {
        feed(&mut stdin);
        let _ = stdin.flush();
    });
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    let kib = std::fs::read_to_string(&rss)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (status.code().unwrap_or(-1), kib)
}
