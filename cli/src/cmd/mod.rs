//! The subcommands, and the span columns they share.

pub mod replay;
pub mod stats;
pub mod tail;
pub mod view;

use crate::format;
use crate::span::SpanInfo;

/// The per-span columns shown by `view` and `tail`, as plain text (styled when printed).
pub struct Columns {
    pub duration: String,
    pub model: String,
    pub tokens: String,
    /// Empty for spans that are not model calls; `$?` for a model call without a price.
    pub cost: String,
    /// `✗ error.type`, or empty.
    pub error: String,
}

impl Columns {
    pub fn of(span: &SpanInfo) -> Columns {
        let model_call = span.is_model_call();
        Columns {
            duration: format::duration(span.duration_ns()),
            model: span.model.clone().unwrap_or_default(),
            tokens: format::tokens(span.input_tokens, span.output_tokens, span.estimated),
            cost: match span.cost_usd {
                Some(c) => format::cost(c),
                None if model_call => "$?".into(),
                None => String::new(),
            },
            error: span
                .error
                .as_deref()
                .map(|e| format!("✗ {}", format::ellipsize(e, 60)))
                .unwrap_or_default(),
        }
    }
}
