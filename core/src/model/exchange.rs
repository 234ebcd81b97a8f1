//! A raw provider exchange: the request and response bodies exactly as they
//! went over the wire. Bindings hand these to core instead of picking fields
//! out of client objects, which keeps the application thread to two byte
//! copies; core's provider parsers turn them into an `LlmCall` on the worker,
//! identically for every language.

use bytes::Bytes;

use super::value::Str;

/// Which API the exchange belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    /// OpenAI (and compatible) `POST /v1/chat/completions`.
    OpenAiChatCompletions,
    /// OpenAI `POST /v1/responses`.
    OpenAiResponses,
    /// OpenAI `POST /v1/embeddings`.
    OpenAiEmbeddings,
    /// OpenAI legacy `POST /v1/completions`.
    OpenAiCompletions,
    /// Anthropic `POST /v1/messages`.
    AnthropicMessages,
}

impl ApiKind {
    /// Guesses the API from a URL path (`/v1/chat/completions` ...).
    pub fn from_path(path: &str) -> Option<ApiKind> {
        let p = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        Some(if p.ends_with("/chat/completions") {
            ApiKind::OpenAiChatCompletions
        } else if p.ends_with("/responses") {
            ApiKind::OpenAiResponses
        } else if p.ends_with("/embeddings") {
            ApiKind::OpenAiEmbeddings
        } else if p.ends_with("/completions") {
            ApiKind::OpenAiCompletions
        } else if p.ends_with("/messages") {
            ApiKind::AnthropicMessages
        } else {
            return None;
        })
    }
}

/// One request/response pair of a model API.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exchange {
    pub api: Option<ApiKind>,
    /// `gen_ai.provider.name` override (e.g. `azure.ai.openai`, `groq`);
    /// defaults from the API kind.
    pub provider: Option<Str>,
    /// The JSON request body.
    pub request_body: Bytes,
    /// The JSON response body, or the concatenated SSE stream when streaming.
    pub response_body: Bytes,
    /// Whether `response_body` is an SSE stream.
    pub streaming: bool,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Error class when the call failed (`APIStatusError`, `APITimeoutError`...).
    pub error_type: Option<Str>,
    pub error_message: Option<Str>,
    pub server_address: Option<Str>,
    pub server_port: Option<u16>,
    /// The request's URL path. Providers that take the model out of the body
    /// and into the URL (Vertex AI's `.../models/{model}:rawPredict`, Bedrock's
    /// `/model/{id}/invoke`) are read from it.
    pub url_path: Option<Str>,
    /// Streams: unix nanos of the first chunk.
    pub first_chunk_unix_nanos: Option<u64>,
    /// The stream ended before completion (closed early, cut, collected).
    pub stream_incomplete: bool,
}
