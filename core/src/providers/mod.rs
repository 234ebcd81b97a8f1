//! Provider wire parsers: raw request/response JSON (and SSE streams) of the
//! OpenAI and Anthropic APIs → `LlmCall`. Runs on the worker thread, so every
//! binding gets identical parsing.
//!
//! Parsing never fails: a body that is cut, malformed or of an unexpected
//! shape yields a call with whatever could be read. Only known fields are
//! copied, so request fields such as a stray `api_key` never reach a span.

mod anthropic;
mod common;
mod endpoint;
mod eventstream;
mod json;
mod openai_chat;
mod openai_embeddings;
mod openai_responses;
mod sse;

use crate::model::{ApiKind, Exchange, LlmCall, LlmError, Operation, Str};

/// Parses an exchange. Never fails: unparseable bodies still yield a call
/// with what is known (provider, operation, error).
pub fn parse_exchange(ex: &Exchange) -> LlmCall {
    let api = ex.api.unwrap_or(ApiKind::OpenAiChatCompletions);
    let (provider, op) = match api {
        ApiKind::AnthropicMessages => ("anthropic", Operation::Chat),
        ApiKind::OpenAiEmbeddings => ("openai", Operation::Embeddings),
        ApiKind::OpenAiCompletions => ("openai", Operation::TextCompletion),
        ApiKind::OpenAiChatCompletions | ApiKind::OpenAiResponses => ("openai", Operation::Chat),
    };
    // The binding's override, else the server's provider, else the API's.
    let provider = match (&ex.provider, &ex.server_address) {
        (Some(p), _) => p.clone(),
        (None, Some(host)) => endpoint::provider_for_host(api, host)
            .unwrap_or(provider)
            .into(),
        (None, None) => provider.into(),
    };
    let mut call = LlmCall::new(provider, op);
    call.server_address = ex.server_address.clone();
    call.server_port = ex.server_port;

    let request = String::from_utf8_lossy(&ex.request_body);
    // Bedrock streams in AWS event-stream framing, not SSE: read as the SSE
    // of the events it carries.
    let response = match eventstream::to_sse(&ex.response_body) {
        Some(sse) => std::borrow::Cow::Owned(sse),
        None => String::from_utf8_lossy(&ex.response_body),
    };
    match api {
        ApiKind::OpenAiChatCompletions | ApiKind::OpenAiCompletions => {
            openai_chat::parse_request(&mut call, &request)
        }
        ApiKind::OpenAiResponses => openai_responses::parse_request(&mut call, &request),
        ApiKind::OpenAiEmbeddings => openai_embeddings::parse_request(&mut call, &request),
        ApiKind::AnthropicMessages => anthropic::parse_request(&mut call, &request),
    }
    if call.request_model.is_none()
        && let Some(model) = ex.url_path.as_deref().and_then(endpoint::model_from_path)
    {
        call.request_model = Some(model.into());
    }
    if call.params.stream.is_none() && ex.streaming {
        call.params.stream = Some(true);
    }

    let failed = ex.status.is_some_and(|s| s >= 400);
    if !failed && !response.trim().is_empty() {
        parse_response_body(&mut call, api, ex.streaming, &response);
    }
    resolve_error(&mut call, ex, failed, &response);
    if ex.stream_incomplete {
        // A cut stream did not "stop": say so rather than let the output
        // message default to a normal finish.
        for m in call
            .output_messages
            .iter_mut()
            .filter(|m| m.finish_reason.is_none())
        {
            m.finish_reason = Some("error".into());
        }
    }
    call
}

