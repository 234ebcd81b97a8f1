//! `LlmCall` → OpenTelemetry GenAI attributes (latest released conventions).
//! The OpenInference projection for Arize Phoenix can sit beside this module
//! and take the same input.

use super::AttrSink;
use super::keys::*;
use super::messages::Content;
use crate::model::{LlmCall, Operation};

/// Default span name per the conventions: `{operation} {model}` or
/// `execute_tool {tool}` / `invoke_agent {agent}`.
pub fn span_name(call: &LlmCall) -> String {
    let op = call.operation.as_str();
    let target = match call.operation {
        Operation::ExecuteTool => call.tool_name.as_deref(),
        Operation::InvokeAgent | Operation::CreateAgent => call.agent_name.as_deref(),
        _ => call
            .request_model
            .as_deref()
            .or(call.response_model.as_deref()),
    };
    match target {
        Some(t) if !t.is_empty() => format!("{op} {t}"),
        _ => op.to_string(),
    }
}

/// Appends the call's attributes to `out`.
pub fn append_attributes<S: AttrSink>(call: &LlmCall, content: bool, out: &mut S) {
    let opt = |out: &mut S, k: &str, v: &Option<crate::model::Str>| {
        if let Some(v) = v {
            out.str(k, v);
        }
    };
    // What the head writes depends on these four fields only (`CallHead`).
    out.call_head(call, |out| {
        out.str(GEN_AI_OPERATION_NAME, call.operation.as_str());
        out.str(GEN_AI_PROVIDER_NAME, &call.provider);
        opt(out, GEN_AI_REQUEST_MODEL, &call.request_model);
        opt(out, GEN_AI_RESPONSE_MODEL, &call.response_model);
    });
    opt(out, GEN_AI_RESPONSE_ID, &call.response_id);
    opt(out, GEN_AI_CONVERSATION_ID, &call.conversation_id);
    opt(out, SERVER_ADDRESS, &call.server_address);
    if let Some(p) = call.server_port {
        out.i64(SERVER_PORT, p as i64);
    }

    let p = &call.params;
    if let Some(v) = p.temperature {
        out.f64(GEN_AI_REQUEST_TEMPERATURE, v);
    }
    if let Some(v) = p.max_tokens {
        out.i64(GEN_AI_REQUEST_MAX_TOKENS, v as i64);
    }
    if let Some(v) = p.top_p {
        out.f64(GEN_AI_REQUEST_TOP_P, v);
    }
    if let Some(v) = p.top_k {
        out.f64(GEN_AI_REQUEST_TOP_K, v);
    }
    if let Some(v) = p.frequency_penalty {
        out.f64(GEN_AI_REQUEST_FREQUENCY_PENALTY, v);
    }
    if let Some(v) = p.presence_penalty {
        out.f64(GEN_AI_REQUEST_PRESENCE_PENALTY, v);
    }
    if !p.stop_sequences.is_empty() {
        out.str_array(GEN_AI_REQUEST_STOP_SEQUENCES, &p.stop_sequences);
    }
    if let Some(v) = p.seed {
        out.i64(GEN_AI_REQUEST_SEED, v);
    }
    if let Some(v) = p.choice_count.filter(|c| *c != 1) {
        out.i64(GEN_AI_REQUEST_CHOICE_COUNT, v as i64);
    }
    if let Some(v) = p.stream {
        out.bool(GEN_AI_REQUEST_STREAM, v);
    }
    opt(out, GEN_AI_OUTPUT_TYPE, &p.output_type);
    if !p.encoding_formats.is_empty() {
        out.str_array(GEN_AI_REQUEST_ENCODING_FORMATS, &p.encoding_formats);
    }

    if !call.finish_reasons.is_empty() {
        out.str_array(GEN_AI_RESPONSE_FINISH_REASONS, &call.finish_reasons);
    }
    let u = &call.usage;
    let tok = |out: &mut S, k: &str, v: Option<u64>| {
        if let Some(v) = v {
            out.i64(k, v.min(i64::MAX as u64) as i64);
        }
    };
    tok(out, GEN_AI_USAGE_INPUT_TOKENS, u.input_tokens);
    tok(out, GEN_AI_USAGE_OUTPUT_TOKENS, u.output_tokens);
    tok(
        out,
        GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        u.cache_read_input_tokens,
    );
    tok(
        out,
        GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        u.cache_write_input_tokens,
    );
    tok(
        out,
        GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        u.reasoning_tokens,
    );
    if u.estimated {
        out.bool(TOKENTRACE_USAGE_ESTIMATED, true);
    }
    tok(out, TOKENTRACE_USAGE_WEB_SEARCH_CALLS, u.web_search_calls);
    if let Some(ns) = call.time_to_first_token_ns {
        out.f64(GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ns as f64 / 1e9);
    }
    if let Some(d) = call.embedding_dimensions {
        out.i64(GEN_AI_EMBEDDINGS_DIMENSION_COUNT, d as i64);
    }
    if let Some(e) = &call.error {
        out.str(ERROR_TYPE, &e.error_type);
    }

    opt(out, GEN_AI_TOOL_NAME, &call.tool_name);
    opt(out, GEN_AI_TOOL_CALL_ID, &call.tool_call_id);
    opt(out, GEN_AI_AGENT_NAME, &call.agent_name);
    if call.operation == Operation::ExecuteTool {
        out.str(GEN_AI_TOOL_TYPE, "function");
        if content {
            opt(out, GEN_AI_TOOL_CALL_ARGUMENTS, &call.tool_arguments);
            opt(out, GEN_AI_TOOL_CALL_RESULT, &call.tool_result);
        }
    }

    // Content attributes keep their structure even with capture off, so a
    // reader still sees roles, tool names and finish reasons.
    if !call.system_instructions.is_empty() {
        let parts = &call.system_instructions;
        out.content(
            GEN_AI_SYSTEM_INSTRUCTIONS,
            Content::Parts { parts, content },
        );
    }
    for (key, messages, output) in [
        (GEN_AI_INPUT_MESSAGES, &call.input_messages, false),
        (GEN_AI_OUTPUT_MESSAGES, &call.output_messages, true),
    ] {
        if !messages.is_empty() {
            out.content(
                key,
                Content::Messages {
                    messages,
                    content,
                    output,
                },
            );
        }
    }
    if !call.tool_definitions.is_empty() {
        let defs = &call.tool_definitions;
        out.content(GEN_AI_TOOL_DEFINITIONS, Content::Tools { defs, content });
    }
}
