//! IBANs: country code, two check digits and the country's BBAN length, with
//! or without a space every four characters, mod-97 checked.

use super::scan::{at, glued_after};
use super::validate::{iban_length, iban_mod97_valid};

/// An IBAN starting at `start` (two letters); returns its end.
pub(crate) fn match_at(b: &[u8], start: usize) -> Option<usize> {
    let cc = [
        at(b, start).to_ascii_uppercase(),
        at(b, start + 1).to_ascii_uppercase(),
    ];
    let len = iban_length(cc)?;
    let mut buf = [0u8; 34];
    let mut n = 0;
    let mut group = 0;
    let mut i = start;
    while n < len {
        let c = at(b, i);
        if c.is_ascii_alphanumeric() {
            *buf.get_mut(n)? = c.to_ascii_uppercase();
            n += 1;
            group += 1;
            i += 1;
        } else if c == b' ' && group == 4 && at(b, i + 1).is_ascii_alphanumeric() {
            group = 0;
            i += 1;
        } else {
            return None;
        }
    }
    if glued_after(b, i) || !buf[2].is_ascii_digit() || !buf[3].is_ascii_digit() {
        return None;
    }
    iban_mod97_valid(&buf[..n]).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_and_compact() {
        let s = b"DE89 3704 0044 0532 0130 00 EUR";
        assert_eq!(match_at(s, 0), Some(27));
        assert_eq!(match_at(b"GB82WEST12345698765432", 0), Some(22));
        assert_eq!(match_at(b"gb82west12345698765432", 0), Some(22));
        assert_eq!(match_at(b"GB82WEST123456987654321", 0), None, "too long");
        assert_eq!(
            match_at(b"GB82WEST12345698765433", 0),
            None,
            "bad check digits"
        );
        assert_eq!(
            match_at(b"DE89 37040044 0532013000", 0),
            None,
            "irregular grouping"
        );
    }
}
