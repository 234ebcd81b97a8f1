//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use fake_otlp::ReceivedSpan;
use fake_otlp::opentelemetry_proto::tonic::common::v1::any_value::Value as AV;
use tokentrace_core::config::env::EnvSnapshot;
use tokentrace_core::*;

/// A config that ignores the process environment.
pub fn builder() -> ConfigBuilder {
    Config::builder()
        .with_env(EnvSnapshot::empty())
        .with_service_name("itest")
        .with_environment("ci")
        .with_schedule_delay(Duration::from_millis(20))
        .with_retry_max_elapsed(Duration::from_secs(20))
}

/// A fully populated chat call: every field the conventions map.
pub fn full_chat_span(trace: TraceId, parent: Option<SpanId>) -> SpanRecord {
    let mut r = SpanRecord::new("chat gpt-4o");
    r.trace_id = trace;
    r.parent_span_id = parent;
    r.kind = SpanKind::Client;
    r.start_unix_nanos = 1_700_000_000_000_000_000;
    r.end_unix_nanos = 1_700_000_001_500_000_000;
    r.status = Status::error("rate limited");
    r.attributes = vec![
        KeyValue::new("custom.flag", true),
        KeyValue::new("custom.count", 7i64),
    ];
    r.events = vec![Event {
        name: "gen_ai.first_chunk".into(),
        time_unix_nanos: 1_700_000_000_300_000_000,
        attributes: vec![KeyValue::new("chunk.index", 0i64)],
    }];
    let mut c = LlmCall::new("openai", Operation::Chat);
    c.request_model = Some("gpt-4o".into());
    c.response_model = Some("gpt-4o-2024-08-06".into());
    c.response_id = Some("chatcmpl-123".into());
    c.server_address = Some("api.openai.com".into());
    c.server_port = Some(443);
    c.params = RequestParams {
        temperature: Some(0.7),
        max_tokens: Some(300),
        top_p: Some(0.9),
        top_k: Some(40.0),
        frequency_penalty: Some(0.1),
        presence_penalty: Some(0.2),
        stop_sequences: vec!["END".into()],
        seed: Some(42),
        choice_count: Some(2),
        stream: Some(true),
        output_type: Some("json".into()),
        encoding_formats: vec![],
    };
    c.system_instructions = [Part::text("Be helpful.")].into();
    c.input_messages = vec![
        Message::text(
            "user",
            "Weather in Paris? Use the retrieved context: Paris is in France.",
        ),
        Message::new(
            "assistant",
            vec![Part::ToolCall {
                id: Some("call_9".into()),
                name: "get_weather".into(),
                arguments: Some(r#"{"city":"Paris"}"#.into()),
            }],
        ),
        Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: Some("call_9".into()),
                response: r#"{"temp":18}"#.into(),
            }],
        ),
    ];
    let mut out = Message::text("assistant", "18 degrees.");
    out.finish_reason = Some("stop".into());
    c.output_messages = vec![out];
    c.tool_definitions = vec![ToolDefinition {
        tool_type: "function".into(),
        name: "get_weather".into(),
        description: Some("weather".into()),
        parameters: Some(r#"{"type":"object"}"#.into()),
    }];
    c.finish_reasons = vec!["stop".into()];
    c.usage = Usage {
        input_tokens: Some(1200),
        output_tokens: Some(80),
        cache_read_input_tokens: Some(1000),
        cache_write_input_tokens: Some(10),
        reasoning_tokens: Some(20),
        web_search_calls: None,
        estimated: false,
    };
    c.time_to_first_token_ns = Some(300_000_000);
    c.error = Some(LlmError {
        error_type: "RateLimitError".into(),
        message: Some("slow down".into()),
    });
    c.conversation_id = Some("conv-1".into());
    r.llm = Some(Box::new(c));
    r
}

pub fn simple(name: &str) -> SpanRecord {
    let mut r = SpanRecord::new(name.to_string());
    r.start_unix_nanos = now_unix_nanos();
    r.end_unix_nanos = r.start_unix_nanos + 1_000_000;
    r
}

