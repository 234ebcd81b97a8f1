//! Checksums and number-plan rules that turn a digit-shaped candidate into a finding.

/// Luhn (mod 10) check used by every payment card scheme.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// One issuer range: IIN prefix range (as a number of `prefix_len` digits) and card lengths.
struct Issuer {
    lo: u32,
    hi: u32,
    prefix_len: usize,
    min_len: usize,
    max_len: usize,
}

const fn iss(lo: u32, hi: u32, prefix_len: usize, min_len: usize, max_len: usize) -> Issuer {
    Issuer {
        lo,
        hi,
        prefix_len,
        min_len,
        max_len,
    }
}

/// Current issuer ranges (IIN prefixes and lengths) of the schemes in use.
const ISSUERS: &[Issuer] = &[
    iss(51, 55, 2, 16, 16),     // Mastercard
    iss(2221, 2720, 4, 16, 16), // Mastercard 2-series (missed by older tools)
    iss(34, 34, 2, 15, 15),     // American Express
    iss(37, 37, 2, 15, 15),     // American Express
    iss(6011, 6011, 4, 16, 19), // Discover
    iss(644, 649, 3, 16, 19),   // Discover
    iss(65, 65, 2, 16, 19),     // Discover, RuPay
    iss(3528, 3589, 4, 16, 19), // JCB
    iss(36, 36, 2, 14, 19),     // Diners Club International
    iss(300, 305, 3, 14, 19),   // Diners Club Carte Blanche
    iss(3095, 3095, 4, 14, 19), // Diners Club
    iss(38, 39, 2, 16, 19),     // Diners Club
    iss(62, 62, 2, 16, 19),     // UnionPay (incl. Discover co-brand 622126-622925)
    iss(81, 81, 2, 16, 19),     // UnionPay 81xx
    iss(50, 50, 2, 12, 19),     // Maestro 50xx (incl. Verve 506099-506198)
    iss(56, 69, 2, 12, 19),     // Maestro 56-69 (incl. 6304, 6759, 6761-6763)
    iss(2200, 2204, 4, 16, 19), // Mir
    iss(353, 353, 3, 16, 16),   // RuPay (JCB co-brand)
    iss(356, 356, 3, 16, 16),   // RuPay (JCB co-brand)
    iss(82, 82, 2, 16, 16),     // RuPay
    iss(9792, 9792, 4, 16, 16), // Troy
];

fn prefix_value(digits: &[u8], n: usize) -> Option<u32> {
    let p = digits.get(..n)?;
    let mut v = 0u32;
    for &d in p {
        v = v * 10 + u32::from(d.wrapping_sub(b'0'));
    }
    Some(v)
}

/// True when the digits fall in an issuer range with a length that scheme issues.
pub(crate) fn card_issuer_valid(digits: &[u8]) -> bool {
    let len = digits.len();
    if digits.first() == Some(&b'4') {
        // Visa issues 13, 16 and 19 digits.
        return matches!(len, 13 | 16 | 19);
    }
    ISSUERS.iter().any(|i| {
        (i.min_len..=i.max_len).contains(&len)
            && prefix_value(digits, i.prefix_len).is_some_and(|p| (i.lo..=i.hi).contains(&p))
    })
}

/// A payment card number: issuer range, length and Luhn.
pub(crate) fn card_valid(digits: &[u8]) -> bool {
    (12..=19).contains(&digits.len()) && card_issuer_valid(digits) && luhn_valid(digits)
}

/// US SSN area/group/serial rules (area 001-899 except 666, group 01-99, serial 0001-9999).
pub(crate) fn ssn_valid(digits: &[u8]) -> bool {
    if digits.len() != 9 {
        return false;
    }
    let (Some(area), Some(group), Some(serial)) = (
        prefix_value(digits, 3),
        prefix_value(&digits[3..], 2),
        prefix_value(&digits[5..], 4),
    ) else {
        return false;
    };
    (1..=899).contains(&area) && area != 666 && group != 0 && serial != 0
}

/// North American Numbering Plan: area and exchange codes start with 2-9.
pub(crate) fn nanp_valid(ten: &[u8]) -> bool {
    ten.len() == 10 && (b'2'..=b'9').contains(&ten[0]) && (b'2'..=b'9').contains(&ten[3])
}

