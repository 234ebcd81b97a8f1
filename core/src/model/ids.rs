//! Trace and span identifiers (W3C trace-context sizes).

use std::fmt;

/// 16-byte trace id. All-zero is invalid, as in W3C trace-context.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// 8-byte span id. All-zero is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// A random, valid trace id. Uses a fast non-cryptographic generator: ids
    /// only need to be unique, and this runs on the application's thread.
    pub fn random() -> Self {
        loop {
            let v = fastrand::u128(..).to_be_bytes();
            if v != [0; 16] {
                return TraceId(v);
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }

    /// The low 8 bytes as an integer: what W3C's "random trace id flag" and the
    /// OTel `TraceIdRatioBased` sampler use for consistent decisions.
    pub fn low_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(b)
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 32 hex digits; `None` for anything else or the all-zero id.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 16];
        parse_hex(s, &mut out)?;
        let id = TraceId(out);
        id.is_valid().then_some(id)
    }
}

impl SpanId {
    pub const INVALID: SpanId = SpanId([0; 8]);

    pub fn random() -> Self {
        loop {
            let v = fastrand::u64(..).to_be_bytes();
            if v != [0; 8] {
                return SpanId(v);
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 8];
        parse_hex(s, &mut out)?;
        let id = SpanId(out);
        id.is_valid().then_some(id)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

fn parse_hex(s: &str, out: &mut [u8]) -> Option<()> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(())
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.to_hex())
    }
}
impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({})", self.to_hex())
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_invalid() {
        let t = TraceId::random();
        assert_eq!(TraceId::from_hex(&t.to_hex()), Some(t));
        assert_eq!(TraceId::from_hex(&"0".repeat(32)), None);
        assert_eq!(TraceId::from_hex("xyz"), None);
        assert_eq!(TraceId::from_hex(&"g".repeat(32)), None);
        let s = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(s.to_hex(), "00f067aa0ba902b7");
    }
}
