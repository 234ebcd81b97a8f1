//! A fast seeded hash for the worker's per-record lookups (the redaction
//! cache, the metrics series). SipHash, std's default, took a sixth of the
//! export worker's time on 2.5 KB prompts. This is the folded-multiply
//! construction of wyhash / foldhash, seeded per map from std's random
//! state, so keys an outsider influences (model or feature names) cannot be
//! aimed at one bucket without knowing the seed.

use std::hash::{BuildHasher, Hasher};

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// 64×64→128-bit multiply, halves folded.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128).wrapping_mul(b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Up to eight bytes as a word (shorter input zero-extended). Fixed-size
/// loads: a variable-length copy became a `memcpy` call per word, which
/// dominated hashing the short strings of metric keys and attribute values.
#[inline]
fn word(b: &[u8]) -> u64 {
    if let Some(w) = b.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    if let Some(w) = b.first_chunk::<4>() {
        // 4..=7 bytes: the first four and the last four (overlapping).
        let lo = u32::from_le_bytes(*w) as u64;
        let hi = b
            .last_chunk::<4>()
            .map_or(0, |w| u32::from_le_bytes(*w) as u64);
        return lo | (hi << ((b.len() - 4) * 8));
    }
    // 0..=3 bytes.
    b.iter()
        .enumerate()
        .fold(0, |w, (i, &x)| w | ((x as u64) << (i * 8)))
}

/// Hash of `bytes` under `seed`. Four independent lanes of 16 bytes per
/// step keep the multipliers busy on long texts (the redaction cache hashes
/// every prompt message).
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut a = seed ^ fold_mul(bytes.len() as u64 ^ K0, seed ^ K1);
    if bytes.len() <= 16 {
        // Ids, names and keys: one step, without the lanes' setup.
        let (lo, hi) = bytes.split_at(bytes.len().min(8));
        let h = fold_mul(word(lo) ^ K0 ^ a, word(hi) ^ K1 ^ seed);
        return fold_mul(h ^ K2, seed ^ K0);
    }
    let mut b = seed.rotate_left(23) ^ K2;
    let mut c = seed.rotate_left(41) ^ K1;
    let mut d = seed.rotate_left(7) ^ K0;
    let mut chunks = bytes.chunks_exact(64);
    for x in &mut chunks {
        a = fold_mul(word(&x[..8]) ^ K0 ^ a, word(&x[8..16]) ^ K1 ^ seed);
        b = fold_mul(word(&x[16..24]) ^ K2 ^ b, word(&x[24..32]) ^ K0 ^ seed);
        c = fold_mul(word(&x[32..40]) ^ K1 ^ c, word(&x[40..48]) ^ K2 ^ seed);
        d = fold_mul(word(&x[48..56]) ^ K0 ^ d, word(&x[56..64]) ^ K1 ^ seed);
    }
    let mut h = a ^ b.rotate_left(29) ^ c.rotate_left(17) ^ d.rotate_left(43);
    for x in chunks.remainder().chunks(16) {
        let (lo, hi) = x.split_at(x.len().min(8));
        h = fold_mul(word(lo) ^ K0 ^ h, word(hi) ^ K1 ^ seed);
    }
    fold_mul(h ^ K2, seed ^ K0)
}

/// A cheap digest of a short name (its length, first and last eight bytes)
/// to fold into a seed: it separates the few names a map sees (attribute
/// keys) without hashing them whole. Not a hash: lookups keyed with it must
/// compare the name.
pub(crate) fn name_mix(name: &[u8]) -> u64 {
    let n = name.len();
    let first = word(&name[..n.min(8)]);
    let last = word(&name[n.saturating_sub(8)..]);
    fold_mul(first ^ K1 ^ n as u64, last ^ K2)
}

/// Hash of two short texts given as words (`Str::inline_words`): a few
/// multiplications, no branches on their lengths.
#[inline]
pub(crate) fn hash_words(seed: u64, a: [u64; 3], b: [u64; 3]) -> u64 {
    let x = fold_mul(a[0] ^ K0 ^ seed, b[0] ^ K1);
    let y = fold_mul(a[1] ^ K2, b[1] ^ seed);
    let z = fold_mul(a[2] ^ b[2].rotate_left(29) ^ K1, seed ^ K2);
    fold_mul(x ^ y.rotate_left(23) ^ z, K0 ^ seed)
}