fn parse_response_body(call: &mut LlmCall, api: ApiKind, streaming: bool, body: &str) {
    // Trust the body over the flag: a streamed request can be answered
    // with plain JSON (errors, some proxies), and a binding may not know.
    let is_stream = if streaming {
        !body.trim_start().starts_with('{')
    } else {
        sse::looks_like_sse(body)
    };
    match (api, is_stream) {
        (ApiKind::OpenAiChatCompletions | ApiKind::OpenAiCompletions, false) => {
            openai_chat::parse_response(call, body)
        }
        (ApiKind::OpenAiChatCompletions | ApiKind::OpenAiCompletions, true) => {
            openai_chat::parse_stream(call, body)
        }
        (ApiKind::OpenAiResponses, false) => openai_responses::parse_response(call, body),
        (ApiKind::OpenAiResponses, true) => openai_responses::parse_stream(call, body),
        (ApiKind::OpenAiEmbeddings, _) => openai_embeddings::parse_response(call, body),
        (ApiKind::AnthropicMessages, false) => anthropic::parse_response(call, body),
        (ApiKind::AnthropicMessages, true) => anthropic::parse_stream(call, body),
    }
}

/// `error.type`: the binding's error class wins; else, for an HTTP error,
/// the provider's error code/type from the body, or the status code. An
/// error found inside a successful response (stream `error` event, failed
/// response) is kept as parsed.
fn resolve_error(call: &mut LlmCall, ex: &Exchange, failed: bool, response: &str) {
    let (body_type, body_message) = if failed {
        common::error_from_body(response)
    } else {
        (None, None)
    };
    let parsed_message = call.error.as_mut().and_then(|e| e.message.take());
    if let Some(t) = &ex.error_type {
        call.error = Some(LlmError {
            error_type: t.clone(),
            message: ex.error_message.clone().or(body_message).or(parsed_message),
        });
    } else if failed {
        let status = ex.status.map(|s| s.to_string()).unwrap_or_default();
        call.error = Some(LlmError {
            error_type: body_type.unwrap_or_else(|| Str::from(status)),
            message: body_message.or_else(|| ex.error_message.clone()),
        });
    } else if let Some(e) = &mut call.error {
        e.message = parsed_message.or_else(|| ex.error_message.clone());
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn ex(api: ApiKind, req: &str, resp: &str) -> Exchange {
        Exchange {
            api: Some(api),
            request_body: Bytes::from(req.to_owned()),
            response_body: Bytes::from(resp.to_owned()),
            status: Some(200),
            ..Exchange::default()
        }
    }

    #[test]
    fn provider_operation_and_server_come_from_the_exchange() {
        let mut e = ex(ApiKind::OpenAiEmbeddings, r#"{"model":"m"}"#, "");
        e.provider = Some("azure.ai.openai".into());
        e.server_address = Some("x.openai.azure.com".into());
        e.server_port = Some(443);
        let c = parse_exchange(&e);
        assert_eq!(&*c.provider, "azure.ai.openai");
        assert_eq!(c.operation, Operation::Embeddings);
        assert_eq!(c.server_address.as_deref(), Some("x.openai.azure.com"));
        assert_eq!(c.server_port, Some(443));
        let c = parse_exchange(&ex(ApiKind::AnthropicMessages, "{}", ""));
        assert_eq!(&*c.provider, "anthropic");
        let c = parse_exchange(&ex(ApiKind::OpenAiCompletions, "{}", ""));
        assert_eq!(c.operation, Operation::TextCompletion);
    }

    #[test]
    fn provider_is_named_by_the_server_unless_the_binding_names_it() {
        let mut e = ex(ApiKind::OpenAiChatCompletions, r#"{"model":"m"}"#, "");
        e.server_address = Some("myres.openai.azure.com".into());
        assert_eq!(&*parse_exchange(&e).provider, "azure.ai.openai");
        e.server_address = Some("api.groq.com".into());
        assert_eq!(&*parse_exchange(&e).provider, "groq");
        e.provider = Some("my-gateway".into());
        assert_eq!(&*parse_exchange(&e).provider, "my-gateway");
        let mut e = ex(ApiKind::AnthropicMessages, "{}", "");
        e.server_address = Some("us-east5-aiplatform.googleapis.com".into());
        assert_eq!(&*parse_exchange(&e).provider, "gcp.vertex_ai");
        e.server_address = Some("127.0.0.1".into());
        assert_eq!(&*parse_exchange(&e).provider, "anthropic");
    }

    #[test]
    fn a_bedrock_stream_is_parsed_with_its_model_from_the_path() {
        use super::eventstream::tests::chunk;
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"usage":{"input_tokens":7,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello "}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#,
            r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":7}}"#,
        ];
        let mut e = ex(
            ApiKind::AnthropicMessages,
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#,
            "",
        );
        e.response_body = events
            .iter()
            .flat_map(|ev| chunk(ev))
            .collect::<Vec<u8>>()
            .into();
        e.streaming = true;
        e.server_address = Some("bedrock-runtime.us-east-1.amazonaws.com".into());
        e.url_path = Some(
            "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream"
                .into(),
        );
        let c = parse_exchange(&e);
        assert_eq!(&*c.provider, "aws.bedrock");
        assert_eq!(
            c.request_model.as_deref(),
            Some("us.anthropic.claude-haiku-4-5-20251001-v1:0")
        );
        assert_eq!(
            c.response_model.as_deref(),
            Some("claude-haiku-4-5-20251001")
        );
        assert_eq!(c.usage.input_tokens, Some(7));
        assert_eq!(c.usage.output_tokens, Some(3));
        assert_eq!(c.finish_reasons, vec![Str::from("end_turn")]);
        let out = &c.output_messages[0].parts[0];
        assert_eq!(out, &crate::model::Part::text("Hello there"));
    }

    #[test]
    fn binding_error_type_wins_and_status_falls_back_to_body_then_code() {
        let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let mut e = ex(ApiKind::AnthropicMessages, "{}", body);
        e.status = Some(429);
        let c = parse_exchange(&e);
        let err = c.error.unwrap();
        assert_eq!(&*err.error_type, "rate_limit_error");
        assert_eq!(err.message.as_deref(), Some("slow down"));

        e.error_type = Some("RateLimitError".into());
        let err = parse_exchange(&e).error.unwrap();
        assert_eq!(&*err.error_type, "RateLimitError");
        assert_eq!(err.message.as_deref(), Some("slow down"));

        let mut e = ex(
            ApiKind::OpenAiChatCompletions,
            "{}",
            "<html>Bad gateway</html>",
        );
        e.status = Some(502);
        let err = parse_exchange(&e).error.unwrap();
        assert_eq!(&*err.error_type, "502");
        assert_eq!(err.message, None);

        let mut e = ex(ApiKind::OpenAiChatCompletions, "{}", "");
        e.status = None;
        e.error_type = Some("APITimeoutError".into());
        e.error_message = Some("Request timed out.".into());
        let err = parse_exchange(&e).error.unwrap();
        assert_eq!(&*err.error_type, "APITimeoutError");
        assert_eq!(err.message.as_deref(), Some("Request timed out."));
    }

    #[test]
    fn successful_exchange_has_no_error() {
        let c = parse_exchange(&ex(
            ApiKind::OpenAiChatCompletions,
            r#"{"model":"gpt-4o","messages":[]}"#,
            r#"{"id":"x","choices":[]}"#,
        ));
        assert_eq!(c.error, None);
    }

    #[test]
    fn streamed_request_answered_with_json_is_parsed_as_json() {
        let mut e = ex(
            ApiKind::OpenAiChatCompletions,
            r#"{"model":"gpt-4o"}"#,
            r#"{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#,
        );
        e.streaming = true;
        let c = parse_exchange(&e);
        assert_eq!(c.params.stream, Some(true));
        assert_eq!(c.output_messages.len(), 1);
        assert_eq!(c.response_id.as_deref(), Some("chatcmpl-1"));
    }

    #[test]
    fn invalid_utf8_costs_only_the_bad_bytes() {
        let mut req = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"caf"#.to_vec();
        req.extend_from_slice(&[0xff, 0xfe]);
        req.extend_from_slice(br#""}]}"#);
        let mut e = ex(ApiKind::OpenAiChatCompletions, "", "");
        e.request_body = Bytes::from(req);
        let c = parse_exchange(&e);
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o"));
        assert_eq!(c.input_messages.len(), 1);
    }
}
