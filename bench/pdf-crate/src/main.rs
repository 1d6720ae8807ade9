//! Extracts the text of each PDF named on the command line with the
//! pdf-extract crate (over lopdf) and prints, per file: pages, seconds,
//! pages per second, and how many SSN-shaped values (ddd-dd-dddd) the
//! text holds. bench/extract.sh runs it beside pdftotext on the same
//! files.

use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("a readable file");
        let t = Instant::now();
        match pdf_extract::extract_text_from_mem_by_pages(&bytes) {
            Ok(pages) => {
                let secs = t.elapsed().as_secs_f64();
                let text = pages.concat();
                println!(
                    "{path}\tpages={}\tsecs={secs:.3}\tpages/s={:.0}\tssns={}",
                    pages.len(),
                    pages.len() as f64 / secs,
                    ssns(text.as_bytes())
                );
            }
            Err(e) => println!("{path}\terror: {e}"),
        }
    }
}

/// SSN-shaped values: three digits, `-`, two, `-`, four, not inside a
/// longer run of digits.
fn ssns(t: &[u8]) -> usize {
    let d = |i: usize| t.get(i).is_some_and(u8::is_ascii_digit);
    (0..t.len())
        .filter(|&i| {
            (i == 0 || !d(i - 1))
                && (0..3).all(|k| d(i + k))
                && t.get(i + 3) == Some(&b'-')
                && (4..6).all(|k| d(i + k))
                && t.get(i + 6) == Some(&b'-')
                && (7..11).all(|k| d(i + k))
                && !d(i + 11)
        })
        .count()
}
