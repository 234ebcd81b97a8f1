//! Appending a field whose size is known before it is written: one capacity
//! check for the whole field instead of one per byte pushed, and short
//! strings moved as two overlapping words instead of through a `memcpy`
//! call. An attribute's key and value are mostly 4 to 40 bytes, and the two
//! calls per attribute plus the per-push checks were a fifth of the protobuf
//! writer's instructions.

use std::mem::MaybeUninit;

/// The spare capacity of a buffer, written front to back.
pub(crate) struct Room<'a> {
    spare: &'a mut [MaybeUninit<u8>],
    at: usize,
}

/// Reserves `n` bytes at the end of `buf`, lets `write` fill them, and makes
/// what it wrote part of `buf`. Writing past `n` bytes panics (bounds
/// checks), it never writes out of the buffer.
#[inline(always)]
pub(crate) fn append(buf: &mut Vec<u8>, n: usize, write: impl FnOnce(&mut Room<'_>)) {
    buf.reserve(n);
    let len = buf.len();
    let mut room = Room {
        spare: &mut buf.spare_capacity_mut()[..n],
        at: 0,
    };
    write(&mut room);
    let written = room.at;
    // SAFETY: every `Room` method writes the bytes from `at` to its new
    // `at` without gaps, so the first `written` spare bytes are initialised,
    // and indexing kept them within the `n` reserved.
    unsafe { buf.set_len(len + written) };
}

impl Room<'_> {
    #[inline(always)]
    pub fn byte(&mut self, b: u8) {
        self.spare[self.at].write(b);
        self.at += 1;
    }

    #[inline(always)]
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    #[inline(always)]
    pub fn fixed64(&mut self, v: u64) {
        self.word(self.at, v.to_le_bytes());
        self.at += 8;
    }

    #[inline(always)]
    fn word<const N: usize>(&mut self, at: usize, w: [u8; N]) {
        copy_into(&mut self.spare[at..at + N], &w);
    }

    /// Copies `s`: up to 32 bytes as two overlapping words (each a fixed-size
    /// move the compiler inlines), longer ones through `memcpy`.
    #[inline(always)]
    pub fn bytes(&mut self, s: &[u8]) {
        let n = s.len();
        let at = self.at;
        if n > 32 {
            copy_into(&mut self.spare[at..at + n], s);
        } else if n >= 16 {
            self.word(at, head::<16>(s));
            self.word(at + n - 16, head::<16>(&s[n - 16..]));
        } else if n >= 8 {
            self.word(at, head::<8>(s));
            self.word(at + n - 8, head::<8>(&s[n - 8..]));
        } else if n >= 4 {
            self.word(at, head::<4>(s));
            self.word(at + n - 4, head::<4>(&s[n - 4..]));
        } else {
            for (i, &b) in s.iter().enumerate() {
                self.spare[at + i].write(b);
            }
        }
        self.at = at + n;
    }
}

/// Appends `s`: short ones inline (see [`Room::bytes`]), long ones through
/// `extend_from_slice`.
#[inline(always)]
pub(crate) fn push_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 32 {
        append(buf, s.len(), |r| r.bytes(s));
    } else {
        buf.extend_from_slice(s);
    }
}

/// `dst.copy_from_slice(src)` for uninitialised bytes (`write_copy_of_slice`
/// needs Rust 1.93; the crate supports 1.88).
#[inline(always)]
fn copy_into(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: both slices have `src.len()` elements (checked above; the
    // check folds away for the fixed-size words), `MaybeUninit<u8>` has the
    // layout of `u8`, and a `&mut` cannot overlap a `&`.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len())
    };
}

/// The first `N` bytes of `s` (which has at least `N`).
#[inline(always)]
fn head<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut w = [0u8; N];
    w.copy_from_slice(&s[..N]);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_is_copied_exactly_after_what_the_buffer_holds() {
        let src: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for n in 0..=src.len() {
            let mut buf = vec![0xee; 3];
            append(&mut buf, n + 10, |r| {
                r.byte(0x12);
                r.bytes(&src[..n]);
                r.varint(300);
            });
            let mut want = vec![0xee, 0xee, 0xee, 0x12];
            want.extend_from_slice(&src[..n]);
            want.extend_from_slice(&[0xac, 0x02]);
            assert_eq!(buf, want, "length {n}");
        }
    }

    #[test]
    fn writing_past_the_reserved_size_panics_instead_of_overflowing() {
        let r = std::panic::catch_unwind(|| {
            let mut buf = Vec::with_capacity(64);
            append(&mut buf, 4, |r| r.bytes(b"12345"));
        });
        assert!(r.is_err());
    }
}
