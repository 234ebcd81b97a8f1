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

/// Sixteen bytes compared at once: the trigger searches below test a whole
/// block of text with a few vector instructions, so text without a trigger
/// byte costs a fraction of a cycle per byte. SSE2 on x86-64 (always there);
/// elsewhere a plain array that the compiler vectorises where it can.
#[derive(Clone, Copy)]
pub(crate) struct V(
    #[cfg(target_arch = "x86_64")] std::arch::x86_64::__m128i,
    #[cfg(not(target_arch = "x86_64"))] [u8; 16],
);

#[cfg(target_arch = "x86_64")]
impl V {
    #[inline(always)]
    pub(crate) fn load(bytes: &[u8; 16]) -> V {
        use std::arch::x86_64::_mm_loadu_si128;
        // SAFETY: the pointer comes from a 16-byte array; loadu has no alignment requirement.
        V(unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) })
    }
    #[inline(always)]
    pub(crate) fn eq(self, c: u8) -> V {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_set1_epi8};
        // SAFETY: SSE2 is part of the x86-64 baseline.
        V(unsafe { _mm_cmpeq_epi8(self.0, _mm_set1_epi8(c as i8)) })
    }
    /// Bytes in `lo..=hi` (unsigned).
    #[inline(always)]
    pub(crate) fn within(self, lo: u8, hi: u8) -> V {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_min_epu8, _mm_set1_epi8, _mm_sub_epi8};
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let d = _mm_sub_epi8(self.0, _mm_set1_epi8(lo as i8));
            let span = _mm_set1_epi8(hi.wrapping_sub(lo) as i8);
            V(_mm_cmpeq_epi8(_mm_min_epu8(d, span), d))
        }
    }
    /// ASCII letters folded to lower case (other bytes get bit 5 set too).
    #[inline(always)]
    pub(crate) fn lower(self) -> V {
        use std::arch::x86_64::{_mm_or_si128, _mm_set1_epi8};
        // SAFETY: SSE2 is part of the x86-64 baseline.
        V(unsafe { _mm_or_si128(self.0, _mm_set1_epi8(0x20)) })
    }
    #[inline(always)]
    pub(crate) fn or(self, o: V) -> V {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        V(unsafe { std::arch::x86_64::_mm_or_si128(self.0, o.0) })
    }
    #[inline(always)]
    pub(crate) fn and(self, o: V) -> V {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        V(unsafe { std::arch::x86_64::_mm_and_si128(self.0, o.0) })
    }
    /// Bit `j` set when lane `j` is all ones.
    #[inline(always)]
    pub(crate) fn mask(self) -> u32 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        (unsafe { std::arch::x86_64::_mm_movemask_epi8(self.0) }) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl V {
    #[inline(always)]
    pub(crate) fn load(bytes: &[u8; 16]) -> V {
        V(*bytes)
    }
    #[inline(always)]
    fn map(self, f: impl Fn(u8) -> bool) -> V {
        V(self.0.map(|c| if f(c) { 0xFF } else { 0 }))
    }
    #[inline(always)]
    pub(crate) fn eq(self, c: u8) -> V {
        self.map(|x| x == c)
    }
    #[inline(always)]
    pub(crate) fn within(self, lo: u8, hi: u8) -> V {
        self.map(|x| x.wrapping_sub(lo) <= hi.wrapping_sub(lo))
    }
    #[inline(always)]
    pub(crate) fn lower(self) -> V {
        V(self.0.map(|x| x | 0x20))
    }
    #[inline(always)]
    pub(crate) fn or(self, o: V) -> V {
        let mut r = self.0;
        for (a, b) in r.iter_mut().zip(o.0) {
            *a |= b;
        }
        V(r)
    }
    #[inline(always)]
    pub(crate) fn and(self, o: V) -> V {
        let mut r = self.0;
        for (a, b) in r.iter_mut().zip(o.0) {
            *a &= b;
        }
        V(r)
    }
    #[inline(always)]
    pub(crate) fn mask(self) -> u32 {
        self.0
            .iter()
            .enumerate()
            .fold(0, |m, (j, &x)| m | (u32::from(x >> 7) << j))
    }
}

