//! Evidence from the numbers around a value: a card-length number that
//! passes Luhn among numbers that mostly fail it is one of a table or an
//! array of numbers (curve constants, hash tables, test vectors), not a
//! card. Luhn passes one number in ten by chance, so a column or an array
//! where most fail is not a column of cards; a list of cards validates
//! throughout.
//!
//! The numbers weighed are the digit runs of the same length class (12 to
//! 19 digits) within twelve lines above and below the value (at most 1.5
//! KiB each way), at least four of them; in a delimited table only those
//! of the value's column. A hex number as wide as the value (letters
//! among its digits: `#2228000000000fff` beside `#2238000000000000`)
//! counts as one that fails: the value is a hex number of a table of them
//! (encoded decimals in a test suite, register values), not a decimal. A grouped value (`5352 5354 5353 5351`) is in a
//! table when groups of the same kind go on past it (`… 5366 5377 53D6`,
//! or at the end of the line before): a printed card is four groups, not
//! a row of codes.

use crate::context::is_word;
use crate::structure::Cx;

/// Lines above and below the value searched for its neighbours.
const LINES: usize = 12;
/// Bytes each way searched for its neighbours.
const REACH: usize = 1536;
/// Fewest neighbours that make a table.
const MIN_PEERS: usize = 4;

/// True when the number at `buf[s..e]` sits among numbers of its length
/// class that mostly fail `valid`, or in a longer run of groups.
pub(crate) fn in_number_table(
    buf: &[u8],
    cx: &Cx,
    s: usize,
    e: usize,
    valid: fn(&[u8]) -> bool,
) -> bool {
    if buf[s..e].iter().any(|b| !b.is_ascii_digit()) {
        return groups_go_on(buf, s, e);
    }
    let lo = lines_back(buf, s);
    let hi = lines_on(buf, e);
    // In a table, only the value's own column.
    let col = cx.column(s);
    let same_column = |i: usize| col.is_none() || cx.column(i) == col;
    let (mut peers, mut passing) = (0usize, 1usize);
    for (i, j) in hex_runs(buf, lo, hi).filter(|&(i, _)| i != s && same_column(i)) {
        let run = &buf[i..j];
        if run.iter().all(u8::is_ascii_digit) {
            if (12..=19).contains(&run.len()) {
                peers += 1;
                passing += usize::from(valid(run));
            }
        } else if run.len() == e - s {
            // A hex number as wide as the value: the value is one of a
            // table of hex numbers that happens to hold no letter.
            peers += 1;
        }
    }
    peers >= MIN_PEERS && passing * 2 < peers + 1
}

/// The runs of hex digits in `buf[lo..hi]` glued to no word and no `.` on
/// either side (whole numbers, not pieces of identifiers or decimals), as
/// (start, end).
pub(super) fn hex_runs(
    buf: &[u8],
    lo: usize,
    hi: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let glue = |b: u8| is_word(b) || b == b'.';
    let mut i = lo;
    std::iter::from_fn(move || {
        while i < hi {
            if !buf[i].is_ascii_hexdigit() {
                i += 1;
                continue;
            }
            let start = i;
            i += buf[i..hi]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            let bounded =
                (start == 0 || !glue(buf[start - 1])) && !buf.get(i).is_some_and(|&b| glue(b));
            if bounded {
                return Some((start, i));
            }
        }
        None
    })
}

/// Bytes searched each way on the value's line for the list it is in.
const LIST_REACH: usize = 512;

/// True when the number at `buf[s..e]` is an element of a bracketed list
/// of integers on its line (`[1, 1, 4, 108, 27648, 4031078400000]`) whose
/// other elements are mostly shorter than any card (a numeric series,
/// not a list of cards), or an operand of a spaced comparison
/// (`z_i < 4485585228861014016`): arithmetic, not a payment.
pub(crate) fn in_arithmetic(buf: &[u8], s: usize, e: usize) -> bool {
    compared(&buf[s.saturating_sub(5)..s]) || in_short_integer_list(buf, s, e)
}

/// `before` ends with a comparison operator between spaces.
fn compared(before: &[u8]) -> bool {
    [" < ", " > ", " <= ", " >= ", " \u{2264} ", " \u{2265} "]
        .iter()
        .any(|op| before.ends_with(op.as_bytes()))
}

