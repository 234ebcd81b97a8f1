//! Fully populated records (every `LlmCall` field, events, status, parents,
//! every attribute value type, non-finite doubles, escapes) and the mapping
//! modes they are exported under, shared by the mapping's golden test and the
//! encoders' equivalence tests.

use crate::config::ResourceConfig;
use crate::model::*;

use super::{MapOptions, SemconvMode};

/// The modes every fixture is mapped under: each semconv set, content on and off.
pub(crate) fn modes() -> Vec<MapOptions> {
    let mut out = Vec::new();
    for semconv in [
        SemconvMode::GenAi,
        SemconvMode::OpenInference,
        SemconvMode::Both,
    ] {
        for capture_content in [true, false] {
            out.push(MapOptions {
                capture_content,
                semconv,
            });
        }
    }
    out
}

pub(crate) fn resource() -> ResourceConfig {
    ResourceConfig {
        service_name: "golden-service".into(),
        service_version: Some("1.2.3".into()),
        environment: Some("test".into()),
        attributes: vec![("team".into(), "llm \"platform\"".into())],
    }
}

fn trace(n: u8) -> TraceId {
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        *x = n.wrapping_mul(17).wrapping_add(i as u8 * 3);
    }
    TraceId(b)
}

fn span(n: u8) -> SpanId {
    SpanId([n, 0xa0, 0x0b, 0xc0, 0x0d, 0xe0, 0x0f, n.wrapping_add(1)])
}

fn chat_call() -> LlmCall {
    let mut c = LlmCall::new("openai", Operation::Chat);
    c.request_model = Some("gpt-4o".into());
    c.response_model = Some("gpt-4o-2024-08-06".into());
    c.response_id = Some("chatcmpl-123".into());
    c.conversation_id = Some("conv-9".into());
    c.server_address = Some("api.openai.com".into());
    c.server_port = Some(443);
    c.cost = Some(crate::cost::Cost {
        input_usd: 0.0003,
        output_usd: 0.00008,
        tools_usd: 0.0,
        total_usd: 0.00038,
    });
    c.params = RequestParams {
        temperature: Some(0.7),
        max_tokens: Some(300),
        top_p: Some(0.9),
        top_k: Some(40.0),
        frequency_penalty: Some(0.1),
        presence_penalty: Some(-0.2),
        stop_sequences: vec!["END".into(), "\n\n".into()],
        seed: Some(-42),
        choice_count: Some(2),
        stream: Some(true),
        output_type: Some("json".into()),
        encoding_formats: vec!["float".into()],
    };
    c.system_instructions = [Part::text("Be terse. \"Always\" cite.\n")].into();
    c.input_messages = vec![
        Message::text("user", "What's the weather in Paris? é 日本 🎉 \u{1}"),
        Message::new(
            "assistant",
            vec![
                Part::Reasoning {
                    content: "need a tool".into(),
                },
                Part::ToolCall {
                    id: Some("call_1".into()),
                    name: "get_weather".into(),
                    arguments: Some(r#"{"city":"Paris"}"#.into()),
                },
            ],
        ),
        Message::new(
            "tool",
            vec![Part::ToolCallResponse {
                id: Some("call_1".into()),
                response: "sunny, 21°C".into(),
            }],
        ),
        Message::new(
            "user",
            vec![
                Part::Uri {
                    modality: "image".into(),
                    mime_type: Some("image/png".into()),
                    uri: "https://x/y.png".into(),
                },
                Part::Blob {
                    modality: "audio".into(),
                    mime_type: None,
                    content: "AAAA".into(),
                },
                Part::Other {
                    part_type: "custom".into(),
                    json: r#"{"type":"custom","x":1}"#.into(),
                },
            ],
        ),
    ];
    let mut out = Message::text("assistant", "Sunny.\tEnjoy \\ it.");
    out.name = Some("bot".into());
    out.finish_reason = Some("stop".into());
    c.output_messages = vec![out, Message::text("assistant", "Second choice.")];
    c.tool_definitions = vec![ToolDefinition {
        tool_type: "function".into(),
        name: "get_weather".into(),
        description: Some("Weather \"now\"".into()),
        parameters: Some(r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into()),
    }];
    c.finish_reasons = vec!["stop".into(), "length".into()];
    c.usage = Usage {
        input_tokens: Some(120),
        output_tokens: Some(8),
        cache_read_input_tokens: Some(64),
        cache_write_input_tokens: Some(16),
        reasoning_tokens: Some(4),
        web_search_calls: Some(2),
        estimated: true,
    };
    c.time_to_first_token_ns = Some(123_456_789);
    c.error = Some(LlmError {
        error_type: "RateLimitError".into(),
        message: Some("slow down".into()),
    });
    c.embedding_dimensions = Some(1536);
    c.agent_name = Some("planner".into());
    c
}

fn every_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("user.id", "u-1"),
        KeyValue::new("empty", ""),
        KeyValue::new("", "empty key"),
        KeyValue::new("int", -7i64),
        KeyValue::new("zero", 0i64),
        KeyValue::new("big", i64::MAX),
        KeyValue::new("float", 2.5f64),
        KeyValue::new("tiny", 1e-300f64),
        KeyValue::new("whole", 3.0f64),
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::NEG_INFINITY),
        KeyValue::new("yes", true),
        KeyValue::new("no", false),
        KeyValue {
            key: "strs".into(),
            value: Value::StrArray(vec!["a".into(), "".into(), "ü\"".into()]),
        },
        KeyValue {
            key: "ints".into(),
            value: Value::IntArray(vec![1, -2, 0]),
        },
        KeyValue {
            key: "floats".into(),
            value: Value::FloatArray(vec![0.5, f64::INFINITY]),
        },
        KeyValue {
            key: "bools".into(),
            value: Value::BoolArray(vec![true, false]),
        },
        KeyValue {
            key: "empty_array".into(),
            value: Value::StrArray(Vec::new()),
        },
        KeyValue {
            key: "json".into(),
            value: Value::Json(r#"{"a":[1,2]}"#.into()),
        },
    ]
}

