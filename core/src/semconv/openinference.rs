//! The OpenInference projection (Arize Phoenix, Arize AX): the same typed
//! record as flattened `llm.*` / `input.value` / `output.value` attributes,
//! emitted beside (or instead of) the GenAI conventions when configured.

use super::AttrSink;
use crate::model::{LlmCall, Message, Operation, Part};

/// `openinference.span.kind` for a call.
pub fn span_kind(call: Option<&LlmCall>, declared: Option<&str>) -> &'static str {
    if let Some(c) = call {
        return match c.operation {
            Operation::Chat | Operation::TextCompletion | Operation::GenerateContent => "LLM",
            Operation::Embeddings => "EMBEDDING",
            Operation::ExecuteTool => "TOOL",
            Operation::Retrieval => "RETRIEVER",
            Operation::InvokeAgent | Operation::CreateAgent => "AGENT",
            Operation::InvokeWorkflow => "CHAIN",
        };
    }
    match declared.map(str::to_ascii_lowercase).as_deref() {
        Some("retriever" | "retrieval") => "RETRIEVER",
        Some("tool") => "TOOL",
        Some("agent") => "AGENT",
        Some("embedding") => "EMBEDDING",
        Some("reranker") => "RERANKER",
        Some("guardrail") => "GUARDRAIL",
        Some("evaluator") => "EVALUATOR",
        Some("llm") => "LLM",
        _ => "CHAIN",
    }
}

fn text_of(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        if let Part::Text { content } | Part::Reasoning { content } = p {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(content);
        }
    }
    out
}