/// The 16 bytes of `b` starting `back` bytes before `j`; positions outside
/// `b` read as 0, which no trigger matches.
#[inline(always)]
fn load(b: &[u8], j: usize, back: usize) -> V {
    if let Some(bytes) = j
        .checked_sub(back)
        .and_then(|s| b.get(s..s + 16))
        .and_then(|s| <&[u8; 16]>::try_from(s).ok())
    {
        return V::load(bytes);
    }
    let mut buf = [0u8; 16];
    for (k, slot) in buf.iter_mut().enumerate() {
        if let Some(&c) = (j + k).checked_sub(back).and_then(|p| b.get(p)) {
            *slot = c;
        }
    }
    V::load(&buf)
}

/// The first 16-byte window, starting at `i + 16k`, where `pred` holds
/// somewhere: its start and the mask of the positions (none past the end).
/// `pred` gets the bytes at a position and the three before it: `(b[j-3],
/// b[j-2], b[j-1], b[j])`, 0 outside the text; it must not hold when the
/// last of them is 0.
#[inline(always)]
fn next_window(
    b: &[u8],
    mut i: usize,
    pred: impl Fn(V, V, V, V) -> V + Copy,
) -> Option<(usize, u32)> {
    loop {
        // Whole windows: one bounds check for the four overlapping loads.
        while let Some(w) = i
            .checked_sub(3)
            .and_then(|s| b.get(s..s + 19))
            .and_then(|s| <&[u8; 19]>::try_from(s).ok())
        {
            let v = |k: usize| match <&[u8; 16]>::try_from(&w[k..k + 16]) {
                Ok(x) => V::load(x),
                Err(_) => V::load(&[0; 16]),
            };
            let m = pred(v(0), v(1), v(2), v(3)).mask();
            if m != 0 {
                return Some((i, m));
            }
            i += 16;
        }
        // The first three bytes and the tail, zero-padded.
        if i >= b.len() {
            return None;
        }
        let m = pred(load(b, i, 3), load(b, i, 2), load(b, i, 1), load(b, i, 0)).mask();
        let m = if b.len() - i < 16 {
            m & ((1u32 << (b.len() - i)) - 1)
        } else {
            m
        };
        if m != 0 {
            return Some((i, m));
        }
        i += 16;
    }
}

/// First position `>= i` where `pred` holds (see [`next_window`]), or `b.len()`:
/// what a [`Finder`] must answer.
#[cfg(test)]
#[inline(always)]
pub(crate) fn find_where4(b: &[u8], i: usize, pred: impl Fn(V, V, V, V) -> V + Copy) -> usize {
    next_window(b, i, pred).map_or(b.len(), |(w, m)| w + m.trailing_zeros() as usize)
}

/// A trigger search that keeps the mask of its last window, so that the next
/// candidate in the same 16 bytes costs a bit scan, not another window: in
/// dense text (JSON, code, logs) candidates come a few bytes apart.
pub(crate) struct Finder<P> {
    pred: P,
    /// Start of the cached window (`usize::MAX`: none yet) and its mask.
    window: usize,
    mask: u32,
}

impl<P: Fn(V, V, V, V) -> V + Copy> Finder<P> {
    pub(crate) fn new(pred: P) -> Self {
        Finder {
            pred,
            window: usize::MAX,
            mask: 0,
        }
    }

