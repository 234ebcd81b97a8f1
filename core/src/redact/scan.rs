//! Byte-level helpers shared by the detectors.
//!
//! Every detector works on the UTF-8 bytes of the text and only ever starts or
//! ends a finding on an ASCII byte, so findings are always valid `str` slices.

/// The byte at `i`, or 0 past either end; keeps boundary checks free of panics.
#[inline]
pub(crate) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// ASCII letters, digits and `_`: the bytes that glue an identifier together.
#[inline]
pub(crate) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[inline]
pub(crate) fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// True when an odd number of backslashes ends right before `pos`.
pub(crate) fn odd_backslashes_before(b: &[u8], pos: usize) -> bool {
    let mut n = 0usize;
    let mut i = pos;
    while i > 0 && b[i - 1] == b'\\' {
        n += 1;
        i -= 1;
    }
    n % 2 == 1
}

/// True when `b[pos]` is the letter of an escape such as `\n` or `\t`.
///
/// Prompts often arrive JSON-encoded, so `"Call:\n+1 415..."` must treat the `n`
/// as a separator, not as a letter glued to the number.
pub(crate) fn is_escape_letter(b: &[u8], pos: usize) -> bool {
    matches!(at(b, pos), b'n' | b'r' | b't' | b'b' | b'f') && odd_backslashes_before(b, pos)
}

/// A word byte (not an escape letter) sits right before `pos`.
#[inline]
pub(crate) fn word_before(b: &[u8], pos: usize) -> bool {
    pos > 0 && is_word(b[pos - 1]) && !is_escape_letter(b, pos - 1)
}

/// A word byte or the `]` of a marker sits right before `pos`.
///
/// Treating a marker's `]` like a word keeps redaction idempotent: whatever was
/// glued to a replaced finding stays glued to its marker.
#[inline]
pub(crate) fn glued_before(b: &[u8], pos: usize) -> bool {
    word_before(b, pos) || (pos > 0 && b[pos - 1] == b']')
}

/// A word byte or the `[` of a marker sits at `end`.
#[inline]
pub(crate) fn glued_after(b: &[u8], end: usize) -> bool {
    word_after(b, end) || at(b, end) == b'['
}

/// A word byte sits at `end`.
#[inline]
pub(crate) fn word_after(b: &[u8], end: usize) -> bool {
    is_word(at(b, end))
}

/// Moves `start` past a `\uXXXX` or `\n`-style escape that a left scan swallowed.
pub(crate) fn skip_escape_prefix(b: &[u8], start: usize, end: usize) -> usize {
    if start == 0 || !odd_backslashes_before(b, start) {
        return start;
    }
    let skip = if at(b, start) == b'u' { 5 } else { 1 };
    (start + skip).min(end)
}

/// Largest char boundary `<= i` (std's `floor_char_boundary` needs a newer MSRV).
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// ASCII case-insensitive `starts_with` on bytes.
#[inline]
pub(crate) fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// ASCII case-insensitive substring search (short needles, short haystacks).
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_letters_are_not_words() {
        let b = br"x\n415";
        assert!(!word_before(b, 3));
        let b = br"x\\n415";
        assert!(word_before(b, 4), "an escaped backslash leaves a real n");
    }

    #[test]
    fn floor_boundary_never_splits_a_char() {
        let s = "aé€";
        for i in 0..=s.len() + 2 {
            assert!(s.is_char_boundary(floor_char_boundary(s, i)));
        }
        assert_eq!(floor_char_boundary(s, 2), 1);
    }
}
