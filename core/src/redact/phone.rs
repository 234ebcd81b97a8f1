//! Phone number shapes: international (`+CC`, `00CC`), NANP, and the national
//! formats of the countries that write numbers with a trunk `0` or an area
//! code in parentheses (UK, DE, FR, JP, AU, IN, BR, ...).
//!
//! Shape alone decides for formatted numbers; a bare digit string counts only
//! after a contact word (`call`, `tel`...), because bare 10-digit strings are
//! far more often timestamps and order numbers.

use super::groups::{Group, Groups, MAX_GROUPS, Sep};
use super::validate::{calling_code_len, nanp_valid};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Formatted like a phone number.
    Formatted,
    /// A bare digit string with a phone-plan shape: needs a contact word.
    Bare,
}

/// Classifies the first `k` groups of `t` as a phone number.
pub(crate) fn classify(b: &[u8], t: &Groups, k: usize) -> Option<Shape> {
    let gs = &t.groups[..k];
    let mut buf = [0u8; 24];
    let d = t.digits(b, k, &mut buf)?;
    // A slash only separates a German area code; anywhere else it is a date or a fraction.
    if gs.iter().skip(2).any(|g| g.sep == Sep::Slash) {
        return None;
    }
    if t.plus {
        return international(gs, d);
    }
    let lens = |i: usize| gs[i].len();
    if k >= 2 && d.starts_with(b"00") && lens(0) >= 3 && !gs[0].paren {
        // `0044 20 7946 0958`: international call prefix instead of `+`.
        return international(gs, &d[2..]).filter(|_| lens(0) <= 5);
    }
    if gs[0].paren {
        return parenthesised_area(gs, d);
    }
    if k == 1 {
        return bare(d);
    }
    if gs.iter().any(|g| g.paren) {
        // `1 (415) 555-0123`
        if k >= 3 && d[0] == b'1' && lens(0) == 1 && gs[1].paren {
            return parenthesised_area(&gs[1..], &d[1..]);
        }
        return None;
    }
    if is_nanp_grouped(gs, d)
        || (k >= 2 && lens(0) == 1 && d[0] == b'1' && is_nanp_grouped(&gs[1..], &d[1..]))
    {
        return Some(Shape::Formatted);
    }
    if is_trunk_national(gs, d) {
        return Some(Shape::Formatted);
    }
    let seps_equal = gs.iter().skip(2).all(|g| g.sep == gs[1].sep);
    let spaced_or_dashed = matches!(gs[1].sep, Sep::Space | Sep::Dash);
    let mut lens_buf = [0usize; MAX_GROUPS];
    for (slot, g) in lens_buf.iter_mut().zip(gs) {
        *slot = g.len();
    }
    let shape = &lens_buf[..k];
    match shape {
        // India mobile: 98765 43210, or with trunk 0: 098765 43210.
        [5, 5] if (b'6'..=b'9').contains(&d[0]) && spaced_or_dashed => Some(Shape::Formatted),
        [6, 5] if d[0] == b'0' && (b'6'..=b'9').contains(&d[1]) && spaced_or_dashed => {
            Some(Shape::Formatted)
        }
        // Brazil: 11 91234-5678, 21 2345-6789.
        [2, 4 | 5, 4]
            if gs[1].sep == Sep::Space
                && gs[2].sep == Sep::Dash
                && d[0] != b'0'
                && d[1] != b'0' =>
        {
            Some(Shape::Formatted)
        }
        // China mobile: 138 0013 8000.
        [3, 4, 4]
            if d[0] == b'1' && (b'3'..=b'9').contains(&d[1]) && seps_equal && spaced_or_dashed =>
        {
            Some(Shape::Formatted)
        }
        _ => None,
    }
}

/// `+CC ...` (or `00CC ...` with the prefix stripped from `d`).
fn international(gs: &[Group], d: &[u8]) -> Option<Shape> {
    let cc = calling_code_len(d)?;
    // `+44 (0)20 ...`: the parenthesised trunk zero is not dialled.
    let trunk = gs.iter().skip(1).any(|g| g.paren && g.len() == 1);
    let n = d.len() - usize::from(trunk);
    if !(8..=15).contains(&n) {
        return None;
    }
    if gs.len() == 1 {
        return (n >= 10).then_some(Shape::Formatted);
    }
    let first = gs[0].len();
    let last = gs[gs.len() - 1].len();
    if first < cc || first > 4 || last < 2 {
        return None;
    }
    if d[0] == b'1' && !(n == 11 && nanp_valid(&d[1..])) {
        return None;
    }
    Some(Shape::Formatted)
}

/// `(415) 555-0123`, `(02) 9876 5432`, `(11) 91234-5678`, `(030) 1234567`.
fn parenthesised_area(gs: &[Group], d: &[u8]) -> Option<Shape> {
    let area = gs[0].len();
    if gs.len() < 2 || !(2..=5).contains(&area) || !(9..=12).contains(&d.len()) {
        return None;
    }
    if gs[1..].iter().any(|g| g.paren || g.len() < 3) {
        return None;
    }
    if area == 3 && d.len() == 10 && d[0] != b'0' && !nanp_valid(d) {
        return None;
    }
    Some(Shape::Formatted)
}