/// The slot of a hash in a direct-mapped table of `slots` (a power of
/// two): its top bits, the best mixed.
#[inline]
pub(crate) fn slot_of(h: u64, slots: usize) -> usize {
    debug_assert!(slots.is_power_of_two() && slots > 1);
    (h >> (64 - slots.trailing_zeros())) as usize
}

/// The slot of an allocation's address in a direct-mapped table of
/// `slots` (a power of two). Heap addresses are at least 16-byte aligned:
/// the low bits carry nothing, the rest is spread by one multiplication.
#[inline]
pub(crate) fn addr_slot(addr: usize, slots: usize) -> usize {
    slot_of(
        (addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        slots,
    )
}

/// A random seed from std's per-process random state.
pub(crate) fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x7474_u64)
}

/// `BuildHasher` for maps keyed by strings the worker sees per record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastState {
    seed: u64,
}

impl Default for FastState {
    fn default() -> Self {
        FastState {
            seed: random_seed(),
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher {
            seed: self.seed,
            h: self.seed,
        }
    }
}

pub(crate) struct FastHasher {
    seed: u64,
    h: u64,
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        fold_mul(self.h ^ K2, self.seed ^ K1)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.h = hash_bytes(self.seed ^ self.h, bytes);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.h = fold_mul(self.h ^ n ^ K0, self.seed ^ K1);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_of_either_text_changes_the_word_hash() {
        let a = [
            0x0123_4567_89ab_cdef_u64,
            0x1111_2222_3333_4444,
            0x5555_6666_7777,
        ];
        let b = [
            0x0f0e_0d0c_0b0a_0908_u64,
            0x7777_6666_5555_4444,
            0x3333_2222_1111,
        ];
        let base = hash_words(7, a, b);
        let mut seen = std::collections::HashSet::new();
        for w in 0..6 {
            for bit in 0..64 {
                let (mut x, mut y) = (a, b);
                if w < 3 {
                    x[w] ^= 1 << bit;
                } else {
                    y[w - 3] ^= 1 << bit;
                }
                let h = hash_words(7, x, y);
                assert_ne!(h, base, "word {w} bit {bit}");
                seen.insert(h >> 53);
            }
        }
        assert!(seen.len() > 250, "top bits spread: {}", seen.len());
        assert_ne!(hash_words(8, a, b), base, "the seed matters");
    }

    #[test]
    fn words_are_the_bytes_zero_extended() {
        let bytes: Vec<u8> = (1..=9).collect();
        for n in 0..=9 {
            let mut w = [0u8; 8];
            let k = n.min(8);
            w[..k].copy_from_slice(&bytes[..k]);
            assert_eq!(word(&bytes[..n]), u64::from_le_bytes(w), "{n} bytes");
        }
    }

    #[test]
    fn lengths_seeds_and_every_byte_position_change_the_hash() {
        let mut seen = std::collections::HashSet::new();
        for len in 0..100 {
            assert!(seen.insert(hash_bytes(1, &vec![b'a'; len])), "len {len}");
        }
        let base = vec![b'x'; 300];
        for i in 0..base.len() {
            let mut other = base.clone();
            other[i] = b'y';
            assert_ne!(hash_bytes(1, &base), hash_bytes(1, &other), "byte {i}");
        }
        assert_ne!(hash_bytes(1, &base), hash_bytes(2, &base));
    }

    #[test]
    fn string_keys_in_a_map() {
        let mut m: std::collections::HashMap<String, usize, FastState> = Default::default();
        for i in 0..1000 {
            m.insert(format!("model-{i}"), i);
        }
        assert!((0..1000).all(|i| m[&format!("model-{i}")] == i));
        // Adjacent tuple fields do not run together.
        let s = FastState::default();
        assert_ne!(s.hash_one(("ab", "c")), s.hash_one(("a", "bc")));
    }
}
