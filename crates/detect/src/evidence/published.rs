//! Values known to be published test, sample or advertising values, and
//! placeholder shapes: evidence from the value itself, whatever its
//! context.
//!
//! # Test card numbers and where they are published
//!
//! Payment networks and processors publish card numbers for their test
//! and sandbox environments; SDKs, tutorials and test suites are full of
//! them. Each number below is listed on the page of the processor named
//! above it (the numbers are printed there as here, grouped or not):
//!
//! * Stripe, "Testing" (<https://docs.stripe.com/testing>): cards by brand,
//!   declines, checks and fraud-prevention cards.
//! * Braintree, "Testing" (<https://developer.paypal.com/braintree/docs/reference/general/testing>):
//!   valid and unsuccessful-verification cards, card type indicators,
//!   American Express Pay with Points, disputes, Elo and Hiper cards.
//! * Adyen, "Test card numbers" (<https://docs.adyen.com/development-resources/test-cards/test-card-numbers>).
//! * Authorize.net, "Testing Guide" (<https://developer.authorize.net/hello_world/testing_guide.html>).
//! * Checkout.com, "Test cards" (<https://www.checkout.com/docs/developer-resources/testing/test-cards>).
//! * Worldpay, "Test card numbers"
//!   (<https://developer.worldpay.com/products/access/reference/testing>).
//! * Mercado Pago, "Test cards" (Brazil:
//!   <https://www.mercadopago.com.br/developers/en/docs/checkout-api/integration-test/test-cards>;
//!   Argentina and Mexico: the same page on `mercadopago.com.ar` and
//!   `mercadopago.com.mx`): credit and debit cards by brand.
//! * PayPal Payflow, "Testing credit card transactions"
//!   (<https://developer.paypal.com/api/nvp-soap/payflow/integration-guide/test-transactions/>),
//!   the list most older docs copy (`4111 1111 1111 1111`, `5105 1051 0510
//!   5100`, `3782 822463 10005`, …), also used by Worldpay.

/// Published test card numbers (digits only); see the module docs for
/// where each group is published.
pub(crate) const TEST_CARDS: &[&str] = &[
    // Stripe
    "4242424242424242",
    "4000056655665556",
    "5555555555554444",
    "2223003122003222",
    "5200828282828210",
    "5105105105105100",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "6011981111111113",
    "3056930009020004",
    "36227206271667",
    "6555900000604105",
    "3566002020360505",
    "6200000000000005",
    "6200000000000047",
    "6205500000000000004",
    "4000002500001001",
    "5555552500001001",
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000009979",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
    "4000000000000101",
    "4000000000000341",
    "4000000000000077",
    "4000000000003220",
    "4000002500003155",
    "4000008400001629",
    "4000000000003063",
    "4100000000000019",
    "4000000000000259",
    "4000000000001976",
    "4000000000005423",
    "4000000000000010",
    "4000000000000028",
    "4000000000000036",
    "4000000000000044",
    // Braintree
    "36259600000004",
    "6011000991300009",
    "3530111333300000",
    "6304000000000000",
    "2223000048400011",
    "4111111111111111",
    "4005519200000004",
    "4009348888881881",
    "4012000033330026",
    "4012000077777777",
    "4012888888881881",
    "4217651111111119",
    "4500600000000061",
    "6243030000000001",
    "6221261111117766",
    "6223164991230014",
    "4000111111111115",
    "378734493671000",
    "38520000009814",
    "4111111111111210",
    "4111111111131010",
    "4111161010101010",
    "4111111510101010",
    "4117101010101010",
    "4111111114101010",
    "4111111111310101",
    "4111111111112101",
    "4111111111121102",
    "4111111141010101",
    "371260714673002",
    "378267515471109",
    "371544868764018",
    "4023898493988028",
    "5066991111111118",
    "6370950000000005",
    "6062820524845321",
    // Adyen
    "4111111145551142",
    "4988438843884305",
    "5555341244441115",
    "2222400070000005",
    "5577000055770004",
    "370000000000002",
    "36006666333344",
    "6011601160116611",
    "3569990010095841",
    "6771798021000008",
    // Worldpay (and Adyen)
    "4444333322221111",
    "6011000400000000",
    // Authorize.net
    "6011000000000012",
    "3088000000000017",
    "38000000000006",
    "4007000000027",
    "4012888818888",
    "5424000000000015",
    "2223000010309703",
    "2223000010309711",
    // Checkout.com
    "4543474002249996",
    "5436031030606378",
    "345678901234564",
    // Mercado Pago
    "5031433215406351",
    "4235647728025682",
    "375365153556885",
    "5067766783888311",
    "4509953566233704",
    "371180303257522",
    "5287338310253304",
    "4002768694395619",
    "5031755734530604",
    // PayPal Payflow
    "4222222222222",
    "30569309025904",
    "38520000023237",
    "4917610000000000",
];

