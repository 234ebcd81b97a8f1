//! Attribute limits (`OTEL_ATTRIBUTE_COUNT_LIMIT`, `..._VALUE_LENGTH_LIMIT`,
//! `OTEL_SPAN_EVENT_COUNT_LIMIT`), applied on the worker. What they remove is
//! counted on the span (`dropped_attributes_count`) and in `stats()`.

use crate::config::Limits;
use crate::model::{KeyValue, SpanRecord, Str, Value};

/// What applying the limits removed from one record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub attributes_dropped: u32,
    pub values_truncated: u32,
    pub events_dropped: u32,
}

/// Cuts `s` to at most `max` bytes on a char boundary.
pub fn truncate_str(s: &Str, max: usize) -> Option<Str> {
    if s.len() <= max {
        return None;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(Str::from(&s[..end]))
}

fn limit_value(v: &mut Value, max: usize) -> bool {
    match v {
        Value::Str(s) | Value::Json(s) => {
            if let Some(t) = truncate_str(s, max) {
                *v = Value::Str(t);
                return true;
            }
            false
        }
        Value::StrArray(a) => {
            let mut any = false;
            for s in a.iter_mut() {
                if let Some(t) = truncate_str(s, max) {
                    *s = t;
                    any = true;
                }
            }
            any
        }
        _ => false,
    }
}

/// Attribute sets up to this size are checked for duplicate keys pairwise:
/// cheaper than hashing every key, and spans rarely carry more.
const PAIRWISE_MAX: usize = 16;

/// Whether two attributes share a key. Small sets (nearly every span) are
/// compared pairwise without allocating; larger ones are assumed to.
fn has_duplicates(attrs: &[KeyValue]) -> bool {
    if attrs.len() > PAIRWISE_MAX {
        return true;
    }
    attrs
        .iter()
        .enumerate()
        .any(|(i, a)| attrs[i + 1..].iter().any(|b| a.key == b.key))
}

fn limit_attrs(attrs: &mut Vec<KeyValue>, limits: &Limits, applied: &mut Applied) {
    // Pathological inputs (millions of attributes) are cut before the
    // de-duplication below so its cost stays bounded.
    let hard_cap = limits.attribute_count.saturating_mul(16).max(64);
    if attrs.len() > hard_cap {
        applied.attributes_dropped += (attrs.len() - hard_cap) as u32;
        attrs.truncate(hard_cap);
    }
    // Later duplicates of a key win, as with OTel's set_attribute.
    if has_duplicates(attrs) {
        let mut seen = std::collections::HashSet::with_capacity(attrs.len());
        let mut keep: Vec<bool> = vec![true; attrs.len()];
        for (i, kv) in attrs.iter().enumerate().rev() {
            if !seen.insert(kv.key.clone()) {
                keep[i] = false;
            }
        }
        let mut i = 0;
        attrs.retain(|_| {
            let k = keep[i];
            i += 1;
            k
        });
    }
    if attrs.len() > limits.attribute_count {
        applied.attributes_dropped += (attrs.len() - limits.attribute_count) as u32;
        attrs.truncate(limits.attribute_count);
    }
    for kv in attrs.iter_mut() {
        if limit_value(&mut kv.value, limits.attribute_value_length) {
            applied.values_truncated += 1;
        }
    }
}

/// Applies the limits to the free attributes and events of `r`. Content
/// attributes of the typed `LlmCall` are bounded by the redaction stage's
/// per-part truncation instead.
pub fn apply(r: &mut SpanRecord, limits: &Limits) -> Applied {
    let mut applied = Applied::default();
    limit_attrs(&mut r.attributes, limits, &mut applied);
    if r.events.len() > limits.event_count {
        applied.events_dropped = (r.events.len() - limits.event_count) as u32;
        r.events.truncate(limits.event_count);
    }
    for e in r.events.iter_mut() {
        limit_attrs(&mut e.attributes, limits, &mut applied);
    }
    if let Some(t) = truncate_str(&r.name, limits.attribute_value_length) {
        r.name = t;
        applied.values_truncated += 1;
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            attribute_count: 3,
            attribute_value_length: 5,
            event_count: 1,
        }
    }

    #[test]
    fn count_length_and_duplicates() {
        let mut r = SpanRecord::new("s");
        r.attributes = vec![
            KeyValue::new("a", "1"),
            KeyValue::new("a", "2"),
            KeyValue::new("b", "héllo wörld"),
            KeyValue::new("c", 1i64),
            KeyValue::new("d", true),
        ];
        let applied = apply(&mut r, &limits());
        assert_eq!(r.attributes.len(), 3);
        assert_eq!(r.attributes[0], KeyValue::new("a", "2"));
        assert_eq!(
            r.attributes[1].value,
            Value::Str("héll".into()),
            "cut on a char boundary"
        );
        assert_eq!(applied.attributes_dropped, 1);
        assert_eq!(applied.values_truncated, 1);
    }

    #[test]
    fn a_million_attributes_are_bounded() {
        let mut r = SpanRecord::new("s");
        r.attributes = (0..1_000_000)
            .map(|i| KeyValue::new(format!("k{i}"), i as i64))
            .collect();
        let applied = apply(&mut r, &limits());
        assert_eq!(r.attributes.len(), 3);
        assert_eq!(applied.attributes_dropped, 999_997);
    }
}