fn messages<S: AttrSink>(prefix: &str, msgs: &[&Message], content: bool, out: &mut S) {
    for (i, m) in msgs.iter().enumerate() {
        let base = format!("{prefix}.{i}.message");
        out.str(&format!("{base}.role"), &m.role);
        if content {
            let text = text_of(&m.parts);
            if !text.is_empty() {
                out.str(&format!("{base}.content"), &text);
            }
        }
        let mut k = 0;
        for p in &m.parts {
            match p {
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    let tc = format!("{base}.tool_calls.{k}.tool_call");
                    if let Some(id) = id {
                        out.str(&format!("{tc}.id"), id);
                    }
                    out.str(&format!("{tc}.function.name"), name);
                    if content && let Some(a) = arguments {
                        out.str(&format!("{tc}.function.arguments"), a);
                    }
                    k += 1;
                }
                Part::ToolCallResponse { id, response } => {
                    if let Some(id) = id {
                        out.str(&format!("{base}.tool_call_id"), id);
                    }
                    if content {
                        out.str(&format!("{base}.content"), response);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Appends the OpenInference attributes of `call`.
pub fn append_attributes<S: AttrSink>(call: &LlmCall, content: bool, out: &mut S) {
    out.str("openinference.span.kind", span_kind(Some(call), None));
    match call.operation {
        Operation::ExecuteTool => {
            if let Some(n) = &call.tool_name {
                out.str("tool.name", n);
            }
            if let Some(id) = &call.tool_call_id {
                out.str("tool_call.id", id);
            }
            if content {
                if let Some(a) = &call.tool_arguments {
                    out.str("input.value", a);
                    out.str("input.mime_type", "application/json");
                }
                if let Some(r) = &call.tool_result {
                    out.str("output.value", r);
                }
            }
            return;
        }
        Operation::InvokeAgent | Operation::CreateAgent => {
            if let Some(n) = &call.agent_name {
                out.str("agent.name", n);
            }
            return;
        }
        _ => {}
    }
    out.str("llm.provider", &call.provider);
    out.str(
        "llm.system",
        call.provider.split('.').next().unwrap_or(&call.provider),
    );
    if let Some(m) = call.model() {
        out.str("llm.model_name", m);
    }
    let p = &call.params;
    let mut inv = serde_json::Map::new();
    if let Some(m) = &call.request_model {
        inv.insert("model".into(), m.as_ref().into());
    }
    if let Some(v) = p.temperature {
        inv.insert("temperature".into(), v.into());
    }
    if let Some(v) = p.max_tokens {
        inv.insert("max_tokens".into(), v.into());
    }
    if let Some(v) = p.top_p {
        inv.insert("top_p".into(), v.into());
    }
    if let Some(v) = p.stream {
        inv.insert("stream".into(), v.into());
    }
    if !inv.is_empty() {
        out.str(
            "llm.invocation_parameters",
            &serde_json::Value::Object(inv).to_string(),
        );
    }
    // System instructions travel as a leading system message.
    let system = (!call.system_instructions.is_empty())
        .then(|| Message::new("system", call.system_instructions.clone()));
    let inputs: Vec<&Message> = system.iter().chain(call.input_messages.iter()).collect();
    messages("llm.input_messages", &inputs, content, out);
    let outputs: Vec<&Message> = call.output_messages.iter().collect();
    messages("llm.output_messages", &outputs, content, out);
    if content {
        // The whole conversation, so a list view shows the question even
        // when the last input message is a tool result.
        if !call.input_messages.is_empty() {
            let messages = &call.input_messages;
            let (content, output) = (true, false);
            out.content(
                "input.value",
                super::messages::Content::Messages {
                    messages,
                    content,
                    output,
                },
            );
            out.str("input.mime_type", "application/json");
        }
        let t: String = call
            .output_messages
            .iter()
            .map(|m| text_of(&m.parts))
            .collect::<Vec<_>>()
            .join("\n");
        if !t.is_empty() {
            out.str("output.value", &t);
            out.str("output.mime_type", "text/plain");
        }
    }
    for (i, d) in call.tool_definitions.iter().enumerate() {
        let schema = serde_json::json!({
            "type": d.tool_type.as_ref(),
            "function": {
                "name": d.name.as_ref(),
                "description": d.description.as_deref(),
                "parameters": d.parameters.as_deref().and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()),
            }
        });
        out.str(
            &format!("llm.tools.{i}.tool.json_schema"),
            &schema.to_string(),
        );
    }
    let u = &call.usage;
    let tok = |out: &mut S, k: &str, v: Option<u64>| {
        if let Some(v) = v {
            out.i64(k, v.min(i64::MAX as u64) as i64);
        }
    };
    tok(out, "llm.token_count.prompt", u.input_tokens);
    tok(out, "llm.token_count.completion", u.output_tokens);
    if u.input_tokens.is_some() || u.output_tokens.is_some() {
        tok(
            out,
            "llm.token_count.total",
            Some(u.input_tokens.unwrap_or(0) + u.output_tokens.unwrap_or(0)),
        );
    }
    tok(
        out,
        "llm.token_count.prompt_details.cache_read",
        u.cache_read_input_tokens,
    );
    tok(
        out,
        "llm.token_count.prompt_details.cache_write",
        u.cache_write_input_tokens,
    );
    tok(
        out,
        "llm.token_count.completion_details.reasoning",
        u.reasoning_tokens,
    );
    if let Some(f) = call.finish_reasons.first() {
        out.str("llm.finish_reason", f);
    }
}

/// `llm.cost.*` from tokentrace's cost attributes.
pub fn cost_attributes<S: AttrSink>(input: f64, output: f64, total: f64, out: &mut S) {
    out.f64("llm.cost.prompt", input);
    out.f64("llm.cost.completion", output);
    out.f64("llm.cost.total", total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValue as PKeyValue;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AV;

    fn get<'a>(out: &'a [PKeyValue], k: &str) -> Option<&'a AV> {
        out.iter()
            .find(|kv| kv.key == k)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    #[test]
    fn flattened_messages_tokens_and_tools() {
        let mut c = LlmCall::new("openai", Operation::Chat);
        c.request_model = Some("gpt-4o".into());
        c.system_instructions = [Part::text("Be brief.")].into();
        c.input_messages = vec![
            Message::text("user", "Weather?"),
            Message::new(
                "assistant",
                vec![Part::ToolCall {
                    id: Some("c1".into()),
                    name: "get_weather".into(),
                    arguments: Some("{}".into()),
                }],
            ),
            Message::new(
                "tool",
                vec![Part::ToolCallResponse {
                    id: Some("c1".into()),
                    response: "sunny".into(),
                }],
            ),
        ];
        c.output_messages = vec![Message::text("assistant", "Sunny.")];
        c.usage.input_tokens = Some(10);
        c.usage.output_tokens = Some(2);
        let mut out: Vec<PKeyValue> = Vec::new();
        append_attributes(&c, true, &mut out);
        assert_eq!(
            get(&out, "openinference.span.kind"),
            Some(&AV::StringValue("LLM".into()))
        );
        assert_eq!(
            get(&out, "llm.input_messages.0.message.role"),
            Some(&AV::StringValue("system".into()))
        );
        assert_eq!(
            get(&out, "llm.input_messages.1.message.content"),
            Some(&AV::StringValue("Weather?".into()))
        );
        assert_eq!(
            get(
                &out,
                "llm.input_messages.2.message.tool_calls.0.tool_call.function.name"
            ),
            Some(&AV::StringValue("get_weather".into()))
        );
        assert_eq!(
            get(&out, "llm.input_messages.3.message.tool_call_id"),
            Some(&AV::StringValue("c1".into()))
        );
        assert_eq!(
            get(&out, "llm.output_messages.0.message.content"),
            Some(&AV::StringValue("Sunny.".into()))
        );
        assert_eq!(get(&out, "llm.token_count.total"), Some(&AV::IntValue(12)));
        assert_eq!(
            get(&out, "output.value"),
            Some(&AV::StringValue("Sunny.".into()))
        );
        let mut bare: Vec<PKeyValue> = Vec::new();
        append_attributes(&c, false, &mut bare);
        assert!(get(&bare, "llm.input_messages.1.message.content").is_none());
        assert!(get(&bare, "output.value").is_none());
    }
}