pub fn s(v: Option<&AV>) -> String {
    match v {
        Some(AV::StringValue(s)) => s.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}
pub fn i(v: Option<&AV>) -> i64 {
    match v {
        Some(AV::IntValue(i)) => *i,
        other => panic!("expected an int, got {other:?}"),
    }
}
pub fn f(v: Option<&AV>) -> f64 {
    match v {
        Some(AV::DoubleValue(f)) => *f,
        other => panic!("expected a double, got {other:?}"),
    }
}
pub fn b(v: Option<&AV>) -> bool {
    match v {
        Some(AV::BoolValue(b)) => *b,
        other => panic!("expected a bool, got {other:?}"),
    }
}
pub fn str_array(v: Option<&AV>) -> Vec<String> {
    match v {
        Some(AV::ArrayValue(a)) => a
            .values
            .iter()
            .map(|x| match &x.value {
                Some(AV::StringValue(s)) => s.clone(),
                o => panic!("{o:?}"),
            })
            .collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Asserts every field of `full_chat_span` arrived decoded.
pub fn assert_full_chat(sp: &ReceivedSpan, trace: TraceId, parent: SpanId) {
    let span = &sp.span;
    assert_eq!(span.name, "chat gpt-4o");
    assert_eq!(span.trace_id, trace.0.to_vec());
    assert_eq!(span.parent_span_id, parent.0.to_vec());
    assert_eq!(span.kind, 3, "CLIENT");
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_001_500_000_000);
    let st = span.status.as_ref().expect("status");
    assert_eq!((st.code, st.message.as_str()), (2, "rate limited"));
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "gen_ai.first_chunk");
    let a = |k: &str| sp.attribute(k);
    assert_eq!(s(a("gen_ai.operation.name")), "chat");
    assert_eq!(s(a("gen_ai.provider.name")), "openai");
    assert_eq!(s(a("gen_ai.request.model")), "gpt-4o");
    assert_eq!(s(a("gen_ai.response.model")), "gpt-4o-2024-08-06");
    assert_eq!(s(a("gen_ai.response.id")), "chatcmpl-123");
    assert_eq!(s(a("server.address")), "api.openai.com");
    assert_eq!(i(a("server.port")), 443);
    assert_eq!(f(a("gen_ai.request.temperature")), 0.7);
    assert_eq!(i(a("gen_ai.request.max_tokens")), 300);
    assert_eq!(f(a("gen_ai.request.top_p")), 0.9);
    assert_eq!(f(a("gen_ai.request.top_k")), 40.0);
    assert_eq!(f(a("gen_ai.request.frequency_penalty")), 0.1);
    assert_eq!(f(a("gen_ai.request.presence_penalty")), 0.2);
    assert_eq!(str_array(a("gen_ai.request.stop_sequences")), vec!["END"]);
    assert_eq!(i(a("gen_ai.request.seed")), 42);
    assert_eq!(i(a("gen_ai.request.choice.count")), 2);
    assert!(b(a("gen_ai.request.stream")));
    assert_eq!(s(a("gen_ai.output.type")), "json");
    assert_eq!(str_array(a("gen_ai.response.finish_reasons")), vec!["stop"]);
    assert_eq!(i(a("gen_ai.usage.input_tokens")), 1200);
    assert_eq!(i(a("gen_ai.usage.output_tokens")), 80);
    assert_eq!(i(a("gen_ai.usage.cache_read.input_tokens")), 1000);
    assert_eq!(i(a("gen_ai.usage.cache_creation.input_tokens")), 10);
    assert_eq!(i(a("gen_ai.usage.reasoning.output_tokens")), 20);
    assert_eq!(f(a("gen_ai.response.time_to_first_chunk")), 0.3);
    assert_eq!(s(a("error.type")), "RateLimitError");
    assert_eq!(s(a("gen_ai.conversation.id")), "conv-1");
    assert!(b(a("custom.flag")));
    assert_eq!(i(a("custom.count")), 7);
    let json =
        |k: &str| -> serde_json::Value { serde_json::from_str(&s(a(k))).expect("valid JSON") };
    assert_eq!(
        json("gen_ai.system_instructions"),
        serde_json::json!([{"type":"text","content":"Be helpful."}])
    );
    let input = json("gen_ai.input.messages");
    assert_eq!(input[0]["role"], "user");
    assert!(
        input[0]["parts"][0]["content"]
            .as_str()
            .unwrap()
            .contains("retrieved context")
    );
    assert_eq!(
        input[1]["parts"][0],
        serde_json::json!({"type":"tool_call","id":"call_9","name":"get_weather","arguments":{"city":"Paris"}})
    );
    assert_eq!(
        input[2]["parts"][0],
        serde_json::json!({"type":"tool_call_response","id":"call_9","response":{"temp":18}})
    );
    assert_eq!(
        json("gen_ai.output.messages"),
        serde_json::json!([{"role":"assistant","parts":[{"type":"text","content":"18 degrees."}],"finish_reason":"stop"}])
    );
    assert_eq!(json("gen_ai.tool.definitions")[0]["name"], "get_weather");
    assert_eq!(s(sp.resource_attribute("service.name")), "itest");
    assert_eq!(
        s(sp.resource_attribute("deployment.environment.name")),
        "ci"
    );
    assert_eq!(s(sp.resource_attribute("telemetry.sdk.name")), "tokentrace");
    assert_eq!(sp.scope_name, "tokentrace");
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}
