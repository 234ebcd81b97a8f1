//! The leading attributes of a model call — operation, provider, request
//! and response model — as the protobuf writer last wrote them. An
//! application calls the same few models over and over, so the next call
//! usually writes exactly these bytes again: they are copied instead (four
//! key-value writes were a tenth of the worker's instructions per span).

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
