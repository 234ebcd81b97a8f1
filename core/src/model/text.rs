//! `Str`, the string of every record field: short texts (roles, model and
//! provider names, attribute keys, most ids) are stored inline, longer ones
//! (prompts, completions) behind an `Arc<str>` so a binding hands them over
//! once and the worker shares them without copying.
//!
//! Inline texts cost the recording thread no allocation and the export
//! worker no free of memory another thread allocated (a cross-thread free
//! is several times a local one), and no reference count both threads
//! write.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// Longest text stored inline: with its length byte and the variant tag,
/// a `Str` is three words either way.
pub const INLINE_MAX: usize = 22;

/// An immutable string; cloning never copies text.
#[derive(Clone)]
pub struct Str(Repr);

/// Invariant: `Inline` exactly when the text has at most `INLINE_MAX` bytes,
/// and the inline bytes past `len` are zero (equality relies on both).
#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_MAX] },
    Shared(Arc<str>),
}

impl Str {
    /// Stored inline when short, shared otherwise.
    pub fn new(s: &str) -> Str {
        if s.len() <= INLINE_MAX {
            let mut bytes = [0u8; INLINE_MAX];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Str(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            Str(Repr::Shared(Arc::from(s)))
        }
    }

    /// Takes over an owned text: copied inline when short (the owner is
    /// dropped), moved into the shared allocation otherwise.
    fn owned<T: Deref<Target = str> + Into<Arc<str>>>(s: T) -> Str {
        if s.len() <= INLINE_MAX {
            Str::new(&s)
        } else {
            Str(Repr::Shared(s.into()))
        }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                // SAFETY: inline bytes are only ever copied whole from a
                // `&str` (`Str::new`), so the first `len` form valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(bytes.get_unchecked(..*len as usize)) }
            }
            Repr::Shared(s) => s,
        }
    }

    /// The shared allocation, for long texts.
    #[inline]
    pub(crate) fn shared(&self) -> Option<&Arc<str>> {
        match &self.0 {
            Repr::Shared(s) => Some(s),
            Repr::Inline { .. } => None,
        }
    }

    /// A short text as three words (its length, then its bytes
    /// zero-padded): hashing them takes no per-length branches.
    #[inline]
    pub(crate) fn inline_words(&self) -> Option<[u64; 3]> {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let mut w = [0u8; 24];
                w[0] = *len;
                w[1..1 + INLINE_MAX].copy_from_slice(bytes);
                let word = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&w[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(b)
                };
                Some([word(0), word(1), word(2)])
            }
            Repr::Shared(_) => None,
        }
    }

    /// Both are the same shared allocation.
    #[inline]
    pub fn ptr_eq(a: &Str, b: &Str) -> bool {
        match (&a.0, &b.0) {
            (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::new("")
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Str {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Str) -> bool {
        match (&self.0, &other.0) {
            // Unused inline bytes are zero: a few word compares, no memcmp.
            (Repr::Inline { len: a, bytes: x }, Repr::Inline { len: b, bytes: y }) => {
                a == b && x == y
            }
            (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b) || a == b,
            // A text is inline exactly when it is short: lengths differ.
            _ => false,
        }
    }
}
impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == other.as_str()
    }
}
impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

/// Hashes as the `str` it holds (`Borrow<str>` lookups depend on it).
impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Str {
    #[inline]
    fn from(s: &str) -> Str {
        Str::new(s)
    }
}
impl From<&String> for Str {
    fn from(s: &String) -> Str {
        Str::new(s)
    }
}
impl From<String> for Str {
    fn from(s: String) -> Str {
        Str::owned(s)
    }
}
impl From<Box<str>> for Str {
    fn from(s: Box<str>) -> Str {
        Str::owned(s)
    }
}
impl From<Cow<'_, str>> for Str {
    fn from(s: Cow<'_, str>) -> Str {
        match s {
            Cow::Borrowed(b) => Str::new(b),
            Cow::Owned(o) => o.into(),
        }
    }
}
impl From<Arc<str>> for Str {
    fn from(s: Arc<str>) -> Str {
        Str::owned(s)
    }
}
impl From<&Str> for Str {
    fn from(s: &Str) -> Str {
        s.clone()
    }
}
impl From<Str> for String {
    fn from(s: Str) -> String {
        s.as_str().to_string()
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        Ok(s.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_round_trips_and_short_ones_are_inline() {
        let text = "ab\u{e9}cd\u{1f600}efghijklmnopqrstuvwxyz0123456789";
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let s = &text[..end];
            for v in [
                Str::from(s),
                Str::from(s.to_string()),
                Str::from(Arc::<str>::from(s)),
            ] {
                assert_eq!(v.as_str(), s);
                assert_eq!(v.shared().is_none(), s.len() <= INLINE_MAX, "{s:?}");
                assert_eq!(v, Str::from(s));
                assert_eq!(v.clone().as_str(), s);
            }
        }
        // Words tell texts apart by length too (padding is zero).
        let w = |s: &str| Str::from(s).inline_words();
        assert_ne!(w("a"), w("a\0"));
        assert_eq!(w("gpt-4o"), w(&String::from("gpt-4o")));
        assert_eq!(w(&"x".repeat(INLINE_MAX + 1)), None);
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Option<Str>>(), 24);
    }

    #[test]
    fn long_texts_are_shared_by_clones_and_hash_as_str() {
        use std::collections::HashMap;
        let long = Str::from("x".repeat(100));
        let copy = long.clone();
        assert!(Str::ptr_eq(&long, &copy));
        assert!(!Str::ptr_eq(&long, &Str::from("x".repeat(100))));
        let mut m: HashMap<Str, u8> = HashMap::new();
        m.insert(Str::from("gpt-4o"), 1);
        m.insert(long.clone(), 2);
        assert_eq!(m.get("gpt-4o"), Some(&1));
        assert_eq!(m.get(&*"x".repeat(100)), Some(&2));
    }
}
