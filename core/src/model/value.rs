//! Attribute values. Strings are `Str`: short ones inline, long ones an
//! `Arc<str>` so a binding can hand prompt text over once and the worker can
//! share it without copying (copying prompt text is the largest cost on the
//! application thread; see DESIGN.md).

pub use super::text::Str;

/// Builds a [`Str`] from bytes that crossed an FFI boundary: invalid UTF-8 is
/// replaced (U+FFFD), never rejected, so tracing cannot fail on odd input.
pub fn str_from_bytes_lossy(bytes: &[u8]) -> Str {
    String::from_utf8_lossy(bytes).into()
}

/// Heap bytes an `Arc<str>` costs beyond its text: the two counters and the
/// allocator's header and rounding (measured: without it, queued records
/// used a third more memory than the byte budget said).
pub const STR_OVERHEAD: usize = 32;

/// Heap bytes a string adds to memory: none inline; a shared allocation
/// split across the records holding it (prompts repeated across calls of an
/// agent are often one allocation). One atomic load; used to bound the queue
/// by bytes.
#[inline]
pub fn shared_len(s: &Str) -> usize {
    s.shared().map_or(0, |a| {
        (a.len() + STR_OVERHEAD) / std::sync::Arc::strong_count(a).max(1)
    })
}

/// The address of a shared string's allocation (0 for an inline one): the
/// worker's memos recognise a long text handed over again in the same `Arc`
/// by it (each memo holds the `Str`, so the address is not reused while the
/// entry lives, and confirms a hit with [`Str::ptr_eq`]).
#[inline]
pub(crate) fn str_addr(s: &Str) -> usize {
    s.shared()
        .map_or(0, |a| std::sync::Arc::as_ptr(a).cast::<u8>() as usize)
}

/// An attribute value, as in OpenTelemetry (no maps: nested data travels as
/// JSON text, see `Value::Json`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Str),
    Bool(bool),
    Int(i64),
    /// May be NaN or infinite; exporters encode those without failing.
    Float(f64),
    StrArray(Vec<Str>),
    IntArray(Vec<i64>),
    FloatArray(Vec<f64>),
    BoolArray(Vec<bool>),
    /// JSON text for structured values (exported as a string attribute).
    Json(Str),
}

impl Value {
    /// Approximate heap bytes, used to bound the queue by bytes.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Value::Str(s) | Value::Json(s) => shared_len(s),
            Value::StrArray(v) => v.iter().map(|s| shared_len(s) + 16).sum::<usize>() + 16,
            Value::IntArray(v) => v.len() * 8,
            Value::FloatArray(v) => v.len() * 8,
            Value::BoolArray(v) => v.len(),
            _ => 0,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(Str::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Str::from(s))
    }
}
impl From<Str> for Value {
    fn from(s: Str) -> Self {
        Value::Str(s)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: Str,
    pub value: Value,
}

impl KeyValue {
    pub fn new(key: impl Into<Str>, value: impl Into<Value>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}