/// SSNs printed on sample cards and in advertising, that the SSA lists as
/// misused (`078-05-1120`, the Woolworth wallet card) or that generators
/// and validators (python-stdnum, Presidio) reject as such.
pub(crate) const MISUSED_SSNS: &[&str] = &[
    "078051120",
    "219099999",
    "457555462",
    "123456789",
    "111111111",
    "333333333",
    "987654320",
    "987654321",
    "987654322",
    "987654323",
    "987654324",
    "987654325",
    "987654326",
    "987654327",
    "987654328",
    "987654329",
];

/// A published test card (`digits` without separators).
pub(crate) fn test_card(digits: &[u8]) -> bool {
    static KEYS: std::sync::OnceLock<Vec<(usize, u64)>> = std::sync::OnceLock::new();
    let Some(key) = card_key(digits) else {
        return false;
    };
    KEYS.get_or_init(|| {
        let mut keys: Vec<_> = TEST_CARDS
            .iter()
            .filter_map(|t| card_key(t.as_bytes()))
            .collect();
        keys.sort_unstable();
        keys
    })
    .binary_search(&key)
    .is_ok()
}

/// A number of at most 19 digits as (length, value): equal keys are equal
/// digit strings (the length keeps leading zeros apart). A dense file
/// checks every card candidate against the list, so this is a binary
/// search over integers, not a walk over strings.
fn card_key(digits: &[u8]) -> Option<(usize, u64)> {
    if digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
    Some((digits.len(), v))
}

/// One or two distinct digits (`5555 5555 5555 4444`, `1111…`).
pub(crate) fn degenerate(digits: &[u8]) -> bool {
    let seen = digits
        .iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0u16, |m, &c| m | 1 << (c - b'0'));
    seen.count_ones() <= 2
}

/// A placeholder SSN (9 digits, no separators): an advertising number,
/// one digit throughout, each group one repeated digit (`111-22-3333`),
/// or a run of consecutive digits up or down (`123-45-6789`,
/// `876-54-3210`).
pub(crate) fn placeholder_ssn(d: &[u8]) -> bool {
    let groups = [&d[0..3], &d[3..5], &d[5..9]];
    let step = |by: u8| d.windows(2).all(|w| (w[0] - b'0' + by) % 10 == w[1] - b'0');
    MISUSED_SSNS.iter().any(|m| m.as_bytes() == d)
        || groups.iter().all(|g| g.iter().all(|&c| c == g[0]))
        || step(1)
        || step(9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_are_luhn_valid_card_numbers() {
        for t in TEST_CARDS {
            assert!((13..=19).contains(&t.len()), "{t}");
            assert!(crate::builtin::luhn(t.as_bytes()), "{t} fails Luhn");
        }
        let mut sorted = TEST_CARDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), TEST_CARDS.len(), "a number listed twice");
    }

    #[test]
    fn test_cards_are_found_and_near_misses_are_not() {
        for t in TEST_CARDS {
            assert!(test_card(t.as_bytes()), "{t}");
        }
        for d in [
            "4242424242424241",
            "04242424242424242",
            "424242424242424",
            "",
        ] {
            assert!(!test_card(d.as_bytes()), "{d}");
        }
        assert!(degenerate(b"5555555555554444") && degenerate(b"1111"));
        assert!(!degenerate(b"5555555555554441"));
    }

    #[test]
    fn placeholder_ssn_shapes() {
        for d in [
            "111223333",
            "123456789",
            "876543210",
            "078051120",
            "555555555",
        ] {
            assert!(placeholder_ssn(d.as_bytes()), "{d}");
        }
        for d in ["536228726", "412673390", "123456788", "111223334"] {
            assert!(!placeholder_ssn(d.as_bytes()), "{d}");
        }
    }
}
