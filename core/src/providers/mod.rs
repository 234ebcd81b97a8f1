//! Provider wire parsers: raw request/response JSON (and SSE streams) of the
//! OpenAI and Anthropic APIs → `LlmCall`. Runs on the worker thread, so every
//! binding gets identical parsing.

use crate::model::{ApiKind, Exchange, LlmCall, LlmError, Operation};

/// Parses an exchange. Never fails: unparseable bodies still yield a call
/// with what is known (provider, operation, error).
pub fn parse_exchange(ex: &Exchange) -> LlmCall {
    let (provider, op) = match ex.api {
        Some(ApiKind::AnthropicMessages) => ("anthropic", Operation::Chat),
        Some(ApiKind::OpenAiEmbeddings) => ("openai", Operation::Embeddings),
        Some(ApiKind::OpenAiCompletions) => ("openai", Operation::TextCompletion),
        _ => ("openai", Operation::Chat),
    };
    let mut call = LlmCall::new(ex.provider.clone().unwrap_or_else(|| provider.into()), op);
    call.server_address = ex.server_address.clone();
    call.server_port = ex.server_port;
    if let Some(t) = &ex.error_type {
        call.error = Some(LlmError {
            error_type: t.clone(),
            message: ex.error_message.clone(),
        });
    }
    call
}