/// The records: a chat call with everything, a tool call, an agent call, a
/// plain span with a declared kind, and an empty-named bare span.
pub(crate) fn records() -> Vec<SpanRecord> {
    let mut chat = SpanRecord::new("");
    chat.trace_id = trace(1);
    chat.span_id = span(1);
    chat.parent_span_id = Some(span(9));
    chat.parent_is_remote = true;
    chat.kind = SpanKind::Client;
    chat.start_unix_nanos = 1_700_000_000_000_000_000;
    chat.end_unix_nanos = 1_700_000_000_500_000_123;
    chat.status = Status::error("rate limited \"429\"");
    chat.attributes = every_value();
    chat.events = vec![
        Event {
            name: "gen_ai.first_chunk".into(),
            time_unix_nanos: 1_700_000_000_100_000_000,
            attributes: vec![KeyValue::new("chunk", 1i64)],
        },
        Event {
            name: "exception".into(),
            time_unix_nanos: 0,
            attributes: every_value(),
        },
        Event {
            name: "".into(),
            time_unix_nanos: 5,
            attributes: Vec::new(),
        },
    ];
    chat.llm = Some(Box::new(chat_call()));

    let mut tool = SpanRecord::new("");
    tool.trace_id = trace(1);
    tool.span_id = span(2);
    tool.parent_span_id = Some(span(1));
    tool.start_unix_nanos = 1_700_000_000_600_000_000;
    // An end before the start is exported as the start.
    tool.end_unix_nanos = 1_700_000_000_000_000_000;
    tool.status = Status {
        code: StatusCode::Ok,
        message: Some("ignored for ok".into()),
    };
    let mut t = LlmCall::new("local", Operation::ExecuteTool);
    t.tool_name = Some("get_weather".into());
    t.tool_call_id = Some("call_1".into());
    t.tool_arguments = Some(r#"{"city":"Paris"}"#.into());
    t.tool_result = Some("sunny".into());
    tool.llm = Some(Box::new(t));

    let mut agent = SpanRecord::new("custom agent name");
    agent.trace_id = trace(1);
    agent.span_id = span(3);
    agent.kind = SpanKind::Internal;
    agent.start_unix_nanos = 1;
    agent.end_unix_nanos = 2;
    let mut a = LlmCall::new("anthropic.messages", Operation::InvokeAgent);
    a.agent_name = Some("planner".into());
    a.usage.output_tokens = Some(3);
    agent.llm = Some(Box::new(a));

    let mut plain = SpanRecord::new("retrieve docs");
    plain.trace_id = trace(2);
    plain.span_id = span(4);
    plain.kind = SpanKind::Server;
    plain.start_unix_nanos = 10;
    plain.end_unix_nanos = 20;
    plain.attributes = vec![
        KeyValue::new("tokentrace.span.kind", "retriever"),
        KeyValue::new("k", "v"),
    ];

    let mut bare = SpanRecord::new("");
    bare.trace_id = trace(3);
    bare.span_id = span(5);
    bare.kind = SpanKind::Consumer;

    let mut producer = SpanRecord::new("emb");
    producer.trace_id = trace(4);
    producer.span_id = span(6);
    producer.kind = SpanKind::Producer;
    let mut e = LlmCall::new("openai", Operation::Embeddings);
    e.response_model = Some("text-embedding-3-small".into());
    e.params.choice_count = Some(1);
    producer.llm = Some(Box::new(e));

    vec![chat, tool, agent, plain, bare, producer]
}
