//! OCR with Tesseract (Debian's `tesseract-ocr`, English data from
//! `tesseract-ocr-eng`), run as a sandboxed adapter: the image on stdin,
//! its words with their confidences back as TSV. The text is the words
//! in reading order (a space between words, a line break between lines),
//! and each word keeps Tesseract's confidence in it, so a finding can say
//! how well the characters it is made of were recognised.

use std::io::{self, Read};
use std::time::Duration;

use crate::nest::Nest;
use crate::sandbox::{self, Bounds, Failure, Tool};

/// With `--ocr auto`, images up to this many bytes are read.
pub const AUTO_MAX_BYTES: u64 = 20 << 20;
/// With `--ocr auto`, images up to this many pixels are read.
pub const AUTO_MAX_PIXELS: u64 = 40_000_000;
/// With `--ocr auto`, this many pages without text of one PDF are read.
pub const AUTO_MAX_PAGES: u32 = 20;
/// Never more pixels than this (an image bomb: a 60,000 × 60,000 PNG
/// header needs 3.6 GB once decoded).
pub const MAX_PIXELS: u64 = 200_000_000;
/// Address space Tesseract may use.
const MEMORY: u64 = 2 << 30;
/// Longest run of one image.
const TIME: Duration = Duration::from_secs(60);
/// Most TSV read back for one image.
const OUTPUT: u64 = 16 << 20;

pub const TESSERACT: Tool = Tool {
    program: "tesseract",
    package: "tesseract-ocr",
};

/// One recognised word: its bytes in the text and Tesseract's confidence
/// in it (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: u32,
    pub end: u32,
    pub confidence: u8,
}

/// The lowest confidence of the words that bytes `start..end` of the text
/// touch (`None` when they touch none).
pub fn confidence(words: &[Word], start: u64, end: u64) -> Option<u8> {
    words
        .iter()
        .filter(|w| u64::from(w.start) < end && u64::from(w.end) > start)
        .map(|w| w.confidence)
        .min()
}

/// Recognised text and its words.
pub struct Page {
    pub text: String,
    pub words: Vec<Word>,
}

/// Recognises the text of the image `input` yields. `None` (with a note)
/// when it could not be read; the note names `chain`.
pub fn recognise(
    nest: &mut Nest,
    input: impl Read + Send + 'static,
    chain: &str,
) -> io::Result<Option<Page>> {
    let time = nest.guard.time_left().map_or(TIME, |t| t.min(TIME));
    let bounds = Bounds {
        time,
        memory: MEMORY,
        output: OUTPUT,
    };
    let mut tsv = Vec::new();
    let run = sandbox::run(
        TESSERACT,
        &["stdin", "stdout", "-l", "eng", "tsv"],
        &[("OMP_THREAD_LIMIT", "1")],
        input,
        bounds,
        &mut |r| r.read_to_end(&mut tsv).map(drop),
    );
    let outcome = match run {
        Ok(o) => o,
        Err(Failure::Missing(t)) => {
            nest.skip(chain, &missing(t, "OCR"));
            return Ok(None);
        }
        Err(Failure::Io(e)) => return Err(e),
    };
    nest.guard.spend(tsv.len() as u64);
    if outcome.timed_out {
        nest.skip(
            chain,
            &format!("OCR took longer than {}s", time.as_secs_f64()),
        );
        nest.note_limits(chain);
        return Ok(None);
    }
    if !outcome.status.success() {
        let why = first_line(&outcome.stderr);
        nest.skip(chain, &format!("tesseract could not read it: {why}"));
        return Ok(None);
    }
    Ok(Some(parse_tsv(&tsv)))
}

/// A skip reason for a missing program.
pub fn missing(t: Tool, what: &str) -> String {
    format!(
        "{what} needs {} (install the Debian package {})",
        t.program, t.package
    )
}

/// The last meaningful line a program wrote on stderr.
pub fn first_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    let line = s
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message");
    line.chars().take(200).collect()
}

/// Tesseract's TSV (level, page, block, paragraph, line, word, box,
/// confidence, text) to text and words.
fn parse_tsv(tsv: &[u8]) -> Page {
    let mut page = Page {
        text: String::new(),
        words: Vec::new(),
    };
    let mut last_line = None;
    for row in String::from_utf8_lossy(tsv).lines().skip(1) {
        let f: Vec<&str> = row.splitn(12, '\t').collect();
        if f.len() < 12 || f[0] != "5" || f[11].trim().is_empty() {
            continue;
        }
        let line = (f[2], f[3], f[4]);
        match last_line {
            Some(l) if l == line => page.text.push(' '),
            Some(_) => page.text.push('\n'),
            None => {}
        }
        last_line = Some(line);
        let conf: f32 = f[10].parse().unwrap_or(0.0);
        let start = page.text.len() as u32;
        page.text.push_str(f[11].trim());
        page.words.push(Word {
            start,
            end: page.text.len() as u32,
            confidence: conf.round().clamp(0.0, 100.0) as u8,
        });
    }
    if !page.text.is_empty() {
        page.text.push('\n');
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_lines_from_tsv() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t
5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t96.5\tSSN:
5\t1\t1\t1\t1\t2\t0\t0\t9\t9\t71.2\t536-22-8726
5\t1\t1\t1\t2\t1\t0\t0\t9\t9\t90\tcard
5\t1\t1\t1\t2\t2\t0\t0\t9\t9\t-1\t 
";
        let p = parse_tsv(tsv.as_bytes());
        assert_eq!(p.text, "SSN: 536-22-8726\ncard\n");
        assert_eq!(
            p.words,
            [
                Word {
                    start: 0,
                    end: 4,
                    confidence: 97
                },
                Word {
                    start: 5,
                    end: 16,
                    confidence: 71
                },
                Word {
                    start: 17,
                    end: 21,
                    confidence: 90
                },
            ]
        );
        assert_eq!(confidence(&p.words, 5, 16), Some(71));
        assert_eq!(confidence(&p.words, 0, 16), Some(71));
        assert_eq!(confidence(&p.words, 16, 17), None);
    }
}
