//! The span model shared by every binding.

mod exchange;
mod ids;
mod llm_call;
mod span;
mod text;
mod value;

pub use exchange::{ApiKind, Exchange};
pub use ids::{SpanId, TraceId};
pub use llm_call::{
    LlmCall, LlmError, Message, Operation, Part, Parts, RequestParams, ToolDefinition, Usage,
};
pub use span::{Event, SpanKind, SpanRecord, Status, StatusCode, now_unix_nanos};
pub(crate) use value::str_addr;
pub use value::{KeyValue, Str, Value, str_from_bytes_lossy};