/// IBAN length by country (SWIFT IBAN registry, incl. the recent additions).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// Expected IBAN length for an (upper-case) country code.
pub(crate) fn iban_length(cc: [u8; 2]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| **c == cc)
        .map(|&(_, n)| n)
}

/// ISO 13616 check: move the first four characters to the end, map letters to
/// 10..35 and the remainder mod 97 must be 1. `iban` is upper-case alphanumeric.
pub(crate) fn iban_mod97_valid(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        };
    }
    rem == 1
}

/// Length of the E.164 country calling code at the start of `d`, if `d` starts
/// with one. The code space is prefix-free: 1 and 7 are one digit, a fixed set
/// of two-digit codes, and three digits for the other zones.
pub(crate) fn calling_code_len(d: &[u8]) -> Option<usize> {
    const TWO: &[&[u8; 2]] = &[
        b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44",
        b"45", b"46", b"47", b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58",
        b"60", b"61", b"62", b"63", b"64", b"65", b"66", b"81", b"82", b"84", b"86", b"90", b"91",
        b"92", b"93", b"94", b"95", b"98",
    ];
    const THREE_ZONES: &[&[u8; 2]] = &[
        b"21", b"22", b"23", b"24", b"25", b"26", b"29", b"35", b"37", b"38", b"42", b"50", b"59",
        b"67", b"68", b"69", b"80", b"85", b"87", b"88", b"96", b"97", b"99",
    ];
    match d.first()? {
        b'1' | b'7' => Some(1),
        b'0' => None,
        _ => {
            let two: &[u8; 2] = d.get(..2)?.try_into().ok()?;
            if TWO.contains(&two) {
                Some(2)
            } else if THREE_ZONES.contains(&two) && d.len() >= 3 {
                Some(3)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_one_digit_off() {
        for n in [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
        ] {
            assert!(luhn_valid(n.as_bytes()), "{n}");
        }
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"41x1"));
    }

    #[test]
    fn card_ranges_cover_every_current_scheme() {
        for n in [
            "4111111111111111", // Visa
            "4222222222222",    // Visa 13
            "5105105105105100", // Mastercard 51
            "2221000000000009", // Mastercard 2-series low end
            "2720992720992729", // Mastercard 2-series high end
            "371449635398431",  // Amex
            "6011000990139424", // Discover
            "3530111333300000", // JCB
            "36227206271667",   // Diners 14
            "30569309025904",   // Diners Carte Blanche
            "6200000000000005", // UnionPay
            "6759649826438453", // Maestro
            "2200000000000004", // Mir
        ] {
            assert!(card_valid(n.as_bytes()), "{n}");
        }
        // Right length and Luhn, but no scheme issues it.
        assert!(!card_valid(b"1234567812345670"));
        assert!(!card_valid(b"7000000000000008"));
        // Amex has 15 digits, never 16.
        assert!(!card_issuer_valid(b"3714496353984310"));
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_valid(b"078051120"));
        assert!(ssn_valid(b"123456789"));
        assert!(!ssn_valid(b"000123456"), "area 000");
        assert!(!ssn_valid(b"666123456"), "area 666");
        assert!(!ssn_valid(b"900123456"), "area 9xx is ITIN");
        assert!(!ssn_valid(b"123006789"), "group 00");
        assert!(!ssn_valid(b"123450000"), "serial 0000");
    }

    #[test]
    fn iban_mod97() {
        assert!(iban_mod97_valid(b"DE89370400440532013000"));
        assert!(iban_mod97_valid(b"GB82WEST12345698765432"));
        assert!(iban_mod97_valid(b"NO9386011117947"));
        assert!(!iban_mod97_valid(b"DE89370400440532013001"));
        assert!(!iban_mod97_valid(b"GB82WEST1234569876543!"));
        assert_eq!(iban_length(*b"DE"), Some(22));
        assert_eq!(iban_length(*b"XX"), None);
    }

    #[test]
    fn nanp_and_calling_codes() {
        assert!(nanp_valid(b"4155550123"));
        assert!(!nanp_valid(b"1234567890"), "area code cannot start with 1");
        assert!(!nanp_valid(b"4151550123"), "exchange cannot start with 1");
        assert_eq!(calling_code_len(b"14155550123"), Some(1));
        assert_eq!(calling_code_len(b"442079460958"), Some(2));
        assert_eq!(calling_code_len(b"353861234567"), Some(3));
        assert_eq!(calling_code_len(b"0123"), None);
    }
}
