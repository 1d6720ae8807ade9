//! Peers' own test cases, run through the engine with every detector.
//!
//! The values and expectations come from Microsoft Presidio's recognizer
//! tests (presidio-analyzer/tests/test_credit_card_recognizer.py,
//! test_us_ssn_recognizer.py, test_phone_recognizer.py; MIT licence,
//! https://github.com/microsoft/presidio). Where Presidio returns a match
//! we assert a finding, and the band it falls in at our scale; where it
//! returns none we assert none at LIKELY. One deliberate difference:
//! published network test numbers (4012 8888 8888 1881, 371449635398431,
//! …) are POSSIBLE here, not LIKELY (see the `builtin` docs).

use detect::{shorthand_rules, Engine};
use dlp_record::Confidence::{self, *};

fn levels(text: &str, det: &str) -> Vec<(String, Confidence)> {
    let e = Engine::new(&shorthand_rules(&["ALL".into()], VeryUnlikely).unwrap()).unwrap();
    e.scan(text.as_bytes())
        .into_iter()
        .filter(|m| m.detector == det)
        .map(|m| (m.finding, m.confidence))
        .collect()
}

#[test]
fn presidio_credit_cards() {
    let c = "CREDIT_CARD_NUMBER";
    assert_eq!(
        levels(
            "4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881",
            c
        ),
        [
            ("4012888888881881".into(), Possible),
            ("4012-8888-8888-1881".into(), Possible),
            ("4012 8888 8888 1881".into(), Possible),
        ]
    );
    for pan in [
        "5019717010103742",
        "3528000700000000",
        "6759649826438453",
        "4917300800000000",
        "4484070000000000",
    ] {
        assert_eq!(levels(pan, c), [(pan.into(), Likely)], "{pan}");
    }
    for pan in ["371449635398431", "30569309025904", "6011000400000000"] {
        assert_eq!(levels(pan, c), [(pan.into(), Possible)], "test PAN {pan}");
    }
    // Two distinct digits: degenerate as well as a test number.
    assert_eq!(
        levels("5555555555554444", c),
        [("5555555555554444".into(), Unlikely)]
    );
    // UATP (AirPlus): alone POSSIBLE, with "my credit card:" LIKELY.
    assert_eq!(
        levels("122000000000003", c),
        [("122000000000003".into(), Possible)]
    );
    assert_eq!(
        levels("my credit card: 122000000000003", c),
        [("122000000000003".into(), Likely)]
    );
    for bad in ["4012-8888-8888-1882", "36168002586008"] {
        assert!(
            levels(&format!("my credit card number is {bad}"), c).is_empty(),
            "{bad}"
        );
    }
}

#[test]
fn presidio_ssns() {
    let s = "US_SOCIAL_SECURITY_NUMBER";
    // Presidio: weak (0.3-0.4) for bare digits, medium (0.5-0.6) for
    // grouped ones.
    assert_eq!(levels("078051121", s), [("078051121".into(), Unlikely)]);
    assert_eq!(levels("078-05-1123", s), [("078-05-1123".into(), Likely)]);
    assert_eq!(levels("078 05 1123", s), [("078 05 1123".into(), Likely)]);
    assert_eq!(levels("078.05.1123", s), [("078.05.1123".into(), Unlikely)]);
    assert_eq!(
        levels("SSN 078.05.1123", s),
        [("078.05.1123".into(), Likely)]
    );
    for none in [
        "0780511201",
        "000000000",
        "666000000",
        "078-05-0000",
        "078 00 1123",
        "693-09.4444",
    ] {
        assert!(levels(none, s).is_empty(), "{none}");
    }
    // The SSA's advertising number: found, never above UNLIKELY.
    assert_eq!(levels("078051120", s), [("078051120".into(), Unlikely)]);
}

#[test]
fn presidio_phones() {
    let p = "PHONE_NUMBER";
    assert_eq!(
        levels(
            "My US number is (415) 555-0132, and my international one is +1 415 555 0132",
            p
        ),
        [
            ("(415) 555-0132".into(), Likely),
            ("+1 415 555 0132".into(), Likely)
        ]
    );
    assert_eq!(
        levels("My Israeli number is 09-7625400", p),
        [("09-7625400".into(), Likely)]
    );
}