/// An element of `[a, b, …]`, `(a, b, …)` or `{a, b, …}` on one line whose
/// elements are all integers, with two or more others of which more than
/// half are under 12 digits.
fn in_short_integer_list(buf: &[u8], s: usize, e: usize) -> bool {
    let element = |b: &u8| b.is_ascii_digit() || matches!(b, b',' | b' ' | b'-' | b'_');
    let lo = s.saturating_sub(LIST_REACH);
    let open = buf[lo..s].iter().rposition(|b| !element(b)).map(|k| lo + k);
    let hi = (e + LIST_REACH).min(buf.len());
    let close = buf[e..hi].iter().position(|b| !element(b)).map(|k| e + k);
    let (Some(open), Some(close)) = (open, close) else {
        return false;
    };
    let pair = (buf[open], buf[close]);
    if !matches!(pair, (b'[', b']') | (b'(', b')') | (b'{', b'}')) {
        return false;
    }
    let (mut others, mut short) = (0usize, 0usize);
    for item in buf[open + 1..close].split(|&b| b == b',') {
        let item = item.trim_ascii();
        let digits = item.iter().filter(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        others += 1;
        short += usize::from(digits < 12);
    }
    // The value itself is one of the items, and never short.
    let others = others.saturating_sub(1);
    others >= 2 && short * 2 > others
}

/// Start of the line `LINES` lines above `s` (within `REACH`).
pub(super) fn lines_back(buf: &[u8], s: usize) -> usize {
    let floor = s.saturating_sub(REACH);
    let mut i = s;
    for _ in 0..=LINES {
        match memchr::memrchr(b'\n', &buf[floor..i]) {
            Some(k) => i = floor + k,
            None => return floor,
        }
    }
    i + 1
}

/// End of the line `LINES` lines below `e` (within `REACH`).
pub(super) fn lines_on(buf: &[u8], e: usize) -> usize {
    let ceil = (e + REACH).min(buf.len());
    let mut i = e;
    for _ in 0..=LINES {
        match memchr::memchr(b'\n', &buf[i..ceil]) {
            Some(k) => i = i + k + 1,
            None => return ceil,
        }
    }
    i
}

/// True when the groups of `buf[s..e]` (digits and one separator) go on
/// past it, left or right: another group of digits or capital hex letters
/// (as wide, or up to two wider) after the same separator, or for spaced
/// groups at the end of the line before.
fn groups_go_on(buf: &[u8], s: usize, e: usize) -> bool {
    let text = &buf[s..e];
    let Some(&sep) = text.iter().find(|b| !b.is_ascii_digit()) else {
        return false;
    };
    let width = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    // A group of `width` to `width + 2` units starting at `k`.
    let right_group = |k: usize| {
        let n = buf[k.min(buf.len())..]
            .iter()
            .take(width + 3)
            .take_while(|&&b| unit(b))
            .count();
        (width..=width + 2).contains(&n) && !buf.get(k + n).is_some_and(|&b| is_word(b))
    };
    // A group of the same width ending at `k`.
    let left_group = |k: usize| {
        k >= width
            && buf[k - width..k].iter().all(|&b| unit(b))
            && (k == width || !is_word(buf[k - width - 1]))
    };
    let right = buf.get(e) == Some(&sep) && right_group(e + 1);
    let left =
        s > 0 && (buf[s - 1] == sep || sep == b' ' && buf[s - 1] == b'\n') && left_group(s - 1);
    right || left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::luhn;

    fn table(text: &str, needle: &str) -> bool {
        let s = text.find(needle).unwrap();
        in_number_table(text.as_bytes(), &Cx::none(), s, s + needle.len(), luhn)
    }

    #[test]
    fn arrays_of_numbers_that_mostly_fail() {
        // curve25519 limbs: one passes Luhn by chance among four that fail.
        let limbs = "from_limbs([\n    2251799813685228,\n    2251799813685247,\n    2251799813685247,\n    2251799813685247,\n    2251799813685247,\n])";
        assert!(table(limbs, "2251799813685228"));
        // A list of cards validates throughout.
        let cards = "4916673475725015\n5433950237257862\n4532015112830366\n4556737586899855\n";
        assert!(!table(cards, "5433950237257862"));
        // Too few neighbours to say.
        assert!(!table(
            "x 2251799813685228, 2251799813685247 y",
            "2251799813685228"
        ));
        // Cards in prose beside a few other long numbers.
        let prose = "Visa 4049915936388754\nOrder #6140709953424262\nts=1730460734885\nBrandi 6011830965621752\n";
        assert!(!table(prose, "6011830965621752"));
    }

    #[test]
    fn groups_that_go_on() {
        assert!(table(
            "52BB 5352 5354 5353 5351 5366 5377",
            "5352 5354 5353 5351"
        ));
        assert!(table("9F8D 5680 5690 5685 5687", "5680 5690 5685 5687"));
        assert!(table(
            "5412 5413\n5414 5415 5416 5417 20BBF",
            "5414 5415 5416 5417"
        ));
        assert!(!table(
            "card 4916 6734 7572 5015 exp 12/25",
            "4916 6734 7572 5015"
        ));
        assert!(!table("4916-6734-7572-5015 5433", "4916-6734-7572-5015"));
    }
}