/// `415-555-0123`, `415.555.0123`, `415 555 0123` with a valid NANP area and exchange.
fn is_nanp_grouped(gs: &[Group], d: &[u8]) -> bool {
    gs.len() == 3
        && gs[0].len() == 3
        && gs[1].len() == 3
        && gs[2].len() == 4
        && gs[1].sep == gs[2].sep
        && matches!(gs[1].sep, Sep::Dash | Sep::Dot | Sep::Space)
        && nanp_valid(d)
}

/// National format with a trunk `0`: `020 7946 0958`, `030 12345678`,
/// `01 23 45 67 89`, `03-1234-5678`, `089/1234567`, `0412 345 678`.
fn is_trunk_national(gs: &[Group], d: &[u8]) -> bool {
    let k = gs.len();
    if d[0] != b'0' || d.get(1) == Some(&b'0') || !(10..=12).contains(&d.len()) {
        return false;
    }
    if !(2..=5).contains(&gs[0].len()) || gs.iter().any(|g| g.len() < 2) {
        return false;
    }
    if gs[1..k - 1].iter().any(|g| g.len() > 5) || gs[k - 1].len() > 8 {
        return false;
    }
    // One separator style throughout, except a slash after a German area code.
    let rest = if gs[1].sep == Sep::Slash {
        &gs[2..]
    } else {
        &gs[1..]
    };
    rest.iter()
        .all(|g| g.sep == rest[0].sep && g.sep != Sep::Slash && g.sep != Sep::Paren)
        && !is_progression(gs, d)
}

/// `01 02 03 04 05`, `05 10 15 20 25`: a counted list, not a phone number.
fn is_progression(gs: &[Group], d: &[u8]) -> bool {
    let width = gs[0].len();
    if gs.len() < 4 || width > 4 || gs.iter().any(|g| g.len() != width) {
        return false;
    }
    let value = |c: &[u8]| c.iter().fold(0i32, |v, &x| v * 10 + i32::from(x - b'0'));
    let mut values = d.chunks(width).map(value);
    let (Some(a), Some(b)) = (values.next(), values.next()) else {
        return false;
    };
    // Small steps only: `01 23 45 67 89` (step 22) is the textbook French number.
    let step = b - a;
    if step.abs() > 10 {
        return false;
    }
    let mut prev = b;
    values.all(|v| {
        let ok = v - prev == step;
        prev = v;
        ok
    })
}

/// Bare digit strings that fit a numbering plan; they still need a contact word.
fn bare(d: &[u8]) -> Option<Shape> {
    let n = d.len();
    let ok = (n == 10 && nanp_valid(d))
        || (n == 11 && d[0] == b'1' && nanp_valid(&d[1..]))
        || ((10..=11).contains(&n) && d[0] == b'0' && d[1] != b'0')
        || (n == 10 && (b'6'..=b'9').contains(&d[0]))
        || (n == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]));
    ok.then_some(Shape::Bare)
}

#[cfg(test)]
mod tests {
    use super::super::groups::parse;
    use super::*;

    fn shape(s: &str) -> Option<Shape> {
        let t = parse(s.as_bytes(), 0, true);
        classify(s.as_bytes(), &t, t.n)
    }

    #[test]
    fn accepts_national_and_international_formats() {
        for s in [
            "+1 (415) 555-0123",
            "+1-415-555-0123",
            "+14155550123",
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+49 30 12345678",
            "+33 6 12 34 56 78",
            "+91 98765 43210",
            "+55 11 91234-5678",
            "+81 3-1234-5678",
            "+61 2 9876 5432",
            "0044 20 7946 0958",
            "(415) 555-0123",
            "415-555-0123",
            "415.555.0123",
            "1-800-555-0199",
            "020 7946 0958",
            "07700 900123",
            "030 12345678",
            "089/1234567",
            "01 23 45 67 89",
            "06.12.34.56.78",
            "03-1234-5678",
            "090-1234-5678",
            "0412 345 678",
            "(02) 9876 5432",
            "98765 43210",
            "(11) 91234-5678",
            "11 91234-5678",
            "138 0013 8000",
        ] {
            assert_eq!(shape(s), Some(Shape::Formatted), "{s}");
        }
    }

    #[test]
    fn rejects_dates_versions_isbns_and_ids() {
        for s in [
            "2024-01-15",
            "15/01/2024",
            "14.04.2025",
            "0-306-40615-2",
            "978-0-306-40615-7",
            "123-456-7890",
            "1.2.3",
            "10.0.19041",
            "12 3456 7890",
            "94105-1234",
            "02134-1234",
            "01 02 03 04 05",
            "05 10 15 20 25",
            "1 234 567 890",
            "+20%",
        ] {
            assert_eq!(shape(s), None, "{s}");
        }
    }

    #[test]
    fn bare_numbers_need_context() {
        assert_eq!(shape("4155550123"), Some(Shape::Bare));
        assert_eq!(
            shape("1712345678"),
            None,
            "unix timestamp: area code 171 is not NANP"
        );
        assert_eq!(shape("07700900123"), Some(Shape::Bare));
    }
}
