//! The digit pass: each digit run that is not glued to a word is tried as an
//! IPv4 address, a payment card, an SSN and a phone number, in that order; a
//! run right after two letters is tried as an IBAN.

use super::context::{Hint, id_hint, phone_hint, ssn_hint};
use super::groups::{Groups, Sep, parse};
use super::scan::{Finder, V, at, glued_after, glued_before, is_escape_letter, is_word};
use super::validate::{card_valid, ssn_valid};
use super::{Finding, PiiKind, iban, ip, phone};

/// Which of the digit-shaped kinds are on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NumericKinds {
    pub ip: bool,
    pub private_ips: bool,
    pub card: bool,
    pub ssn: bool,
    pub phone: bool,
    pub iban: bool,
}

impl NumericKinds {
    fn any(&self) -> bool {
        self.ip || self.card || self.ssn || self.phone || self.iban
    }
}

/// Bytes at which a numeric candidate can start.
#[inline(always)]
fn is_trigger(c: V) -> V {
    c.within(b'0', b'9').or(c.eq(b'+')).or(c.eq(b'('))
}

enum Outcome {
    Found(usize, PiiKind),
    /// A recognised non-PII thing (a private IP): skip past it.
    Skip(usize),
    Nothing,
}

/// Scans `b`; `out` may already hold findings of other detectors, whose ends
/// bound the context-word look-back (see [`super::context`]).
pub(crate) fn scan(b: &[u8], on: NumericKinds, out: &mut Vec<Finding>) {
    if !on.any() {
        return;
    }
    // Earlier detectors' findings, by end (the caller sorts all findings
    // afterwards anyway); this pass appends its own in text order.
    out.sort_unstable_by_key(|f| f.end);
    let prior = out.len();
    let floor = |pos: usize, out: &[Finding]| -> usize {
        let earlier = &out[..prior];
        let before = earlier.partition_point(|f| f.end <= pos);
        let from_earlier = if before > 0 {
            earlier[before - 1].end
        } else {
            0
        };
        let from_this = out[prior..]
            .last()
            .map_or(0, |f| if f.end <= pos { f.end } else { 0 });
        from_earlier.max(from_this)
    };
    let n = b.len();
    let mut triggers = Finder::new(|_, _, _, c| is_trigger(c));
    let mut i = 0;
    while i < n {
        i = triggers.find(b, i);
        if i >= n {
            break;
        }
        let c = b[i];
        if c.is_ascii_digit() {
            // An IBAN's check digits are two digits right after the country code.
            if on.iban
                && i >= 2
                && at(b, i + 1).is_ascii_digit()
                && b[i - 1].is_ascii_alphabetic()
                && b[i - 2].is_ascii_alphabetic()
                && !glued_before(b, i - 2)
                && let Some(end) = iban::match_at(b, i - 2)
            {
                out.push(Finding::kind(i - 2, end, PiiKind::Iban));
                i = end;
                continue;
            }
            // Nothing digit-shaped is shorter than 7 digits unless it goes on
            // with a separator (`415-`, `10.`): skip short lone numbers fast.
            let mut r = i;
            while r < n && b[r].is_ascii_digit() {
                r += 1;
            }
            if r - i < 7 && !matches!(at(b, r), b' ' | b'-' | b'.' | b'/' | 0xC2 | 0xE2) {
                i = r;
                continue;
            }
            if !glued_left(b, i) {
                match match_digit_start(b, i, floor(i, out), on) {
                    Outcome::Found(end, kind) => {
                        out.push(Finding::kind(i, end, kind));
                        i = end;
                        continue;
                    }
                    Outcome::Skip(end) => {
                        i = end;
                        continue;
                    }
                    Outcome::Nothing => {}
                }
            }
            while i < n && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            // `+44 ...` or `(415) ...`
            let plus_ok = c == b'('
                || !(i > 0
                    && ((is_word(b[i - 1]) && !is_escape_letter(b, i - 1)) || b[i - 1] == b']'));
            // An international number has 8 digits or more, one with an area
            // code in parentheses 9 or more.
            if on.phone
                && plus_ok
                && at(b, i + 1).is_ascii_digit()
                && !glued_left(b, i)
                && span_digits(b, i, 8) >= 8
            {
                let t = parse(b, i, true);
                if let Some(end) = match_phone(b, &t, floor(i, out)) {
                    out.push(Finding::kind(i, end, PiiKind::Phone));
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
    }
}

/// Digits (counted up to `enough`) in the run of digits and group separators
/// from `pos`: every digit that [`parse`] can put in a group lies in this
/// run, so fewer than a kind's minimum rules the kind out without parsing.
fn span_digits(b: &[u8], pos: usize, enough: usize) -> usize {
    let mut n = 0;
    for &c in b.get(pos..).unwrap_or(&[]) {
        match c {
            b'0'..=b'9' => {
                n += 1;
                if n >= enough {
                    break;
                }
            }
            // Separators (`-`, ` - `, NBSP, narrow NBSP, thin space, dashes
            // as UTF-8) and the marks of phone numbers.
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+' | 0x80..=0xBF | 0xC2 | 0xE2 => {}
            _ => break,
        }
    }
    n
}

/// A number glued to what precedes it: `gpt-4`, `v1.2`, `#1234`, `1,234`, `10:30`.
fn glued_left(b: &[u8], pos: usize) -> bool {
    if pos == 0 {
        return false;
    }
    let p = b[pos - 1];
    if glued_before(b, pos) {
        return true;
    }
    let pp = if pos >= 2 { b[pos - 2] } else { 0 };
    match p {
        b'#' | b'$' | b'@' | b'+' => true,
        b'-' | b'.' | b'_' | b'/' | b',' => is_word(pp) || pp == b']',
        b':' => pp.is_ascii_digit() || pp == b']',
        _ => false,
    }
}

/// A number glued to what follows it: `0123abc`, `0123-x`, `0123@host`, `1,5`.
fn glued_right(b: &[u8], end: usize) -> bool {
    let c = at(b, end);
    glued_after(b, end)
        || c == b'@'
        || (matches!(c, b'-' | b'.' | b'_' | b'/')
            && (is_word(at(b, end + 1)) || at(b, end + 1) == b'['))
        || (c == b',' && at(b, end + 1).is_ascii_digit())
}

/// Separators used inside the first `k` groups, as a bit set.
fn sep_mask(t: &Groups, k: usize) -> u8 {
    t.groups[1..k].iter().fold(0, |m, g| m | sep_bit(g.sep))
}

fn sep_bit(s: Sep) -> u8 {
    match s {
        Sep::Start => 0,
        Sep::Space => 1,
        Sep::Dash => 2,
        Sep::Dot => 4,
        Sep::Slash => 8,
        Sep::Paren => 16,
    }
}

/// More digits follow the candidate in a way that makes it part of a longer number.
fn continues_right(t: &Groups, k: usize, mask: u8) -> bool {
    if k >= t.n {
        return t.overflow;
    }
    match t.groups[k].sep {
        Sep::Space => mask & 1 != 0 || k == 1,
        _ => true,
    }
}

/// A space-separated number group right before a space-separated candidate:
/// the candidate is a slice of a longer list of numbers.
fn continues_left(b: &[u8], start: usize, mask: u8) -> bool {
    start >= 2 && b[start - 1] == b' ' && b[start - 2].is_ascii_digit() && mask & 1 != 0
}

fn match_digit_start(b: &[u8], pos: usize, floor: usize, on: NumericKinds) -> Outcome {
    if on.ip
        && let Some((end, public)) = ip::match_v4(b, pos)
    {
        if id_hint(b, pos, floor) == Hint::Negative || !(public || on.private_ips) {
            return Outcome::Skip(end);
        }
        return Outcome::Found(end, PiiKind::Ip);
    }
    // Cards have 12 digits or more, SSNs 9 and phone numbers without `+` at
    // least 10: a date or a price (`2024-03-14`, `1 500`) is done here.
    if !(on.card || on.ssn || on.phone) || span_digits(b, pos, 9) < 9 {
        return Outcome::Nothing;
    }
    let t = parse(b, pos, true);
    if t.groups[..t.n].iter().map(|g| g.len()).sum::<usize>() < 8 {
        return Outcome::Nothing;
    }
    if on.card
        && let Some(end) = match_card(b, &t)
    {
        return Outcome::Found(end, PiiKind::Card);
    }
    if on.ssn
        && let Some(end) = match_ssn(b, &t, floor)
    {
        return Outcome::Found(end, PiiKind::Ssn);
    }
    if on.phone
        && let Some(end) = match_phone(b, &t, floor)
    {
        return Outcome::Found(end, PiiKind::Phone);
    }
    Outcome::Nothing
}

/// Card numbers: 12-19 digits, plain or in groups split by one kind of
/// separator, in an issuer range, Luhn-valid. Trailing groups (an expiry date,
/// a CVC) are allowed; the longest valid prefix wins.
fn match_card(b: &[u8], t: &Groups) -> Option<usize> {
    if t.plus {
        return None;
    }
    let mut buf = [0u8; 24];
    for k in (1..=t.n).rev() {
        let gs = &t.groups[..k];
        if gs.iter().any(|g| g.paren) {
            continue;
        }
        let Some(d) = t.digits(b, k, &mut buf) else {
            continue;
        };
        if !(12..=19).contains(&d.len()) {
            continue;
        }
        if k > 1 {
            let sep = gs[1].sep;
            if !matches!(sep, Sep::Space | Sep::Dash) || gs[2..].iter().any(|g| g.sep != sep) {
                continue;
            }
            if !(4..=6).contains(&gs[0].len())
                || gs[1..k - 1].iter().any(|g| !(3..=7).contains(&g.len()))
                || gs[k - 1].len() > 7
            {
                continue;
            }
            // A slice of a longer evenly grouped number (`6011 9144 5142 | 6277`)
            // is not a card; a trailing expiry or CVC (`12/27`, `123`) may follow.
            let longer =
                k < t.n && t.groups[k].sep == sep && (sep == Sep::Dash || t.groups[k].len() >= 4);
            if continues_left(b, t.start, sep_mask(t, k)) || longer {
                continue;
            }
        }
        let end = gs[k - 1].end;
        if glued_right(b, end) || !card_valid(d) {
            continue;
        }
        return Some(end);
    }
    None
}

/// SSNs: `078-05-1120` / `078 05 1120` by shape, or nine bare digits after `SSN`.
fn match_ssn(b: &[u8], t: &Groups, floor: usize) -> Option<usize> {
    if t.plus || t.groups[0].paren {
        return None;
    }
    let mut buf = [0u8; 24];
    let g = &t.groups;
    let shaped = t.n >= 3
        && g[0].len() == 3
        && g[1].len() == 2
        && g[2].len() == 4
        && g[1].sep == g[2].sep
        && matches!(g[1].sep, Sep::Dash | Sep::Space)
        && !g[..3].iter().any(|x| x.paren);
    let (k, needs_word) = if shaped {
        (3, false)
    } else if g[0].len() == 9 {
        (1, true)
    } else {
        return None;
    };
    let d = t.digits(b, k, &mut buf)?;
    let end = g[k - 1].end;
    let mask = sep_mask(t, k);
    if !ssn_valid(d)
        || glued_right(b, end)
        || continues_right(t, k, mask)
        || continues_left(b, t.start, mask)
    {
        return None;
    }
    match ssn_hint(b, t.start, floor) {
        Hint::Positive => Some(end),
        Hint::Neutral if !needs_word => Some(end),
        _ => None,
    }
}

/// Phone numbers: the longest prefix of the groups that has a phone shape and
/// is not glued to more digits.
fn match_phone(b: &[u8], t: &Groups, floor: usize) -> Option<usize> {
    if t.overflow {
        return None;
    }
    for k in (1..=t.n).rev() {
        let Some(shape) = phone::classify(b, t, k) else {
            continue;
        };
        let end = t.span_end(b, k);
        let mask = sep_mask(t, k);
        if continues_right(t, k, mask)
            || glued_right(b, end)
            || (!t.plus && continues_left(b, t.start, mask))
        {
            continue;
        }
        return match (shape, phone_hint(b, t.start, floor)) {
            (_, Hint::Negative) => None,
            (phone::Shape::Formatted, _) | (phone::Shape::Bare, Hint::Positive) => Some(end),
            (phone::Shape::Bare, Hint::Neutral) => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: NumericKinds = NumericKinds {
        ip: true,
        private_ips: false,
        card: true,
        ssn: true,
        phone: true,
        iban: true,
    };

    fn found(s: &str) -> Vec<(String, PiiKind)> {
        let mut out = Vec::new();
        scan(s.as_bytes(), ALL, &mut out);
        out.iter()
            .map(|f| {
                (
                    s[f.start..f.end].to_string(),
                    f.builtin().unwrap_or(PiiKind::Secret),
                )
            })
            .collect()
    }

    #[test]
    fn finds_each_numeric_kind() {
        assert_eq!(
            found("card 4111 1111 1111 1111 exp 12/27"),
            vec![("4111 1111 1111 1111".into(), PiiKind::Card)]
        );
        assert_eq!(
            found("Mastercard 2221-0000-0000-0009."),
            vec![("2221-0000-0000-0009".into(), PiiKind::Card)]
        );
        assert_eq!(
            found("SSN: 078-05-1120"),
            vec![("078-05-1120".into(), PiiKind::Ssn)]
        );
        assert_eq!(
            found("ssn 078051120"),
            vec![("078051120".into(), PiiKind::Ssn)]
        );
        assert_eq!(
            found("call +44 20 7946 0958 now"),
            vec![("+44 20 7946 0958".into(), PiiKind::Phone)]
        );
        assert_eq!(
            found("from 203.0.113.9 at noon"),
            vec![("203.0.113.9".into(), PiiKind::Ip)]
        );
        assert_eq!(
            found("IBAN DE89 3704 0044 0532 0130 00."),
            vec![("DE89 3704 0044 0532 0130 00".into(), PiiKind::Iban)]
        );
    }

    #[test]
    fn leaves_lookalikes_alone() {
        for s in [
            "gpt-4.1-2025-04-14",
            "claude-3-5-sonnet-20241022",
            "ts=1712345678",
            "Order #415-555-0123",
            "order 4155550123",
            "ISBN 0-306-40615-2",
            "card 4111 1111 1111 1112",
            "version 1.2.3.4",
            "gateway 192.168.1.1",
            "3.14159 26535 89793 23846 26433",
            "1234 5678 9012 3456 7890",
            "on 2024-01-15 at 10:30:45",
            "IBAN DE89 3704 0044 0532 0130 01",
            "SSN 666-12-3456",
        ] {
            assert_eq!(found(s), vec![], "{s}");
        }
    }
}