    /// First position `>= i` where the predicate holds, or `b.len()`; `b`
    /// must be the same text at every call.
    #[inline(always)]
    pub(crate) fn find(&mut self, b: &[u8], mut i: usize) -> usize {
        if let Some(off) = i.checked_sub(self.window).filter(|&o| o < 16) {
            let m = self.mask & (u32::MAX << off);
            if m != 0 {
                return self.window + m.trailing_zeros() as usize;
            }
            i = self.window + 16;
        }
        match next_window(b, i, self.pred) {
            Some((w, m)) => {
                self.window = w;
                self.mask = m;
                w + m.trailing_zeros() as usize
            }
            None => b.len(),
        }
    }
}

/// `pred` at position `j` of `b`, through the same vector code as the searches.
pub(crate) fn holds_at(b: &[u8], j: usize, pred: impl Fn(V, V, V, V) -> V + Copy) -> bool {
    pred(load(b, j, 3), load(b, j, 2), load(b, j, 1), load(b, j, 0)).mask() & 1 != 0
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
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    // Compare only where the first byte matches in either case.
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &hay[..=last_start],
    )
    .any(|i| hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest))
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
    fn block_searches_match_a_byte_loop() {
        let mut rng = fastrand::Rng::with_seed(7);
        let pred = |c: V| c.within(b'0', b'9').or(c.eq(b'+'));
        let pred4 = |p3: V, _p2: V, p1: V, c: V| {
            p1.eq(b'y')
                .and(c.eq(b'J'))
                .or(p3.eq(b'a').and(c.lower().eq(b'k')))
        };
        let want1 = |c: u8| c.is_ascii_digit() || c == b'+';
        let want4 =
            |p3: u8, p1: u8, c: u8| (p1 == b'y' && c == b'J') || (p3 == b'a' && (c | 0x20) == b'k');
        for len in [0usize, 1, 2, 3, 4, 15, 16, 17, 18, 19, 40, 130] {
            for _ in 0..50 {
                // Plain letters and trigger-ish bytes, dense enough for pairs to form.
                let b: Vec<u8> = (0..len)
                    .map(|_| match rng.u8(..) {
                        0..96 => *rng.choice(b"yJ+1akK9/".iter()).unwrap_or(&b'a'),
                        _ => b'x',
                    })
                    .collect();
                let at4 = |j: usize, k: usize| if j >= k { b[j - k] } else { 0 };
                for i in 0..=b.len() + 1 {
                    let w = (i..b.len()).find(|&j| want1(b[j])).unwrap_or(b.len());
                    assert_eq!(find_where4(&b, i, move |_, _, _, c| pred(c)), w);
                    let w4 = (i..b.len())
                        .find(|&j| want4(at4(j, 3), at4(j, 1), b[j]))
                        .unwrap_or(b.len());
                    assert_eq!(find_where4(&b, i, pred4), w4, "{i} in {b:?}");
                }
                for j in 0..b.len() {
                    assert_eq!(holds_at(&b, j, pred4), want4(at4(j, 3), at4(j, 1), b[j]));
                }
                // The cached search, fresh or asked in any order, answers the same.
                for i in 0..=b.len() {
                    assert_eq!(Finder::new(pred4).find(&b, i), find_where4(&b, i, pred4));
                }
                let mut f = Finder::new(pred4);
                for _ in 0..2 * b.len() + 2 {
                    let i = rng.usize(..=b.len() + 1);
                    assert_eq!(f.find(&b, i), find_where4(&b, i, pred4), "{i} in {b:?}");
                }
            }
        }
    }

    #[test]
    fn contains_ci_is_a_case_insensitive_substring_test() {
        let hays: [&[u8]; 6] = [
            b"",
            b"a",
            b"os.environ[x]",
            b"OS.ENVIRON",
            b"xos.Environ",
            b"os.enviro",
        ];
        for hay in hays {
            for needle in [&b""[..], b"os.environ", b"o", b"X", b"environ["] {
                let want = needle.is_empty()
                    || hay
                        .windows(needle.len())
                        .any(|w| w.eq_ignore_ascii_case(needle));
                assert_eq!(contains_ci(hay, needle), want, "{hay:?} {needle:?}");
            }
        }
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
