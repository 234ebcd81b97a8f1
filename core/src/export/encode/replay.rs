//! Attribute bytes the protobuf writer wrote before, copied again when the
//! same values come back. An application calls the same few models for the
//! same users, sessions and features over and over, so most of a span's
//! short attributes are exactly the bytes of an earlier span (their
//! key-value writes were a sixth of the worker's instructions per span).
//!
//! - [`CallHead`]: a call's leading attributes (operation, provider, request
//!   and response model), as the last call wrote them;
//! - [`Pairs`]: a span's short free attributes (user, session, feature),
//!   by position, as the last span wrote them.

use crate::model::{LlmCall, Operation, Str};

/// The last call head written, and its bytes.
#[derive(Default)]
pub(crate) struct CallHead {
    key: Option<Key>,
    bytes: Vec<u8>,
}

/// Everything the head's bytes depend on.
#[derive(PartialEq)]
struct Key {
    field: u32,
    operation: Operation,
    provider: Str,
    request_model: Option<Str>,
    response_model: Option<Str>,
}

impl Key {
    fn is(&self, field: u32, call: &LlmCall) -> bool {
        self.field == field
            && self.operation == call.operation
            && self.provider == call.provider
            && self.request_model == call.request_model
            && self.response_model == call.response_model
    }
}

impl CallHead {
    /// The bytes written last time, when `call` would write the same.
    pub fn replay(&self, field: u32, call: &LlmCall) -> Option<&[u8]> {
        self.key
            .as_ref()
            .filter(|k| k.is(field, call))
            .map(|_| self.bytes.as_slice())
    }

    /// Remembers `bytes` as what `call`'s head writes.
    pub fn keep(&mut self, field: u32, call: &LlmCall, bytes: &[u8]) {
        self.key = Some(Key {
            field,
            operation: call.operation,
            provider: call.provider.clone(),
            request_model: call.request_model.clone(),
            response_model: call.response_model.clone(),
        });
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
    }
}

/// Free attributes remembered per span (the first ones; instrumentations
/// set them in the same order on every call).
const PAIRS: usize = 16;
/// Longest pair kept: a 22-byte key and value with their tags and lengths
/// take 51 bytes.
const PAIR_MAX: usize = 56;

/// The short free attributes of the last span, by position: the n-th pair
/// of the next span is copied when it has the same key and value.
pub(crate) struct Pairs {
    slots: Box<[Option<Pair>]>,
}

struct Pair {
    field: u32,
    key: Str,
    value: Str,
    len: u8,
    bytes: [u8; PAIR_MAX],
}

impl Default for Pairs {
    fn default() -> Self {
        Pairs {
            slots: (0..PAIRS).map(|_| None).collect(),
        }
    }
}

impl Pairs {
    /// The bytes written for the `i`-th pair of the last span, when it was
    /// this one.
    #[inline]
    pub fn replay(&self, i: usize, field: u32, key: &Str, value: &Str) -> Option<&[u8]> {
        match self.slots.get(i)? {
            Some(p) if p.field == field && p.key == *key && p.value == *value => {
                Some(&p.bytes[..p.len as usize])
            }
            _ => None,
        }
    }

    /// Remembers `bytes` as the `i`-th pair's: only short texts (inline:
    /// a copy, no count to touch) whose bytes fit.
    pub fn keep(&mut self, i: usize, field: u32, key: &Str, value: &Str, bytes: &[u8]) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if key.shared().is_some() || value.shared().is_some() || bytes.len() > PAIR_MAX {
            *slot = None;
            return;
        }
        let mut b = [0u8; PAIR_MAX];
        b[..bytes.len()].copy_from_slice(bytes);
        *slot = Some(Pair {
            field,
            key: key.clone(),
            value: value.clone(),
            len: bytes.len() as u8,
            bytes: b,
        });
    }
}
