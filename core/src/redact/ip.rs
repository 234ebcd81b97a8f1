//! IPv4 and IPv6 addresses, and whether an address names someone outside the
//! speaker's own network.

use super::scan::{at, glued_after, is_hex, is_word};

/// Public addresses identify a host on the internet. The documentation ranges
/// count as public on purpose: they stand in for real addresses in examples.
/// Private, loopback, link-local, unique-local, CGNAT, multicast and reserved
/// ranges name nothing outside the local network.
pub(crate) fn v4_is_public(o: [u8; 4]) -> bool {
    let [a, b, ..] = o;
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..=127).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && o[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 224)
}

pub(crate) fn v6_is_public(h: [u16; 8]) -> bool {
    if h[..5] == [0; 5] && (h[5] == 0xffff || (h[5] == 0 && h[6] != 0)) {
        // v4-mapped (::ffff:a.b.c.d) or the old v4-compatible form.
        return v4_is_public(v4_of(h));
    }
    if h[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_is_public(v4_of(h)); // NAT64
    }
    if h == [0; 8] || h == [0, 0, 0, 0, 0, 0, 0, 1] {
        return false;
    }
    let first = h[0];
    !((first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first & 0xfe00) == 0xfc00 // unique-local
        || (first & 0xff00) == 0xff00) // multicast
}

fn v4_of(h: [u16; 8]) -> [u8; 4] {
    let [a, b] = h[6].to_be_bytes();
    let [c, d] = h[7].to_be_bytes();
    [a, b, c, d]
}

/// Parses a dotted quad at `pos`; returns its end and octets.
pub(crate) fn parse_v4(b: &[u8], pos: usize) -> Option<(usize, [u8; 4])> {
    let mut o = [0u8; 4];
    let mut i = pos;
    for (q, slot) in o.iter_mut().enumerate() {
        if q > 0 {
            if at(b, i) != b'.' {
                return None;
            }
            i += 1;
        }
        let s = i;
        let mut v: u16 = 0;
        while at(b, i).is_ascii_digit() && i - s < 3 {
            v = v * 10 + u16::from(at(b, i) - b'0');
            i += 1;
        }
        if i == s || v > 255 || at(b, i).is_ascii_digit() {
            return None;
        }
        *slot = v as u8;
    }
    Some((i, o))
}

/// An IPv4 address starting at `pos` (a digit with no word or dotted number
/// glued before it): returns the end, and whether it is public.
pub(crate) fn match_v4(b: &[u8], pos: usize) -> Option<(usize, bool)> {
    let (end, o) = parse_v4(b, pos)?;
    // A fifth part makes it a version or an OID; a letter makes it a hostname.
    if (at(b, end) == b'.' && is_word(at(b, end + 1))) || glued_after(b, end) {
        return None;
    }
    Some((end, v4_is_public(o)))
}

/// Parses an IPv6 address starting at `s` (full, compressed, or with a trailing
/// dotted quad); returns its end and the eight hextets.
pub(crate) fn parse_v6(b: &[u8], s: usize) -> Option<(usize, [u16; 8])> {
    let mut head = [0u16; 8];
    let mut n = 0usize;
    let mut gap: Option<usize> = None;
    let mut i = s;
    let mut hex_digits = 0usize;
    let mut has_digit = false;
    if at(b, i) == b':' {
        if at(b, i + 1) != b':' {
            return None;
        }
        gap = Some(0);
        i += 2;
    }
    loop {
        let gs = i;
        let mut v: u32 = 0;
        while is_hex(at(b, i)) && i - gs < 5 {
            v = (v << 4) | u32::from(hex_val(at(b, i)));
            i += 1;
        }
        let len = i - gs;
        if len == 0 {
            // Only valid right after `::` at the very end.
            if gap == Some(n) && n < 8 {
                break;
            }
            return None;
        }
        if len > 4 {
            return None;
        }
        // Trailing dotted quad (v4-mapped, NAT64): needs room for two hextets.
        // A group that is not a dotted quad (`...:7334.` ending a sentence)
        // is an ordinary last hextet.
        if at(b, i) == b'.'
            && n <= 6
            && b[gs..i].iter().all(u8::is_ascii_digit)
            && let Some((end, o)) = parse_v4(b, gs)
        {
            head[n] = u16::from_be_bytes([o[0], o[1]]);
            head[n + 1] = u16::from_be_bytes([o[2], o[3]]);
            n += 2;
            i = end;
            has_digit = true;
            hex_digits += 4;
            break;
        }
        has_digit |= b[gs..i].iter().any(u8::is_ascii_digit);
        hex_digits += len;
        if n == 8 {
            return None;
        }
        head[n] = v as u16;
        n += 1;
        if at(b, i) == b':' && at(b, i + 1) == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 2;
            if !is_hex(at(b, i)) {
                break;
            }
        } else if at(b, i) == b':' && is_hex(at(b, i + 1)) {
            i += 1;
        } else {
            break;
        }
    }
    let mut out = [0u16; 8];
    match gap {
        None if n == 8 => out = head,
        Some(g) if n < 8 => {
            out[..g].copy_from_slice(&head[..g]);
            let tail = n - g;
            out[8 - tail..].copy_from_slice(&head[g..n]);
        }
        _ => return None,
    }
    // Shapes that are code, not addresses: `a::b`, `arr[100::5]`, `dead::beef`.
    if !has_digit && out != [0; 8] {
        return None;
    }
    if gap.is_some() && n <= 2 && hex_digits < 5 && !(n == 1 && gap == Some(0)) {
        return None;
    }
    Some((i, out))
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// An IPv6 address around the colon at `colon`: returns `(start, end, public)`.
pub(crate) fn match_v6_around(b: &[u8], colon: usize) -> Option<(usize, usize, bool)> {
    // Cheap rejection first: a colon between two non-hex, non-colon bytes.
    let prev = if colon > 0 { b[colon - 1] } else { 0 };
    let next = at(b, colon + 1);
    let joins = (is_hex(prev) || prev == b':') && (is_hex(next) || next == b':');
    let opens_gap = next == b':' && is_hex(at(b, colon + 2));
    if !joins && !opens_gap {
        return None;
    }
    let lo = colon.saturating_sub(40);
    let mut s = colon;
    while s > lo && (is_hex(b[s - 1]) || b[s - 1] == b':') {
        s -= 1;
    }
    // Glued to a word (`std::io`, `u8::MAX`) or to a longer colon run: not an address.
    if s > 0 && (is_word(b[s - 1]) || matches!(b[s - 1], b'.' | b']')) {
        return None;
    }
    let (mut end, h) = parse_v6(b, s)?;
    if end <= colon {
        return None;
    }
    // Zone index of a link-local address: `fe80::1%eth0`.
    if at(b, end) == b'%' && is_word(at(b, end + 1)) {
        end += 1;
        while is_word(at(b, end)) {
            end += 1;
        }
    }
    if glued_after(b, end) || (at(b, end) == b':' && is_hex(at(b, end + 1))) {
        return None;
    }
    Some((s, end, v6_is_public(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Option<(String, bool)> {
        let b = s.as_bytes();
        let colon = s.find(':')?;
        match_v6_around(b, colon).map(|(st, e, p)| (s[st..e].to_string(), p))
    }

    #[test]
    fn v4_classes() {
        for ip in [
            [10, 0, 0, 1],
            [172, 16, 5, 4],
            [192, 168, 1, 1],
            [127, 0, 0, 1],
            [169, 254, 1, 1],
            [100, 64, 0, 1],
            [0, 0, 0, 0],
            [255, 255, 255, 0],
            [224, 0, 0, 251],
        ] {
            assert!(!v4_is_public(ip), "{ip:?}");
        }
        for ip in [
            [8, 8, 8, 8],
            [192, 0, 2, 1],
            [198, 51, 100, 7],
            [203, 0, 113, 9],
            [172, 32, 0, 1],
            [1, 1, 1, 1],
        ] {
            assert!(v4_is_public(ip), "{ip:?}");
        }
    }

    #[test]
    fn v4_rejects_versions_and_hostnames() {
        assert!(match_v4(b"1.2.3.4.5", 0).is_none());
        assert!(match_v4(b"1.2.3.4.nip.io", 0).is_none());
        assert!(match_v4(b"256.1.1.1", 0).is_none());
        assert_eq!(match_v4(b"8.8.8.8:53", 0), Some((7, true)));
        assert_eq!(match_v4(b"203.0.113.0/24", 0), Some((11, true)));
    }

    #[test]
    fn v6_at_the_end_of_a_sentence() {
        assert_eq!(
            v6("addr 2001:db8::8a2e:370:7334. Next"),
            Some(("2001:db8::8a2e:370:7334".into(), true))
        );
        assert_eq!(
            v6("at 2001:4860:4860::8888."),
            Some(("2001:4860:4860::8888".into(), true))
        );
    }

    #[test]
    fn v6_forms_and_classes() {
        assert_eq!(v6("at 2001:db8::1 now"), Some(("2001:db8::1".into(), true)));
        assert_eq!(
            v6("2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
            Some(("2001:0db8:85a3:0000:0000:8a2e:0370:7334".into(), true))
        );
        assert_eq!(
            v6("[2606:4700:4700::1111]:443"),
            Some(("2606:4700:4700::1111".into(), true))
        );
        assert_eq!(
            v6("::ffff:192.0.2.128"),
            Some(("::ffff:192.0.2.128".into(), true))
        );
        assert_eq!(
            v6("::ffff:10.1.2.3"),
            Some(("::ffff:10.1.2.3".into(), false))
        );
        assert_eq!(v6("fe80::1%eth0 up"), Some(("fe80::1%eth0".into(), false)));
        assert_eq!(
            v6("fd12:3456:789a::1"),
            Some(("fd12:3456:789a::1".into(), false))
        );
        assert_eq!(v6("::1"), Some(("::1".into(), false)));
        assert_eq!(v6("ff02::1"), Some(("ff02::1".into(), false)));
    }

    #[test]
    fn v6_rejects_code_times_and_macs() {
        for s in [
            "std::vector",
            "a::b",
            "arr[100::5]",
            "10:30:45",
            "00:1a:2b:3c:4d:5e",
            "u8::MAX",
            "dead::beef",
            "12:34",
        ] {
            assert_eq!(v6(s), None, "{s}");
        }
    }
}
